"""Deferred standard library modules (paramsecrets.process.deferred): a placeholder answers its
constants, becomes the real module at the first other attribute, and is then that module for
every holder of the name. Each test uses its own throwaway module, so nothing real is replaced."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from paramsecrets.process import deferred
from paramsecrets.testing.net import free_port

MODULE = "paramsecrets_deferred_probe"


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[Path]:
    """A module that counts how often its body ran (in a list on `sys`, outside the module)."""
    (tmp_path / f"{MODULE}.py").write_text(textwrap.dedent("""
        import sys
        sys.paramsecrets_probe_runs = getattr(sys, "paramsecrets_probe_runs", 0) + 1
        PIPE = -1
        def answer():
            return 42
        state = []
        def remember(item):
            state.append(item)
    """))
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    sys.modules.pop(MODULE, None)
    if hasattr(sys, "paramsecrets_probe_runs"):
        del sys.paramsecrets_probe_runs


def runs() -> int:
    return int(getattr(sys, "paramsecrets_probe_runs", 0))


def test_constants_answer_without_loading(probe: Path) -> None:
    assert deferred.defer({MODULE: {"PIPE": -1}}) == [MODULE]
    import paramsecrets_deferred_probe as module  # type: ignore[import-not-found]

    assert module.PIPE == -1
    assert runs() == 0
    assert type(module) is deferred.DeferredModule


def test_first_other_attribute_loads_the_real_module_in_place(probe: Path) -> None:
    deferred.defer({MODULE: {}})
    import paramsecrets_deferred_probe as early

    assert early.answer() == 42
    assert runs() == 1
    assert type(early) is type(sys)  # a plain module now
    assert sys.modules[MODULE] is early
    import paramsecrets_deferred_probe as late

    assert late is early
    late.remember("x")
    assert early.state == ["x"]  # one namespace: state changed through one name is seen through the other
    assert early.__file__ == str(probe / f"{MODULE}.py")
    assert early.__spec__ is not None and early.__spec__.name == MODULE
    assert runs() == 1


def test_from_import_of_a_constant_does_not_load(probe: Path) -> None:
    deferred.defer({MODULE: {"PIPE": -1}})
    from paramsecrets_deferred_probe import PIPE

    assert PIPE == -1
    assert runs() == 0


def test_a_missing_attribute_is_an_attribute_error_after_loading(probe: Path) -> None:
    deferred.defer({MODULE: {}})
    import paramsecrets_deferred_probe as module

    with pytest.raises(AttributeError, match="no_such_name"):
        _ = module.no_such_name
    assert runs() == 1


def test_threads_racing_load_it_once(probe: Path) -> None:
    deferred.defer({MODULE: {}})
    import paramsecrets_deferred_probe as module

    answers: list[int] = []
    start = threading.Barrier(8)

    def read() -> None:
        start.wait()
        answers.append(module.answer())

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [42] * 8
    assert runs() == 1


def test_an_imported_module_is_left_alone() -> None:
    assert "sys" in sys.modules
    assert deferred.defer({"sys": {}}) == []
    assert type(sys.modules["sys"]) is type(sys)


def test_a_module_that_does_not_exist_fails_at_first_use(tmp_path: Path) -> None:
    name = "paramsecrets_no_such_module_anywhere"
    deferred.defer({name: {}})
    try:
        with pytest.raises(ModuleNotFoundError, match=name):
            _ = sys.modules[name].anything
    finally:
        sys.modules.pop(name, None)


def test_serve_defers_what_asyncio_names_and_serving_never_calls() -> None:
    """In a fresh interpreter: the server's imports (asyncio, the answer path, the AWS client)
    leave inspect and subprocess unloaded, and the constants asyncio reads are the real ones."""
    script = textwrap.dedent("""
        import sys
        from paramsecrets.process.deferred import SERVE_DEFERRED, defer, DeferredModule
        defer(SERVE_DEFERRED)
        import asyncio, paramsecrets.process.app, paramsecrets.aws.clients, paramsecrets.api.dispatch
        import paramsecrets.api.sdk.protocol
        print(sorted(name for name in SERVE_DEFERRED if type(sys.modules[name]) is DeferredModule))
        import subprocess
        print(subprocess.PIPE, subprocess.STDOUT, subprocess.DEVNULL, subprocess.run.__name__)
        print(type(sys.modules["subprocess"]).__name__, sys.modules["inspect"].isfunction(print))
    """)
    proc = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["['inspect', 'subprocess']", "-1 -2 -3 run", "module False"]
    assert (subprocess.PIPE, subprocess.STDOUT, subprocess.DEVNULL) == (-1, -2, -3)


BOOT_ORDER = textwrap.dedent("""
    import sys, threading, types
    from paramsecrets.process import boot
    from paramsecrets.process.deferred import DeferredModule

    class Extension:  # the Extensions API after `register`: one INVOKE-less wait, then nothing
        name = "paramsecrets"
        def next_event(self, sent=None):
            if sent is not None:
                sent()
            threading.Event().wait()

    seen = []
    def import_at_low_priority():  # what boot runs in its low-priority thread: asyncio
        seen.append(("before the import thread", type(sys.modules.get("inspect")) is DeferredModule))
        import asyncio
    boot.import_at_low_priority = import_at_low_priority
    app = types.ModuleType("paramsecrets.process.app")
    def run(*args):
        import asyncio, paramsecrets.aws.clients
        seen.append(("serving", [type(sys.modules[n]) is DeferredModule for n in ("inspect", "subprocess")]))
        return 0
    app.run = run
    sys.modules["paramsecrets.process.app"] = app
    environ = {"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "x" * 40,
               "AWS_SESSION_TOKEN": "a-session-token-of-some-length", "HOME": sys.argv[1]}
    extension = Extension() if sys.argv[2] == "lambda" else None
    port = int(sys.argv[3])  # nothing is bound: the configuration is only checked against it
    code = boot._configure_and_serve({"port": str(port)}, environ, [], None, (port, "", ()), extension, 0.0)
    print(code, seen)
""")


@pytest.mark.parametrize("mode", ["lambda", "standalone"])
def test_boot_defers_before_anything_imports_asyncio(tmp_path: Path, mode: str) -> None:
    """Under Lambda, asyncio is first imported by boot's low-priority import thread: the placeholders
    must be in place before it starts, or that import loads the real modules."""
    proc = subprocess.run([sys.executable, "-I", "-c", BOOT_ORDER, str(tmp_path), mode, str(free_port())],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    expected: list[tuple[str, object]] = [("serving", [True, True])]
    if mode == "lambda":
        expected.insert(0, ("before the import thread", True))
    assert proc.stdout.strip() == f"0 {expected}", proc.stdout + proc.stderr


def _write_module(directory: Path, name: str, source: str) -> None:
    (directory / f"{name}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """A directory on sys.path for throwaway modules, removed (with them) afterwards."""
    sys.path.insert(0, str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in set(sys.modules) - before:
        if name.startswith("paramsecrets_deferred_"):
            del sys.modules[name]
    for flag in ("paramsecrets_probe_ok", "paramsecrets_probe_caught"):
        if hasattr(sys, flag):
            delattr(sys, flag)


def test_a_module_reading_itself_while_it_runs_sees_a_partial_module(scratch: Path) -> None:
    name = "paramsecrets_deferred_selfread"
    _write_module(scratch, name, """
        import sys
        try:
            sys.modules[__name__].defined_later
        except AttributeError as error:
            sys.paramsecrets_probe_caught = str(error)
        defined_later = 1
    """)
    deferred.defer({name: {}})
    assert sys.modules[name].defined_later == 1
    assert getattr(sys, "paramsecrets_probe_caught", "") == (
        f"partially initialized module {name!r} has no attribute 'defined_later'")


def test_a_module_that_fails_stays_deferred_and_is_run_again(scratch: Path) -> None:
    name = "paramsecrets_deferred_flaky"
    _write_module(scratch, name, """
        import sys
        if not getattr(sys, "paramsecrets_probe_ok", False):
            raise RuntimeError("not yet")
        value = 7
    """)
    deferred.defer({name: {}})
    module = sys.modules[name]
    with pytest.raises(RuntimeError, match="not yet"):
        _ = module.value
    assert type(module) is deferred.DeferredModule
    sys.paramsecrets_probe_ok = True  # type: ignore[attr-defined]
    assert module.value == 7
    assert type(module) is type(sys)


def test_without_importlibs_module_locks_the_global_import_lock_serves(scratch: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    name = "paramsecrets_deferred_globallock"
    _write_module(scratch, name, "value = 3\n")
    monkeypatch.setitem(sys.modules, "_frozen_importlib", object())  # no _ModuleLockManager there
    deferred.defer({name: {}})
    assert sys.modules[name].value == 3
