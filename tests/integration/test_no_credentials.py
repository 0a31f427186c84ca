"""No AWS credentials anywhere is said at start, not discovered read by read (issue 22, item 16).

The real server and `config check`, with an environment that holds no credentials (no keys, an
empty HOME, the EC2 instance metadata service off), then the same with credentials. No AWS is
needed: the check asks awscrt's credentials chain, the one every call signs with.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from pathlib import Path
from typing import Any

from paramsecrets.aws.credential_check import sources_tried, warn_if_missing
from paramsecrets.testing.moto import ACCESS_KEY, REGION, SECRET_KEY, wait_until
from paramsecrets.testing.net import free_port
from paramsecrets.testing.server import TOKEN, run_command, start_server

TRIED = "the chain tried: the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: not set); the profile"


def _env(home: Path, credentials: bool) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "AWS_REGION": REGION,
        "AWS_TOKEN": TOKEN, "AWS_EC2_METADATA_DISABLED": "true", "PYTHONUNBUFFERED": "1",
        # Nothing listens here: no read may reach anything.
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "PARAMETERS_SECRETS_EXTENSION_WARM_CONNECTIONS": "false",
    }
    if credentials:
        env.update({"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY})
    return env


def test_serve_warns_at_start_naming_what_was_tried(tmp_path: Path) -> None:
    server = start_server(_env(tmp_path, credentials=False), tmp_path)
    try:
        assert wait_until(lambda: "no AWS credentials found" in server.output(), timeout=30), server.output()
        line = next(line for line in server.output().splitlines() if "no AWS credentials found" in line)
        assert " WARN " in line and TRIED in line
        assert f'the profile "default" in {tmp_path}/.aws/credentials and {tmp_path}/.aws/config (neither file ' \
               "exists)" in line
        assert "the EC2 instance metadata service (off: AWS_EC2_METADATA_DISABLED=true)" in line
        assert "fail with CredentialsUnavailable" in line
        assert server.get("/ping").status == 200  # the server still runs
        answer = server.get("/systemsmanager/parameters/get?name=/p", detailed=True)
        assert answer.status == 403 and answer.json()["__type"] == "CredentialsUnavailable"
        assert "paramsecrets config check" in answer.json()["message"]
    finally:
        server.stop()


def test_serve_with_credentials_does_not_warn(tmp_path: Path) -> None:
    server = start_server(_env(tmp_path, credentials=True), tmp_path, args=("--log-level", "debug"))
    try:
        assert wait_until(lambda: "AWS credentials found by the default chain" in server.output(), timeout=30)
        assert "no AWS credentials found" not in server.output()
    finally:
        server.stop()


def test_config_check_reports_missing_credentials(tmp_path: Path) -> None:
    result = run_command(["config", "check"], _env(tmp_path, credentials=False), tmp_path)
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, err  # the configuration is valid: the server would start
    line = next(line for line in out.splitlines() if line.startswith("AWS credentials "))
    assert line.split(None, 2)[2].startswith("NONE FOUND (")
    assert err.startswith("paramsecrets: warning: no AWS credentials found (") and TRIED in err


def test_config_check_with_credentials(tmp_path: Path) -> None:
    result = run_command(["config", "check"], _env(tmp_path, credentials=True), tmp_path)
    out = result.stdout.decode()
    assert result.returncode == 0
    line = next(line for line in out.splitlines() if line.startswith("AWS credentials "))
    assert line.endswith("found by the default chain")
    assert "warning" not in result.stderr.decode()
    assert SECRET_KEY not in out and ACCESS_KEY not in out


# ---------------------------------------------------------------- the pieces, exactly


def test_the_sources_name_what_is_set_never_a_value(tmp_path: Path) -> None:
    (tmp_path / "creds").write_text("[default]\n")
    environ = {"HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": "AKIAVALUE", "AWS_PROFILE": "dev",
               "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "creds"),
               "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
               "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/r"}
    assert sources_tried(environ) == [
        "the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: only AWS_ACCESS_KEY_ID set)",
        f'the profile "dev" in {tmp_path}/creds and {tmp_path}/.aws/config ({tmp_path}/creds exist)',
        "web identity (AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE: only AWS_ROLE_ARN set)",
        "container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI set)",
        "the EC2 instance metadata service",
    ]
    assert "AKIAVALUE" not in " ".join(sources_tried(environ))


class Hanging:
    """A credentials provider that never answers (an unreachable instance metadata service)."""

    def get_credentials(self) -> concurrent.futures.Future[Any]:
        return concurrent.futures.Future()


def test_a_chain_that_never_answers_is_bounded_and_reported() -> None:
    warnings: list[str] = []
    found = asyncio.run(warn_if_missing(Hanging(), {"HOME": "/nonexistent"}, warnings.append, timeout_s=0.01))
    assert found is False
    assert len(warnings) == 1 and warnings[0].startswith("no AWS credentials found (the chain gave no answer within ")
