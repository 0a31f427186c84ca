"""The layer's own runtime: Debian's CPython, glibc with its loader, and a CA bundle, from pinned .debs.

Why: a Lambda function's runtime may have no Python (Node.js, Java, .NET, Ruby, `provided`) and
its C library may be older than the one an interpreter was built for (AL2 has glibc 2.26). So the
layer carries everything, and its launcher starts the interpreter through the bundled dynamic
loader with `--library-path`: no file of the host's C library, and no Python of the function's, is
ever used.

Layout under the layer's `paramsecrets/runtime/` (on Lambda: /opt/paramsecrets/runtime/):

    bin/python3.11                   Debian's interpreter (python3.11-minimal)
    lib/ld-linux-*.so.*              glibc's dynamic loader, the launcher's entry point
    lib/libc.so.6 ...                glibc, libz, libexpat: what the interpreter and awscrt link
    lib/python3.11/                  the standard library modules the server and CLI import
    lib/python3.11/lib-dynload/      the C extension modules among them
    etc/ssl/ca-certificates.crt      Mozilla's CAs (Debian ca-certificates), sorted, concatenated
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from paramsecrets.layer import deb_tree
from paramsecrets.layer.ar_unpack import DebError, extract_deb
from paramsecrets.layer.debian_fetch import DebFetcher, DebianOptions, FetchError
from paramsecrets.layer.lock import Lock, Pinned

Progress = Callable[[str], object]

PYTHON = "python3.11"
STDLIB = f"lib/{PYTHON}"
LOADER = {"x86_64": "ld-linux-x86-64.so.2", "arm64": "ld-linux-aarch64.so.1"}
MULTIARCH = {"x86_64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}
SHARED_LIBRARIES = ("libc.so.6", "libm.so.6", "libpthread.so.0", "librt.so.1", "libdl.so.2",
                    "libz.so.1", "libexpat.so.1", "libgcc_s.so.1")
"""What the interpreter, its kept lib-dynload modules and awscrt's _awscrt.abi3.so link (checked by ELF),
and libgcc_s.so.1, which no file links: glibc 2.34+ dlopens it to unwind a thread that ends while
the process exits (pthread_exit). Without it in the layer's library path the loader finds none (it
never searches /usr/lib64, where Amazon Linux keeps its own) and glibc aborts: `libgcc_s.so.1 must
be installed for pthread_exit to work`, SIGABRT."""
CA_BUNDLE = "etc/ssl/ca-certificates.crt"
PACKAGES_FILE = ".packages.json"
RUNTIME_PREFIX = "/opt/paramsecrets/runtime"

STARTUP_MODULES = (
    # Imported by the interpreter itself before any code runs (checked with -X importtime), and
    # the codecs that socket.getaddrinfo and str.encode may load lazily.
    "encodings", "encodings.aliases", "encodings.utf_8", "encodings.ascii", "encodings.latin_1",
    "encodings.idna", "encodings.punycode", "encodings.utf_8_sig", "encodings.raw_unicode_escape",
    "encodings.unicode_escape", "codecs", "io", "abc", "os", "stat", "posixpath", "genericpath",
    "_collections_abc",
)
EXCLUDED_MODULES = (
    # Named by some import the server or CLI can reach, but never imported at run time (the build
    # imports every shipped module with the bundled interpreter to prove it): asyncio's TLS and
    # OpenSSL's hashes (the server sets sys.modules["ssl"] = None, AWS calls use awscrt's TLS,
    # hashlib falls back to its built-in hashes, and each import is guarded), `site` (-S), and
    # what optional or development-only code paths of the standard library name.
    "ssl", "_ssl", "_hashlib", "site", "sitecustomize",
    "tkinter", "_tkinter", "unittest", "doctest", "pydoc", "pydoc_data", "test", "lib2to3", "idlelib",
    "ensurepip", "distutils", "pdb", "bdb", "cmd", "code", "codeop", "curses", "_curses", "readline",
    "_ctypes", "ctypes", "sqlite3", "_sqlite3", "dbm", "_dbm", "_gdbm", "lzma", "_lzma", "bz2", "_bz2",
    "_uuid", "uuid", "multiprocessing", "_multiprocessing", "_posixshmem", "xml", "xmlrpc", "pyexpat",
    "_decimal", "decimal", "_pydecimal", "mailbox", "smtplib", "ftplib", "netrc", "getpass", "tty", "pty",
    "termios", "webbrowser", "http.cookiejar", "http.server", "socketserver", "py_compile", "compileall",
    "pickle", "_pickle", "_compat_pickle", "pprint",
)

HOST_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
    platform.machine().lower(), "")


class RuntimeBuildError(Exception):
    """The runtime could not be assembled; the message is meant for the user."""


# ---------------------------------------------------------------- .deb download and extraction


def fetch_debs(lock: Lock, arch: str, cache: Path, progress: Progress,
               options: DebianOptions | None = None) -> list[tuple[Pinned, Path]]:
    """Every pinned package of `arch` as (the package used, its verified .deb), downloaded over
    HTTP(S) by debian_fetch (no apt, no dpkg)."""
    fetcher = DebFetcher(cache, lock.debian, options or DebianOptions(), progress)
    try:
        return [fetcher.fetch(item, arch) for item in lock.packages[arch]]
    except FetchError as error:
        raise RuntimeBuildError(str(error)) from None


TREE_FORMAT = "tree-2"
"""Part of the tree's cache key: format 2 keeps symlinks in deb_tree.LINKS_FILE, never on disk."""


def _tree_key(items: Iterable[Pinned]) -> str:
    """The unpacked tree's cache key: its format and the packages' checksums (a lock row added changes it)."""
    return hashlib.sha256(" ".join([TREE_FORMAT, *sorted(item.sha256 for item in items)]).encode()).hexdigest()[:16]


def tree_packages(tree: Path) -> list[Pinned]:
    """The packages an unpacked tree was made of (written by unpack_packages)."""
    rows = json.loads((tree / PACKAGES_FILE).read_text(encoding="utf-8"))
    return [Pinned(**row) for row in rows]


@contextlib.contextmanager
def _cache_lock(cache: Path) -> Iterator[None]:
    """One builder at a time fills the cache's unpacked trees where the OS offers a lock (a test run
    and a benchmark may overlap: the second waits instead of downloading again). Best effort only:
    flock, else Windows' msvcrt.locking (which gives up after about 10 s), else none. Correctness
    never rests on it: every tree is published by one atomic rename (_publish)."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".layer-root.lock").open("a+b") as handle:
        unlock = _lock(handle)
        try:
            yield
        finally:
            unlock()


def _lock(handle: BinaryIO) -> Callable[[], None]:
    """Lock the open file if this OS can; returns how to unlock (a no-op when it could not)."""
    try:
        import fcntl
    except ImportError:
        pass
    else:
        fcntl.flock(handle, fcntl.LOCK_EX)
        return lambda: fcntl.flock(handle, fcntl.LOCK_UN)
    try:
        import msvcrt
    except ImportError:
        return lambda: None
    handle.seek(0)
    try:
        msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]
    except OSError:
        return lambda: None  # another build holds it for long: go on, the publish is atomic

    def unlock() -> None:
        handle.seek(0)
        with contextlib.suppress(OSError):
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]

    return unlock


PUBLISH_TRIES = 6
"""Windows refuses to rename a folder while a scanner still reads a file just written in it
(PermissionError): the rename is tried again, 0.1 s later, then 0.2, 0.4 ... (3.1 s in all)."""


def _publish(tmp: Path, final: Path) -> None:
    """Move a finished folder (its .complete written) to its cache name in one rename. When another
    builder published the same content first, keep theirs; a leftover without .complete is replaced."""
    if final.exists() and not (final / ".complete").is_file():
        shutil.rmtree(final, ignore_errors=True)
    final.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(PUBLISH_TRIES):
        try:
            os.replace(tmp, final)
            return
        except PermissionError:
            if (final / ".complete").is_file():
                break
            if attempt == PUBLISH_TRIES - 1:
                raise
            time.sleep(0.1 * 2 ** attempt)
        except OSError:
            if not (final / ".complete").is_file():
                raise
            break
    shutil.rmtree(tmp, ignore_errors=True)


def unpack_packages(lock: Lock, arch: str, cache: Path, progress: Progress,
                    options: DebianOptions | None = None) -> Path:
    """All pinned packages of `arch` unpacked in one tree, cached per the packages' checksums.

    The tree holds folders and regular files; the packages' symlinks are rows of its
    deb_tree.LINKS_FILE. Its PACKAGES_FILE names the packages it holds (the locked ones, or in a
    test build allowed to, the newer ones that replaced a package found nowhere)."""
    tree = cache / "layer-root" / f"{arch}-{_tree_key(lock.packages[arch])}"
    with _cache_lock(cache):
        if (tree / ".complete").is_file():
            return tree
        fetched = fetch_debs(lock, arch, cache, progress, options)
        used = [item for item, _ in fetched]
        tree = cache / "layer-root" / f"{arch}-{_tree_key(used)}"
        if (tree / ".complete").is_file():
            return tree
        versions = {item.version for item in used if item.name.startswith(("python3.11", "libpython3.11"))}
        if len(versions) != 1:
            raise RuntimeBuildError(f"the lock mixes Python package versions for {arch}: {sorted(versions)}")
        tmp = Path(tempfile.mkdtemp(dir=cache, prefix=".layer-root-"))
        try:
            links: dict[str, str] = {}
            for item, deb in fetched:
                try:
                    extract_deb(deb, tmp, links)
                except DebError as error:
                    raise RuntimeBuildError(f"{item.filename}: {error}") from None
            deb_tree.write_links(tmp, links)
            (tmp / PACKAGES_FILE).write_text(json.dumps([dataclasses.asdict(i) for i in used], indent=1),
                                             encoding="utf-8")
            (tmp / ".complete").write_text("ok\n", encoding="utf-8")
            _publish(tmp, tree)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return tree


def _resolve(tree: Path, path: str) -> Path:
    """`path` inside the unpacked tree, following the packages' symlinks as if the tree were the root."""
    try:
        return deb_tree.host_path(tree, path)
    except deb_tree.TreeError as error:
        raise RuntimeBuildError(str(error)) from None


def resolve(tree: Path, path: str) -> Path:
    """`path` (absolute, as on the target) inside the unpacked tree, its symlinks followed there."""
    return _resolve(tree, path)


def runs_here() -> bool:
    """Whether this machine can run the layer's interpreter (Linux on x86_64 or arm64)."""
    return sys.platform.startswith("linux") and bool(HOST_ARCH)


def find_library(tree: Path, arch: str, name: str) -> Path:
    """A shared library of the unpacked tree by its soname, in Debian's library folders."""
    for folder in (f"/lib/{MULTIARCH[arch]}", f"/usr/lib/{MULTIARCH[arch]}"):
        path = _resolve(tree, f"{folder}/{name}")
        if path.is_file():
            return path
    raise RuntimeBuildError(f"{name} is in none of the locked {arch} packages")


# ---------------------------------------------------------------- the interpreter, on this machine


def interpreter_command(runtime: Path, arch: str) -> list[str]:
    """How to run the interpreter of a runtime folder from this machine (through its own loader)."""
    lib = runtime / "lib"
    return [str(lib / LOADER[arch]), "--inhibit-cache", "--library-path", str(lib), str(runtime / "bin" / PYTHON)]


def host_runtime(lock: Lock, cache: Path, progress: Progress,
                 options: DebianOptions | None = None) -> tuple[Path, list[str]]:
    """The full unpacked runtime of this machine's architecture and the command to run it.

    Used for what the layer's own interpreter must do at build time on any target arch: list
    the modules the package imports and compile bytecode. The Python packages are the same
    Debian version on both arches, so this is the same compiler as the target's.
    """
    if not HOST_ARCH:
        raise RuntimeBuildError(f"cannot run a bundled interpreter on this machine ({platform.machine()})")
    tree = unpack_packages(lock, HOST_ARCH, cache, progress, options)
    runtime = tree.parent / f"{tree.name}-runtime"
    with _cache_lock(cache):
        if not (runtime / ".complete").is_file():
            tmp = Path(tempfile.mkdtemp(dir=tree.parent, prefix=".runtime-"))
            try:
                _copy_core(tree, tmp, HOST_ARCH)
                shutil.copytree(tree / "usr" / STDLIB, tmp / STDLIB, dirs_exist_ok=True)
                _copy_stdlib_links(tree, tmp / STDLIB)
                (tmp / ".complete").write_text("ok\n", encoding="utf-8")
                _publish(tmp, runtime)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return runtime, interpreter_command(runtime, HOST_ARCH)


def _copy_stdlib_links(tree: Path, stdlib: Path) -> None:
    """The standard library's symlinks, as the files they resolve to in the tree (the interpreter can
    import them, as from Debian's own install); one whose target no package ships is left out. An
    absolute link resolves inside the tree too: it never reaches this machine's own /etc."""
    prefix = f"/usr/{STDLIB}/"
    for link in sorted(deb_tree.links(tree)):
        if link.startswith(prefix):
            source = _resolve(tree, link)
            if source.is_file():
                target = stdlib / link.removeprefix(prefix)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)


def _copy_core(tree: Path, runtime: Path, arch: str) -> None:
    """The interpreter, the loader and the shared libraries, as plain files under their sonames."""
    (runtime / "bin").mkdir(parents=True)
    (runtime / "lib").mkdir(parents=True)
    shutil.copyfile(_resolve(tree, f"/usr/bin/{PYTHON}"), runtime / "bin" / PYTHON)
    for name in (LOADER[arch], *SHARED_LIBRARIES):
        shutil.copyfile(find_library(tree, arch, name), runtime / "lib" / name)
    for name in ("bin/" + PYTHON, "lib/" + LOADER[arch]):
        os.chmod(runtime / name, 0o755)


def imported_stdlib(command: list[str], runtime: Path, package_lib: Path, entry_points: Iterable[Path]) -> set[str]:
    """Standard library files (relative to lib/python3.11) that the entry points can import.

    modulefinder reads every import statement, function-level ones included, so the set covers
    imports made lazily at run time (a superset of what one run would touch). EXCLUDED_MODULES
    are left out on purpose; STARTUP_MODULES are added (the interpreter imports them itself).
    """
    script = (
        "import json, modulefinder, sys\n"
        "finder = modulefinder.ModuleFinder(path=[sys.argv[2], *sys.path], excludes=json.loads(sys.argv[1]))\n"
        "for script in sys.argv[3:]:\n"
        "    finder.run_script(script)\n"
        "print(json.dumps(sorted(filter(None, (getattr(m, '__file__', None) for m in finder.modules.values())))))\n"
    )
    starter = package_lib / "_layer_startup_modules.py"
    starter.write_text("".join(f"import {name}\n" for name in STARTUP_MODULES), encoding="utf-8", newline="\n")
    try:
        proc = subprocess.run(
            [*command, "-I", "-S", "-c", script, _json(EXCLUDED_MODULES), str(package_lib), str(starter),
             *map(str, entry_points)],
            capture_output=True, text=True, timeout=600, check=False,
        )
    finally:
        starter.unlink()
    if proc.returncode != 0:
        raise RuntimeBuildError(f"listing the imported standard library failed:\n{proc.stderr[-2000:]}")
    stdlib = runtime / STDLIB
    found: set[str] = set()
    for file in json.loads(proc.stdout):
        path = Path(file)
        with contextlib.suppress(ValueError):
            found.add(path.relative_to(stdlib).as_posix())
    return found


def _json(items: Iterable[str]) -> str:
    return json.dumps(list(items))


def assemble(tree: Path, arch: str, dest: Path, stdlib_files: Iterable[str]) -> list[str]:
    """Write the runtime of `arch` into dest: core files, the stdlib subset and the CA bundle.

    Returns the stdlib files copied (relative to lib/python3.11).
    """
    _copy_core(tree, dest, arch)
    tag = MULTIARCH[arch]
    copied = []
    for rel in sorted(stdlib_files):
        if rel.startswith("lib-dynload/"):
            # The host arch's file name; take the target arch's twin.
            module = rel.split("/", 1)[1].split(".", 1)[0]
            rel = f"lib-dynload/{module}.cpython-311-{tag}.so"
        path = _resolve(tree, f"/usr/{STDLIB}/{rel}")
        if not path.is_file():
            raise RuntimeBuildError(f"{rel} is not in the locked {arch} packages")
        target = dest / STDLIB / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        copied.append(rel)
    write_ca_bundle(tree, dest / CA_BUNDLE)
    return copied


def write_ca_bundle(tree: Path, target: Path) -> int:
    """Concatenate Debian's Mozilla CA certificates in name order (what update-ca-certificates
    would generate, minus local additions); deterministic. Returns the count."""
    certs = sorted((tree / "usr/share/ca-certificates/mozilla").glob("*.crt"), key=lambda p: p.name)
    if not certs:
        raise RuntimeBuildError("the locked ca-certificates package holds no certificates")
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        for cert in certs:
            data = cert.read_bytes()
            out.write(data if data.endswith(b"\n") else data + b"\n")
    return len(certs)


def check_imports(runtime: Path, package_lib: Path, modules: Iterable[str]) -> None:
    """Import every shipped module with the staged runtime (this machine's arch only): proves
    the kept standard library is enough, which modulefinder's static view alone cannot."""
    script = (
        "import importlib, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "for name in sys.argv[2:]:\n"
        "    importlib.import_module(name)\n"
    )
    proc = subprocess.run([*interpreter_command(runtime, HOST_ARCH), "-I", "-S", "-B", "-c", script,
                           str(package_lib), *modules],
                          capture_output=True, text=True, timeout=120, check=False, env={"LC_ALL": "C.UTF-8"})
    if proc.returncode != 0:
        raise RuntimeBuildError(f"the layer's Python cannot import the package:\n{proc.stderr[-2000:]}")


# ---------------------------------------------------------------- ELF checks


def needed_libraries(path: Path) -> list[str]:
    """The DT_NEEDED sonames of a 64-bit little-endian ELF file (empty for a static one)."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return []
    phoff = int.from_bytes(data[32:40], "little")
    phentsize = int.from_bytes(data[54:56], "little")
    phnum = int.from_bytes(data[56:58], "little")
    loads: list[tuple[int, int, int]] = []
    dynamic: tuple[int, int] | None = None
    for i in range(phnum):
        base = phoff + i * phentsize
        p_type = int.from_bytes(data[base:base + 4], "little")
        offset = int.from_bytes(data[base + 8:base + 16], "little")
        vaddr = int.from_bytes(data[base + 16:base + 24], "little")
        filesz = int.from_bytes(data[base + 32:base + 40], "little")
        if p_type == 1:
            loads.append((vaddr, offset, filesz))
        elif p_type == 2:
            dynamic = (offset, filesz)
    if dynamic is None:
        return []
    entries = []
    strtab = None
    for pos in range(dynamic[0], dynamic[0] + dynamic[1], 16):
        tag = int.from_bytes(data[pos:pos + 8], "little")
        value = int.from_bytes(data[pos + 8:pos + 16], "little")
        if tag == 0:
            break
        if tag == 5:
            strtab = value
        elif tag == 1:
            entries.append(value)
    if strtab is None:
        return []
    str_offset = next((off + strtab - vaddr for vaddr, off, size in loads if vaddr <= strtab < vaddr + size), None)
    if str_offset is None:
        return []
    names = []
    for value in entries:
        start = str_offset + value
        names.append(data[start:data.index(b"\0", start)].decode())
    return names


def check_libraries(root: Path, library_dir: Path) -> None:
    """Refuse a layer whose ELF files need a shared library it does not carry."""
    have = {p.name for p in library_dir.iterdir()}
    problems = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and (path.suffix == ".so" or ".so." in path.name
                                                          or path.parent.name == "bin"):
            missing = [name for name in needed_libraries(path) if name not in have]
            if missing:
                problems.append(f"{path.relative_to(root)} needs {', '.join(missing)}")
    if problems:
        raise RuntimeBuildError("the layer lacks shared libraries:\n  " + "\n  ".join(problems))
