"""The JavaScript SDK v3 (npm @aws-sdk/client-ssm and @aws-sdk/client-secrets-manager) through
paramsecrets with only the endpoint variables set: the same results as against moto directly,
the same error names, and repeated reads cost one upstream call.

The packages are installed by this test into .cache/sdk-js (ignored by git), once per machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from paramsecrets.testing.moto import MotoServer
from paramsecrets.testing.server import ServerProcess
from tests.integration.conftest import Seeded
from tests.sdk.conftest import function_env

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "sdk-js"
PACKAGES = ("@aws-sdk/client-ssm@3", "@aws-sdk/client-secrets-manager@3")
SCRIPT = Path(__file__).with_name("js") / "reads.cjs"


@pytest.fixture(scope="session")
def node_modules() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed (Debian: nodejs, npm)"
    modules = CACHE / "node_modules"
    if not all((modules / package.rpartition("@")[0]).is_dir() for package in PACKAGES):
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(CACHE), *PACKAGES],
                       check=True, timeout=600)
    return modules


def run_js(node_modules: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(["node", str(SCRIPT), *args], env={**env, "NODE_PATH": str(node_modules)},
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_javascript_sdk_v3(moto: MotoServer, seeded: Seeded, sdk_server: ServerProcess, tmp_path: Path,
                           node_modules: Path) -> None:
    path_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    direct = run_js(node_modules, {**function_env(tmp_path, moto.url), **path_env})
    moto.clear_calls()
    ours = run_js(node_modules, {**function_env(tmp_path, f"http://127.0.0.1:{sdk_server.port}"), **path_env})
    assert ours == direct
    assert ours["missingParameter"] == {"name": "ParameterNotFound", "status": 400}
    assert ours["missingSecret"]["name"] == "ResourceNotFoundException"  # status: whatever upstream said
    # /app/plain, /app/secure, /app/versioned:Dev; /nope is remembered as not found from the GetParameters
    # before it (PARAMETERS_SECRETS_EXTENSION_ERROR_TTL), and answered with the same error.
    assert moto.count("AmazonSSM.GetParameter") == 3
    assert moto.count("secretsmanager.GetSecretValue") == 3  # prod/db, blob, nope


def test_javascript_sdk_v3_write_then_read(moto: MotoServer, seeded: Seeded, sdk_server: ServerProcess,
                                           tmp_path: Path, node_modules: Path) -> None:
    env = {**function_env(tmp_path, f"http://127.0.0.1:{sdk_server.port}"), "PATH": os.environ.get("PATH", "")}
    assert run_js(node_modules, env, "write")["afterWrite"] == "from-js"
    assert moto.client("ssm").get_parameter(Name="/app/plain")["Parameter"]["Value"] == "from-js"


def test_javascript_sdk_v3_on_cloud_extensions_paths_with_the_client_key(
        moto: MotoServer, seeded: Seeded, start_sdk: Any, tmp_path: Path, node_modules: Path) -> None:
    """Code written for Cloud Extensions: the endpoints with their paths, the client key as credentials."""
    from tests.sdk.test_cloud_extensions import CLIENT_KEY, CLIENT_SECRET, WITH_KEY

    server = start_sdk(**WITH_KEY)
    path_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    direct = run_js(node_modules, {**function_env(tmp_path, moto.url), **path_env})
    moto.clear_calls()
    base = f"http://127.0.0.1:{server.port}"
    env = {**function_env(tmp_path, AWS_ACCESS_KEY_ID=CLIENT_KEY, AWS_SECRET_ACCESS_KEY=CLIENT_SECRET,
                          AWS_ENDPOINT_URL_SSM=f"{base}/parameterstore",
                          AWS_ENDPOINT_URL_SECRETS_MANAGER=f"{base}/secretsmanager"), **path_env}
    assert run_js(node_modules, env) == direct
    # /nope is remembered as not found from the GetParameters before it (ERROR_TTL), as above
    assert moto.count("AmazonSSM.GetParameter") == 3 and moto.count("secretsmanager.GetSecretValue") == 3
    moto.clear_calls()
    done = subprocess.run(["node", str(SCRIPT)], env={**env, "AWS_SECRET_ACCESS_KEY": "wrong-secret-0123456789",
                                                      "NODE_PATH": str(node_modules)},
                          capture_output=True, timeout=120)
    assert done.returncode != 0 and b"AccessDeniedException" in done.stderr
    assert moto.count() == 0
