"""Infrastructure-as-code examples: the CDK app synthesizes (real `cdk synth`, npm packages pinned
by examples/cdk/package.json, installed by this test under .cache/cdk), the Terraform files are
`terraform fmt` clean and valid, and the SAM template stays cfn-lint clean."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CDK = REPO / "examples" / "cdk"
CACHE = REPO / ".cache" / "cdk"
TERRAFORM = shutil.which("terraform") or "/usr/local/bin/terraform"
NPM = shutil.which("npm")
NODE = shutil.which("node")


def npm_packages() -> Path:
    """node_modules for examples/cdk/package.json, installed once per version of that file."""
    manifest = (CDK / "package.json").read_bytes()
    stamp = CACHE / "package.json.sha256"
    digest = hashlib.sha256(manifest).hexdigest()
    if not (stamp.exists() and stamp.read_text() == digest and (CACHE / "node_modules").is_dir()):
        CACHE.mkdir(parents=True, exist_ok=True)
        (CACHE / "package.json").write_bytes(manifest)
        done = subprocess.run([str(NPM), "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=CACHE,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        stamp.write_text(digest)
    return CACHE / "node_modules"


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if NPM is None or NODE is None:
        pytest.skip("node and npm are needed for the CDK example")
    modules = npm_packages()
    work = tmp_path_factory.mktemp("cdk")
    # The example as it sits in the repository: examples/cdk next to examples/sam/function and examples/node.
    shutil.copytree(CDK, work / "cdk", ignore=shutil.ignore_patterns("node_modules", "dist", "cdk.out"))
    shutil.copytree(REPO / "examples" / "sam" / "function", work / "sam" / "function")
    shutil.copytree(REPO / "examples" / "node", work / "node")
    (work / "cdk" / "node_modules").symlink_to(modules)
    layer_zip = work / "layer.zip"  # stands for `paramsecrets layer build`'s zip (tests/lambda test the real one)
    with zipfile.ZipFile(layer_zip, "w") as archive:
        archive.writestr("extensions/paramsecrets", "#!/bin/sh\n")
    env = {**os.environ, "CDK_DISABLE_VERSION_CHECK": "1", "CI": "true"}
    built = subprocess.run([str(NODE), str(modules / "typescript" / "bin" / "tsc"), "-p", "."], cwd=work / "cdk",
                           capture_output=True, text=True, timeout=300, env=env)
    assert built.returncode == 0, built.stdout + built.stderr
    out = work / "cdk.out"
    synth = subprocess.run([str(NODE), str(modules / "aws-cdk" / "bin" / "cdk"), "synth", "--no-notices",
                            "--no-version-reporting", "-o", str(out), "-c", f"layerZip={layer_zip}", "-q"],
                           cwd=work / "cdk", capture_output=True, text=True, timeout=300, env=env)
    assert synth.returncode == 0, synth.stdout + synth.stderr
    template: dict[str, Any] = json.loads((out / "ParamSecretsExample.template.json").read_text())
    return template


def resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def test_cdk_synth_attaches_the_layer_to_every_runtime(synthesized: dict[str, Any]) -> None:
    """The layer declares no runtimes (it brings its own Python): a Node.js 20 function takes it too,
    where a Python-only list made `cdk synth` fail with IncompatibleLayerRuntime."""
    [layer] = resources(synthesized, "AWS::Lambda::LayerVersion")
    assert "CompatibleRuntimes" not in layer["Properties"]
    [layer_id] = [key for key, r in synthesized["Resources"].items()
                  if r["Type"] == "AWS::Lambda::LayerVersion"]
    runtimes = {f["Properties"]["Runtime"]: f["Properties"]["Layers"]
                for f in resources(synthesized, "AWS::Lambda::Function")}
    assert runtimes.get("nodejs20.x") == [{"Ref": layer_id}]
    assert any(runtime.startswith("python3.") for runtime in runtimes)


def test_cdk_synth_attaches_the_layer_with_its_settings(synthesized: dict[str, Any]) -> None:
    [layer] = resources(synthesized, "AWS::Lambda::LayerVersion")
    assert layer["Properties"]["CompatibleArchitectures"] == ["x86_64"]
    [function] = [f for f in resources(synthesized, "AWS::Lambda::Function")
                  if f["Properties"]["Runtime"].startswith("python3.")]
    properties = function["Properties"]
    [layer_id] = [key for key, r in synthesized["Resources"].items()
                  if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert properties["Layers"] == [{"Ref": layer_id}]
    assert properties["Handler"] == "app.handler" and properties["Runtime"].startswith("python3.")
    variables = properties["Environment"]["Variables"]
    assert variables["PARAMETER_NAME"] == "/app/db/host" and variables["SECRET_ID"] == "app/db"
    assert variables["PARAMETERS_SECRETS_EXTENSION_PREFETCH_PARAMETERS"] == "/app/db/host"


def test_cdk_synth_grants_what_the_layer_calls(synthesized: dict[str, Any]) -> None:
    actions: set[str] = set()
    for policy in resources(synthesized, "AWS::IAM::Policy"):
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            found = statement["Action"]
            actions.update([found] if isinstance(found, str) else found)
    assert {"ssm:GetParameter", "secretsmanager:GetSecretValue"} <= actions


@pytest.mark.skipif(not Path(TERRAFORM).exists(), reason="terraform is not installed")
def test_terraform_fmt_is_clean() -> None:
    done = subprocess.run([TERRAFORM, "fmt", "-check", "-diff", "-recursive", str(REPO / "examples" / "terraform")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


SETTING_PREFIXES = ("PARAMETERS_SECRETS_EXTENSION_", "SSM_PARAMETER_STORE_", "SECRETS_MANAGER_")


def unknown_settings(names: list[str]) -> list[str]:
    from paramsecrets.config import OPTIONS

    known = {option.env for option in OPTIONS}
    return [name for name in names if name.startswith(SETTING_PREFIXES) and name not in known]


def test_terraform_uses_declared_variables_and_known_settings() -> None:
    import re

    folder = REPO / "examples" / "terraform"
    text = "\n".join(path.read_text() for path in sorted(folder.glob("*.tf")))
    declared = set(re.findall(r'^variable "(\w+)"', text, re.M))
    used = set(re.findall(r"\bvar\.(\w+)", text))
    assert used and used <= declared, used - declared
    environment = re.search(r"environment \{\s*variables = \{(.*?)\n\s*\}", text, re.S)
    assert environment is not None
    names = re.findall(r"^\s*([A-Z][A-Z0-9_]+)\s*=", environment.group(1), re.M)
    assert "PARAMETERS_SECRETS_EXTENSION_PREFETCH_PARAMETERS" in names
    assert not unknown_settings(names)
    assert "aws_lambda_layer_version.paramsecrets.arn" in re.search(r"layers\s*=\s*\[(.*?)\]", text).group(1)  # type: ignore[union-attr]


def test_cdk_sets_only_known_settings(synthesized: dict[str, Any]) -> None:
    for function in resources(synthesized, "AWS::Lambda::Function"):
        names = list(function["Properties"]["Environment"]["Variables"])
        assert len([name for name in names if name.startswith(SETTING_PREFIXES)]) >= 2
        assert not unknown_settings(names)


def test_terraform_does_not_restrict_the_layer_to_some_runtimes() -> None:
    text = "\n".join(path.read_text() for path in sorted((REPO / "examples" / "terraform").glob("*.tf")))
    layer = text[text.index('resource "aws_lambda_layer_version" "paramsecrets"'):]
    layer = layer[:layer.index("\n}\n")]
    assert "compatible_architectures" in layer
    assert not [line for line in layer.splitlines() if line.strip().startswith("compatible_runtimes")]
