"""`paramsecrets exec` as a user runs it (a process), against the real server and moto: variables
and files filled, the process replaced (same pid), all-or-nothing, and no value anywhere in the output."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from paramsecrets.testing.moto import MotoServer
from paramsecrets.testing.net import free_port
from paramsecrets.testing.server import ServerProcess, server_command

SECURE = "s3cr3t-Secure-value-91"
PASSWORD = "hunter2-Pa55word-77"
API_KEY = "api-KEY-from-arn-5150"
SHARED = "shared-Path-value-33"
BLOB = bytes(range(256))
VALUES = (SECURE, PASSWORD, API_KEY, SHARED)

# The command exec runs: reports its pid, the variables named in argv and the mapping variables
# it can still see, then the files named after `--`.
CHILD = """
import json, os, sys
names, files = sys.argv[1].split(","), sys.argv[2:]
print(json.dumps({
    "pid": os.getpid(),
    "env": {n: os.environ.get(n) for n in names},
    "mapping": sorted(k for k in os.environ
                      if k.startswith(("PARAMSECRETS_ENV_", "_PARAMSECRETS")) or k in ("PARAMSECRETS_FILES",
                                                                                     "PARAMSECRETS_PATH")),
    "files": {f: [open(f, encoding="latin-1", newline="").read(), oct(os.stat(f).st_mode & 0o777)] for f in files},
}))
"""


@pytest.fixture
def exec_seeded(moto: MotoServer) -> dict[str, str]:
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/app/db/host", Value="db.internal", Type="String")
    ssm.put_parameter(Name="/app/db/password", Value=SECURE, Type="SecureString")
    ssm.put_parameter(Name="/app/json", Value=json.dumps({"user": "svc", "port": 5432}), Type="String")
    ssm.put_parameter(Name="/app/v", Value="one", Type="String")
    ssm.put_parameter(Name="/app/v", Value="two", Type="String", Overwrite=True)
    ssm.label_parameter_version(Name="/app/v", ParameterVersion=1, Labels=["Prod"])
    ssm.put_parameter(Name="/shared/prod/db-host", Value="path.internal", Type="String")
    ssm.put_parameter(Name="/shared/prod/api.token", Value=SHARED, Type="SecureString")
    ssm.put_parameter(Name="/shared/prod/nested/log-level", Value="debug", Type="String")
    sm = moto.client("secretsmanager")
    sm.create_secret(Name="prod/db", SecretString=json.dumps({"username": "admin", "password": PASSWORD}))
    arn = sm.create_secret(Name="prod/api", SecretString=API_KEY)["ARN"]
    sm.create_secret(Name="prod/blob", SecretBinary=BLOB)
    parameter_arn = ssm.get_parameter(Name="/app/db/password")["Parameter"]["ARN"]
    return {"api_arn": arn, "parameter_arn": parameter_arn}


def run_exec(server: ServerProcess | None, aws_env: dict[str, str], tmp_path: Path, args: list[str],
             names: list[str], files: Sequence[str] = (),
             **extra: str) -> tuple[subprocess.Popen[bytes], bytes, bytes]:
    env = {**aws_env, "PARAMSECRETS_CLIENT_RETRY_SECONDS": "0", **extra}
    if server is not None:
        env["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] = str(server.port)
    command = [*server_command("exec", *args, "--", sys.executable, "-I", "-c", CHILD, ",".join(names), *files)]
    proc = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=60)
    return proc, out, err


def assert_no_value(*texts: bytes | str) -> None:
    for text in texts:
        data = text.encode() if isinstance(text, str) else text
        for value in VALUES:
            assert value.encode() not in data, "a value reached the output"


def test_fills_variables_and_files_then_replaces_itself(server: ServerProcess, aws_env: dict[str, str],
                                                        tmp_path: Path, exec_seeded: dict[str, str]) -> None:
    os.umask(0o022)
    args = ["--env", "HOST=ssm:/app/db/host", "--env", "DB_PASSWORD=ssm:/app/db/password",
            "--env=USER=ssm:/app/json#user", "--env", "PORT=ssm:/app/json#port",
            "--env", "OLD=ssm:/app/v:1", "--env", "PROD=ssm:/app/v:Prod",
            "--env", f"API_KEY=secretsmanager:{exec_seeded['api_arn']}",
            "--env", f"BY_ARN=ssm:{exec_seeded['parameter_arn']}:1",
            "--file", f"{tmp_path}/db.json=secretsmanager:prod/db",
            "--file", f"{tmp_path}/blob.bin=secretsmanager:prod/blob"]
    names = ["HOST", "DB_PASSWORD", "USER", "PORT", "OLD", "PROD", "API_KEY", "BY_ARN", "SECRET_PASSWORD", "KEEP"]
    proc, out, err = run_exec(
        server, aws_env, tmp_path, args, names, [f"{tmp_path}/db.json", f"{tmp_path}/blob.bin",
                                                 f"{tmp_path}/pw"],
        PARAMSECRETS_ENV_SECRET_PASSWORD="secretsmanager:prod/db#password",
        PARAMSECRETS_FILES=f"{tmp_path}/pw=secretsmanager:prod/db#password", KEEP="kept")
    assert proc.returncode == 0, err
    assert err == b""
    report = json.loads(out)
    assert report["pid"] == proc.pid, "exec must replace the process, not start a child"
    assert report["env"] == {
        "HOST": "db.internal", "DB_PASSWORD": SECURE, "USER": "svc", "PORT": "5432", "OLD": "one", "PROD": "one",
        "API_KEY": API_KEY, "BY_ARN": SECURE, "SECRET_PASSWORD": PASSWORD, "KEEP": "kept",
    }
    assert report["mapping"] == [], "the mapping variables must not reach the command"
    files = report["files"]
    assert json.loads(files[f"{tmp_path}/db.json"][0]) == {"username": "admin", "password": PASSWORD}
    assert files[f"{tmp_path}/blob.bin"][0].encode("latin-1") == BLOB
    assert files[f"{tmp_path}/pw"] == [PASSWORD, "0o600"]
    for name in ("db.json", "blob.bin"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
        assert (tmp_path / name).stat().st_uid == os.getuid()
    assert not [p for p in tmp_path.iterdir() if ".paramsecrets-" in p.name], "no temporary file left behind"
    assert_no_value(err, server.output())


def test_a_path_loads_every_parameter_and_explicit_variables_win(server: ServerProcess, aws_env: dict[str, str],
                                                                 tmp_path: Path, exec_seeded: dict[str, str]) -> None:
    proc, out, err = run_exec(server, aws_env, tmp_path, ["--env", "DB_HOST=ssm:/app/db/host"],
                              ["DB_HOST", "API_TOKEN", "NESTED_LOG_LEVEL"], PARAMSECRETS_PATH="/shared/prod/")
    assert proc.returncode == 0, err
    assert json.loads(out)["env"] == {"DB_HOST": "db.internal", "API_TOKEN": SHARED, "NESTED_LOG_LEVEL": "debug"}
    proc, out, err = run_exec(server, aws_env, tmp_path, ["--path", "/shared/prod"], ["DB_HOST"])
    assert proc.returncode == 0, err
    assert json.loads(out)["env"] == {"DB_HOST": "path.internal"}


def test_reads_are_batched(server: ServerProcess, aws_env: dict[str, str], tmp_path: Path, moto: MotoServer,
                           exec_seeded: dict[str, str]) -> None:
    """Five parameters and three secrets: one GetParameters and one BatchGetSecretValue upstream."""
    moto.clear_calls()
    args = [*(f"--env=P{i}=ssm:{name}" for i, name in enumerate(
        ["/app/db/host", "/app/db/password", "/app/json", "/shared/prod/db-host", "/shared/prod/api.token"])),
        "--env=S0=secretsmanager:prod/db#password", "--env=S1=secretsmanager:prod/api",
        f"--file={tmp_path}/b=secretsmanager:prod/blob"]
    proc, out, err = run_exec(server, aws_env, tmp_path, args, ["P1", "S1"])
    assert proc.returncode == 0, err
    assert json.loads(out)["env"] == {"P1": SECURE, "S1": API_KEY}
    operations = moto.calls()
    assert operations.count("AmazonSSM.GetParameters") == 1, operations
    assert operations.count("secretsmanager.BatchGetSecretValue") == 1, operations
    assert not [op for op in operations if op in ("AmazonSSM.GetParameter", "secretsmanager.GetSecretValue")]


def test_a_missing_value_stops_it_before_the_command_runs(server: ServerProcess, aws_env: dict[str, str],
                                                         tmp_path: Path, exec_seeded: dict[str, str]) -> None:
    marker = tmp_path / "ran"
    (tmp_path / "old").write_text("previous")
    args = ["--env", "A=ssm:/app/db/password", "--env", "B=ssm:/app/missing",
            "--env", "C=secretsmanager:prod/nope", "--env", "D=secretsmanager:prod/db#nokey",
            "--env", "E=ssm:/app/db/host#x", "--file", f"{tmp_path}/old=secretsmanager:prod/db#password",
            "--", "sh", "-c", f"touch {marker}"]
    env = {**aws_env, "PARAMSECRETS_CLIENT_RETRY_SECONDS": "0",
           "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(server.port)}
    done = subprocess.run(server_command("exec", *args), env=env, cwd=tmp_path, capture_output=True, timeout=60)
    assert done.returncode == 3
    assert done.stdout == b""
    assert done.stderr.decode().splitlines() == [
        "paramsecrets exec: cannot read ssm:/app/missing: ParameterNotFound",
        "paramsecrets exec: cannot read secretsmanager:prod/nope: ResourceNotFoundException",
    ]
    assert not marker.exists(), "the command ran although a value was missing"
    assert (tmp_path / "old").read_text() == "previous"
    assert_no_value(done.stderr, server.output())

    # Every value there, one JSON field missing: still nothing runs, and the file is untouched.
    args = ["--env", "A=ssm:/app/db/password", "--env", "D=secretsmanager:prod/db#nokey",
            "--env", "E=ssm:/app/db/host#x", "--file", f"{tmp_path}/old=secretsmanager:prod/db#password",
            "--", "sh", "-c", f"touch {marker}"]
    done = subprocess.run(server_command("exec", *args), env=env, cwd=tmp_path, capture_output=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.decode().splitlines() == [
        "paramsecrets exec: cannot read secretsmanager:prod/db#nokey (for D): KeyNotFound "
        "(no field 'nokey' in the JSON value)",
        "paramsecrets exec: cannot read ssm:/app/db/host#x (for E): NotJson (the value is not JSON)",
    ]
    assert not marker.exists()
    assert (tmp_path / "old").read_text() == "previous"
    assert_no_value(done.stderr, server.output())


def test_a_file_in_a_missing_folder_writes_nothing(server: ServerProcess, aws_env: dict[str, str],
                                                   tmp_path: Path, exec_seeded: dict[str, str]) -> None:
    proc, out, err = run_exec(server, aws_env, tmp_path, [
        "--file", f"{tmp_path}/ok=ssm:/app/db/password", "--file", f"{tmp_path}/no/such/x=ssm:/app/db/host"], [])
    assert proc.returncode == 1 and out == b""
    assert err.decode().splitlines() == [
        f"paramsecrets exec: cannot read ssm:/app/db/host (for {tmp_path}/no/such/x): CannotWriteFile "
        f"(its folder does not exist: {tmp_path}/no/such/x)"]
    assert not (tmp_path / "ok").exists(), "all files or none"
    assert list(tmp_path.iterdir()) == [] or all(".paramsecrets-" not in p.name for p in tmp_path.iterdir())


def test_a_bad_token_names_the_code_for_each_ref(server: ServerProcess, aws_env: dict[str, str], tmp_path: Path,
                                                exec_seeded: dict[str, str]) -> None:
    proc, out, err = run_exec(server, aws_env, tmp_path, ["--env", "A=ssm:/app/db/host",
                                                          "--env", "B=secretsmanager:prod/db"], [], AWS_TOKEN="wrong")
    assert proc.returncode == 4 and out == b""
    lines = err.decode().splitlines()
    assert [line.split(": ", 2)[2].split(" ")[0] for line in lines] == ["Unauthorized", "Unauthorized"]
    assert "wrong" not in err.decode()


def test_no_server_listening(aws_env: dict[str, str], tmp_path: Path) -> None:
    proc, out, err = run_exec(None, aws_env, tmp_path, ["--env", "A=ssm:/a"], [],
                              PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=str(free_port()))
    assert proc.returncode == 5 and out == b""
    assert err.decode().startswith("paramsecrets exec: cannot read ssm:/a: NotListening (nothing is listening")


def test_usage_errors(aws_env: dict[str, str], tmp_path: Path) -> None:
    done = subprocess.run(server_command("exec", "--env", "X=/a", "--", "true"), env=aws_env,
                          capture_output=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        "paramsecrets exec: error: --env X: REF '/a' has no source: write ssm:NAME or secretsmanager:ID"]
    done = subprocess.run(server_command("exec", "--env", "X=ssm:/a"), env=aws_env, capture_output=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.decode().splitlines()[0] == "paramsecrets exec: error: no COMMAND to run (put it after --)"
    done = subprocess.run(server_command("exec", "--help"), env=aws_env, capture_output=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith(b"usage: paramsecrets exec")


def test_command_not_found(server: ServerProcess, aws_env: dict[str, str], tmp_path: Path) -> None:
    env = {**aws_env, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(server.port)}
    done = subprocess.run(server_command("exec", "--", "no-such-command-here"), env=env, capture_output=True,
                          timeout=60)
    assert done.returncode == 127
    assert done.stderr.decode().strip() == \
        "paramsecrets exec: cannot run 'no-such-command-here': No such file or directory"
