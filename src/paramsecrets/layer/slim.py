"""Make the staged layer smaller before it is zipped: one call, `slim(stage, progress)`, from layer.py.

Why: Lambda unpacks the layer at every cold start and counts its size against the 250 MB limit;
most of what the inputs carry is never used at run time:

1. Debug information: `_awscrt.abi3.so` ships DWARF and a static symbol table (4.6 MiB of 11.5);
   elf_strip.py removes them in Python (no binutils needed to build the layer).
2. Sources beside their bytecode: every module is compiled (UNCHECKED_HASH, naming its /opt
   path); the .py is dropped and the .pyc moved to where the source was, so Python loads it as a
   sourceless module. Tracebacks keep the file name and line number (both are in the code
   object); what is lost is the source line printed under each frame, and `inspect.getsource`.
   run.py (the script the launcher starts) stays a source file.
3. Modules nothing imports: awscrt's MQTT, S3, WebSocket, event-stream, CBOR, checksum and test
   modules, and standard library modules no path of the server, the client or the CLI reaches.
   tests/lambda/test_import_audit.py proves it: it runs every entry point on the built layer's own
   interpreter (both arches) and fails when any of them looks for a module the layer lacks.
4. The standard library's bytecode in one compressed archive, `runtime/lib/python311.zip`, the
   first entry of the bundled interpreter's default sys.path (as CPython's embeddable
   distribution ships it): about 0.6 MiB less unpacked (1.7 MiB if every member were deflated),
   one file to open instead of a stat per module and folder. `os.pyc` stays a file (the
   interpreter finds its standard library by it), and so do the C modules of lib-dynload/
   (shared objects cannot be loaded from an archive).
   The modules the server imports before it answers (`SERVE_STDLIB`) are stored uncompressed:
   zipimport inflates every deflated member it loads, and for those 84 modules that was about
   18 ms of CPU of the extension's start (124 against 106 ms, bench/stdlib_archive.py) for 1.1 MiB
   more unpacked; the rest (the client's, the CLI's and the error paths' modules) stay deflated.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

from paramsecrets.layer import elf_strip
from paramsecrets.layer.host_python import FROZEN_311, compile_tree

Progress = Callable[[str], object]

AWSCRT_KEPT = frozenset({"__init__", "auth", "exceptions", "http", "io"})
"""awscrt's Python modules the AWS clients import (aws/transport.py, aws/sigv4.py): auth needs http
and io, and every module needs exceptions. The others (mqtt, mqtt5, mqtt_request_response, s3,
websocket, eventstream/, aio/, cbor, checksums, crypto, common, logging, aws_iot_metrics, _test)
serve other AWS products."""

STDLIB_PRUNED: tuple[str, ...] = (
    # Windows only.
    "asyncio.proactor_events", "asyncio.windows_events", "asyncio.windows_utils", "encodings.mbcs",
    # ProcessPoolExecutor: it needs multiprocessing, which the layer never ships.
    "concurrent.futures.process",
    # Pure-Python fallbacks of the built-in _abc and _thread._local.
    "_py_abc", "_threading_local",
    # shutil's archive helpers and importlib.metadata name these; nothing in the layer calls either
    # (paramsecrets.__version__ is a constant).
    "gzip", "tarfile", "zipfile", "_compression", "importlib.metadata", "importlib.resources", "importlib.readers",
    "csv", "tempfile",
    # Reached from random/statistics-style helpers and argparse's fallbacks that no path calls.
    "statistics", "fractions", "numbers", "getopt",
    # email's modern API: http.client parses headers with the compat32 policy only.
    "email._header_value_parser", "email.contentmanager", "email.generator", "email.headerregistry", "email.policy",
    # warnings imports it in a try, and only to show where a ResourceWarning's object was made.
    "tracemalloc",
    # Frozen into the 3.11 interpreter as _frozen_importlib(_external); importlib uses those.
    "importlib._bootstrap", "importlib._bootstrap_external",
)
"""Standard library modules (dotted names; a package goes whole) that modulefinder keeps because
some function of a kept module names them, but that no path of the layer imports: every entry
point of the built layer, error paths included, runs in tests/lambda/test_import_audit.py, which
fails when one of them looks for a module the layer lacks."""

SERVE_STDLIB: frozenset[str] = frozenset({
    "__future__", "_weakrefset", "asyncio", "asyncio.base_events", "asyncio.base_futures", "asyncio.base_subprocess",
    "asyncio.base_tasks", "asyncio.constants", "asyncio.coroutines", "asyncio.events", "asyncio.exceptions",
    "asyncio.format_helpers", "asyncio.futures", "asyncio.locks", "asyncio.log", "asyncio.mixins",
    "asyncio.protocols", "asyncio.queues", "asyncio.runners", "asyncio.selector_events", "asyncio.sslproto",
    "asyncio.staggered", "asyncio.streams", "asyncio.subprocess", "asyncio.taskgroups", "asyncio.tasks",
    "asyncio.threads", "asyncio.timeouts", "asyncio.transports", "asyncio.trsock", "asyncio.unix_events", "bisect",
    "collections", "collections.abc", "concurrent", "concurrent.futures", "concurrent.futures._base", "contextlib",
    "contextvars", "copy", "copyreg", "dataclasses", "datetime", "encodings", "encodings.aliases", "encodings.utf_8",
    "enum", "functools", "heapq", "json", "json.decoder", "json.encoder", "json.scanner", "keyword", "linecache",
    "logging", "operator", "random", "re", "re._casefix", "re._compiler", "re._constants", "re._parser", "reprlib",
    "selectors", "signal", "socket", "string", "textwrap", "threading", "token", "tokenize", "traceback", "types",
    "typing", "warnings", "weakref",
})
"""The standard library modules `serve` imports before it answers (the bundled interpreter's
sys.modules after importing the server, the AWS clients and the SDK protocol, awscrt included):
stored uncompressed in the archive, so the extension's start does not inflate them (`inspect` and
`subprocess`, deferred by paramsecrets.process.deferred, and what they import are not). A module
missing here is only slower to import (deflated); tests/unit/test_layer_slim_archive.py keeps the
list in step with what the server imports."""

CACHE_TAG = "cpython-311"
"""The bundled interpreter's bytecode tag (not the building Python's)."""

RUNTIME_STDLIB = "/opt/paramsecrets/runtime/lib/python3.11"
"""The standard library's path in the function, compiled into its code objects for tracebacks."""


class SlimError(Exception):
    """The layer could not be slimmed; the message is meant for the user."""


SCRIPTS_WITH_SOURCE = frozenset({"run.py"})
"""Started by path (`python run.py`), so it must stay a source file."""


@dataclasses.dataclass
class SlimReport:
    """What slim() removed, in bytes, for the build's progress lines."""

    stripped: int = 0
    sources: int = 0
    modules: int = 0
    docstrings: int = 0
    archived: int = 0


def slim(stage: Path, command: list[str] | None, progress: Progress) -> SlimReport:
    """Strip ELF files, drop sources where bytecode exists, remove unused modules, under `stage`.

    `command` runs the bundled interpreter's version on this machine (to recompile the standard
    library without docstrings); None when there is none (a host build shipping sources)."""
    report = SlimReport()
    lib = stage / "paramsecrets" / "lib"
    stdlib = stage / "paramsecrets" / "runtime" / "lib" / "python3.11"
    report.modules += prune_awscrt(lib / "awscrt")
    report.modules += prune_stdlib(stdlib, STDLIB_PRUNED)
    report.modules += prune_stdlib(stdlib, frozen_modules(stdlib, command) if command
                                          else tuple(n for n in FROZEN_311 if n not in LANDMARKS))
    if command:
        report.docstrings += stdlib_without_docstrings(stdlib, command)
    for path in sorted(stage.rglob("*")):
        if path.is_file() and not path.is_symlink():
            report.stripped += elf_strip.strip_file(path)
    report.sources += sourceless(stage)
    report.archived += stdlib_into_archive(stdlib)
    progress(f"  slimmed: {_mib(report.stripped)} of ELF debug sections, {_mib(report.sources)} of sources "
             f"beside bytecode, {_mib(report.modules)} of modules never imported, {_mib(report.docstrings)} of "
             f"standard library docstrings, {_mib(report.archived)} by archiving the standard library")
    return report


def _mib(size: int) -> str:
    return f"{size / 1048576:.1f} MiB"


def _remove(path: Path) -> int:
    """Remove a file or a folder; returns the bytes removed."""
    if path.is_dir():
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        shutil.rmtree(path)
        return size
    if path.is_file():
        size = path.stat().st_size
        path.unlink()
        return size
    return 0


def prune_awscrt(package: Path) -> int:
    """Remove awscrt's modules other than AWSCRT_KEPT (sources, bytecode and subpackages)."""
    removed = 0
    if not package.is_dir():
        return 0
    for entry in sorted(package.iterdir()):
        if entry.name == "__pycache__":
            for pyc in sorted(entry.iterdir()):
                if pyc.name.split(".", 1)[0] not in AWSCRT_KEPT:
                    removed += _remove(pyc)
        elif entry.name.split(".", 1)[0] not in AWSCRT_KEPT:
            removed += _remove(entry)
    return removed


def prune_stdlib(stdlib: Path, modules: tuple[str, ...]) -> int:
    """Remove the named standard library modules or packages (source, bytecode, extension)."""
    removed = 0
    for name in modules:
        *parents, leaf = name.split(".")
        folder = stdlib.joinpath(*parents)
        removed += _remove(folder / leaf)
        removed += _remove(folder / f"{leaf}.py")
        for pyc in sorted((folder / "__pycache__").glob(f"{leaf}.cpython-311*.pyc")):
            removed += _remove(pyc)
        for ext in sorted((stdlib / "lib-dynload").glob(f"{name}.cpython-311-*.so")):
            removed += _remove(ext)
    return removed


LANDMARKS = frozenset({"os"})
"""Kept even though frozen: the interpreter finds its prefix by looking for lib/python3.11/os.py(c)."""


def frozen_modules(stdlib: Path, command: list[str]) -> tuple[str, ...]:
    """The kept standard library modules that the interpreter carries frozen (3.11 freezes the
    modules it needs to start: codecs, io, abc, posixpath, importlib.util, ...): it imports the
    frozen copy, never the file. Asked of the interpreter itself (same version on both arches)."""
    names = []
    for path in sorted(stdlib.rglob("*.py")):
        parts = path.relative_to(stdlib).with_suffix("").parts
        if "lib-dynload" in parts or "__pycache__" in parts:
            continue
        name = ".".join(parts).removesuffix(".__init__")
        if name not in LANDMARKS:
            names.append(name)
    script = "import _imp, sys\nprint(' '.join(n for n in sys.argv[1:] if _imp.is_frozen(n)))\n"
    proc = subprocess.run([*command, "-I", "-S", "-c", script, *names], capture_output=True, text=True,
                          timeout=120, check=False, env={"LC_ALL": "C.UTF-8"})
    if proc.returncode != 0:
        raise SlimError(f"listing the frozen standard library modules failed:\n{proc.stderr[-2000:]}")
    return tuple(proc.stdout.split())


def stdlib_without_docstrings(stdlib: Path, command: list[str]) -> int:
    """Recompile the kept standard library at optimization level 2 (no docstrings, no asserts)
    and use those pycs in place of the plain ones; returns bytes saved.

    Why only the standard library: CPython supports running it under -OO (its own test suite
    does), while our package keeps its docstrings (dataclasses without one compute a signature
    at import, which would cost cold-start time) and its asserts."""
    error = compile_tree(command, stdlib, RUNTIME_STDLIB, optimize=2)
    if error is not None:
        raise SlimError(f"compiling the standard library at -OO failed:\n{error}")
    saved = 0
    for optimized in sorted(stdlib.rglob(f"*.{CACHE_TAG}.opt-2.pyc")):
        plain = optimized.with_name(optimized.name.replace(".opt-2.pyc", ".pyc"))
        if plain.is_file():
            saved += plain.stat().st_size - optimized.stat().st_size
            os.replace(optimized, plain)
        else:
            optimized.unlink()
    return saved


def sourceless(stage: Path) -> int:
    """Replace each X.py that has __pycache__/X.cpython-311.pyc by X.pyc; returns bytes saved."""
    saved = 0
    for source in sorted(stage.rglob("*.py")):
        if source.name in SCRIPTS_WITH_SOURCE and source.parent.name == "paramsecrets" \
                and source.parent.parent == stage:
            continue
        cached = source.parent / "__pycache__" / f"{source.stem}.{CACHE_TAG}.pyc"
        if not cached.is_file():
            continue
        saved += source.stat().st_size
        os.replace(cached, source.with_suffix(".pyc"))
        source.unlink()
    for cache in sorted(stage.rglob("__pycache__"), reverse=True):
        if cache.is_dir() and not any(cache.iterdir()):
            cache.rmdir()
    return saved


STDLIB_ARCHIVE = "python311.zip"
"""Beside the python3.11/ folder: CPython 3.11 puts `<prefix>/lib/python311.zip` first on sys.path."""

ARCHIVE_TIME = (1980, 1, 1, 0, 0, 0)
"""One fixed timestamp for every member, so two builds write the same bytes."""


def module_name(member: str) -> str:
    """The dotted module name of an archive member ("json/__init__.pyc" -> "json")."""
    return member.removesuffix(".pyc").removesuffix("/__init__").replace("/", ".")


def stdlib_into_archive(stdlib: Path) -> int:
    """Move the standard library's bytecode into STDLIB_ARCHIVE (deflated but SERVE_STDLIB, which
    is stored; members sorted, fixed times); returns the bytes saved. `os.pyc` and lib-dynload/
    stay files (see the module's note)."""
    members = sorted(path for path in stdlib.rglob("*.pyc")
                     if path.relative_to(stdlib).parts[0] != "lib-dynload" and path != stdlib / "os.pyc")
    if not members:
        return 0
    archive = stdlib.parent / STDLIB_ARCHIVE
    before = 0
    with zipfile.ZipFile(archive, "w") as out:
        for path in members:
            name = path.relative_to(stdlib).as_posix()
            info = zipfile.ZipInfo(name, ARCHIVE_TIME)
            info.compress_type = zipfile.ZIP_STORED if module_name(name) in SERVE_STDLIB else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            data = path.read_bytes()
            before += len(data)
            out.writestr(info, data, compresslevel=9)
    for path in members:
        path.unlink()
    for folder in sorted((p for p in stdlib.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return before - archive.stat().st_size
