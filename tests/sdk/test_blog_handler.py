"""The 2018 blog handler, unchanged, in its own process with only the endpoint variable added:
N invocations, one upstream call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import Seeded
from tests.support.moto import ACCESS_KEY, REGION, SECRET_KEY, MotoServer
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
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,  # Lambda sets both
        "AWS_EC2_METADATA_DISABLED": "true", "SecretId": "prod/db",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://localhost:{sdk_server.port}",  # the only addition
    }
    done = subprocess.run([sys.executable, "-c", RUNNER], cwd=Path(__file__).parent, env=env,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    results = json.loads(done.stdout)
    assert results == [seeded.json_secret] * INVOCATIONS
    assert moto.calls() == ["secretsmanager.GetSecretValue"]
