"""`make dist`: the wheel and sdist (python -m build, twine check --strict), both layer zips built
--strict, a CycloneDX SBOM per layer naming every Debian package and wheel in the zip with version,
licence and SHA-256, and SHA256SUMS over all of them."""

from __future__ import annotations

import hashlib
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

import paramsecrets
from paramsecrets.layer import dist
from paramsecrets.layer import lock as layer_lock


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist") / "dist"
    lines: list[str] = []
    dist.make_dist(out, progress=lines.append)
    assert any("twine check --strict passed" in line for line in lines)
    assert any("(Debian bookworm python3.11" in line and ", strict)" in line for line in lines)
    return out


@pytest.mark.timeout(1500)
def test_every_artifact_and_its_checksum(artifacts: Path) -> None:
    version = paramsecrets.__version__
    names = sorted(p.name for p in artifacts.iterdir())
    assert names == sorted([
        f"paramsecrets-{version}-py3-none-any.whl", f"paramsecrets-{version}.tar.gz",
        "paramsecrets-layer-arm64.zip", "paramsecrets-layer-x86_64.zip",
        "paramsecrets-layer-arm64.cdx.json", "paramsecrets-layer-x86_64.cdx.json", "SHA256SUMS",
    ])
    sums = (artifacts / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 6
    for line in sums:
        digest, name = line.split("  ")
        assert hashlib.sha256((artifacts / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.timeout(1500)
def test_the_wheel_and_the_sdist(artifacts: Path) -> None:
    version = paramsecrets.__version__
    with zipfile.ZipFile(artifacts / f"paramsecrets-{version}-py3-none-any.whl") as wheel:
        names = wheel.namelist()
        metadata = wheel.read(f"paramsecrets-{version}.dist-info/METADATA").decode()
    assert "paramsecrets/layer/files/layer.lock.json" in names and "paramsecrets/cli.py" in names
    assert not [n for n in names if n.startswith("tests/")]
    assert f"\nVersion: {version}\n" in metadata and "Requires-Dist: awscrt" in metadata
    assert "Content-Type: text/markdown" in metadata
    with tarfile.open(artifacts / f"paramsecrets-{version}.tar.gz") as sdist:
        assert f"paramsecrets-{version}/src/paramsecrets/layer/files/layer.lock.json" in sdist.getnames()


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_the_sbom_names_every_package_in_the_zip(artifacts: Path, arch: str) -> None:
    lock = layer_lock.load()
    sbom = json.loads((artifacts / f"paramsecrets-layer-{arch}.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.5"
    zip_path = artifacts / f"paramsecrets-layer-{arch}.zip"
    top = sbom["metadata"]["component"]
    assert top["hashes"] == [{"alg": "SHA-256", "content": hashlib.sha256(zip_path.read_bytes()).hexdigest()}]
    with zipfile.ZipFile(zip_path) as archive:
        manifest = json.loads(archive.read("paramsecrets/layer.json"))
    inside = {row["name"]: row for row in (*manifest["debian"], *manifest["wheels"])}
    pinned = {item.name: item for item in (*lock.packages[arch], *lock.wheels[arch])}
    components = {c["name"]: c for c in sbom["components"]}
    assert set(components) == set(inside) == set(pinned)  # a strict build: exactly the lock
    for name, component in components.items():
        assert component["version"] == pinned[name].version
        assert component["hashes"] == [{"alg": "SHA-256", "content": pinned[name].sha256}]
        licences = component["licenses"]
        assert licences and all("expression" in lic or "id" in lic["license"] for lic in licences), name
        assert component["purl"].startswith("pkg:deb/debian/" if name != "awscrt" else "pkg:pypi/awscrt@")
    assert components["awscrt"]["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    assert components["libc6"]["licenses"] == [{"license": {"id": "LGPL-2.1-or-later"}}]
