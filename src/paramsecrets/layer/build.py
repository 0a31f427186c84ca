"""Build the Lambda layer zip: `paramsecrets layer build [--arch x86_64|arm64] [-o ZIP]`.

Layout of the zip (unpacked by Lambda under /opt, read-only):

    extensions/paramsecrets          POSIX sh launcher (0755): starts the bundled interpreter on run.py
    bin/paramsecrets                 the client command on the function's PATH, same interpreter
    paramsecrets/exec-wrapper        the same launcher, for AWS_LAMBDA_EXEC_WRAPPER (`paramsecrets exec`)
    paramsecrets/run.py              puts lib/ first on sys.path, calls paramsecrets.cli.main
    paramsecrets/lib/paramsecrets/   our package (without dev/, which needs moto, testing/ and the builder)
    paramsecrets/lib/awscrt/         the runtime dependency, from its pinned manylinux2014 wheel
    paramsecrets/runtime/            Debian's CPython 3.11, glibc with its loader, CA certificates
                                     (see layer_runtime.py)
    paramsecrets/layer.json          what the layer is made of: every Debian package and wheel with
                                     version and SHA-256 (read by `paramsecrets version` and sbom.py)

Why it is built this way:
- The layer works on every Lambda runtime (Node.js, Java, .NET, Ruby, `provided`, Python) and on
  any host C library: it never uses the function's Python, and the launcher starts the bundled
  interpreter through the bundled loader.
- Every input is pinned by version and SHA-256 in files/layer.lock.json (layer_lock.py);
  the build refuses anything else. The .debs are downloaded over HTTP(S) and unpacked in Python
  (debian_fetch.py, ar_unpack.py): no apt, dpkg or root, on any OS with Python 3.11+.
- /opt is read-only, so Python cannot cache bytecode there: the package, awscrt and the kept
  standard library are compiled by the bundled interpreter's own version, as UNCHECKED_HASH pycs
  (no stat of the source, independent of file times).
- Two builds of the same inputs are byte-identical (sorted entries, fixed times and modes,
  PYTHONHASHSEED=0 while compiling), so the layer's hash only changes when its content does.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import paramsecrets
from paramsecrets.layer import host_python, lock_refresh
from paramsecrets.layer import lock as layer_lock
from paramsecrets.layer import runtime as layer_runtime
from paramsecrets.layer import slim as layer_slim
from paramsecrets.layer.debian_fetch import ENV_ALLOW_NEWER, ENV_SNAPSHOT, DebianOptions
from paramsecrets.layer.debian_sources import ENV_MIRROR
from paramsecrets.layer.lock import Lock, LockError, Pinned
from paramsecrets.layer.runtime import RuntimeBuildError

ARCHES = {"x86_64": 62, "arm64": 183}
"""Lambda arch name -> ELF e_machine of its shared objects."""

PACKAGE = "paramsecrets"
EXCLUDED_PACKAGE_ENTRIES = frozenset({"dev", "testing", "layer", "__pycache__"})
"""dev/ needs moto (not shipped), testing/ is the test support; layer/ (the builder, its lock and
templates, the release tooling) is not needed at run time."""

LIB_PREFIX = "/opt/paramsecrets/lib"
"""Where lib/ lives in the function; compiled into the pycs so tracebacks show real paths."""

EXECUTABLES = ("extensions/", "bin/", "paramsecrets/exec-wrapper", "paramsecrets/runtime/bin/",
               "paramsecrets/runtime/lib/ld-linux-")
"""Entries stored with mode 0755; everything else is 0644."""

MAX_ZIP_BYTES = 20 * 1048576
MAX_UNPACKED_BYTES = 60 * 1048576

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
DIR_TIMEOUT_S = 600

Progress = Callable[[str], object]


class LayerBuildError(Exception):
    """A build failure whose message is meant for the user as is."""


@dataclasses.dataclass(frozen=True)
class LayerInfo:
    """What build_layer produced."""

    path: Path
    arch: str
    zip_size: int
    unpacked_size: int
    files: int
    sha256: str
    python: str
    """The bundled interpreter's Debian package version."""
    dependencies: tuple[str, ...]
    stdlib_files: int
    packages: tuple[Pinned, ...] = ()
    """The Debian packages inside (the locked ones unless a test build fell back to newer ones)."""
    wheels: tuple[Pinned, ...] = ()

MANIFEST = "paramsecrets/layer.json"


def cache_dir() -> Path:
    """Where downloads are kept: $PARAMSECRETS_CACHE_DIR, the checkout's .cache, or ~/.cache."""
    if os.environ.get("PARAMSECRETS_CACHE_DIR"):
        return Path(os.environ["PARAMSECRETS_CACHE_DIR"])
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").is_file() and (checkout / "src" / PACKAGE).is_dir():
        return checkout / ".cache"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(xdg) / PACKAGE


# ---------------------------------------------------------------- wheels


def fetch_wheel(item: Pinned, arch: str, dest: Path, progress: Progress) -> Path:
    """The pinned wheel from the cache, or downloaded with pip; its SHA-256 checked either way."""
    target = dest / item.filename
    if not target.is_file():
        progress(f"  downloading {item.name} {item.version} for {arch} (pip download) ...")
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dest, prefix=".download-") as tmp:
            cmd = [
                sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                "--no-deps", "--only-binary=:all:", "--platform", layer_lock.WHEEL_PLATFORM[arch],
                "--python-version", layer_lock.PYTHON_VERSION, "--implementation", "cp", "-d", tmp,
                f"{item.name}=={item.version}",
            ]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=DIR_TIMEOUT_S, check=False)
            except (OSError, subprocess.SubprocessError) as exc:
                raise LayerBuildError(f"could not download {item.name} for {arch}: {exc}") from None
            wheel = Path(tmp) / item.filename
            if proc.returncode != 0 or not wheel.is_file():
                reason = _pip_reason(proc.stderr or proc.stdout) if proc.returncode else f"no {item.filename}"
                raise LayerBuildError(f"could not download {item.name} for {arch}: {reason}")
            item.verify(wheel)
            os.replace(wheel, target)
    item.verify(target)
    return target


def _pip_reason(output: str) -> str:
    """The most telling line of pip's output (its ERROR lines), for a one-line message."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR")]
    return "; ".join(errors) or (lines[-1] if lines else "pip failed without a message")


def _unpack_wheel(wheel: Path, lib: Path) -> None:
    """Unzip a wheel's importable content into lib/ (its .data/ scripts and headers are not needed)."""
    with zipfile.ZipFile(wheel) as zf:
        for member in zf.infolist():
            parts = Path(member.filename).parts
            if member.is_dir() or not parts or parts[0].endswith(".data") or ".." in parts:
                continue
            if "__pycache__" in parts or member.filename.endswith(".pyc"):
                continue
            target = lib.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(member))


# ---------------------------------------------------------------- checks


_EXT_RE = re.compile(r"^(?P<mod>[^.]+)\.(?:(?P<abi3>abi3)|cpython-(?P<ver>3\d+)[^.]*)?\.?so$")


def check_extensions(lib: Path, arch: str) -> list[str]:
    """Refuse compiled code that would not load on the bundled Python 3.11 or on `arch`.

    Returns one description per extension module checked.
    """
    machine = ARCHES[arch]
    problems: list[str] = []
    checked: list[str] = []
    for path in sorted(lib.rglob("*.so*")):
        rel = path.relative_to(lib)
        with path.open("rb") as fh:
            head = fh.read(20)
        if head[:4] != b"\x7fELF":
            problems.append(f"{rel}: not an ELF shared object")
            continue
        if int.from_bytes(head[18:20], "little") != machine:
            problems.append(f"{rel}: built for another architecture than {arch}")
        if any(part.endswith(".libs") for part in rel.parts[:-1]) or not path.name.endswith(".so"):
            continue  # a bundled C library (auditwheel's *.libs/), not a Python module
        match = _EXT_RE.match(path.name)
        if match and match["abi3"]:
            checked.append(f"{rel} (abi3, {arch})")
        elif match and match["ver"] == "311":
            checked.append(f"{rel} (cpython-311, {arch})")
        elif match and match["ver"]:
            problems.append(f"{rel}: compiled for CPython {match['ver'][0]}.{match['ver'][1:]}, not 3.11")
        else:
            problems.append(f"{rel}: extension module without an abi3 or cpython-3XY tag")
    if problems:
        raise LayerBuildError("the layer would not load on its Python 3.11:\n  " + "\n  ".join(problems))
    return checked


# ---------------------------------------------------------------- staging and zip


def _copy_package(stage_lib: Path, source: Path | None = None) -> Path:
    """Copy the paramsecrets package (default: the one installed) into lib/ without dev/,
    testing/, the builder, and caches."""
    source = (source or Path(paramsecrets.__file__).parent).resolve()

    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n.startswith(".") or n.endswith((".pyc", ".pyo"))}
        if Path(folder).resolve() == source:
            skip |= EXCLUDED_PACKAGE_ENTRIES & set(names)
        return skip | ({"__pycache__"} & set(names))

    shutil.copytree(source, stage_lib / PACKAGE, ignore=ignore)
    # Minimal metadata, so importlib.metadata.version("paramsecrets") also works inside the layer.
    info = stage_lib / f"{PACKAGE}-{paramsecrets.__version__}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {paramsecrets.__version__}\n", encoding="utf-8", newline="\n"
    )
    return source


def compile_bytecode(command: list[str], folders: list[tuple[Path, str]]) -> None:
    """Compile each (folder, prefix in the function) with the bundled interpreter's version:
    UNCHECKED_HASH pycs naming the /opt paths (host_python.compile_tree)."""
    for folder, prefix in folders:
        error = host_python.compile_tree(command, folder, prefix)
        if error is not None:
            raise LayerBuildError(f"compiling bytecode in {folder.name} failed:\n{error}")


def _mode(rel: str) -> int:
    return 0o755 if rel.startswith(EXECUTABLES) else 0o644


def _write_zip(stage: Path, output: Path) -> tuple[int, int]:
    """Write `stage` as a deterministic zip at `output`; return (file count, unpacked bytes)."""
    files = sorted(
        (p for p in stage.rglob("*") if p.is_file()), key=lambda p: p.relative_to(stage).as_posix()
    )
    unpacked = 0
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in files:
            rel = path.relative_to(stage).as_posix()
            data = path.read_bytes()
            unpacked += len(data)
            info = zipfile.ZipInfo(rel, date_time=ZIP_DATE)
            info.create_system = 3  # Unix, so external_attr carries the mode
            info.external_attr = (0o100000 | _mode(rel)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data, compresslevel=9)
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(buffer.getvalue())
        os.chmod(tmp, 0o644)
        os.replace(tmp, output)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return len(files), unpacked


def default_output(arch: str) -> Path:
    """Default zip name, in the current directory."""
    return Path(f"paramsecrets-layer-{arch}.zip")


def _check_output(output: Path) -> None:
    """Fail early (before downloads and compiles) when the zip cannot be written."""
    folder = output.parent if str(output.parent) else Path(".")
    if output.is_dir():
        raise LayerBuildError(f"cannot write {output}: it is a directory")
    if not folder.is_dir():
        raise LayerBuildError(f"cannot write {output}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (output.exists() and not os.access(output, os.W_OK)):
        raise LayerBuildError(f"cannot write {output}: permission denied")


def _mib(size: int) -> str:
    return f"{size / 1048576:.1f} MiB"


def _templates(stage: Path, arch: str) -> None:
    """The launcher (as the extension and as the client command) and run.py, with the arch's loader."""
    templates = Path(__file__).resolve().parent / "files"
    loader = layer_runtime.LOADER[arch]
    for template, target in (("launcher.sh", "extensions/paramsecrets"), ("launcher.sh", "bin/paramsecrets"),
                             ("launcher.sh", "paramsecrets/exec-wrapper"), ("run.py", "paramsecrets/run.py")):
        text = (templates / template).read_text(encoding="utf-8").replace("@LOADER@", loader)
        (stage / target).parent.mkdir(parents=True, exist_ok=True)
        (stage / target).write_text(text, encoding="utf-8", newline="\n")


def build_layer(
    arch: str = "x86_64", output: Path | None = None, progress: Progress = print, *,
    source: Path | None = None, lock: Lock | None = None, debian: DebianOptions | None = None,
    build_python: str | None = None, compiler: str | None = None,
) -> LayerInfo:
    """Build the layer zip for `arch` at `output` (default ./paramsecrets-layer-<arch>.zip).

    `source` is the package folder to ship (default: the installed paramsecrets package);
    `lock` the pinned inputs (default: files/layer.lock.json); `debian` where the Debian
    packages come from and whether a test build may fall back to newer ones; `build_python`
    which Python does the build's Python work (auto, layer or host: see host_python.py) and
    `compiler` the CPython 3.11 a host build compiles with (`none`: ship sources).
    """
    if arch not in ARCHES:
        raise LayerBuildError(f"unknown arch {arch!r}: choose x86_64 or arm64")
    mode = build_python or os.environ.get(host_python.ENV_BUILD_PYTHON) or "auto"
    if mode not in host_python.MODES:
        raise LayerBuildError(f"unknown build Python {mode!r}: choose {', '.join(host_python.MODES)}")
    native = mode == "layer" or (mode == "auto" and layer_runtime.runs_here())
    if native and not layer_runtime.runs_here():
        raise LayerBuildError(
            f"--build-python layer runs the layer's own Linux interpreter, which this machine ({sys.platform} "
            f"{platform.machine()}) cannot run: use --build-python host (the default here)"
        )
    output = Path(output) if output is not None else default_output(arch)
    _check_output(output)
    debian = debian or DebianOptions()
    try:
        tools = _Tools(native=True) if native else _Tools(native=False, compiler=host_python.find_compiler(compiler))
        if not native and tools.compiler is None and debian.strict:
            raise LayerBuildError(
                "a release build (--strict) needs bytecode, and this machine has no CPython 3.11 to compile "
                f"it with: install python3.11, or name one with --compiler PATH (${host_python.ENV_COMPILER})"
            )
        return _build(arch, output, progress, source, lock or layer_lock.load(), debian, tools)
    except (LockError, RuntimeBuildError, host_python.HostPythonError) as error:
        raise LayerBuildError(str(error)) from None


def _manifest(arch: str, packages: list[Pinned], wheels: tuple[Pinned, ...]) -> str:
    """layer.json: the layer's bill of materials, deterministic (sorted keys, no dates)."""
    def rows(items: Iterable[Pinned]) -> list[dict[str, str]]:
        return [{"name": i.name, "version": i.version, "filename": i.filename, "sha256": i.sha256} for i in items]

    data = {"paramsecrets": paramsecrets.__version__, "arch": arch, "debian": rows(packages), "wheels": rows(wheels)}
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


@dataclasses.dataclass(frozen=True)
class _Tools:
    """Which Python does the build's Python work: the layer's own (native) or this machine's."""

    native: bool
    compiler: list[str] | None = None
    """A host build's CPython 3.11 command; None: ship sources."""


def _build(arch: str, output: Path, progress: Progress, source: Path | None, lock: Lock,
           debian: DebianOptions, tools: _Tools) -> LayerInfo:
    cache = cache_dir()
    python = next(item.version for item in lock.packages[arch] if item.name == "python3.11-minimal")
    progress(f"building the paramsecrets {paramsecrets.__version__} layer for {arch} "
             f"(Debian {lock.debian} python3.11 {python}{', strict' if debian.strict else ''})")
    tree = layer_runtime.unpack_packages(lock, arch, cache, progress, debian)
    packages = layer_runtime.tree_packages(tree)
    python = next(item.version for item in packages if item.name == "python3.11-minimal")
    if tools.native:
        host_runtime, command = layer_runtime.host_runtime(lock, cache, progress, debian)
        compiler: list[str] | None = command
    else:
        compiler = tools.compiler
        progress(f"  host build: the layer's interpreter is never run; compiling with {host_python.describe(compiler)}")
    with tempfile.TemporaryDirectory(prefix="paramsecrets-layer-") as tmp:
        stage = Path(tmp)
        _templates(stage, arch)
        lib = stage / PACKAGE / "lib"
        lib.mkdir(parents=True)
        (stage / MANIFEST).write_text(_manifest(arch, packages, lock.wheels[arch]), encoding="utf-8", newline="\n")
        source = _copy_package(lib, source)
        progress(f"  copied the {PACKAGE} package from {source}")
        for item in lock.wheels[arch]:
            _unpack_wheel(fetch_wheel(item, arch, cache / "wheels", progress), lib)
        for line in check_extensions(lib, arch):
            progress(f"  checked compiled extension {line}")

        entry_points = [stage / PACKAGE / "run.py", *sorted((lib / PACKAGE).rglob("*.py"))]
        if tools.native:
            wanted = layer_runtime.imported_stdlib(command, host_runtime, lib, entry_points)
        else:
            wanted = host_python.imported_stdlib(
                layer_runtime.resolve(tree, f"/usr/{layer_runtime.STDLIB}"), layer_runtime.MULTIARCH[arch], lib,
                entry_points, layer_runtime.EXCLUDED_MODULES, layer_runtime.STARTUP_MODULES)
        runtime = stage / PACKAGE / "runtime"
        kept = layer_runtime.assemble(tree, arch, runtime, wanted)
        progress(f"  kept {len(kept)} standard library files (what the server and the CLI import)")
        layer_runtime.check_libraries(stage, runtime / "lib")
        if tools.native and arch == layer_runtime.HOST_ARCH:
            modules = [".".join(p.relative_to(lib).with_suffix("").parts).removesuffix(".__init__")
                       for p in sorted((lib / PACKAGE).rglob("*.py")) if p.name != "__main__.py"]
            layer_runtime.check_imports(runtime, lib, [*modules, "awscrt.auth", "awscrt.http", "awscrt.io"])
            progress(f"  imported all {len(modules)} modules of the package with the layer's own Python")

        if compiler is not None:
            progress(f"  compiling bytecode with {'the bundled' if tools.native else 'this machine' + chr(39) + 's'} "
                     "Python 3.11 (unchecked-hash) ...")
            compile_bytecode(compiler, [(lib, LIB_PREFIX),
                                        (runtime / layer_runtime.STDLIB,
                                         f"{layer_runtime.RUNTIME_PREFIX}/{layer_runtime.STDLIB}")])
        else:
            progress("  WARNING: no CPython 3.11 on this machine: the layer ships sources, which its interpreter "
                     "compiles at every cold start (/opt is read-only); install python3.11 for bytecode")
        try:
            layer_slim.slim(stage, compiler, progress)
        except layer_slim.SlimError as error:
            raise LayerBuildError(str(error)) from None
        try:
            count, unpacked = _write_zip(stage, output)
        except OSError as exc:
            raise LayerBuildError(f"cannot write {output}: {exc.strerror or exc}") from None
    data = output.read_bytes()
    info = LayerInfo(
        path=output, arch=arch, zip_size=len(data), unpacked_size=unpacked, files=count,
        sha256=hashlib.sha256(data).hexdigest(), python=python,
        dependencies=tuple(f"{item.name}=={item.version}" for item in lock.wheels[arch]),
        stdlib_files=len(kept), packages=tuple(packages), wheels=lock.wheels[arch],
    )
    if info.zip_size > MAX_ZIP_BYTES or info.unpacked_size > MAX_UNPACKED_BYTES:
        output.unlink()
        raise LayerBuildError(
            f"the layer is {_mib(info.zip_size)} zipped and {_mib(info.unpacked_size)} unpacked: over the "
            f"budget of {_mib(MAX_ZIP_BYTES)} zipped and {_mib(MAX_UNPACKED_BYTES)} unpacked"
        )
    progress(
        f"wrote {output}: {_mib(info.zip_size)} zipped, {_mib(info.unpacked_size)} unpacked, "
        f"{info.files} files, sha256 {info.sha256}"
    )
    return info


def main(argv: list[str]) -> int:
    """`paramsecrets layer build` command line; returns the exit code (2 for any build error)."""
    parser = argparse.ArgumentParser(
        prog="paramsecrets layer build", description="Build the paramsecrets Lambda layer zip."
    )
    parser.add_argument(
        "--arch", default="x86_64", choices=sorted(ARCHES), help="target architecture (default x86_64)"
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=None, metavar="ZIP",
        help="output zip (default ./paramsecrets-layer-<arch>.zip)",
    )
    parser.add_argument(
        "--debian-mirror", action="append", metavar="URL",
        help=f"a Debian archive to download from (repeatable; default ${ENV_MIRROR}, else this machine's "
             "apt sources)",
    )
    parser.add_argument(
        "--debian-snapshot", metavar="URL", default=None,
        help=f"the snapshot archive for versions gone from the mirror (default ${ENV_SNAPSHOT} or "
             "Debian's; '' turns it off)",
    )
    parser.add_argument(
        "--build-python", choices=host_python.MODES, default=None,
        help=f"which Python lists the modules and compiles the bytecode: the layer's own interpreter "
             f"(layer: Linux x86_64/arm64 only), this machine's (host: any OS), or auto (layer where it "
             f"runs, else host); also ${host_python.ENV_BUILD_PYTHON}",
    )
    parser.add_argument(
        "--compiler", metavar="PYTHON", default=None,
        help=f"host build: the CPython 3.11 that compiles the bytecode (default: this Python when it is 3.11, "
             f"else python3.11 on PATH; 'none' ships sources); also ${host_python.ENV_COMPILER}",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--strict", action="store_true",
        help="release build: only the exact locked files, never a newer version, and bytecode (never a "
             "sources-only layer); make dist uses it",
    )
    mode.add_argument(
        "--allow-newer", action="store_true",
        help=f"test build: when a locked file can be had nowhere, take the newest version with a loud "
             f"warning (also ${ENV_ALLOW_NEWER}=1, which make test sets)",
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage error
        return exc.code if isinstance(exc.code, int) else 2
    options = DebianOptions(
        mirrors=tuple(args.debian_mirror) if args.debian_mirror else None, snapshot=args.debian_snapshot,
        allow_newer=args.allow_newer, strict=args.strict,
    )
    try:
        build_layer(args.arch, args.output, progress=print, debian=options, build_python=args.build_python,
                    compiler=args.compiler)
    except LayerBuildError as exc:
        print(f"paramsecrets layer build: error: {exc}", file=sys.stderr)
        return 2
    return 0


def lock_main(argv: list[str]) -> int:
    """`paramsecrets layer lock`: refresh the lock file from the mirrors' indexes and the installed awscrt."""
    parser = argparse.ArgumentParser(
        prog="paramsecrets layer lock",
        description="Pin the newest Debian bookworm packages (from the mirrors' Packages indexes, both "
                    "arches, no apt needed) and the installed awscrt wheels in files/layer.lock.json.",
    )
    parser.add_argument("--lock-file", type=Path, default=layer_lock.LOCK_PATH, help=argparse.SUPPRESS)
    parser.add_argument("--debian-mirror", action="append", metavar="URL",
                        help=f"a Debian archive to read (repeatable; default ${ENV_MIRROR}, else apt's sources)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    options = DebianOptions(mirrors=tuple(args.debian_mirror) if args.debian_mirror else None)
    try:
        lock = lock_refresh.refresh(cache_dir() / "wheels", args.lock_file, options)
    except LockError as exc:
        print(f"paramsecrets layer lock: error: {exc}", file=sys.stderr)
        return 2
    for arch in sorted(lock.packages):
        for item in (*lock.packages[arch], *lock.wheels[arch]):
            print(f"{arch:7} {item.name} {item.version} sha256 {item.sha256}")
    print(f"wrote {args.lock_file}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
