"""Build the Lambda layer zip: `paramsecrets layer build [--arch x86_64|arm64] [-o ZIP]`.

Layout of the zip (unpacked by Lambda under /opt, read-only):

    extensions/paramsecrets          POSIX sh launcher (0755): finds Python 3.11+, execs run.py
    paramsecrets/run.py              puts lib/ first on sys.path, calls paramsecrets.boot.main
    paramsecrets/lib/paramsecrets/   our package (without dev/, which needs moto)
    paramsecrets/lib/awscrt/         runtime dependencies, unpacked from manylinux2014 wheels

Why it is built this way:
- The runtime's own Python runs the server, so dependencies must load on every Lambda Python
  runtime (3.11+) of the target arch: we ship abi3 or per-version wheels and refuse anything else.
- /opt is read-only, so Python cannot cache bytecode there: without shipped .pyc files every cold
  start would compile the whole package again. We compile with every Python 3.11+ found on this
  machine, as UNCHECKED_HASH pycs (no stat of the source, independent of file times).
- Two builds of the same inputs are byte-identical (sorted entries, fixed times and modes), so the
  layer's hash only changes when its content does.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import glob
import hashlib
import importlib.metadata
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import paramsecrets

ARCHES = {"x86_64": ("manylinux2014_x86_64", 62), "arm64": ("manylinux2014_aarch64", 183)}
"""Lambda arch name -> (pip platform tag, ELF e_machine of its shared objects)."""

SUPPORTED_PYTHONS = ((3, 11), (3, 12), (3, 13), (3, 14))
"""The Lambda Python runtimes the layer must load on; every compiled extension must cover them."""

PACKAGE = "paramsecrets"
EXCLUDED_PACKAGE_ENTRIES = frozenset({"dev", "layer_files", "layer.py", "__pycache__"})
"""dev/ needs moto (not shipped); the builder and its templates are not needed at run time."""

LIB_PREFIX = "/opt/paramsecrets/lib"
"""Where lib/ lives in the function; compiled into the pycs so tracebacks show real paths."""

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
DIR_TIMEOUT_S = 600

Progress = Callable[[str], object]


class LayerBuildError(Exception):
    """A build failure whose message is meant for the user as is."""


@dataclasses.dataclass(frozen=True)
class Interpreter:
    """A CPython 3.11+ found on this machine, used to compile bytecode for its version."""

    path: str
    version: tuple[int, int]
    cache_tag: str

    @property
    def label(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"


@dataclasses.dataclass(frozen=True)
class LayerInfo:
    """What build_layer produced."""

    path: Path
    arch: str
    zip_size: int
    unpacked_size: int
    files: int
    sha256: str
    compiled_for: tuple[str, ...]
    dependencies: tuple[str, ...]


# ---------------------------------------------------------------- interpreters


def _candidate_pythons() -> list[str]:
    """Interpreter paths worth probing: this one, its base, PATH, and pyenv's installed versions."""
    # The base interpreter first: the real binary, not a venv's link to it (tests reuse the paths).
    found: list[str] = [getattr(sys, "_base_executable", sys.executable), sys.executable]
    names = [f"python3.{minor}" for minor in range(11, 20)] + ["python3"]
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not folder or "shims" in Path(folder).parts:  # pyenv shims: the versions dir has the real ones
            continue
        found += [os.path.join(folder, name) for name in names]
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found += sorted(glob.glob(os.path.join(pyenv_root, "versions", "*", "bin", "python3.*[0-9]")))
    return found


_PROBE = "import sys; print(sys.implementation.name, *sys.version_info[:2], sys.implementation.cache_tag)"


def find_interpreters() -> list[Interpreter]:
    """Every distinct CPython 3.11+ on this machine, one per minor version, the running one first."""
    seen_paths: set[str] = set()
    by_tag: dict[str, Interpreter] = {}
    for candidate in _candidate_pythons():
        if not candidate or not os.path.isfile(candidate) or not os.access(candidate, os.X_OK):
            continue
        real = os.path.realpath(candidate)
        if real in seen_paths:
            continue
        seen_paths.add(real)
        try:
            out = subprocess.run(
                [candidate, "-I", "-S", "-c", _PROBE], capture_output=True, text=True, timeout=20, check=True
            ).stdout.split()
        except (OSError, subprocess.SubprocessError):
            continue
        if len(out) != 4 or out[0] != "cpython" or not out[3].startswith("cpython-"):
            continue
        version = (int(out[1]), int(out[2]))
        if version < (3, 11) or out[3] in by_tag:
            continue
        by_tag[out[3]] = Interpreter(candidate, version, out[3])
    return sorted(by_tag.values(), key=lambda i: i.version)


# ---------------------------------------------------------------- dependencies


def _requirement_name(requirement: str) -> str | None:
    """The distribution name of a Requires-Dist line, or None for an extra-only requirement."""
    spec, _, marker = requirement.partition(";")
    if "extra" in marker:
        return None
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    return match.group(1) if match else None


def runtime_dependencies(dist: str = PACKAGE) -> list[tuple[str, str]]:
    """(name, installed version) of the non-optional requirements of `dist`, recursively.

    The versions are the ones installed here: the layer ships what the tests ran against.
    """
    result: dict[str, str] = {}
    todo = [dist]
    while todo:
        for requirement in importlib.metadata.requires(todo.pop()) or []:
            name = _requirement_name(requirement)
            if name is None:
                continue
            key = re.sub(r"[-_.]+", "-", name).lower()
            if key in result:
                continue
            try:
                result[key] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                raise LayerBuildError(f"{dist} needs {name}, which is not installed here") from None
            todo.append(name)
    return sorted(result.items())


def cache_dir() -> Path:
    """Where downloaded wheels are kept: $PARAMSECRETS_CACHE_DIR, the checkout's .cache, or ~/.cache."""
    if os.environ.get("PARAMSECRETS_CACHE_DIR"):
        return Path(os.environ["PARAMSECRETS_CACHE_DIR"])
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "src" / PACKAGE).is_dir():
        return checkout / ".cache"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(xdg) / PACKAGE


def _wheel_matches(filename: str, name: str, version: str, arch: str) -> bool:
    """True if a wheel file name is `name==version` and loads on Lambda's Python 3.11 for `arch`."""
    stem = filename[: -len(".whl")].split("-")
    if len(stem) < 5 or re.sub(r"[-_.]+", "_", stem[0]).lower() != re.sub(r"[-_.]+", "_", name).lower():
        return False
    if stem[1] != version:
        return False
    platforms = stem[-1].split(".")
    machine = "x86_64" if arch == "x86_64" else "aarch64"
    return "any" in platforms or any(p.startswith("manylinux") and p.endswith(machine) for p in platforms)


def fetch_wheel(name: str, version: str, arch: str, dest: Path, progress: Progress) -> Path:
    """Download (or find already downloaded) the wheel of `name==version` for Lambda on `arch`."""
    cached = sorted(p for p in dest.glob("*.whl") if _wheel_matches(p.name, name, version, arch))
    if cached:
        progress(f"  {name} {version} for {arch}: using {cached[0].name} from {dest}")
        return cached[0]
    platform = ARCHES[arch][0]
    progress(f"  downloading {name} {version} for {arch} ({platform}, cp311) ...")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=".download-") as tmp:
        cmd = [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--no-deps", "--only-binary=:all:", "--platform", platform, "--python-version", "3.11",
            "--implementation", "cp", "-d", tmp, f"{name}=={version}",
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=DIR_TIMEOUT_S, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise LayerBuildError(f"could not download {name} for {arch}: {exc}") from None
        wheels = sorted(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            reason = _pip_reason(proc.stderr or proc.stdout)
            raise LayerBuildError(f"could not download {name} for {arch}: {reason}")
        target = dest / wheels[0].name
        os.replace(wheels[0], target)
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
    """Refuse compiled code that would not load on every supported Python and on `arch`.

    Returns one description per extension module checked.
    """
    machine = ARCHES[arch][1]
    problems: list[str] = []
    checked: list[str] = []
    per_module: dict[Path, set[tuple[int, int]]] = {}
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
        elif match and match["ver"]:
            ver = match["ver"]
            per_module.setdefault(rel.parent / match["mod"], set()).add((3, int(ver[1:])))
        else:
            problems.append(f"{rel}: extension module without an abi3 or cpython-3XY tag")
    for module, versions in sorted(per_module.items()):
        missing = [f"{v[0]}.{v[1]}" for v in SUPPORTED_PYTHONS if v not in versions]
        if missing:
            built = ", ".join(f"{v[0]}.{v[1]}" for v in sorted(versions))
            problems.append(f"{module}: compiled for CPython {built} only; missing {', '.join(missing)}")
        else:
            checked.append(f"{module} (per-version, {arch})")
    if problems:
        raise LayerBuildError(
            "the layer would not load on every Lambda Python runtime (3.11+):\n  " + "\n  ".join(problems)
        )
    return checked


# ---------------------------------------------------------------- staging and zip


def _copy_package(stage_lib: Path, source: Path | None = None) -> Path:
    """Copy the paramsecrets package (default: the one installed) into lib/ without dev/,
    the builder, and caches."""
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
        f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {paramsecrets.__version__}\n", encoding="utf-8"
    )
    return source


def compile_bytecode(lib: Path, interpreters: Iterable[Interpreter]) -> None:
    """Compile lib/ with each interpreter: UNCHECKED_HASH pycs carrying the /opt paths."""
    for interp in interpreters:
        cmd = [
            interp.path, "-I", "-m", "compileall", "-q", "-j", "0",
            "--invalidation-mode", "unchecked-hash", "-d", LIB_PREFIX, str(lib),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=DIR_TIMEOUT_S, check=False)
        if proc.returncode != 0:
            detail = (proc.stdout + proc.stderr).strip()[-2000:]
            raise LayerBuildError(
                f"compiling bytecode with Python {interp.label} ({interp.path}) failed:\n{detail}"
            )


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
            mode = 0o755 if rel.startswith("extensions/") else 0o644
            info.external_attr = (0o100000 | mode) << 16
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


def build_layer(
    arch: str = "x86_64", output: Path | None = None, progress: Progress = print, *, source: Path | None = None
) -> LayerInfo:
    """Build the layer zip for `arch` at `output` (default ./paramsecrets-layer-<arch>.zip).

    `source` is the package folder to ship (default: the installed paramsecrets package).
    """
    if arch not in ARCHES:
        raise LayerBuildError(f"unknown arch {arch!r}: choose x86_64 or arm64")
    output = Path(output) if output is not None else default_output(arch)
    _check_output(output)
    templates = Path(__file__).resolve().parent / "layer_files"
    progress(f"building the paramsecrets {paramsecrets.__version__} layer for {arch}")
    with tempfile.TemporaryDirectory(prefix="paramsecrets-layer-") as tmp:
        stage = Path(tmp)
        (stage / "extensions").mkdir()
        shutil.copyfile(templates / "launcher.sh", stage / "extensions" / PACKAGE)
        lib = stage / PACKAGE / "lib"
        lib.mkdir(parents=True)
        shutil.copyfile(templates / "run.py", stage / PACKAGE / "run.py")
        source = _copy_package(lib, source)
        progress(f"  copied the {PACKAGE} package from {source}")

        deps = runtime_dependencies()
        wheels_dir = cache_dir() / "wheels"
        for name, version in deps:
            _unpack_wheel(fetch_wheel(name, version, arch, wheels_dir, progress), lib)
        for line in check_extensions(lib, arch):
            progress(f"  checked compiled extension {line}")

        interpreters = find_interpreters()
        if not interpreters:
            raise LayerBuildError("no CPython 3.11+ interpreter found to compile the bytecode")
        labels = tuple(i.label for i in interpreters)
        progress(f"  compiling bytecode for Python {', '.join(labels)} (unchecked-hash) ...")
        compile_bytecode(lib, interpreters)
        missing = [f"{v[0]}.{v[1]}" for v in SUPPORTED_PYTHONS if f"{v[0]}.{v[1]}" not in labels]
        if missing:
            progress(f"  no Python {', '.join(missing)} here: those runtimes compile at each cold start")

        try:
            count, unpacked = _write_zip(stage, output)
        except OSError as exc:
            raise LayerBuildError(f"cannot write {output}: {exc.strerror or exc}") from None
    data = output.read_bytes()
    info = LayerInfo(
        path=output,
        arch=arch,
        zip_size=len(data),
        unpacked_size=unpacked,
        files=count,
        sha256=hashlib.sha256(data).hexdigest(),
        compiled_for=labels,
        dependencies=tuple(f"{n}=={v}" for n, v in deps),
    )
    progress(
        f"wrote {output}: {_mib(info.zip_size)} zipped, {_mib(info.unpacked_size)} unpacked, "
        f"{info.files} files, sha256 {info.sha256[:12]}"
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
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage error
        return exc.code if isinstance(exc.code, int) else 2
    try:
        build_layer(args.arch, args.output, progress=print)
    except LayerBuildError as exc:
        print(f"paramsecrets layer build: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
