"""Powertools for AWS Lambda and the AWS CLI work through paramsecrets unchanged, each in its own
process with only the endpoint variables set, and their repeated reads cost one upstream call."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from paramsecrets.testing.moto import MotoServer
from paramsecrets.testing.server import ServerProcess
from tests.integration.conftest import Seeded
from tests.sdk.conftest import function_env

POWERTOOLS = """
import json
from aws_lambda_powertools.utilities import parameters
print(json.dumps({
    "plain": [parameters.get_parameter("/app/plain", force_fetch=True) for _ in range(5)],
    "secure": parameters.get_parameter("/app/secure", decrypt=True, force_fetch=True),
    "path": parameters.get_parameters("/app", force_fetch=True),
    "secret": [parameters.get_secret("prod/db", transform="json", force_fetch=True) for _ in range(5)],
}))
"""


def run(args: list[str], env: dict[str, str]) -> bytes:
    done = subprocess.run(args, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def test_powertools(moto: MotoServer, seeded: Seeded, sdk_server: ServerProcess, tmp_path: Path) -> None:
    env = function_env(tmp_path, f"http://127.0.0.1:{sdk_server.port}")
    found = json.loads(run([sys.executable, "-c", POWERTOOLS], env))
    assert found["plain"] == ["plain-value"] * 5
    assert found["secure"] == "secure-value-42"
    assert found["path"]["plain"] == "plain-value"  # Powertools names path results relative to the path
    assert found["path"]["versioned"] == "three"
    assert found["secret"] == [seeded.json_secret] * 5
    assert moto.count("AmazonSSM.GetParameter") == 2  # /app/plain once, /app/secure once
    assert moto.count("secretsmanager.GetSecretValue") == 1


def test_aws_cli(moto: MotoServer, seeded: Seeded, sdk_server: ServerProcess, tmp_path: Path) -> None:
    aws = str(Path(sys.executable).with_name("aws"))
    command = [aws, "ssm", "get-parameter", "--name", "/app/versioned:Dev", "--output", "json"]
    direct = run(command, function_env(tmp_path, moto.url))
    moto.clear_calls()
    ours = [run(command, function_env(tmp_path, f"http://127.0.0.1:{sdk_server.port}")) for _ in range(3)]
    assert ours == [direct] * 3
    assert json.loads(direct)["Parameter"]["Value"] == "two"
    assert moto.calls() == ["AmazonSSM.GetParameter"]
    text = run([aws, "secretsmanager", "get-secret-value", "--secret-id", "prod/db", "--query", "SecretString",
                "--output", "text"], function_env(tmp_path, f"http://127.0.0.1:{sdk_server.port}"))
    assert json.loads(text) == seeded.json_secret
