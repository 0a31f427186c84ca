"""Unpack a Debian package (.deb) in Python: the `ar` archive, then its `data.tar.*` member.

Why in Python: the layer build must run where there is no dpkg and no binutils (macOS, Windows,
CI without a Debian container). A .deb is an `ar` archive (`!<arch>\\n`, then 60-byte member
headers) holding `debian-binary`, `control.tar.*` and `data.tar.*`; only the data member is needed.

Compressions: every package bookworm pins today uses xz (`data.tar.xz`, dpkg's default since
Debian 9), which `tarfile` reads with the standard library's lzma, as it reads gz, bz2 and an
uncompressed tar. Debian also allows zstd (Ubuntu uses it); the standard library has no zstd
before Python 3.14, so a zstd member is read with Python 3.14's `compression.zstd` or the
`zstandard` package from PyPI when one is present, and otherwise refused with that advice.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

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


def extract_deb(deb: Path, dest: Path) -> None:
    """Unpack the data part of a .deb into dest (symlinks kept as symlinks, nothing outside dest)."""
    with data_tar(deb) as tar:
        if hasattr(tarfile, "tar_filter"):  # Python 3.11.4+: no member may land outside dest
            tar.extraction_filter = tarfile.tar_filter
        try:
            tar.extractall(dest)
        except (tarfile.TarError, OSError) as error:
            raise DebError(f"{deb.name}: cannot unpack: {error}") from None
