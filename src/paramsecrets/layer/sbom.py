"""A CycloneDX 1.5 JSON SBOM of a layer zip: every Debian package and wheel inside, with version,
licence and SHA-256.

The zip's `paramsecrets/layer.json` (written by the builder) names what went in; each component
carries the SHA-256 of the .deb or wheel it came from (the lock's), a package URL (`pkg:deb/...`,
`pkg:pypi/...`) and an SPDX licence. Debian's copyright files are not all machine-readable (glibc's
and CPython's are prose), so the licences of the layer's packages are a reviewed table here; a
package missing from it (a new lock row) gets the `Files: *` licence of its DEP-5 copyright file
from the download cache, or a pointer to that file. Deterministic: no timestamp, and the serial
number is derived from the zip's hash, so the same zip gives the same SBOM.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import urllib.parse
import uuid
import zipfile
from pathlib import Path
from typing import Any

import paramsecrets

DEBIAN_LICENCES = {
    "python3.11-minimal": "PSF-2.0",
    "libpython3.11-minimal": "PSF-2.0",
    "libpython3.11-stdlib": "PSF-2.0",
    "libc6": "LGPL-2.1-or-later",
    "zlib1g": "Zlib",
    "libexpat1": "MIT",
    "ca-certificates": "MPL-2.0 AND GPL-2.0-or-later",
    "libgcc-s1": "GPL-3.0-or-later WITH GCC-exception-3.1",
}
"""SPDX expressions from each package's /usr/share/doc/<name>/copyright (reviewed by hand)."""
DEBIAN_ARCH = {"x86_64": "amd64", "arm64": "arm64"}
PROJECT_LICENCE = "Apache-2.0"
MANIFEST = "paramsecrets/layer.json"


def _dep5_licence(deb: Path, name: str) -> str | None:
    """The `Files: *` licence of a machine-readable copyright file inside a cached .deb."""
    from paramsecrets.layer.ar_unpack import DebError, data_tar

    try:
        with data_tar(deb) as tar:
            member = tar.extractfile(f"./usr/share/doc/{name}/copyright")
            text = member.read().decode("utf-8", "replace") if member else ""
    except (DebError, KeyError, OSError):
        return None
    if "copyright-format/1.0" not in text:
        return None
    match = re.search(r"^Files:\s*\*\s*\n(?:.*\n)*?License:\s*(\S[^\n]*)", text, re.M)
    return match.group(1).strip() if match else None


def _licence(choice: str) -> list[dict[str, Any]]:
    if " " in choice:
        return [{"expression": choice}]
    return [{"license": {"id": choice}}]


def _wheel_licence(archive: zipfile.ZipFile, name: str, version: str) -> str:
    """License-Expression or License from the wheel's METADATA as unpacked in the zip."""
    path = f"paramsecrets/lib/{name.replace('-', '_')}-{version}.dist-info/METADATA"
    try:
        text = archive.read(path).decode("utf-8", "replace")
    except KeyError:
        return "NOASSERTION"
    for field in ("License-Expression", "License"):
        match = re.search(rf"^{field}:\s*(\S[^\n]*)$", text, re.M)
        if match and len(match.group(1)) < 100:
            return match.group(1).strip()
    return "NOASSERTION"


def build_sbom(zip_path: Path, cache: Path | None = None) -> dict[str, Any]:
    """The CycloneDX document for a layer zip (`cache`: the build's download cache, for licences
    of packages not in DEBIAN_LICENCES)."""
    data = zip_path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    with zipfile.ZipFile(zip_path) as archive:
        try:
            manifest = json.loads(archive.read(MANIFEST))
        except KeyError:
            raise ValueError(f"{zip_path} has no {MANIFEST}: not a paramsecrets layer zip") from None
        arch = str(manifest["arch"])
        components: list[dict[str, Any]] = []
        for row in manifest["debian"]:
            name, version, sha256 = row["name"], row["version"], row["sha256"]
            licence = DEBIAN_LICENCES.get(name)
            deb = cache / "debs" / "sha256" / f"{sha256}.deb" if cache else None
            if licence is None and deb is not None and deb.is_file():
                licence = _dep5_licence(deb, name)
            deb_arch = "all" if row["filename"].endswith("_all.deb") else DEBIAN_ARCH[arch]
            purl = (f"pkg:deb/debian/{name}@{urllib.parse.quote(version, safe='')}"
                    f"?arch={deb_arch}&distro=debian-12")
            components.append({
                "type": "application" if name.startswith("python3") else "library",
                "bom-ref": purl, "name": name, "version": version, "purl": purl,
                "hashes": [{"alg": "SHA-256", "content": sha256}],
                "licenses": _licence(licence) if licence else [
                    {"license": {"name": f"see /usr/share/doc/{name}/copyright in {row['filename']}"}}],
                "properties": [{"name": "paramsecrets:file", "value": row["filename"]}],
            })
        for row in manifest["wheels"]:
            name, version = row["name"], row["version"]
            purl = f"pkg:pypi/{name}@{version}"
            components.append({
                "type": "library", "bom-ref": purl, "name": name, "version": version, "purl": purl,
                "hashes": [{"alg": "SHA-256", "content": row["sha256"]}],
                "licenses": _licence(_wheel_licence(archive, name, version)),
                "properties": [{"name": "paramsecrets:file", "value": row["filename"]}],
            })
    version = str(manifest.get("paramsecrets", paramsecrets.__version__))
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'sha256:' + digest)}",
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "paramsecrets",
                                      "version": paramsecrets.__version__}]},
            "component": {
                "type": "application", "bom-ref": f"pkg:generic/paramsecrets-layer@{version}?arch={arch}",
                "name": f"paramsecrets-layer-{arch}", "version": version,
                "hashes": [{"alg": "SHA-256", "content": digest}],
                "licenses": _licence(PROJECT_LICENCE),
                "properties": [{"name": "paramsecrets:zip", "value": zip_path.name}],
            },
        },
        "components": components,
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m paramsecrets.layer.sbom ZIP [-o FILE]`: write the layer zip's SBOM (stdout by default)."""
    parser = argparse.ArgumentParser(prog="python -m paramsecrets.layer.sbom", description=__doc__.split("\n")[0])
    parser.add_argument("zip", type=Path)
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args(argv)
    from paramsecrets.layer.build import cache_dir

    try:
        text = json.dumps(build_sbom(args.zip, cache_dir()), indent=2) + "\n"
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        print(f"sbom: error: {error}", file=sys.stderr)
        return 2
    if args.output:
        args.output.write_text(text, encoding="utf-8", newline="\n")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
