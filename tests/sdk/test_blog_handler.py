"""The 2018 blog handler, unchanged, in its own process with only the endpoint variable added:
N invocations, one upstream call."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import Seeded
from tests.sdk.conftest import function_env
from tests.support.moto import MotoServer
from tests.support.server import ServerProcess

INVOCATIONS = 25
# A warm Lambda sandbox: the module is imported once and the handler invoked again and again.
RUNNER = f"""
import json, blog_handler
results = [blog_handler.lambda_handler({{}}, None) for _ in range({INVOCATIONS})]
print(json.dumps(results))
"""


def test_blog_handler_makes_one_upstream_call(moto: MotoServer, seeded: Seeded, sdk_server: ServerProcess,
                                              tmp_path: Path) -> None:
    env = function_env(tmp_path, SecretId="prod/db")
    env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = f"http://localhost:{sdk_server.port}"  # the only addition
    done = subprocess.run([sys.executable, "-c", RUNNER], cwd=Path(__file__).parent, env=env,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    results = json.loads(done.stdout)
    assert results == [seeded.json_secret] * INVOCATIONS
    assert moto.calls() == ["secretsmanager.GetSecretValue"]
