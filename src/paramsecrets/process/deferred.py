"""Standard library modules the server's imports name but serving never calls, loaded on first use.

asyncio imports `inspect` (with `ast`, `dis` and `opcode`) and `subprocess` at module level, for
coroutine introspection in debug mode and for `loop.subprocess_exec`; `serve` uses neither, yet
loading them costs ~0.9 MiB of RSS and ~5 ms of CPU at every start (measured on the layer's
interpreter, `bench/layer_memory.py` and docs/performance.md), on the path of a Lambda INIT's
first reads. `defer` puts a placeholder in `sys.modules` first; the first attribute read that the
placeholder cannot answer executes the real module in the placeholder's own namespace (as
importlib.util.LazyLoader does), so every holder of the name sees the real module from then on.

Unlike LazyLoader, a placeholder can carry constants known in advance: asyncio reads
`subprocess.PIPE` (and STDOUT, DEVNULL) at import, as default values of its subprocess methods,
which would otherwise load the module at once.
"""

from __future__ import annotations

import _imp
import sys

TYPE_CHECKING = False  # mypy reads this name as true; `typing` is not imported for it
if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from types import ModuleType
else:
    ModuleType = type(sys)  # types.ModuleType, without importing `types` for it

SERVE_DEFERRED: dict[str, dict[str, object]] = {
    "inspect": {},
    "subprocess": {"PIPE": -1, "STDOUT": -2, "DEVNULL": -3},  # subprocess.py's own values
}
"""What `serve` defers, with the constants each placeholder answers without loading."""


class DeferredModule(ModuleType):
    """A placeholder that becomes the real module at the first attribute it does not hold."""

    def __getattr__(self, attribute: str) -> object:
        if attribute == "__path__":  # asked by every `from NAME import X`; these are no packages
            raise AttributeError(attribute)
        load(self)
        if type(self) is DeferredModule:  # this thread is executing it: a circular import
            raise AttributeError(f"partially initialized module {self.__name__!r} has no attribute {attribute!r}")
        return getattr(self, attribute)


_LOADING: set[str] = set()


def load(module: ModuleType) -> None:
    """Execute the real module in `module` (a placeholder) unless that was done already.

    Under the import system's own lock for that name, as a normal import of it would be: another
    thread waits, then finds it loaded, and a deadlock between imports is detected as one. The
    placeholder becomes a plain module only once the module has run, so no other thread reads a
    half-run one."""
    name = module.__name__
    with _module_lock(name):
        if type(module) is not DeferredModule or name in _LOADING:
            return
        spec = None
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(name, None) if find_spec is not None else None
            if spec is not None:
                break
        if spec is None or spec.loader is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        module.__spec__, module.__loader__ = spec, spec.loader
        module.__package__ = spec.parent
        if spec.has_location and spec.origin:
            module.__file__ = spec.origin
        _LOADING.add(name)
        try:
            spec.loader.exec_module(module)
        finally:
            _LOADING.discard(name)
        module.__class__ = ModuleType  # type: ignore[assignment]  # a plain module from here on: direct reads


def _module_lock(name: str) -> AbstractContextManager[object]:
    """importlib's per-module lock (its deadlock detection included), from the frozen bootstrap
    every CPython loads at start; the global import lock where that private name is missing."""
    manager = getattr(sys.modules.get("_frozen_importlib"), "_ModuleLockManager", None)
    return manager(name) if manager is not None else _GlobalImportLock()


class _GlobalImportLock:
    def __enter__(self) -> None:
        _imp.acquire_lock()

    def __exit__(self, *_exc: object) -> None:
        _imp.release_lock()


def defer(modules: dict[str, dict[str, object]]) -> list[str]:
    """Install a placeholder for each module not imported yet; the names deferred."""
    deferred = []
    for name, constants in modules.items():
        if name in sys.modules:
            continue
        placeholder = DeferredModule(name)
        placeholder.__dict__.update(constants)
        sys.modules[name] = placeholder
        deferred.append(name)
    return deferred
