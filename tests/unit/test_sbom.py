"""sbom.py on a small zip: a Debian package missing from the licence table (a new lock row) gets the
`Files: *` licence of its machine-readable copyright file from the download cache, or a pointer to
that file; the document is deterministic."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

from paramsecrets.layer.sbom import build_sbom
from paramsecrets.testing.debian_mirror import make_deb, put

DEP5 = (b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        b"Files: *\nCopyright: someone\nLicense: BSD-3-Clause\n\nFiles: debian/*\nLicense: GPL-2+\n")


def _zip(path: Path, rows: list[dict[str, str]]) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("paramsecrets/layer.json", json.dumps(
            {"paramsecrets": "9.9.9", "arch": "arm64", "debian": rows, "wheels": []}))
    path.write_bytes(buffer.getvalue())
    return path


def test_new_package_licence_from_its_copyright_file(tmp_path: Path) -> None:
    deb = make_deb({"usr/share/doc/libnew1/copyright": DEP5})
    prose = make_deb({"usr/share/doc/libprose1/copyright": b"This is free software, see the GPL.\n"})
    rows = []
    for name, data in (("libnew1", deb), ("libprose1", prose), ("libc6", b"not needed")):
        sha = hashlib.sha256(data).hexdigest()
        put(tmp_path / "cache" / "debs" / "sha256", f"{sha}.deb", data)
        rows.append({"name": name, "version": "1.0-1", "filename": f"{name}_1.0-1_arm64.deb", "sha256": sha})
    zip_path = _zip(tmp_path / "layer.zip", rows)
    sbom = build_sbom(zip_path, tmp_path / "cache")
    by_name = {c["name"]: c for c in sbom["components"]}
    assert by_name["libnew1"]["licenses"] == [{"license": {"id": "BSD-3-Clause"}}]
    assert by_name["libprose1"]["licenses"] == [
        {"license": {"name": "see /usr/share/doc/libprose1/copyright in libprose1_1.0-1_arm64.deb"}}]
    assert by_name["libc6"]["licenses"] == [{"license": {"id": "LGPL-2.1-or-later"}}]
    assert by_name["libnew1"]["purl"] == "pkg:deb/debian/libnew1@1.0-1?arch=arm64&distro=debian-12"
    assert sbom["metadata"]["component"]["name"] == "paramsecrets-layer-arm64"
    assert build_sbom(zip_path, tmp_path / "cache") == sbom, "deterministic"
