"""debian_fetch against a local stand-in for a mirror and for the snapshot archive: the pinned file
from the mirror, from the snapshot archive when the mirror lost it, a wrong checksum refused
everywhere, and when it is nowhere: an error (strict or default) or, in a test build, the newest
version with a loud warning. Also the mirror choice (apt sources, deb822, flag, environment)."""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from paramsecrets.layer import ar_unpack, debian_sources
from paramsecrets.layer.debian_fetch import DebFetcher, DebianOptions, FetchError
from paramsecrets.layer.debian_index import compare_versions
from paramsecrets.layer.lock import Pinned
from paramsecrets.testing.debian_mirror import StaticServer, add_index, add_snapshot_file, make_deb, put

OLD = make_deb({"usr/lib/x86_64-linux-gnu/libdemo.so.1": b"old build\n"})
NEW = make_deb({"usr/lib/x86_64-linux-gnu/libdemo.so.1": b"new build\n"})
POOL = "pool/updates/main/d/demo/libdemo1_1.0-1+deb12u1_amd64.deb"


def pinned(data: bytes = OLD, pool: str = POOL) -> Pinned:
    return Pinned("libdemo1", "1.0-1+deb12u1", Path(POOL).name, hashlib.sha256(data).hexdigest(), pool)


def fetcher(tmp_path: Path, mirror: str, snapshot: str, lines: list[str], **options: bool) -> DebFetcher:
    opts = DebianOptions(mirrors=(mirror,), snapshot=snapshot, **options)
    return DebFetcher(tmp_path / "cache", "bookworm", opts, lines.append)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[StaticServer, StaticServer]]:
    with StaticServer(tmp_path / "mirror") as mirror, StaticServer(tmp_path / "snapshot") as snapshot:
        (tmp_path / "mirror").mkdir(exist_ok=True)
        (tmp_path / "snapshot").mkdir(exist_ok=True)
        yield mirror, snapshot


def test_from_the_mirror_then_from_the_cache(tmp_path: Path, servers: tuple[StaticServer, StaticServer],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    mirror, snapshot = servers
    put(mirror.root, POOL, OLD)
    lines: list[str] = []
    item, path = fetcher(tmp_path, mirror.url, snapshot.url, lines).fetch(pinned(), "x86_64")
    assert item == pinned() and path.read_bytes() == OLD
    assert path == tmp_path / "cache" / "debs" / "sha256" / f"{pinned().sha256}.deb"  # content-addressed
    assert any(line.startswith("  downloading libdemo1 1.0-1+deb12u1 (amd64)") for line in lines)
    assert mirror.requests == [f"/{POOL.replace('+', '%2B')}"] and not snapshot.requests
    # A second build needs no archive at all: both servers gone, no mirror configured.
    monkeypatch.delenv("PARAMSECRETS_DEBIAN_MIRROR", raising=False)
    again = DebFetcher(tmp_path / "cache", "bookworm", DebianOptions(snapshot=""), lines.append)
    assert again.fetch(pinned(), "x86_64")[1] == path


def test_a_point_release_moves_a_security_update_to_the_main_pool(tmp_path: Path, servers: tuple[StaticServer,
                                                                  StaticServer]) -> None:
    mirror, snapshot = servers
    put(mirror.root, POOL.replace("pool/updates/", "pool/"), OLD)
    _, path = fetcher(tmp_path, mirror.url, snapshot.url, []).fetch(pinned(), "x86_64")
    assert path.read_bytes() == OLD


def test_a_row_without_a_pool_path_is_looked_up_in_the_index(tmp_path: Path, servers: tuple[StaticServer,
                                                             StaticServer]) -> None:
    """A lock row added by hand (name, version, filename, sha256) just works."""
    mirror, snapshot = servers
    put(mirror.root, "pool/main/d/demo/libdemo1_1.0-1+deb12u1_amd64.deb", OLD)
    add_index(mirror.root, "bookworm", "amd64", [{"Package": "libdemo1", "Version": "1.0-1+deb12u1",
              "Filename": "pool/main/d/demo/libdemo1_1.0-1+deb12u1_amd64.deb", "SHA256": pinned().sha256}])
    _, path = fetcher(tmp_path, mirror.url, snapshot.url, []).fetch(pinned(pool=""), "x86_64")
    assert path.read_bytes() == OLD


def test_gone_from_the_mirror_found_in_the_snapshot_archive(tmp_path: Path, servers: tuple[StaticServer,
                                                            StaticServer]) -> None:
    mirror, snapshot = servers
    sha1 = add_snapshot_file(snapshot.root, "libdemo1", "1.0-1+deb12u1", "amd64", OLD)
    lines: list[str] = []
    item, path = fetcher(tmp_path, mirror.url, snapshot.url, lines, strict=True).fetch(pinned(), "x86_64")
    assert item == pinned() and path.read_bytes() == OLD
    assert f"/file/{sha1}" in snapshot.requests
    assert any("NOTICE: libdemo1 1.0-1+deb12u1 (amd64) is gone from the mirror; fetched the pinned file "
               f"from the snapshot archive {snapshot.url}" in line for line in lines)


def test_a_wrong_checksum_is_refused_everywhere_and_never_replaced(tmp_path: Path, servers: tuple[StaticServer,
                                                                   StaticServer]) -> None:
    mirror, snapshot = servers
    put(mirror.root, POOL, NEW)  # other bytes under the pinned name
    add_snapshot_file(snapshot.root, "libdemo1", "1.0-1+deb12u1", "amd64", NEW)
    add_index(mirror.root, "bookworm", "amd64", [{"Package": "libdemo1", "Version": "2.0-1",
              "Filename": "pool/main/d/demo/libdemo1_2.0-1_amd64.deb", "SHA256": "1" * 64}])
    name, digest = re.escape(Path(POOL).name), hashlib.sha256(NEW).hexdigest()
    with pytest.raises(FetchError, match=rf"{name}: SHA-256 {digest} does not match the lock \([0-9a-f]{{64}}\); "
                                         r"refusing it") as caught:
        fetcher(tmp_path, mirror.url, snapshot.url, [], allow_newer=True).fetch(pinned(), "x86_64")
    assert "layer lock" not in str(caught.value)
    assert not list((tmp_path / "cache" / "debs" / "sha256").iterdir()), "nothing refused is kept"


def _newer_on_the_mirror(mirror: StaticServer) -> Pinned:
    pool = "pool/main/d/demo/libdemo1_1.0-1+deb12u2_amd64.deb"
    put(mirror.root, pool, NEW)
    sha = hashlib.sha256(NEW).hexdigest()
    add_index(mirror.root, "bookworm", "amd64", [
        {"Package": "libdemo1", "Version": "1.0-1+deb12u2", "Filename": pool, "SHA256": sha},
        {"Package": "libdemo1", "Version": "1.0-1~bpo1", "Filename": "pool/x.deb", "SHA256": "2" * 64},
        {"Package": "other", "Version": "9.0", "Filename": "pool/y.deb", "SHA256": "3" * 64},
    ])
    return Pinned("libdemo1", "1.0-1+deb12u2", Path(pool).name, sha, pool)


@pytest.mark.parametrize("options", [{"strict": True}, {}])
def test_nowhere_fails_without_a_test_build(tmp_path: Path, servers: tuple[StaticServer, StaticServer],
                                            options: dict[str, bool], monkeypatch: pytest.MonkeyPatch) -> None:
    """--strict (and a plain build) never take another version: an error that says what was tried
    and puts rewriting the lock last."""
    mirror, snapshot = servers
    _newer_on_the_mirror(mirror)
    if options:  # strict wins over the environment make test sets
        monkeypatch.setenv("PARAMSECRETS_LAYER_ALLOW_NEWER", "1")
    else:  # a plain build, as a user runs it (make test sets the variable for its own layer builds)
        monkeypatch.delenv("PARAMSECRETS_LAYER_ALLOW_NEWER", raising=False)
    with pytest.raises(FetchError) as caught:
        fetcher(tmp_path, mirror.url, snapshot.url, [], **options).fetch(pinned(), "x86_64")
    message = str(caught.value)
    assert message.startswith("libdemo1 1.0-1+deb12u1 (amd64) can be had nowhere:")
    assert f"{mirror.url}/{POOL.replace('+', '%2B')}: HTTP 404" in message
    assert "snapshot archive: no libdemo1" in message
    assert message.index("--debian-mirror") < message.index("--allow-newer") < message.index("layer lock")


def test_nowhere_in_a_test_build_takes_the_newest_with_a_loud_warning(tmp_path: Path, servers: tuple[StaticServer,
                                                                      StaticServer],
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    mirror, snapshot = servers
    newer = _newer_on_the_mirror(mirror)
    lines: list[str] = []
    item, path = fetcher(tmp_path, mirror.url, snapshot.url, lines, allow_newer=True).fetch(pinned(), "x86_64")
    assert item == newer and path.read_bytes() == NEW
    warning = next(line for line in lines if line.startswith("WARNING:"))
    assert "libdemo1 1.0-1+deb12u1 (amd64) can be had nowhere; this TEST build uses the newest libdemo1 " \
           "1.0-1+deb12u2 instead" in warning and "--strict" in warning
    assert warning in capsys.readouterr().err


def test_environment_allows_newer_for_make_test(tmp_path: Path, servers: tuple[StaticServer, StaticServer],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    mirror, snapshot = servers
    newer = _newer_on_the_mirror(mirror)
    monkeypatch.setenv("PARAMSECRETS_LAYER_ALLOW_NEWER", "1")
    assert fetcher(tmp_path, mirror.url, snapshot.url, []).fetch(pinned(), "x86_64")[0] == newer


def test_no_mirror_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARAMSECRETS_DEBIAN_MIRROR", raising=False)
    monkeypatch.setattr(debian_sources, "APT_DIR", tmp_path / "no-apt")
    opts = DebianOptions(snapshot="")
    with pytest.raises(FetchError, match=r"no Debian mirror: this machine has no apt source for bookworm\. "
                                         r"Name one with --debian-mirror URL or PARAMSECRETS_DEBIAN_MIRROR"):
        DebFetcher(tmp_path / "cache", "bookworm", opts, print).fetch(pinned(), "x86_64")


# ---------------------------------------------------------------- mirrors


def test_mirrors_from_apt_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARAMSECRETS_DEBIAN_MIRROR", raising=False)
    apt = tmp_path / "apt"
    put(apt, "sources.list", b"# comment\ndeb [arch=amd64,arm64] https://mirror.example/debian/ bookworm main\n"
                             b"deb-src https://src.example/debian bookworm main\n"
                             b"deb https://other.example/ubuntu jammy main\n")
    put(apt, "sources.list.d/debian.sources",
        b"Types: deb\n# http://snapshot.example/...\nURIs: http://deb.example/debian\n"
        b"Suites: bookworm bookworm-updates\nComponents: main\n\n"
        b"Types: deb deb-src\nURIs: http://deb.example/debian-security\nSuites: bookworm-security\n"
        b"Components: main\n\nTypes: deb\nURIs: https://off.example/debian\nSuites: bookworm\nEnabled: no\n")
    put(apt, "sources.list.d/node.sources", b"Types: deb\nURIs: https://deb.node.example\nSuites: nodistro\n")
    put(apt, "sources.list.d/old.list.disabled", b"deb https://disabled.example/debian bookworm main\n")
    assert debian_sources.choose("bookworm", None, apt) == [
        debian_sources.Mirror("https://mirror.example/debian", ("bookworm",)),
        debian_sources.Mirror("http://deb.example/debian", ("bookworm", "bookworm-updates")),
        debian_sources.Mirror("http://deb.example/debian-security", ("bookworm-security",)),
    ]
    monkeypatch.setenv("PARAMSECRETS_DEBIAN_MIRROR", "https://a.example/debian, https://b.example/debian-security")
    assert [m.url for m in debian_sources.choose("bookworm", None, apt)] == [
        "https://a.example/debian", "https://b.example/debian-security"]
    assert [m.url for m in debian_sources.choose("bookworm", ["https://c.example/debian/"], apt)] == [
        "https://c.example/debian"]
    with pytest.raises(debian_sources.MirrorError, match="only http:// and https://"):
        debian_sources.choose("bookworm", ["ftp://old.example/debian"], apt)


# ---------------------------------------------------------------- unpacking and versions


@pytest.mark.parametrize("compression", ["xz", "gz", "bz2", "none"])
def test_unpack_every_stdlib_compression(tmp_path: Path, compression: str) -> None:
    deb = tmp_path / "x.deb"
    deb.write_bytes(make_deb({"usr/share/doc/x/copyright": b"text\n"}, compression))
    ar_unpack.extract_deb(deb, tmp_path / "out")
    assert (tmp_path / "out/usr/share/doc/x/copyright").read_bytes() == b"text\n"


def test_zstd_member_needs_zstandard_on_311(tmp_path: Path) -> None:
    """bookworm's packages are all xz; a zstd one (Ubuntu's) is read with `zstandard` when present,
    and otherwise refused with that advice."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        info = tarfile.TarInfo("./a")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"a"))
    try:
        import zstandard  # type: ignore[import-not-found]
    except ImportError:
        zstandard = None
    payload = zstandard.ZstdCompressor().compress(data.getvalue()) if zstandard else b"(\xb5/\xfd-not-really"
    member = f"{'data.tar.zst':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(payload):<10}`\n".encode() + payload
    deb = tmp_path / "z.deb"
    deb.write_bytes(b"!<arch>\n" + member + (b"\n" if len(payload) & 1 else b""))
    if zstandard is None:
        with pytest.raises(ar_unpack.DebError, match=r"zstd-compressed.*pip install zstandard"):
            ar_unpack.extract_deb(deb, tmp_path / "out")
    else:
        ar_unpack.extract_deb(deb, tmp_path / "out")
        assert (tmp_path / "out" / "a").read_bytes() == b"a"


def test_not_a_deb(tmp_path: Path) -> None:
    (tmp_path / "x.deb").write_bytes(b"<html>not found</html>")
    with pytest.raises(ar_unpack.DebError, match=r"x\.deb: not a Debian package"):
        ar_unpack.extract_deb(tmp_path / "x.deb", tmp_path / "out")


@pytest.mark.parametrize(("a", "b", "order"), [
    ("1.0~rc1", "1.0", -1), ("1:1.0", "9.9", 1), ("2.36-9+deb12u14", "2.36-9+deb12u7", 1),
    ("3.11.2-6+deb12u9", "3.11.2-6+deb12u10", -1), ("1.0", "1.0", 0), ("1.0a", "1.0", 1),
    ("1.0", "1.0.1", -1), ("20250419~deb12u2", "20230311+deb12u1", 1), ("1.0-1", "1.0-1~bpo1", 1),
])
def test_debian_version_order(a: str, b: str, order: int) -> None:
    assert compare_versions(a, b) == order and compare_versions(b, a) == -order


def test_a_non_linux_host_builds_on_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS and Windows cannot run the layer's Linux interpreter: `auto` builds with this Python
    (tests/lambda/test_layer_host_build.py runs such builds), and `layer` is refused, saying why."""
    from paramsecrets.layer import build as layer
    from paramsecrets.layer import runtime as layer_runtime

    monkeypatch.setattr("paramsecrets.layer.build.sys.platform", "darwin")
    assert not layer_runtime.runs_here()
    with pytest.raises(layer.LayerBuildError, match=r"this machine \(darwin .*\) cannot run: use --build-python host"):
        layer.build_layer("x86_64", Path("x.zip"), build_python="layer")


def test_indexes_are_read_over_tls() -> None:
    """An index decides what is trusted and its signature is not checked: never over plain http,
    except a loopback stand-in."""
    from paramsecrets.layer.debian_fetch import index_url

    assert index_url("http://deb.debian.org/debian/dists/x") == "https://deb.debian.org/debian/dists/x"
    assert index_url("http://mirror.example:8080/debian") == "https://mirror.example:8080/debian"
    assert index_url("https://deb.debian.org/debian") == "https://deb.debian.org/debian"
    assert index_url("http://127.0.0.1:4000/dists/x") == "http://127.0.0.1:4000/dists/x"
    assert index_url("http://localhost/dists/x") == "http://localhost/dists/x"
    assert index_url("http://[::1]:80/dists/x") == "http://[::1]:80/dists/x"
