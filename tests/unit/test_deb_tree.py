"""Unpacking a .deb without creating a symlink (deb_tree.py, ar_unpack.extract_deb) and the unpacked
tree's cache without fcntl (runtime._cache_lock, runtime._publish): what lets the layer build on
Windows. Real tar archives in real .deb files; os.symlink made to fail as on Windows without the
symlink privilege."""

from __future__ import annotations

import io
import os
import sys
import tarfile
import time
from pathlib import Path, PurePosixPath

import pytest

from paramsecrets.layer import ar_unpack, deb_tree
from paramsecrets.layer import runtime as layer_runtime

Entry = tuple[str, str, bytes | str]
"""(kind: file, dir, symlink, hardlink, fifo; name; the file's bytes or the link's target)"""


def make_deb(entries: list[Entry]) -> bytes:
    """A .deb whose data.tar.xz holds `entries` in this order (the order matters to links)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as archive:
        for kind, name, payload in entries:
            info = tarfile.TarInfo(f"./{name}")
            if kind == "file":
                assert isinstance(payload, bytes)
                info.size, info.mode = len(payload), 0o755
                archive.addfile(info, io.BytesIO(payload))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                         "fifo": tarfile.FIFOTYPE}[kind]
            if kind in ("symlink", "hardlink"):
                assert isinstance(payload, str)
                info.linkname = payload
            archive.addfile(info)
    data = buffer.getvalue()
    out = io.BytesIO(b"!<arch>\n")
    out.seek(0, io.SEEK_END)
    for name, member in (("debian-binary", b"2.0\n"), ("data.tar.xz", data)):
        out.write(f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(member):<10}`\n".encode() + member)
        out.write(b"\n" if len(member) & 1 else b"")
    return out.getvalue()


@pytest.fixture(autouse=True)
def no_symlinks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """Every symlink this process asks for fails, as on Windows without the privilege; the asks are
    kept. (After tmp_path: pytest links its own `*-current` folders.)"""
    asked: list[tuple[object, ...]] = []

    def refuse(*args: object, **_kwargs: object) -> None:
        asked.append(args)
        raise OSError(1314, "A required privilege is not held by the client")

    monkeypatch.setattr(os, "symlink", refuse)
    monkeypatch.setattr(Path, "symlink_to", refuse)
    return asked


def unpack(tmp_path: Path, *debs: list[Entry]) -> tuple[Path, dict[str, str]]:
    dest = tmp_path / "tree"
    dest.mkdir()
    links: dict[str, str] = {}
    for number, entries in enumerate(debs):
        deb = tmp_path / f"p{number}.deb"
        deb.write_bytes(make_deb(entries))
        assert ar_unpack.extract_deb(deb, dest, links) is links
    return dest, links


def test_symlinks_become_rows_and_never_touch_the_disk(tmp_path: Path, no_symlinks: list[tuple[object, ...]]) -> None:
    tree, links = unpack(tmp_path, [
        ("dir", "lib", b""), ("dir", "lib/x86_64-linux-gnu", b""),
        ("file", "lib/x86_64-linux-gnu/libz.so.1.2.13", b"\x7fELF zlib"),
        ("symlink", "lib/x86_64-linux-gnu/libz.so.1", "libz.so.1.2.13"),
        ("dir", "lib64", b""),
        ("symlink", "lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
        ("file", "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", b"\x7fELF loader"),
        ("symlink", "usr/lib/python3.11/sitecustomize.py", "/etc/python3.11/sitecustomize.py"),
    ])
    assert links == {
        "/lib/x86_64-linux-gnu/libz.so.1": "libz.so.1.2.13",
        "/lib64/ld-linux-x86-64.so.2": "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        "/usr/lib/python3.11/sitecustomize.py": "/etc/python3.11/sitecustomize.py",
    }
    assert not no_symlinks
    assert not [p for p in tree.rglob("*") if p.is_symlink()]
    assert not (tree / "lib/x86_64-linux-gnu/libz.so.1").exists()
    deb_tree.write_links(tree, links)
    assert deb_tree.host_path(tree, "/lib/x86_64-linux-gnu/libz.so.1").read_bytes() == b"\x7fELF zlib"
    assert deb_tree.host_path(tree, "/lib64/ld-linux-x86-64.so.2").read_bytes() == b"\x7fELF loader"
    # An absolute link resolves inside the tree, never to this machine's own /etc.
    assert deb_tree.host_path(tree, "/usr/lib/python3.11/sitecustomize.py") == tree / "etc/python3.11/sitecustomize.py"
    resolved = layer_runtime.resolve(tree, "/lib/x86_64-linux-gnu/libz.so.1")
    assert resolved == tree / "lib/x86_64-linux-gnu/libz.so.1.2.13"


def test_modes_and_owners_are_not_taken_from_the_archive(tmp_path: Path) -> None:
    """The zip's modes come from the layer's layout (build._mode), so the tree needs none: nothing is
    chmod-ed, and a 0755 member is a plain file written with this process's defaults."""
    tree, _ = unpack(tmp_path, [("file", "usr/bin/python3.11", b"\x7fELF")])
    written = tree / "usr/bin/python3.11"
    reference = tmp_path / "reference"
    reference.write_bytes(b"")
    assert written.stat().st_mode == reference.stat().st_mode


def test_a_hard_link_is_a_copy_and_a_fifo_is_skipped(tmp_path: Path) -> None:
    tree, links = unpack(tmp_path, [
        ("file", "usr/bin/python3.11", b"interpreter"),
        ("hardlink", "usr/bin/python3", "./usr/bin/python3.11"),
        ("fifo", "run/pipe", b""),
    ])
    assert (tree / "usr/bin/python3").read_bytes() == b"interpreter" and not links
    assert not (tree / "run/pipe").exists()


def test_a_member_under_a_symlinked_folder_lands_where_linux_puts_it(tmp_path: Path) -> None:
    tree, links = unpack(
        tmp_path,
        [("dir", "usr/lib", b""), ("symlink", "lib", "usr/lib")],
        [("file", "lib/libc.so.6", b"libc")],
    )
    assert (tree / "usr/lib/libc.so.6").read_bytes() == b"libc" and links == {"/lib": "usr/lib"}
    deb_tree.write_links(tree, links)
    assert deb_tree.host_path(tree, "/lib/libc.so.6") == tree / "usr/lib/libc.so.6"


def test_nothing_lands_outside_the_tree(tmp_path: Path) -> None:
    deb = tmp_path / "evil.deb"
    deb.write_bytes(make_deb([("file", "../../escaped", b"x")]))
    with pytest.raises(ar_unpack.DebError, match="could land outside the tree"):
        ar_unpack.extract_deb(deb, tmp_path / "tree")
    # A link climbing above the root stops at the tree's root, as `..` does at / on Linux.
    tree, _ = unpack(tmp_path, [("symlink", "up", "../../../../.."), ("file", "up/escaped", b"x")])
    assert (tree / "escaped").read_bytes() == b"x"
    assert not (tmp_path / "escaped").exists() and not (tmp_path.parent / "escaped").exists()


def test_a_later_member_replaces_an_earlier_one(tmp_path: Path) -> None:
    tree, links = unpack(
        tmp_path,
        [("symlink", "etc/a", "b"), ("file", "etc/c", b"file")],
        [("file", "etc/a", b"now a file"), ("symlink", "etc/c", "a")],
    )
    assert links == {"/etc/c": "a"}
    assert (tree / "etc/a").read_bytes() == b"now a file" and not (tree / "etc/c").exists()


def test_resolve_follows_chains_dots_and_refuses_loops() -> None:
    links = {"/a": "b/c", "/b": "/d", "/d/c": "../e", "/loop": "loop2", "/loop2": "loop"}
    assert deb_tree.resolve(links, "/a/f") == PurePosixPath("/e/f")
    assert deb_tree.resolve(links, "/x/./y/../z") == PurePosixPath("/x/z")
    assert deb_tree.resolve(links, "/../../a") == PurePosixPath("/e")
    with pytest.raises(deb_tree.TreeError, match="too many symlinks resolving /loop/x"):
        deb_tree.resolve(links, "/loop/x")


def test_a_tree_of_an_older_format_is_named_as_such(tmp_path: Path) -> None:
    with pytest.raises(layer_runtime.RuntimeBuildError, match="not a tree unpacked by this version"):
        layer_runtime.resolve(tmp_path, "/usr/bin/python3.11")


def test_the_cache_lock_is_not_needed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without fcntl and msvcrt (importing either fails) the lock is a no-op, and publishing a
    tree is still safe: one rename, and a tree another builder published first is kept."""
    monkeypatch.setitem(sys.modules, "fcntl", None)
    monkeypatch.setitem(sys.modules, "msvcrt", None)
    with layer_runtime._cache_lock(tmp_path / "cache"):
        mine = tmp_path / "cache" / "mine"
        mine.mkdir()
        (mine / ".complete").write_text("ok\n")
        (mine / "file").write_text("mine")
        final = tmp_path / "cache" / "layer-root" / "tree"
        layer_runtime._publish(mine, final)
        assert (final / "file").read_text() == "mine" and not mine.exists()

        theirs = tmp_path / "cache" / "theirs"
        theirs.mkdir()
        (theirs / ".complete").write_text("ok\n")
        (theirs / "file").write_text("theirs")
        layer_runtime._publish(theirs, final)
        assert (final / "file").read_text() == "mine" and not theirs.exists()

        (final / ".complete").unlink()  # a leftover: replaced
        again = tmp_path / "cache" / "again"
        again.mkdir()
        (again / ".complete").write_text("ok\n")
        layer_runtime._publish(again, final)
        assert (final / ".complete").is_file() and not (final / "file").exists()


def test_publish_tries_again_while_windows_holds_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scanner reading a new file makes Windows refuse the folder's rename for a moment."""
    refusals = [PermissionError(5, "Access is denied"), PermissionError(5, "Access is denied")]
    real_replace = os.replace
    waits: list[float] = []

    def replace(source: Path, target: Path) -> None:
        if refusals:
            raise refusals.pop()
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(time, "sleep", waits.append)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    (tmp / ".complete").write_text("ok\n")
    layer_runtime._publish(tmp, tmp_path / "final")
    assert (tmp_path / "final" / ".complete").is_file() and waits == [0.1, 0.2]

    refusals.extend(PermissionError(5, "Access is denied") for _ in range(layer_runtime.PUBLISH_TRIES))
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(PermissionError):
        layer_runtime._publish(other, tmp_path / "elsewhere")
    assert other.is_dir() and not (tmp_path / "elsewhere").exists()
