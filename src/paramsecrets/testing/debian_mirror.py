"""A local stand-in for a Debian mirror and for Debian's snapshot archive, for the layer tests.

A static file tree served over HTTP on a free loopback port; it records the paths asked for, so a
test can prove where each file came from. Helpers lay out the tree the way the real services do:
`pool/...` and `dists/<suite>/main/binary-<arch>/Packages.xz` for a mirror, `mr/binary/<name>/
<version>/binfiles` and `file/<sha1>` for the snapshot archive. make_deb builds a small .deb.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import lzma
import tarfile
import threading
from pathlib import Path
from types import TracebackType


class StaticServer:
    """`with StaticServer(root) as server:` serves root at server.url; server.requests lists paths."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        requests = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

            def do_GET(self) -> None:
                requests.append(self.path)
                super().do_GET()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> StaticServer:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


def put(root: Path, rel: str, data: bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def add_snapshot_file(root: Path, name: str, version: str, debian_arch: str, data: bytes) -> str:
    """Publish data as name=version in a snapshot-archive tree; returns its sha1."""
    sha1 = hashlib.sha1(data).hexdigest()
    listing = {"binary": name, "binary_version": version,
               "result": [{"architecture": debian_arch, "hash": sha1}]}
    put(root, f"mr/binary/{name}/{version}/binfiles", json.dumps(listing).encode())
    put(root, f"file/{sha1}", data)
    return sha1


def add_index(root: Path, suite: str, debian_arch: str, records: list[dict[str, str]]) -> None:
    """Write dists/<suite>/main/binary-<arch>/Packages.xz listing records."""
    text = "\n".join("".join(f"{k}: {v}\n" for k, v in record.items()) for record in records)
    put(root, f"dists/{suite}/main/binary-{debian_arch}/Packages.xz", lzma.compress(text.encode()))


def make_deb(files: dict[str, bytes], compression: str = "xz") -> bytes:
    """A minimal .deb (ar: debian-binary, control.tar.xz, data.tar.<compression>) holding files."""
    def tar(entries: dict[str, bytes], mode: str) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
            for name, data in sorted(entries.items()):
                info = tarfile.TarInfo(f"./{name}")
                info.size = len(data)
                info.mode = 0o644
                archive.addfile(info, io.BytesIO(data))
        return buffer.getvalue()

    members = [("debian-binary", b"2.0\n"), ("control.tar.xz", tar({"control": b"Package: x\n"}, "w:xz"))]
    if compression == "none":
        members.append(("data.tar", tar(files, "w")))
    else:
        members.append((f"data.tar.{compression}", tar(files, f"w:{compression}")))
    out = io.BytesIO()
    out.write(b"!<arch>\n")
    for name, data in members:
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode()
        out.write(header + data + (b"\n" if len(data) & 1 else b""))
    return out.getvalue()
