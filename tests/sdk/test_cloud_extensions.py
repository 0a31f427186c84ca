"""Cloud Extensions' routes, the client key, SigV4 on the GET routes and extra ports, end to end:
the real server in front of a real moto, real SDKs (boto3, the AWS CLI) and Debian's curl signing.

A function written for Cloud Extensions (endpoint `.../parameterstore` or `.../secretsmanager`,
signed with the profile's key) reads through paramsecrets unchanged, with a key that has no AWS
power; a wrong key is refused before any upstream call (the moto recorder counts them).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from paramsecrets.testing.moto import ACCESS_KEY, REGION, SECRET_KEY, MotoServer
from paramsecrets.testing.net import free_port
from paramsecrets.testing.server import ServerProcess, start_server
from tests.integration.conftest import Seeded
from tests.sdk.conftest import NO_RETRIES, sdk_env

CLIENT_KEY = "PSCLIENTKEYTEST0001"
CLIENT_SECRET = "client-secret-0123456789abcdef"
WITH_KEY = {"PARAMETERS_SECRETS_EXTENSION_CLIENT_ACCESS_KEY_ID": CLIENT_KEY,
            "PARAMETERS_SECRETS_EXTENSION_CLIENT_SECRET_ACCESS_KEY": CLIENT_SECRET}
REASON = "cloudextensions-error-reason"
Start = Callable[..., ServerProcess]


def client(server: ServerProcess, service: str, path: str, key: str = CLIENT_KEY, secret: str = CLIENT_SECRET,
           port: int | None = None) -> Any:
    """A boto3 client as a Cloud Extensions function makes it: the endpoint with its path, the key."""
    import boto3
    import botocore.config

    # Any: the service is a run-time choice, and the stubs type a client per literal service name.
    session: Any = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=REGION)
    return session.client(service, endpoint_url=f"http://127.0.0.1:{port or server.port}{path}",
                          config=botocore.config.Config(retries=NO_RETRIES))


def same(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "ResponseMetadata"}


@pytest.fixture
def keyed(start_sdk: Start) -> ServerProcess:
    return start_sdk(**WITH_KEY)


def test_boto3_with_the_client_key_reads_as_from_aws(moto: MotoServer, seeded: Seeded, keyed: ServerProcess) -> None:
    ssm, direct_ssm = client(keyed, "ssm", "/parameterstore"), moto.client("ssm")
    for name, decrypt in (("/app/plain", False), ("/app/secure", True), ("/app/versioned:Dev", False)):
        assert same(ssm.get_parameter(Name=name, WithDecryption=decrypt)) == same(
            direct_ssm.get_parameter(Name=name, WithDecryption=decrypt))
    ours = ssm.get_parameters(Names=["/app/plain", "/app/list", "/nope"])
    theirs = direct_ssm.get_parameters(Names=["/app/plain", "/app/list", "/nope"])
    for answer in (ours, theirs):
        answer["Parameters"].sort(key=lambda parameter: parameter["Name"])
    assert same(ours) == same(theirs)
    by_path = ssm.get_parameters_by_path(Path="/app", Recursive=True)["Parameters"]
    assert sorted(p["Name"] for p in by_path) == sorted(
        p["Name"] for p in direct_ssm.get_parameters_by_path(Path="/app", Recursive=True)["Parameters"])
    secrets, direct_secrets = client(keyed, "secretsmanager", "/secretsmanager"), moto.client("secretsmanager")
    assert same(secrets.get_secret_value(SecretId="prod/db")) == same(
        direct_secrets.get_secret_value(SecretId="prod/db"))
    batch = secrets.batch_get_secret_value(SecretIdList=["prod/db", "rotating"])
    assert sorted(item["Name"] for item in batch["SecretValues"]) == ["prod/db", "rotating"]
    moto.clear_calls()
    for _ in range(3):  # cached: the entries are the GET routes' own
        assert ssm.get_parameter(Name="/app/plain")["Parameter"]["Value"] == "plain-value"
        assert secrets.get_secret_value(SecretId="prod/db")["Name"] == "prod/db"
    assert keyed.get("/secretsmanager/get?secretId=prod/db").cache == "hit"
    assert moto.count() == 0


def test_wrong_key_refused_with_no_upstream_call(moto: MotoServer, seeded: Seeded, keyed: ServerProcess) -> None:
    cases = [("ssm", "/parameterstore", CLIENT_KEY, "not-the-secret-at-all"),
             ("secretsmanager", "/secretsmanager", "PSUNKNOWNKEY0000001", CLIENT_SECRET)]
    for service, path, key, secret in cases:
        bad = client(keyed, service, path, key, secret)
        with pytest.raises(ClientError) as raised:
            if service == "ssm":
                bad.get_parameter(Name="/app/plain")
            else:
                bad.get_secret_value(SecretId="prod/db")
        error = raised.value.response
        assert error["Error"]["Code"] == "AccessDeniedException"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert error["ResponseMetadata"]["HTTPHeaders"][REASON] == "SIGNATURE_MISMATCH"
    unsigned = keyed.get("/parameterstore", method="POST", token=False, body=b'{"Name":"/app/plain"}',
                         headers={"X-Amz-Target": "AmazonSSM.GetParameter",
                                  "Content-Type": "application/x-amz-json-1.1"})
    assert unsigned.status == 400 and unsigned.headers[REASON] == "MISSING_AUTHENTICATION"
    assert unsigned.json()["__type"] == "AccessDeniedException" and "Message" in unsigned.json()
    assert moto.count() == 0


def test_client_key_may_only_read(moto: MotoServer, seeded: Seeded, keyed: ServerProcess) -> None:
    """The key has no AWS power: nothing it signs is forwarded as a write."""
    with pytest.raises(ClientError) as raised:
        client(keyed, "ssm", "/parameterstore").put_parameter(Name="/app/plain", Value="x", Overwrite=True)
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(ClientError):
        client(keyed, "ssm", "/").delete_parameter(Name="/app/plain")
    assert moto.count() == 0
    assert moto.client("ssm").get_parameter(Name="/app/plain")["Parameter"]["Value"] == "plain-value"


def test_other_service_on_a_cloud_extensions_path(moto: MotoServer, seeded: Seeded, keyed: ServerProcess) -> None:
    with pytest.raises(ClientError) as raised:
        client(keyed, "secretsmanager", "/parameterstore").get_secret_value(SecretId="prod/db")
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert moto.count() == 0


def test_aws_credentials_accepted_unless_turned_off(moto: MotoServer, seeded: Seeded, start_sdk: Start) -> None:
    both = start_sdk(**WITH_KEY)
    assert client(both, "ssm", "/parameterstore", ACCESS_KEY, SECRET_KEY).get_parameter(
        Name="/app/plain")["Parameter"]["Value"] == "plain-value"
    key_only = start_sdk(PARAMETERS_SECRETS_EXTENSION_ACCEPT_AWS_CREDENTIALS="false", **WITH_KEY)
    moto.clear_calls()
    with pytest.raises(ClientError) as raised:
        client(key_only, "ssm", "/parameterstore", ACCESS_KEY, SECRET_KEY).get_parameter(Name="/app/list")
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(ClientError) as raised:
        client(key_only, "ssm", "/", ACCESS_KEY, SECRET_KEY).get_parameter(Name="/app/list")
    assert raised.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert raised.value.response["ResponseMetadata"]["HTTPHeaders"][REASON] == "SIGNATURE_MISMATCH"
    assert moto.count() == 0
    assert client(key_only, "ssm", "/parameterstore").get_parameter(Name="/app/list")["Parameter"]["Value"] == "a,b,c"


@pytest.mark.parametrize("variable", ["PARAMETERS_SECRETS_EXTENSION_CLIENT_ACCESS_KEY_ID",
                                      "PARAMETERS_SECRETS_EXTENSION_CLIENT_SECRET_ACCESS_KEY"])
def test_client_key_equal_to_an_aws_credential_stops_the_start(moto: MotoServer, tmp_path: Path,
                                                                variable: str) -> None:
    port = free_port()
    env = {**sdk_env(moto, tmp_path, port), **WITH_KEY}
    env[variable] = ACCESS_KEY if variable.endswith("KEY_ID") else SECRET_KEY
    server = start_server(env, tmp_path, port=port, wait=False)
    assert server.proc.wait(timeout=30) == 2
    output = server.output()
    assert "must not be an AWS credential" in output and variable in output
    assert SECRET_KEY not in output


def test_client_key_from_files(moto: MotoServer, seeded: Seeded, start_sdk: Start, tmp_path: Path) -> None:
    key_file, secret_file = tmp_path / "key-id", tmp_path / "key-secret"
    key_file.write_text(CLIENT_KEY + "\n")
    secret_file.write_text(CLIENT_SECRET + "\n")
    for path in (key_file, secret_file):
        path.chmod(0o600)
    server = start_sdk(PARAMETERS_SECRETS_EXTENSION_CLIENT_ACCESS_KEY_ID=f"file://{key_file}",
                       PARAMETERS_SECRETS_EXTENSION_CLIENT_SECRET_ACCESS_KEY=f"file://{secret_file}")
    assert client(server, "ssm", "/parameterstore").get_parameter(Name="/app/plain")["Parameter"]["Value"] == \
        "plain-value"
    assert CLIENT_SECRET not in server.output()
    secret_file.chmod(0o666)
    port = free_port()
    refused = start_server({**sdk_env(moto, tmp_path, port),
                            "PARAMETERS_SECRETS_EXTENSION_CLIENT_ACCESS_KEY_ID": CLIENT_KEY,
                            "PARAMETERS_SECRETS_EXTENSION_CLIENT_SECRET_ACCESS_KEY": f"file://{secret_file}"},
                           tmp_path, port=port, wait=False)
    assert refused.proc.wait(timeout=30) == 2
    assert "writable by its group or by other users" in refused.output()


# SigV4 in place of the token on the GET routes, signed by Debian's curl ---------------------------

def curl(server: ServerProcess, target: str, service: str, key: str = CLIENT_KEY, secret: str = CLIENT_SECRET,
         headers: tuple[str, ...] = ()) -> tuple[int, dict[str, str], bytes]:
    command = ["curl", "-sS", "-D", "-", "--aws-sigv4", f"aws:amz:{REGION}:{service}", "--user", f"{key}:{secret}"]
    for line in headers:
        command += ["-H", line]
    done = subprocess.run([*command, f"http://127.0.0.1:{server.port}{target}"], capture_output=True, timeout=60,
                          check=True)
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    found = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), found, body


needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="Debian's curl signs with --aws-sigv4")


@needs_curl
@pytest.mark.parametrize(("target", "service"), [
    ("/secretsmanager/get?secretId=prod%2Fdb", "secretsmanager"),
    ("/secretsmanager/prod/db", "secretsmanager"),
    ("/secretsmanager/prod%2Fdb?versionStage=AWSCURRENT", "secretsmanager"),
    ("/v1/prod%2Fdb", "secretsmanager"),
    ("/systemsmanager/parameters/get?name=%2Fapp%2Fplain&withDecryption=true", "ssm"),
    # curl 7.88 (Debian 12) signs the query in the order written, not sorted as SigV4 asks: write it sorted.
    ("/systemsmanager/parameters/get-many?name=%2Fapp%2Flist&name=%2Fapp%2Fplain", "ssm"),
])
def test_curl_sigv4_in_place_of_the_token(moto: MotoServer, seeded: Seeded, keyed: ServerProcess,
                                          target: str, service: str) -> None:
    status, headers, body = curl(keyed, target, service)
    assert status == 200, body
    assert b"prod/db" in body or b"plain-value" in body
    status, headers, _ = curl(keyed, target, service, secret="tampered-" + CLIENT_SECRET)
    assert status == 401 and headers[REASON] == "SIGNATURE_MISMATCH"
    wrong_service = "ssm" if service == "secretsmanager" else "secretsmanager"
    assert curl(keyed, target, wrong_service)[0] == 401


@needs_curl
def test_bad_signature_refused_even_with_the_token(moto: MotoServer, seeded: Seeded, keyed: ServerProcess) -> None:
    token = f"X-Aws-Parameters-Secrets-Token: {keyed.token}"
    status, headers, _ = curl(keyed, "/secretsmanager/get?secretId=prod%2Fdb", "secretsmanager",
                              secret="tampered-" + CLIENT_SECRET, headers=(token,))
    assert status == 401 and headers[REASON] == "SIGNATURE_MISMATCH"
    assert moto.count() == 0
    assert curl(keyed, "/secretsmanager/get?secretId=prod%2Fdb", "secretsmanager", headers=(token,))[0] == 200


def test_refusals_name_their_reason(keyed: ServerProcess) -> None:
    missing = keyed.get("/secretsmanager/get?secretId=prod/db", token=False)
    assert missing.status == 401 and missing.headers[REASON] == "MISSING_AUTHENTICATION"
    wrong = keyed.get("/secretsmanager/prod/db", headers={"X-Aws-Parameters-Secrets-Token": "w" * 20}, token=False)
    assert wrong.status == 401 and wrong.headers[REASON] == "INVALID_TOKEN"


def test_path_route_shares_the_query_routes_entries(moto: MotoServer, seeded: Seeded, keyed: ServerProcess) -> None:
    first = keyed.get("/secretsmanager/prod/db")
    assert first.status == 200 and first.json()["Name"] == "prod/db"
    for target in ("/secretsmanager/prod%2Fdb", "/secretsmanager/get?secretId=prod%2Fdb", "/v1/prod/db"):
        assert keyed.get(target).cache == "hit", target
    assert moto.count("secretsmanager.GetSecretValue") == 1
    assert keyed.get("/secretsmanager/rotating?versionStage=AWSPREVIOUS").json()["SecretString"] == "first"
    assert keyed.get("/secretsmanager/", detailed=True).status == 404


# More than one port --------------------------------------------------------------------------------

def test_extra_port_answers_the_same_entries(moto: MotoServer, seeded: Seeded, start_sdk: Start) -> None:
    extra = free_port()
    server = start_sdk(PARAMETERS_SECRETS_EXTENSION_EXTRA_PORTS=str(extra), **WITH_KEY)
    assert server.get("/systemsmanager/parameters/get?name=/app/plain").cache == "miss"
    on_extra = ServerProcess(server.proc, extra, server.token, server.log_path)
    assert on_extra.get("/systemsmanager/parameters/get?name=/app/plain").cache == "hit"
    assert client(server, "ssm", "/parameterstore", port=extra).get_parameter(
        Name="/app/plain")["Parameter"]["Value"] == "plain-value"
    assert moto.count() == 1


def test_busy_extra_port_is_a_start_error_naming_it(moto: MotoServer, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        taken = busy.getsockname()[1]
        port = free_port()
        env = {**sdk_env(moto, tmp_path, port), "PARAMETERS_SECRETS_EXTENSION_EXTRA_PORTS": str(taken)}
        server = start_server(env, tmp_path, port=port, wait=False)
        assert server.proc.wait(timeout=30) == 2
    output = server.output()
    assert "PARAMETERS_SECRETS_EXTENSION_EXTRA_PORTS" in output and f"127.0.0.1:{taken}" in output


# The AWS CLI -------------------------------------------------------------------------------------------

def test_aws_cli_with_the_client_key(moto: MotoServer, seeded: Seeded, keyed: ServerProcess, tmp_path: Path) -> None:
    aws = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    if aws is None:
        pytest.skip("the AWS CLI (PyPI awscli, in the test extra) is not installed")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": CLIENT_KEY,
           "AWS_SECRET_ACCESS_KEY": CLIENT_SECRET, "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true"}
    base = f"http://127.0.0.1:{keyed.port}"

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([aws, *args, "--output", "json"], env=env, capture_output=True, timeout=120)

    done = run("ssm", "get-parameter", "--name", "/app/secure", "--with-decryption",
               "--endpoint-url", f"{base}/parameterstore")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Parameter"]["Value"] == "secure-value-42"
    done = run("secretsmanager", "get-secret-value", "--secret-id", "prod/db",
               "--endpoint-url", f"{base}/secretsmanager")
    assert done.returncode == 0, done.stderr
    assert json.loads(json.loads(done.stdout)["SecretString"]) == seeded.json_secret
    env["AWS_SECRET_ACCESS_KEY"] = "wrong-secret-0123456789"
    moto.clear_calls()
    done = run("ssm", "get-parameter", "--name", "/app/plain", "--endpoint-url", f"{base}/parameterstore")
    assert done.returncode != 0 and b"AccessDeniedException" in done.stderr
    assert moto.count() == 0


def signed_get(server: ServerProcess, target: str, service: str, key: str, secret: str,
               at: Any = None, token: str | None = None) -> Any:
    """A GET signed by botocore's SigV4 signer (optionally at a fixed time), sent without the token."""
    import datetime
    import http.client
    from unittest import mock

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    host = f"127.0.0.1:{server.port}"
    request = AWSRequest(method="GET", url=f"http://{host}{target}", headers={"Host": host})
    signer = SigV4Auth(Credentials(key, secret, token), service, REGION)
    with mock.patch("botocore.auth.get_current_datetime",
                    return_value=(at or datetime.datetime.now(datetime.UTC)).replace(tzinfo=None)):
        signer.add_auth(request)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", target, headers=dict(request.headers.items()))
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


def test_get_routes_signed_by_botocore(moto: MotoServer, seeded: Seeded, start_sdk: Start) -> None:
    """Our own AWS credentials sign GETs too (unless turned off); a signature out of the 5-minute
    window is refused."""
    import datetime

    server = start_sdk(**WITH_KEY)
    target = "/systemsmanager/parameters/get?name=%2Fapp%2Fplain"
    assert signed_get(server, target, "ssm", ACCESS_KEY, SECRET_KEY)[0] == 200
    assert signed_get(server, target, "ssm", CLIENT_KEY, CLIENT_SECRET)[0] == 200
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=10)
    status, headers, _ = signed_get(server, target, "ssm", CLIENT_KEY, CLIENT_SECRET, at=old)
    assert status == 401 and headers[REASON] == "SIGNATURE_MISMATCH"
    key_only = start_sdk(PARAMETERS_SECRETS_EXTENSION_ACCEPT_AWS_CREDENTIALS="false", **WITH_KEY)
    assert signed_get(key_only, target, "ssm", ACCESS_KEY, SECRET_KEY)[0] == 401
    assert signed_get(key_only, target, "ssm", CLIENT_KEY, CLIENT_SECRET)[0] == 200


def test_config_check_validates_the_client_key_and_hides_its_secret(moto: MotoServer, tmp_path: Path) -> None:
    from paramsecrets.testing.server import run_command

    env = {**sdk_env(moto, tmp_path, free_port()), **WITH_KEY}
    done = run_command(["config", "check"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert CLIENT_SECRET.encode() not in done.stdout and b"<set>" in done.stdout
    done = run_command(["config", "check"], {**env, "PARAMETERS_SECRETS_EXTENSION_CLIENT_ACCESS_KEY_ID": ACCESS_KEY},
                       tmp_path)
    assert done.returncode == 2 and b"must not be an AWS credential" in done.stderr
