"""`paramsecrets get-parameter` / `get-secret` as a user runs them (a process), against the real
server and moto: output bytes, TTY newline, and every exit code."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from paramsecrets.client import AWS_GENERIC_ERROR
from paramsecrets.testing.fault_proxy import FaultProxy
from paramsecrets.testing.moto import MotoServer
from paramsecrets.testing.net import free_port
from paramsecrets.testing.server import ServerProcess, run_command, server_command

Start = Callable[..., ServerProcess]
BLOB = bytes(range(256)) + b"\n"


def env_for(server: ServerProcess, aws_env: dict[str, str], **extra: str) -> dict[str, str]:
    return {**aws_env, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(server.port),
            "PARAMSECRETS_CLIENT_RETRY_SECONDS": "0", **extra}


@pytest.fixture
def cli_seeded(moto: MotoServer) -> MotoServer:
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/app/db/host", Value="db.internal", Type="String")
    ssm.put_parameter(Name="/app/db/password", Value="pa55", Type="SecureString")
    ssm.put_parameter(Name="/app/v", Value="one", Type="String")
    ssm.put_parameter(Name="/app/v", Value="two", Type="String", Overwrite=True)
    ssm.label_parameter_version(Name="/app/v", ParameterVersion=1, Labels=["Prod"])
    sm = moto.client("secretsmanager")
    sm.create_secret(Name="prod/db", SecretString=json.dumps(
        {"username": "admin", "port": 5432, "ssl": {"mode": "verify"}, "name": "zoë"}))
    sm.create_secret(Name="prod/blob", SecretBinary=BLOB)
    sm.create_secret(Name="rot", SecretString="v1")
    sm.put_secret_value(SecretId="rot", SecretString="v2")
    return moto


def cli(server: ServerProcess, aws_env: dict[str, str], tmp_path: Path, *args: str,
        **extra: str) -> subprocess.CompletedProcess[bytes]:
    return run_command(list(args), env_for(server, aws_env, **extra), tmp_path)


@pytest.mark.parametrize(("args", "stdout"), [
    (["get-parameter", "/app/db/host"], b"db.internal"),
    (["get-parameter", "/app/db/password", "--decrypt"], b"pa55"),
    (["get-parameter", "/app/v", "--version", "1"], b"one"),
    (["get-parameter", "/app/v", "--label", "Prod"], b"one"),
    (["get-secret", "prod/blob"], BLOB),
    (["get-secret", "rot", "--version-stage", "AWSPREVIOUS"], b"v1"),
    (["get-secret", "prod/db", "--json-field", "username"], b"admin"),
    (["get-secret", "prod/db", "--json-field", "port"], b"5432"),
    (["get-secret", "prod/db", "--json-field", "ssl"], b'{"mode": "verify"}'),
    (["get-secret", "prod/db", "--json-field", "name"], "zoë".encode()),
])
def test_prints_the_raw_value(server: ServerProcess, aws_env: dict[str, str], tmp_path: Path,
                              cli_seeded: MotoServer, args: list[str], stdout: bytes) -> None:
    done = cli(server, aws_env, tmp_path, *args)
    assert (done.returncode, done.stdout, done.stderr) == (0, stdout, b"")


def test_secret_version_id(server: ServerProcess, aws_env: dict[str, str], tmp_path: Path,
                           cli_seeded: MotoServer) -> None:
    versions = cli_seeded.client("secretsmanager").list_secret_version_ids(SecretId="rot")["Versions"]
    previous = next(v["VersionId"] for v in versions if "AWSPREVIOUS" in v["VersionStages"])
    done = cli(server, aws_env, tmp_path, "get-secret", "rot", "--version-id", previous)
    assert (done.returncode, done.stdout) == (0, b"v1")


def test_newline_only_on_a_terminal(server: ServerProcess, aws_env: dict[str, str], tmp_path: Path,
                                    cli_seeded: MotoServer) -> None:
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(server_command("get-parameter", "/app/db/host"), stdout=slave,
                              stderr=subprocess.PIPE, env=env_for(server, aws_env), cwd=tmp_path,
                              timeout=30)
        os.close(slave)
        slave = -1
        output = b""
        while select.select([master], [], [], 0.5)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 0
    assert output == b"db.internal\r\n"  # the terminal shows \n as \r\n


@pytest.mark.parametrize(("args", "code", "message"), [
    (["get-parameter", "/app/missing"], 3, "ParameterNotFound"),
    (["get-parameter", "/app/v", "--version", "7"], 3, "ParameterVersionNotFound"),
    (["get-secret", "nope"], 3, "ResourceNotFoundException"),
    (["get-secret", "prod/db", "--json-field", "password"], 1, "no such field"),
    (["get-secret", "rot", "--json-field", "x"], 1, "not JSON"),
    (["get-parameter"], 2, "required"),
    (["get-parameter", "/a", "--version", "1", "--label", "x"], 2, "not allowed with"),
    (["get-secret", "x", "--version-id", "a", "--version-stage", "b"], 2, "not allowed with"),
])
def test_exit_codes(server: ServerProcess, aws_env: dict[str, str], tmp_path: Path,
                    cli_seeded: MotoServer, args: list[str], code: int, message: str) -> None:
    done = cli(server, aws_env, tmp_path, *args)
    assert (done.returncode, done.stdout) == (code, b"")
    assert message in done.stderr.decode()
    assert b"admin" not in done.stderr and server.token.encode() not in done.stderr


def test_bad_token_exits_4(server: ServerProcess, aws_env: dict[str, str], tmp_path: Path,
                           cli_seeded: MotoServer) -> None:
    done = cli(server, aws_env, tmp_path, "get-parameter", "/app/db/host", AWS_TOKEN="wrong")
    assert done.returncode == 4
    assert b"Bad session token or header key" in done.stderr and b"wrong" not in done.stderr


def test_access_denied_exits_4(start: Start, moto: MotoServer, aws_env: dict[str, str],
                               tmp_path: Path) -> None:
    with FaultProxy(moto.url) as proxy:
        server = start(AWS_ENDPOINT_URL=proxy.url)
        proxy.fail(400, code="AccessDeniedException", message="no", operation="secretsmanager.GetSecretValue")
        done = cli(server, aws_env, tmp_path, "get-secret", "prod/db")
    assert done.returncode == 4 and b"AccessDeniedException" in done.stderr


def test_unreachable_exits_5(aws_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    env = {**aws_env, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port),
           "PARAMSECRETS_CLIENT_RETRY_SECONDS": "0.5"}
    done = run_command(["get-secret", "prod/db"], env, tmp_path)
    assert done.returncode == 5
    assert f"nothing is listening on 127.0.0.1:{port}".encode() in done.stderr


@pytest.mark.parametrize("mode", ["aws", None])
def test_a_server_in_the_aws_profile_still_gives_typed_exit_codes(start: Start, aws_env: dict[str, str],
                                                                   tmp_path: Path, cli_seeded: MotoServer,
                                                                   mode: str | None) -> None:
    """The CLI asks for the detailed profile per request, whatever the server's default."""
    server = start(**({"PARAMETERS_SECRETS_EXTENSION_ERROR_MODE": mode} if mode else {}))
    done = cli(server, aws_env, tmp_path, "get-parameter", "/app/missing")
    assert done.returncode == 3 and b"(404 ParameterNotFound)" in done.stderr
    assert AWS_GENERIC_ERROR.encode() not in done.stderr


def test_invalid_port_variable_exits_2(aws_env: dict[str, str], tmp_path: Path) -> None:
    env = {**aws_env, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "http"}
    done = run_command(["get-parameter", "/x"], env, tmp_path)
    assert done.returncode == 2 and b"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT" in done.stderr


def test_module_entry_point(server: ServerProcess, aws_env: dict[str, str], tmp_path: Path,
                            cli_seeded: MotoServer) -> None:
    done = subprocess.run([sys.executable, "-m", "paramsecrets.client.cli", "get-parameter", "/app/db/host"],
                          env=env_for(server, aws_env), cwd=tmp_path, capture_output=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, b"db.internal")


def test_client_commands_load_nothing_heavy(aws_env: dict[str, str], tmp_path: Path) -> None:
    """Through the real `paramsecrets` dispatcher: only the standard library and the client."""
    probe = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "from paramsecrets.cli import main\n"
        "code = main(['get-parameter', '/x'])\n"
        "outside = {m.split('.')[0] for m in set(sys.modules) - before} - set(sys.stdlib_module_names)\n"
        "ours = sorted(m for m in sys.modules if m.startswith('paramsecrets'))\n"
        "print(json.dumps([code, sorted(outside), ours]))\n"
    )
    env = {**aws_env, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(free_port()),
           "PARAMSECRETS_CLIENT_RETRY_SECONDS": "0"}
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True,
                          timeout=30, text=True)
    code, outside, ours = json.loads(done.stdout.strip().splitlines()[-1])
    assert code == 5
    assert outside == ["paramsecrets"]
    assert ours == ["paramsecrets", "paramsecrets.cli", "paramsecrets.client", "paramsecrets.client.cli",
                    "paramsecrets.client.exit_codes"]


def test_help(aws_env: dict[str, str], tmp_path: Path) -> None:
    for command in ("get-parameter", "get-secret"):
        done = run_command([command, "--help"], aws_env, tmp_path)
        assert done.returncode == 0 and b"--json-field" in done.stdout
