"""The layer build needs only Python: with no apt or dpkg on PATH and an empty download cache, it
downloads the pinned .debs from a mirror (a local stand-in here), takes a file the mirror lost from
the snapshot archive (another local stand-in), and writes a zip byte-identical to the one built from
the .debs `apt-get download` gives (how the layer was built before). A release build (--strict)
with the pinned file nowhere fails with exit 2 and an error that does not start by suggesting a
rewrite of the lock."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

import paramsecrets
from paramsecrets.layer import build as layer
from paramsecrets.layer import lock as layer_lock
from paramsecrets.layer.build import build_layer
from paramsecrets.layer.debian_fetch import DebianOptions
from paramsecrets.layer.lock import DEBIAN_ARCH
from paramsecrets.testing.debian_mirror import StaticServer, add_index, add_snapshot_file, put
from paramsecrets.testing.net import free_port

ARCH = "x86_64"


def _cache_with_shared_wheels(folder: Path) -> Path:
    """A fresh download cache for Debian packages; the wheels (from PyPI, not under test) shared."""
    folder.mkdir()
    shared = layer.cache_dir() / "wheels"
    shared.mkdir(parents=True, exist_ok=True)
    (folder / "wheels").symlink_to(shared)
    return folder


def _apt_download(dest: Path) -> list[Path]:
    """The pinned .debs as the old builder got them: `apt-get download PKG:ARCH=VERSION`."""
    if not shutil.which("apt-get"):
        pytest.skip("no apt-get here: the apt-built reference cannot be made on this machine")
    dest.mkdir()
    os.chmod(dest, 0o755)
    found = []
    for item in layer_lock.load().packages[ARCH]:
        spec = item.name if item.filename.endswith("_all.deb") else f"{item.name}:{DEBIAN_ARCH[ARCH]}"
        folder = dest / item.name
        folder.mkdir()
        os.chmod(folder, 0o755)
        proc = subprocess.run(["apt-get", "download", "-o", "APT::Sandbox::User=root", f"{spec}={item.version}"],
                              cwd=folder, capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode != 0:
            pytest.skip(f"apt cannot download {spec}={item.version} (apt-get update?): {proc.stderr.strip()[-200:]}")
        (deb,) = folder.glob("*.deb")  # apt names it with the epoch quoted (zlib1g_1%3a1.2.13...)
        found.append(deb)
        item.verify(found[-1])
    return found


@pytest.mark.timeout(1200)
def test_python_only_build_is_byte_identical_to_the_apt_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot_src = tmp_path / "src" / "paramsecrets"
    shutil.copytree(Path(paramsecrets.__file__).parent, snapshot_src, ignore=shutil.ignore_patterns("__pycache__"))
    lock = layer_lock.load()
    debs = _apt_download(tmp_path / "apt")

    # The apt build: the .debs apt-get downloaded, put where the builder keeps them; no archive.
    apt_cache = _cache_with_shared_wheels(tmp_path / "apt-cache")
    for item, deb in zip(lock.packages[ARCH], debs, strict=True):
        put(apt_cache / "debs" / "sha256", f"{item.sha256}.deb", deb.read_bytes())
    monkeypatch.setenv("PARAMSECRETS_CACHE_DIR", str(apt_cache))
    offline = DebianOptions(mirrors=(f"http://127.0.0.1:{free_port()}",), snapshot="", strict=True)
    apt_build = build_layer(ARCH, tmp_path / "apt.zip", progress=lambda _line: None, source=snapshot_src,
                            debian=offline)

    # The Python-only build: empty cache, no apt or dpkg on PATH, a mirror that lost libc6 and a
    # snapshot archive that has it.
    mirror_root, snapshot_root = tmp_path / "mirror", tmp_path / "snapshot"
    lost = next(item for item in lock.packages[ARCH] if item.name == "libc6")
    for item, deb in zip(lock.packages[ARCH], debs, strict=True):
        if item is lost:
            add_snapshot_file(snapshot_root, item.name, item.version, DEBIAN_ARCH[ARCH], deb.read_bytes())
        else:
            put(mirror_root, item.pool, deb.read_bytes())
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    monkeypatch.setenv("PATH", str(empty_path))
    http_cache = _cache_with_shared_wheels(tmp_path / "http-cache")
    monkeypatch.setenv("PARAMSECRETS_CACHE_DIR", str(http_cache))
    lines: list[str] = []
    with StaticServer(mirror_root) as mirror, StaticServer(snapshot_root) as snapshot:
        options = DebianOptions(mirrors=(mirror.url,), snapshot=snapshot.url, strict=True)
        http_build = build_layer(ARCH, tmp_path / "http.zip", progress=lines.append, source=snapshot_src,
                                 debian=options)
    assert not shutil.which("apt-get") and not shutil.which("dpkg")
    served = {path.lstrip("/").replace("%2B", "+").replace("%7E", "~") for path in mirror.requests}
    assert {item.pool for item in lock.packages[ARCH] if item is not lost} <= served
    assert any(path.startswith("/file/") for path in snapshot.requests)
    assert any(f"NOTICE: libc6 {lost.version} (amd64) is gone from the mirror" in line for line in lines)
    assert sorted(p.name for p in (http_cache / "debs" / "sha256").iterdir()) == sorted(
        f"{item.sha256}.deb" for item in lock.packages[ARCH])

    apt_zip, http_zip = (tmp_path / "apt.zip").read_bytes(), (tmp_path / "http.zip").read_bytes()
    assert hashlib.sha256(http_zip).hexdigest() == hashlib.sha256(apt_zip).hexdigest()
    assert http_build.sha256 == apt_build.sha256
    assert [p.sha256 for p in http_build.packages] == [p.sha256 for p in lock.packages[ARCH]]


def test_strict_build_with_the_pinned_file_nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    empty_cache = _cache_with_shared_wheels(tmp_path / "cache")
    monkeypatch.setenv("PARAMSECRETS_CACHE_DIR", str(empty_cache))
    monkeypatch.setenv("PARAMSECRETS_LAYER_ALLOW_NEWER", "1")  # what make test sets; --strict wins
    (tmp_path / "mirror").mkdir()
    (tmp_path / "snapshot").mkdir()
    with StaticServer(tmp_path / "mirror") as mirror, StaticServer(tmp_path / "snapshot") as snapshot:
        code = layer.main(["--strict", "--debian-mirror", mirror.url, "--debian-snapshot", snapshot.url,
                           "-o", str(tmp_path / "x.zip")])
    out, err = capsys.readouterr()
    assert code == 2 and not (tmp_path / "x.zip").exists()
    assert "strict" in out.splitlines()[0]
    assert err.startswith("paramsecrets layer build: error: python3.11-minimal ")
    assert "can be had nowhere" in err and "Traceback" not in err
    assert err.index("--debian-mirror") < err.index("--allow-newer") < err.index("layer lock")


@pytest.mark.timeout(1200)
def test_test_build_with_a_package_gone_everywhere_uses_the_newest(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A lock that pins a zlib1g Debian has replaced (an older version, here made by giving the
    locked row a version just below it, and a file no stand-in serves); the mirror's index lists the
    locked zlib1g as the newest (downloaded with apt-get). --allow-newer builds with it, loudly, and
    the layer's layer.json names the version it really holds; --strict refuses. Made this way, the
    test does not depend on the committed lock being out of date."""
    lock = layer_lock.load()
    debs = _apt_download(tmp_path / "apt")
    index = next(i for i, item in enumerate(lock.packages[ARCH]) if item.name == "zlib1g")
    newest, newest_deb = lock.packages[ARCH][index], debs[index]
    old_version = f"{newest.version}~old"  # dpkg orders `~` before anything: an older version
    gone = dataclasses.replace(
        newest, version=old_version, sha256=hashlib.sha256(b"a file Debian no longer has").hexdigest(),
        filename=newest.filename.replace(newest.version.split(":")[-1], old_version.split(":")[-1]),
        pool=newest.pool.replace(newest.version.split(":")[-1], old_version.split(":")[-1]))
    packages = dict(lock.packages)
    packages[ARCH] = (*lock.packages[ARCH][:index], gone, *lock.packages[ARCH][index + 1:])
    old_lock = dataclasses.replace(lock, packages=packages)
    mirror_root = tmp_path / "mirror"
    for item, deb in zip(lock.packages[ARCH], debs, strict=True):
        if item is not newest:
            put(mirror_root, item.pool, deb.read_bytes())
    put(mirror_root, newest.pool, newest_deb.read_bytes())
    add_index(mirror_root, "bookworm", "amd64", [{
        "Package": "zlib1g", "Version": newest.version, "Architecture": "amd64", "Filename": newest.pool,
        "SHA256": newest.sha256}])
    (tmp_path / "snapshot").mkdir()
    monkeypatch.setenv("PARAMSECRETS_CACHE_DIR", str(_cache_with_shared_wheels(tmp_path / "cache")))
    lines: list[str] = []
    with StaticServer(mirror_root) as mirror, StaticServer(tmp_path / "snapshot") as snapshot:
        strict = DebianOptions(mirrors=(mirror.url,), snapshot=snapshot.url, strict=True)
        with pytest.raises(layer.LayerBuildError, match=r"zlib1g .* \(amd64\) can be had nowhere"):
            build_layer(ARCH, tmp_path / "strict.zip", progress=lambda _line: None, debian=strict, lock=old_lock)
        test_build = DebianOptions(mirrors=(mirror.url,), snapshot=snapshot.url, allow_newer=True)
        info = build_layer(ARCH, tmp_path / "test.zip", progress=lines.append, debian=test_build, lock=old_lock)
    assert not (tmp_path / "strict.zip").exists()
    warning = next(line for line in lines if line.startswith("WARNING:"))
    assert f"this TEST build uses the newest zlib1g {newest.version} instead" in warning
    assert {p.name: p.version for p in info.packages}["zlib1g"] == newest.version
    with zipfile.ZipFile(info.path) as archive:
        inside = json.loads(archive.read("paramsecrets/layer.json"))
    assert {row["name"]: row["version"] for row in inside["debian"]}["zlib1g"] == newest.version
