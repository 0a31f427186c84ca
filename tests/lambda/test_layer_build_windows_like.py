"""The layer builds on a machine like Windows, and equals the native Linux build byte for byte.

What Windows lacks, made to fail here in the process that builds (the CLI, `paramsecrets layer
build --strict --build-python host`, as the CI's windows-latest job runs it):
- symlinks: os.symlink and Path.symlink_to raise OSError (Windows' ERROR_PRIVILEGE_NOT_HELD, what
  an account without the symlink privilege gets), and every attempt is reported on stderr, so a
  code path that catches the error and copies instead is caught too;
- POSIX permissions: os.chmod and Path.chmod do nothing;
- fcntl (and msvcrt, which this machine has not either): importing it fails.

The build starts from a cache holding only the downloaded .debs and wheels, so it unpacks every
package itself under those rules; the zip must be the native build's (SHA-256), the cache it
filled must hold no symlink, and no name in the unpacked tree or the zip may be one Windows (or a
case-insensitive file system) cannot write.

Not covered here (only on windows-latest in CI): Windows' own path rules, case-insensitive names
and its Python's subprocess and file locking (msvcrt).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import Build

import paramsecrets
from paramsecrets.layer import build as layer
from paramsecrets.layer import deb_tree, host_python
from paramsecrets.layer.lock import sha256_of

pytestmark = pytest.mark.timeout(900)

SYMLINK_ATTEMPT = "windows-like: a symlink was asked for"

WINDOWS_LIKE = r"""
import errno, os, pathlib, sys

def no_symlink(*args, **kwargs):
    print("@ATTEMPT@", args[:2], file=sys.stderr, flush=True)
    raise OSError(errno.EPERM, "A required privilege is not held by the client")

def no_chmod(*args, **kwargs):
    return None

os.symlink = no_symlink
pathlib.Path.symlink_to = lambda self, *args, **kwargs: no_symlink(self, *args)
os.chmod = no_chmod
pathlib.Path.chmod = lambda self, *args, **kwargs: None
sys.modules["fcntl"] = None
sys.modules["msvcrt"] = None
sys.path.insert(0, sys.argv.pop(1))
from paramsecrets.cli import main
raise SystemExit(main(sys.argv[1:]))
""".replace("@ATTEMPT@", SYMLINK_ATTEMPT)


RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))})
"""Names Windows gives to devices, with any extension (`aux.py` too)."""


def _windows_name_problems(paths: list[str]) -> list[str]:
    """What Windows or a case-insensitive file system (Windows, macOS) could not write as is: a
    reserved or forbidden name, or two names differing only in case."""
    problems = []
    seen: dict[str, str] = {}
    for path in paths:
        for part in path.split("/"):
            if part.split(".")[0].lower() in RESERVED or set(part) & set('<>:"|?*\\') or part.endswith((".", " ")):
                problems.append(f"{path}: {part!r} is not a Windows file name")
        if seen.setdefault(path.lower(), path) != path:
            problems.append(f"{path} and {seen[path.lower()]} differ only in case")
    return problems


def _differing_members(first: Path, second: Path) -> list[str]:
    """Member names whose bytes differ (or that only one zip has), for the failure message."""
    with zipfile.ZipFile(first) as a, zipfile.ZipFile(second) as b:
        names = sorted(set(a.namelist()) | set(b.namelist()))
        return [n for n in names if n not in a.namelist() or n not in b.namelist() or a.read(n) != b.read(n)]


@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_a_windows_like_build_equals_the_native_build(build: Build, arch: str, tmp_path: Path) -> None:
    if host_python.find_compiler() is None:
        pytest.skip("no CPython 3.11 on this machine to compile the host build's bytecode")
    native, _ = build(arch)  # also fills the shared cache with this arch's .debs and wheel
    cache = tmp_path / "cache"
    for folder in ("debs", "wheels"):
        shutil.copytree(layer.cache_dir() / folder, cache / folder)
    out = tmp_path / f"windows-like-{arch}.zip"
    source_root = Path(paramsecrets.__file__).resolve().parents[1]
    env = {**os.environ, "PARAMSECRETS_CACHE_DIR": str(cache), "PARAMSECRETS_LAYER_ALLOW_NEWER": "1"}
    env.pop(host_python.ENV_COMPILER, None)
    proc = subprocess.run(
        [sys.executable, "-I", "-c", WINDOWS_LIKE, str(source_root), "layer", "build", "--build-python", "host",
         "--arch", arch, "-o", str(out)],
        capture_output=True, text=True, timeout=900, check=False, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert SYMLINK_ATTEMPT not in proc.stderr, proc.stderr[-3000:]
    assert "host build: the layer's interpreter is never run" in proc.stdout, proc.stdout[-2000:]

    trees = [p for p in (cache / "layer-root").iterdir() if p.is_dir()]
    assert len(trees) == 1 and (trees[0] / ".complete").is_file(), trees
    assert not [p for p in cache.rglob("*") if p.is_symlink()]
    unpacked = [p.relative_to(trees[0]).as_posix() for p in trees[0].rglob("*")]
    with zipfile.ZipFile(out) as archive:
        staged = archive.namelist()
    assert not _windows_name_problems(unpacked + staged), _windows_name_problems(unpacked + staged)
    links = deb_tree.links(trees[0])
    assert links["/lib/" + ("x86_64-linux-gnu/libz.so.1" if arch == "x86_64" else "aarch64-linux-gnu/libz.so.1")]

    assert sha256_of(out) == sha256_of(native.path), (  # digests: pytest would diff megabytes for minutes
        f"the windows-like build differs from the native one in {_differing_members(native.path, out)}")
