"""The build's Python work done without running the layer's interpreter (`--build-python host`).

Why: the layer's interpreter is Debian's Linux CPython 3.11.2; a machine that cannot run it
(macOS, Windows, a Linux of another architecture) must still build the layer. The build needs a
Python for three things, and each has a host-side equivalent:

1. Which standard library modules to keep: modulefinder, run here by the building Python over
   the *layer's* standard library (the unpacked Debian tree, never this machine's), with a finder
   that knows the target's extension suffixes (`.cpython-311-<multiarch>.so`, `.abi3.so`, `.so`)
   instead of this machine's, and the interpreter's built-in modules (BUILTIN_MODULES) instead of
   this Python's.
2. Bytecode: compiled by a CPython 3.11 of this machine (this Python when it is 3.11, else
   `python3.11` on PATH, or `--compiler PATH` / $PARAMSECRETS_LAYER_COMPILER). Every 3.11 release
   writes bytecode with the same magic number (3495), which is CPython's promise that 3.11.2
   loads it; measured: 3.11.7 (pyenv) and 3.11.2 (Debian) write byte-identical .pyc files for the
   whole standard library and the package, at -O0 and -OO, so the layer is byte-identical to the
   native build (tests/lambda/test_layer_host_build.py compares the two zips).
3. Which modules the interpreter carries frozen (never read from a file): FROZEN_311, fixed by
   CPython 3.11's build (Python/frozen.c); the same test checks it against the layer's interpreter.

With no CPython 3.11 at all, the layer ships the sources of the package and of the kept standard
library (`--compiler none`): it works, but /opt is read-only, so the interpreter compiles every
module it imports at each cold start (docs/performance-build-python.md measures it); a release
build (`--strict`) refuses that.
"""

from __future__ import annotations

import io
import modulefinder
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

ENV_BUILD_PYTHON = "PARAMSECRETS_LAYER_BUILD_PYTHON"
"""auto (default) | layer | host: which Python does the build's Python work."""

ENV_COMPILER = "PARAMSECRETS_LAYER_COMPILER"
"""A CPython 3.11 to compile the layer's bytecode with in a host build; `none`: ship sources."""

MODES = ("auto", "layer", "host")

MAGIC_311 = (3495).to_bytes(2, "little") + b"\r\n"
"""importlib.util.MAGIC_NUMBER of every CPython 3.11 release: the bytecode format the layer loads."""

FROZEN_311 = (
    "__hello__", "__phello__", "_collections_abc", "_sitebuiltins", "abc", "codecs", "genericpath",
    "importlib.machinery", "importlib.util", "io", "ntpath", "os", "posixpath", "runpy", "site", "stat",
    "zipimport",
)
"""The standard library modules CPython 3.11 freezes into its interpreter (and importlib's two
bootstrap modules, pruned by name in slim.py): imported from the frozen copy, never the file."""

BUILTIN_MODULES = (
    "_abc", "_ast", "_bisect", "_blake2", "_codecs", "_collections", "_csv", "_datetime", "_elementtree",
    "_functools", "_heapq", "_imp", "_io", "_locale", "_md5", "_opcode", "_operator", "_pickle",
    "_posixsubprocess", "_random", "_sha1", "_sha256", "_sha3", "_sha512", "_signal", "_socket", "_sre",
    "_stat", "_statistics", "_string", "_struct", "_symtable", "_thread", "_tokenize", "_tracemalloc",
    "_warnings", "_weakref", "array", "atexit", "binascii", "builtins", "cmath", "errno", "faulthandler",
    "fcntl", "gc", "grp", "itertools", "marshal", "math", "posix", "pwd", "pyexpat", "select", "spwd", "sys",
    "syslog", "time", "unicodedata", "xxsubtype", "zlib",
)
"""sys.builtin_module_names of Debian bookworm's python3.11 (its build links these into the
interpreter). modulefinder must know them: it treats a module it cannot find as missing, and then
skips any relative import of the same short name (`from ._abc import ...` in importlib.util after
`from _abc import ...` in abc), which would drop a file the layer needs. Checked against the
layer's interpreter by tests/lambda/test_layer_host_build.py."""

NO_COMPILER = "none"
TIMEOUT_S = 60


class HostPythonError(Exception):
    """The host-side build step failed; the message is meant for the user."""


def find_compiler(explicit: str | None = None) -> list[str] | None:
    """The command of a CPython 3.11 on this machine, or None (ship sources).

    `explicit` (or $PARAMSECRETS_LAYER_COMPILER) names one, and must be a CPython 3.11; `none`
    asks for none. Otherwise: this Python when it is 3.11, else `python3.11` on PATH."""
    wanted = explicit if explicit is not None else os.environ.get(ENV_COMPILER) or None
    if wanted is not None:
        if wanted == NO_COMPILER:
            return None
        problem = _not_311(wanted)
        if problem:
            raise HostPythonError(f"the compiler {wanted} {problem}: the layer's bytecode needs a CPython 3.11")
        return [wanted]
    for candidate in (sys.executable, shutil.which("python3.11")):
        if candidate and not _not_311(candidate):
            return [candidate]
    return None


def _not_311(python: str) -> str | None:
    """Why `python` cannot compile the layer's bytecode, or None when it can."""
    script = "import importlib.util, sys; print(sys.implementation.name, importlib.util.MAGIC_NUMBER.hex())"
    try:
        proc = subprocess.run([python, "-I", "-S", "-c", script], capture_output=True, text=True,
                              timeout=TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"cannot run ({exc.__class__.__name__})"
    fields = proc.stdout.split()
    if proc.returncode != 0 or len(fields) != 2:
        return "does not run as a Python"
    if fields[0] != "cpython" or fields[1] != MAGIC_311.hex():
        return f"is {fields[0]} with bytecode magic {fields[1]}, not CPython 3.11's {MAGIC_311.hex()}"
    return None


def describe(command: list[str] | None) -> str:
    """One line naming the compiler, for the build's progress."""
    if command is None:
        return "no CPython 3.11 here: shipping sources"
    proc = subprocess.run([*command, "-I", "-S", "-c", "import sys; print(sys.version.split()[0])"],
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    return f"{command[0]} (Python {proc.stdout.strip() or '?'})"


COMPILE_SCRIPT = r"""
import importlib.util, os, py_compile, sys
folder, prefix, optimize = sys.argv[1], sys.argv[2], int(sys.argv[3])
for root, dirs, files in os.walk(folder):
    dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not os.path.islink(os.path.join(root, d)))
    for name in sorted(files):
        if name.endswith(".py"):
            source = os.path.join(root, name)
            rel = os.path.relpath(source, folder).replace(os.sep, "/")
            py_compile.compile(source, importlib.util.cache_from_source(source, optimization=optimize or ""),
                               prefix + "/" + rel, doraise=True, optimize=optimize,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
"""
"""What `compileall -d PREFIX` does, but naming each file PREFIX + "/" + its POSIX relative path
(compileall joins with os.path.join, which writes backslashes into the code objects on Windows)."""


def compile_tree(command: list[str], folder: Path, prefix: str, optimize: int = 0) -> str | None:
    """Compile every .py under `folder` with `command` (a CPython 3.11) into __pycache__, as
    UNCHECKED_HASH pycs whose file names are the layer's paths; returns the error output or None.
    PYTHONHASHSEED=0: set constants marshal in a fixed order, so two builds write the same bytes."""
    env = {"PYTHONHASHSEED": "0", "LC_ALL": "C.UTF-8", "PATH": os.defpath}
    if sys.platform == "win32":  # Windows' Python needs these to start
        env.update({k: v for k, v in os.environ.items() if k.upper() in ("SYSTEMROOT", "TEMP", "TMP")})
    proc = subprocess.run([*command, "-s", "-c", COMPILE_SCRIPT, str(folder), prefix, str(optimize)],
                          capture_output=True, text=True, timeout=600, check=False, env=env)
    return None if proc.returncode == 0 else (proc.stdout + proc.stderr).strip()[-2000:]


class _LayerFinder(modulefinder.ModuleFinder):
    """modulefinder over the layer's files: looks modules up by name in `path` with the target's
    extension suffixes and built-in modules, never in this machine's import system or its own
    built-in module names."""

    def __init__(self, path: list[str], excludes: list[str], extension_suffixes: tuple[str, ...]) -> None:
        super().__init__(path=path, excludes=excludes)
        self._suffixes = extension_suffixes
        self._listings: dict[str, frozenset[str]] = {}

    def _names(self, folder: str) -> frozenset[str]:
        """The entries of `folder` (exact case, as on Linux), symlinks left out: the unpacked tree
        holds none (deb_tree.py keeps them in a table), and one there could point into this machine."""
        if folder not in self._listings:
            try:
                with os.scandir(folder) as entries:
                    self._listings[folder] = frozenset(e.name for e in entries if not e.is_symlink())
            except OSError:
                self._listings[folder] = frozenset()
        return self._listings[folder]

    def find_module(self, name: str, path: Any, parent: Any = None) -> tuple[IO[bytes] | None, str | None,
                                                                                 tuple[str, str, int]]:
        fullname = f"{parent.__name__}.{name}" if parent is not None else name
        if fullname in self.excludes:
            raise ImportError(name)
        if path is None and name in BUILTIN_MODULES:
            return None, None, ("", "", modulefinder._C_BUILTIN)  # type: ignore[attr-defined]
        for folder in (self.path if path is None else path):
            names = self._names(folder)
            base = os.path.join(folder, name)
            if name in names and "__init__.py" in self._names(base):  # a package wins, as in FileFinder
                return None, base, ("", "", modulefinder._PKG_DIRECTORY)  # type: ignore[attr-defined]
            for suffix in self._suffixes:
                if name + suffix in names:
                    return None, base + suffix, (suffix, "rb", modulefinder._C_EXTENSION)  # type: ignore[attr-defined]
            if name + ".py" in names:
                return (io.open_code(base + ".py"), base + ".py",
                        (".py", "rb", modulefinder._PY_SOURCE))  # type: ignore[attr-defined]
        raise ImportError(f"No module named {fullname!r}", name=fullname)


def imported_stdlib(stdlib: Path, multiarch: str, package_lib: Path, entry_points: Iterable[Path],
                    excludes: Iterable[str], startup_modules: Iterable[str]) -> set[str]:
    """Standard library files (relative to `stdlib`, the layer's lib/python3.11) that the entry
    points can import: what runtime.imported_stdlib asks of the layer's interpreter, found here."""
    suffixes = (f".cpython-311-{multiarch}.so", ".abi3.so", ".so")
    path = [str(package_lib), str(stdlib), str(stdlib / "lib-dynload")]
    finder = _LayerFinder(path, list(excludes), suffixes)
    starter = package_lib / "_layer_startup_modules.py"
    starter.write_text("".join(f"import {name}\n" for name in startup_modules), encoding="utf-8", newline="\n")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a newer host's SyntaxWarnings about 3.11 sources
            for script in (starter, *entry_points):
                finder.run_script(str(script))
    except SyntaxError as error:
        raise HostPythonError(f"this Python cannot read a layer source: {error}") from None
    finally:
        starter.unlink()
    found: set[str] = set()
    for module in finder.modules.values():
        file = getattr(module, "__file__", None)
        if file:
            try:
                found.add(Path(file).relative_to(stdlib).as_posix())
            except ValueError:
                continue
    return found

