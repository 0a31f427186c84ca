"""Unpack a Debian package (.deb) in Python: the `ar` archive, then its `data.tar.*` member.

Why in Python: the layer build must run where there is no dpkg and no binutils (macOS, Windows,
CI without a Debian container). A .deb is an `ar` archive (`!<arch>\\n`, then 60-byte member
headers) holding `debian-binary`, `control.tar.*` and `data.tar.*`; only the data member is needed.

Compressions: every package bookworm pins today uses xz (`data.tar.xz`, dpkg's default since
Debian 9), which `tarfile` reads with the standard library's lzma, as it reads gz, bz2 and an
uncompressed tar. Debian also allows zstd (Ubuntu uses it); the standard library has no zstd
before Python 3.14, so a zstd member is read with Python 3.14's `compression.zstd` or the
`zstandard` package from PyPI when one is present, and otherwise refused with that advice.

Symlinks are never created on this machine: they become rows of a table (deb_tree.py), so the
build needs no symlink privilege (Windows) and no link can point into the building machine.
"""

from __future__ import annotations

import io
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from paramsecrets.layer import deb_tree

AR_MAGIC = b"!<arch>\n"
HEADER_BYTES = 60
MAX_MEMBER_BYTES = 1 << 30
"""No Debian package of the layer comes near this; a bigger size field is a corrupt file."""


class DebError(Exception):
    """The file is not a usable Debian package; the message names it and says why."""


def ar_members(handle: BinaryIO, name: str = "package") -> Iterator[tuple[str, bytes]]:
    """(member name, member bytes) for each member of the `ar` archive read from `handle`."""
    if handle.read(len(AR_MAGIC)) != AR_MAGIC:
        raise DebError(f"{name}: not a Debian package (no ar header)")
    while True:
        header = handle.read(HEADER_BYTES)
        if not header:
            return
        if len(header) != HEADER_BYTES or header[58:60] != b"`\n":
            raise DebError(f"{name}: truncated or corrupt ar member header")
        member = header[:16].decode("ascii", "replace").strip().rstrip("/")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            raise DebError(f"{name}: bad size in the ar header of {member!r}") from None
        if not 0 <= size <= MAX_MEMBER_BYTES:
            raise DebError(f"{name}: member {member!r} claims {size} bytes")
        data = handle.read(size)
        if len(data) != size:
            raise DebError(f"{name}: member {member!r} is truncated")
        if size & 1:
            handle.read(1)  # members are aligned to 2 bytes
        yield member, data


def _zstd_decompress(data: bytes, name: str) -> bytes:
    """zstd without the standard library of 3.11: Python 3.14's module or PyPI's `zstandard`."""
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python 3.14+

        return bytes(zstd.decompress(data))
    except ImportError:
        pass
    try:
        import zstandard  # type: ignore[import-not-found]
    except ImportError:
        raise DebError(
            f"{name}: its data is zstd-compressed, which Python {_pyver()} cannot read: "
            "`pip install zstandard` (or use Python 3.14+)"
        ) from None
    with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as reader:
        return bytes(reader.read())


def _pyver() -> str:
    import sys

    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def data_tar(deb: Path) -> tarfile.TarFile:
    """The package's data member as an open TarFile (read mode, any supported compression)."""
    with deb.open("rb") as handle:
        for member, data in ar_members(handle, deb.name):
            if not member.startswith("data.tar"):
                continue
            if member == "data.tar.zst":
                return tarfile.open(fileobj=io.BytesIO(_zstd_decompress(data, deb.name)), mode="r:")
            if member not in ("data.tar", "data.tar.gz", "data.tar.xz", "data.tar.bz2"):
                raise DebError(f"{deb.name}: unsupported data member {member}")
            try:
                return tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
            except tarfile.TarError as error:
                raise DebError(f"{deb.name}: cannot read {member}: {error}") from None
    raise DebError(f"{deb.name}: no data.tar member")


def extract_deb(deb: Path, dest: Path, links: dict[str, str] | None = None) -> dict[str, str]:
    """Unpack the data part of a .deb into dest: its folders and regular files only, written by
    this process (no symlink, mode or owner taken from the archive, so it works alike on every OS
    and as any user; see deb_tree.py). Returns `links` (a new table by default) with the package's
    symlinks added as rows; a hard link becomes a copy of the file it names. A member that would
    land outside dest is refused."""
    links = {} if links is None else links
    with data_tar(deb) as tar:
        try:
            for member in tar:
                _unpack_member(tar, member, dest, links, deb.name)
        except (tarfile.TarError, OSError) as error:
            raise DebError(f"{deb.name}: cannot unpack: {error}") from None
    return links


def _target_path(name: str, package: str) -> PurePosixPath:
    """A member's path as on the target (`./usr/bin/x` -> /usr/bin/x); refuses `..` and names that
    are not one file name per part on this OS (a backslash or a drive on Windows)."""
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if any(part == ".." or Path(part).name != part for part in parts):
        raise DebError(f"{package}: refusing the member {name!r}: it could land outside the tree")
    return PurePosixPath("/", *parts)


def _unpack_member(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path, links: dict[str, str],
                   package: str) -> None:
    path = _target_path(member.name, package)
    if path == PurePosixPath("/"):
        return
    # A folder of the path may be a symlink of an earlier member: write where Linux would.
    where = deb_tree.resolve(links, str(path.parent)) / path.name
    target = dest.joinpath(*where.parts[1:])
    if member.isdir():
        target.mkdir(parents=True, exist_ok=True)
        links.pop(str(where), None)
        return
    if member.issym():
        if target.is_dir():
            raise DebError(f"{package}: the symlink {member.name} would replace a folder")
        target.unlink(missing_ok=True)
        links[str(where)] = member.linkname
        return
    if not (member.isreg() or member.islnk()):
        return  # devices and fifos: no package of the layer has one, and the layer could not use one
    target.parent.mkdir(parents=True, exist_ok=True)
    links.pop(str(where), None)
    if member.islnk():
        source = dest.joinpath(*deb_tree.resolve(links, str(_target_path(member.linkname, package))).parts[1:])
        if not source.is_file():
            raise DebError(f"{package}: the hard link {member.name} names {member.linkname}, which is not a file")
        shutil.copyfile(source, target)
        return
    handle = tar.extractfile(member)
    if handle is None:
        raise DebError(f"{package}: cannot read {member.name}")
    with handle, target.open("wb") as out:
        shutil.copyfileobj(handle, out)
