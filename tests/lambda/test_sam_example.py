"""examples/sam: the template passes cfn-lint (offline, SAM transform included), grants exactly the
reads the function makes, and its layer Makefile target builds a layer folder Lambda can run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cfnlint.decode

REPO = Path(__file__).resolve().parents[2]
SAM = REPO / "examples" / "sam"
BIN = Path(sys.executable).parent


def test_cfn_lint_passes() -> None:
    proc = subprocess.run(
        [str(BIN / "cfn-lint"), "--format", "parseable", str(SAM / "template.yaml")],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_template_wiring() -> None:
    template, problems = cfnlint.decode.decode(str(SAM / "template.yaml"))
    assert not problems
    resources = template["Resources"]
    layer = resources["ParamSecretsLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert "CompatibleRuntimes" not in layer["Properties"], "the layer works with every runtime"
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert "build-ParamSecretsLayer:" in (SAM / layer["Properties"]["ContentUri"] / "Makefile").read_text()

    function = resources["ReaderFunction"]["Properties"]
    assert template["Globals"]["Function"]["Runtime"] == "python3.12"
    assert function["Layers"] == [{"Ref": "ParamSecretsLayer"}]
    assert (SAM / function["CodeUri"] / "app.py").is_file()
    actions = {s["Action"] for p in function["Policies"] for s in p["Statement"]}
    assert actions == {"ssm:GetParameter", "ssm:GetParameters", "kms:Decrypt", "secretsmanager:GetSecretValue"}
    variables = function["Environment"]["Variables"]
    assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/paramsecrets/exec-wrapper"
    assert variables["PARAMSECRETS_ENV_GREETING"] == {"Fn::Sub": "ssm:${ParameterName}"}


def test_makefile_target_builds_the_layer(tmp_path: Path) -> None:
    """What `sam build` runs: make build-<LogicalId> with ARTIFACTS_DIR; SAM zips that folder."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        ["make", "-C", str(SAM / "layer"), "build-ParamSecretsLayer", f"ARTIFACTS_DIR={tmp_path}"],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    launcher = tmp_path / "extensions" / "paramsecrets"
    assert launcher.is_file() and os.access(launcher, os.X_OK)
    assert (tmp_path / "paramsecrets" / "run.py").is_file()
    assert (tmp_path / "paramsecrets" / "lib" / "_awscrt.abi3.so").is_file()
    assert os.access(tmp_path / "bin" / "paramsecrets", os.X_OK)
    assert os.access(tmp_path / "paramsecrets" / "runtime" / "lib" / "ld-linux-x86-64.so.2", os.X_OK)
    assert not list(tmp_path.glob("*.zip"))
