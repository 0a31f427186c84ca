"""The 2018 blog handler, unchanged, in its own process with only the endpoint variable added:
N invocations, one upstream call."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from paramsecrets.testing.moto import MotoServer
from paramsecrets.testing.server import ServerProcess
from tests.integration.conftest import Seeded
from tests.sdk.conftest import function_env

INVOCATIONS = 25
# A warm Lambda sandbox: the module is imported once and the handler invoked again and again.
RUNNER = f"""
import json, blog_handler
results = [blog_handler.lambda_handler({{}}, None) for _ in range({INVOCATIONS})]
print(json.dumps(results))
"""


def value_calls(moto: MotoServer) -> list[str]:
    """The calls that fetched values: after a secret is fetched, its rotation schedule is asked once in
    the background (DescribeSecret, README: Cache), which may or may not have landed yet."""
    return [call for call in moto.calls() if call != "secretsmanager.DescribeSecret"]


def run_handler(port: int, home: Path, **extra: str) -> list[object]:
    env = function_env(home, SecretId="prod/db", **extra)
    env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = f"http://localhost:{port}"  # the only addition
    done = subprocess.run([sys.executable, "-c", RUNNER], cwd=Path(__file__).parent, env=env,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    report: list[object] = json.loads(done.stdout)
    return report


def test_blog_handler_makes_one_upstream_call(moto: MotoServer, seeded: Seeded, sdk_server: ServerProcess,
                                              tmp_path: Path) -> None:
    assert run_handler(sdk_server.port, tmp_path) == [seeded.json_secret] * INVOCATIONS
    assert value_calls(moto) == ["secretsmanager.GetSecretValue"]


def test_lambda_style_environment_without_an_explicit_upstream(
        moto: MotoServer, seeded: Seeded, start_sdk: Callable[..., ServerProcess], tmp_path: Path) -> None:
    """As in Lambda, function and server share one environment: AWS_ENDPOINT_URL_SECRETS_MANAGER
    names the server, which skips it for its own calls and takes the next variable in line."""
    server = start_sdk(drop=("PARAMETERS_SECRETS_EXTENSION_UPSTREAM_URL_SSM",
                             "PARAMETERS_SECRETS_EXTENSION_UPSTREAM_URL_SECRETS_MANAGER"),
                       AWS_ENDPOINT_URL=moto.url)
    assert "points at this server" in server.output()
    assert run_handler(server.port, tmp_path, AWS_ENDPOINT_URL=moto.url) == [seeded.json_secret] * INVOCATIONS
    assert value_calls(moto) == ["secretsmanager.GetSecretValue"]
