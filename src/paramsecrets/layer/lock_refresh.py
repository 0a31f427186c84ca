"""`paramsecrets layer lock`: rewrite the lock file from the mirrors' newest Debian versions and the
installed awscrt version (apart from lock.py, which only reads the lock, so the downloader can use
lock.py's names without an import cycle)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from paramsecrets.layer.debian_fetch import DebFetcher, DebianOptions, FetchError
from paramsecrets.layer.lock import (
    DEBIAN_ARCH,
    DEBIAN_PACKAGES,
    DEBIAN_RELEASE,
    LOCK_PATH,
    PYTHON_VERSION,
    WHEEL_PLATFORM,
    WHEELS,
    Lock,
    LockError,
    Pinned,
    sha256_of,
)

__all__ = ["refresh"]


def _newest_packages(arch: str, fetcher: DebFetcher) -> tuple[Pinned, ...]:
    """The newest version of each layer package for `arch` in the mirrors' Packages indexes
    (bookworm, -updates, -security: the version apt would install), with its pool path."""
    found = []
    try:
        for name in DEBIAN_PACKAGES:
            item = fetcher.newest(name, arch)
            if item is None:
                raise LockError(f"no mirror index lists {name} for {DEBIAN_ARCH[arch]}")
            found.append(item)
    except FetchError as error:
        raise LockError(str(error)) from None
    return tuple(found)


def _wheel(name: str, version: str, arch: str, dest: Path) -> Pinned:
    """The wheel of name==version for Lambda's arch (cp311, manylinux2014), from the cache or
    downloaded with pip, and its hash."""
    machine = "x86_64" if arch == "x86_64" else "aarch64"
    cached = sorted(dest.glob(f"{name}-{version}-*manylinux*{machine}.whl"))
    if cached:
        return Pinned(name, version, cached[0].name, sha256_of(cached[0]))
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
            "--only-binary=:all:", "--platform", WHEEL_PLATFORM[arch], "--python-version", PYTHON_VERSION,
            "--implementation", "cp", "-d", tmp, f"{name}=={version}",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        found = sorted(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not found:
            raise LockError(f"could not download {name} {version} for {arch}: {proc.stderr.strip()[-500:]}")
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / found[0].name
        found[0].replace(target)
    return Pinned(name, version, target.name, sha256_of(target))


def refresh(wheel_cache: Path, path: Path = LOCK_PATH, options: DebianOptions | None = None,
            progress: Callable[[str], object] = print) -> Lock:
    """Rewrite the lock from the mirrors' newest versions and the installed awscrt version."""
    fetcher = DebFetcher(wheel_cache.parent, DEBIAN_RELEASE, options or DebianOptions(), progress)
    packages: dict[str, tuple[Pinned, ...]] = {}
    wheels: dict[str, tuple[Pinned, ...]] = {}
    for arch in DEBIAN_ARCH:
        packages[arch] = _newest_packages(arch, fetcher)
        wheels[arch] = tuple(_wheel(name, importlib.metadata.version(name), arch, wheel_cache) for name in WHEELS)
    lock = Lock(DEBIAN_RELEASE, PYTHON_VERSION, packages, wheels)
    path.write_text(lock.to_json(), encoding="utf-8", newline="\n")
    return lock
