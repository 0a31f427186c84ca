"""`paramsecrets layer publish` against moto's Lambda (and S3): the version exists with its
architecture, with --public a policy granting `*` (GetLayerVersionPolicy), requests signed with
SigV4 by awscrt, ARNs on stdout one per line, and a failing region named with exit 1."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import Build

from paramsecrets.testing.moto import ACCESS_KEY, SECRET_KEY, MotoServer


def _small_layer(path: Path, arch: str) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("paramsecrets/layer.json", json.dumps({"arch": arch, "debian": [], "wheels": []}))
        archive.writestr("extensions/paramsecrets", "#!/bin/sh\n")
    path.write_bytes(buffer.getvalue())
    return path


def _publish(moto: MotoServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_ENDPOINT_URL=moto.url,
               AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    return subprocess.run([sys.executable, "-m", "paramsecrets", "layer", "publish", *args],
                          capture_output=True, text=True, timeout=120, env=env)


def _lambda(moto: MotoServer, region: str = "us-east-1") -> Any:
    import botocore.session

    return botocore.session.get_session().create_client(
        "lambda", endpoint_url=moto.url, region_name=region, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY)


def _version(moto: MotoServer, arn: str) -> dict[str, Any]:
    """GetLayerVersion for an ARN (moto has no GetLayerVersionByArn), in the ARN's region."""
    region, name, version = arn.split(":")[3], arn.split(":")[6], int(arn.split(":")[7])
    version_info: dict[str, Any] = _lambda(moto, region).get_layer_version(LayerName=name, VersionNumber=version)
    return version_info


def _recorded(moto: MotoServer) -> list[dict[str, Any]]:
    with moto._open(moto.url + "/moto-api/recorder/download-recording") as response:
        return [json.loads(line) for line in response.read().decode().splitlines() if line.strip()]


def test_publish_public_in_two_regions(moto: MotoServer, tmp_path: Path) -> None:
    zip_path = _small_layer(tmp_path / "layer.zip", "arm64")
    proc = _publish(moto, str(zip_path), "--name", "paramsecrets-test", "--region", "us-east-1,eu-west-1",
                    "--public", "--description", "paramsecrets test layer")
    assert proc.returncode == 0, proc.stderr
    arns = proc.stdout.splitlines()
    assert len(arns) == 2 and arns[0].startswith("arn:aws:lambda:us-east-1:") and ":eu-west-1:" in arns[1]
    assert "  us-east-1: PublishLayerVersion paramsecrets-test (arm64) ..." in proc.stderr
    assert f"  eu-west-1: published {arns[1]} (public)" in proc.stderr
    for arn in arns:
        region, version = arn.split(":")[3], int(arn.rsplit(":", 1)[1])
        lam = _lambda(moto, region)
        got = _version(moto, arn)
        assert got["CompatibleArchitectures"] == ["arm64"] and got["Description"] == "paramsecrets test layer"
        assert "CompatibleRuntimes" not in got or not got["CompatibleRuntimes"]
        answer = lam.get_layer_version_policy(LayerName="paramsecrets-test", VersionNumber=version)
        policy = json.loads(answer["Policy"])
        (statement,) = policy["Statement"]
        assert statement["Principal"] == "*" and statement["Action"] == "lambda:GetLayerVersion"
        assert statement["Effect"] == "Allow" and statement["Resource"] == arn
    signed = [r["headers"].get("Authorization", "") for r in _recorded(moto)
              if r["headers"].get("User-Agent", "").startswith("paramsecrets/")]
    assert len(signed) == 4
    assert all(a.startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/") and "/lambda/aws4_request" in a
               for a in signed)


def test_private_version_has_no_policy(moto: MotoServer, tmp_path: Path) -> None:
    zip_path = _small_layer(tmp_path / "layer.zip", "x86_64")
    proc = _publish(moto, str(zip_path), "--name", "paramsecrets-private", "--region", "us-east-1")
    assert proc.returncode == 0, proc.stderr
    (arn,) = proc.stdout.splitlines()
    lam = _lambda(moto)
    assert _version(moto, arn)["CompatibleArchitectures"] == ["x86_64"]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version_policy(LayerName="paramsecrets-private", VersionNumber=int(arn.rsplit(":", 1)[1]))


def test_through_s3_and_a_failing_region_is_named(moto: MotoServer, tmp_path: Path) -> None:
    """--s3-bucket 'NAME-{region}': the bucket exists in us-east-1 only, so eu-west-1 fails (named,
    exit 1) and us-east-1 is still published from S3."""
    moto.client("s3").create_bucket(Bucket="paramsecrets-layers-us-east-1")
    zip_path = _small_layer(tmp_path / "layer.zip", "x86_64")
    proc = _publish(moto, str(zip_path), "--name", "paramsecrets-s3", "--region", "eu-west-1,us-east-1",
                    "--s3-bucket", "paramsecrets-layers-{region}")
    assert proc.returncode == 1
    (arn,) = proc.stdout.splitlines()
    assert arn.startswith("arn:aws:lambda:us-east-1:")
    assert "  eu-west-1: FAILED: S3 PutObject to s3://paramsecrets-layers-eu-west-1 failed: HTTP 404 NoSuchBucket" \
        in proc.stderr
    assert proc.stderr.rstrip().endswith("paramsecrets layer publish: failed in eu-west-1")
    content = _version(moto, arn)["Content"]
    assert content["CodeSize"] == zip_path.stat().st_size
    keys = moto.client("s3").list_objects_v2(Bucket="paramsecrets-layers-us-east-1")["Contents"]
    assert [k["Key"].split("/")[0] for k in keys] == ["paramsecrets-s3"]


def test_the_built_layer_publishes(build: Build, moto: MotoServer) -> None:
    """The real zip (its arch read from its layer.json), uploaded directly."""
    info, _ = build("arm64")
    proc = _publish(moto, str(info.path), "--name", "paramsecrets-real", "--region", "us-east-1")
    assert proc.returncode == 0, proc.stderr
    (arn,) = proc.stdout.splitlines()
    got = _version(moto, arn)
    assert got["CompatibleArchitectures"] == ["arm64"] and got["Content"]["CodeSize"] == info.zip_size


@pytest.mark.parametrize(("args", "message"), [
    (["--name", "bad name", "--region", "us-east-1"], "--name 'bad name': letters, digits"),
    (["--name", "x", "--region", "useast1"], "--region: not a region name: useast1"),
    (["--name", "x", "--region", "us-east-1", "--description", "d" * 300], "at most 256"),
])
def test_usage_errors(moto: MotoServer, tmp_path: Path, args: list[str], message: str) -> None:
    proc = _publish(moto, str(_small_layer(tmp_path / "l.zip", "x86_64")), *args)
    assert proc.returncode == 2 and message in proc.stderr and not proc.stdout


def test_not_a_zip(moto: MotoServer, tmp_path: Path) -> None:
    (tmp_path / "x.zip").write_text("no")
    proc = _publish(moto, str(tmp_path / "x.zip"), "--name", "x", "--region", "us-east-1")
    assert proc.returncode == 2 and "x.zip: not a zip file" in proc.stderr
