"""Requests not signed with the server's own credentials are refused as AWS refuses them, before
any upstream call; the protocol can be turned off; X-Forwarded-For is refused as on the GET routes."""

from __future__ import annotations

import datetime
import http.client
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from paramsecrets.testing.moto import MotoServer
from paramsecrets.testing.server import ServerProcess
from tests.integration.conftest import Seeded
from tests.sdk.signing import parsed, signed_bytes, unsign

Client = Callable[..., Any]


def post(server: ServerProcess, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send a raw request (from tests.sdk.signing) over a real connection."""
    request = parsed(raw)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
        for name, value in request.headers:
            conn.putheader(name.decode(), value.decode())
        conn.endheaders(request.body)
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


def error_code(client_call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as caught:
        client_call()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(caught.value.response["Error"]["Code"])


def test_other_credentials_are_refused(moto: MotoServer, seeded: Seeded, via: Client) -> None:
    wrong_secret = via("ssm", secret_key="not-the-secret-key")
    assert error_code(lambda: wrong_secret.get_parameter(Name="/app/plain")) == "InvalidSignatureException"
    wrong_key = via("secretsmanager", access_key="AKIAOTHEROTHEROTHER0")
    assert error_code(lambda: wrong_key.get_secret_value(SecretId="prod/db")) == "UnrecognizedClientException"
    assert error_code(lambda: wrong_secret.put_parameter(Name="/x", Value="x", Type="String")) == \
        "InvalidSignatureException"
    assert moto.count() == 0


def test_session_tokens(moto: MotoServer, seeded: Seeded, start_sdk: Callable[..., ServerProcess],
                        via: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    server = start_sdk(AWS_SESSION_TOKEN="session-token-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", f"http://127.0.0.1:{server.port}")
    wrong = via("ssm", session_token="session-token-2")
    assert error_code(lambda: wrong.get_parameter(Name="/app/plain")) == "UnrecognizedClientException"
    missing = via("ssm")
    assert error_code(lambda: missing.get_parameter(Name="/app/plain")) == "UnrecognizedClientException"
    assert moto.count() == 0
    right = via("ssm", session_token="session-token-1")
    assert right.get_parameter(Name="/app/plain")["Parameter"]["Value"] == "plain-value"


def test_expired_and_unsigned_requests(moto: MotoServer, seeded: Seeded, sdk_server: ServerProcess) -> None:
    host = f"127.0.0.1:{sdk_server.port}"
    fresh = signed_bytes("GetParameter", {"Name": "/app/plain"}, host=host)
    status, headers, body = post(sdk_server, fresh)
    assert status == 200, body
    assert json.loads(body)["Parameter"]["Value"] == "plain-value"

    moto.clear_calls()
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=10)
    status, headers, body = post(sdk_server, signed_bytes("GetParameter", {"Name": "/app/plain"}, host=host, at=old))
    assert status == 400
    assert headers["content-type"] == "application/x-amz-json-1.1"
    assert headers["x-amzn-requestid"]
    assert json.loads(body)["__type"] == "InvalidSignatureException"
    assert json.loads(body)["message"].startswith("Signature expired: ")

    status, _, body = post(sdk_server, unsign(fresh, b"Authorization"))
    assert (status, json.loads(body)["__type"]) == (400, "MissingAuthenticationTokenException")
    status, _, body = post(sdk_server, fresh.replace(b"/app/plain", b"/app/secur"))
    assert (status, json.loads(body)["__type"]) == (400, "InvalidSignatureException")
    status, _, body = post(sdk_server, fresh.replace(b"AmazonSSM.GetParameter", b"AmazonSSM.Nope!"))
    assert (status, json.loads(body)["__type"]) == (400, "UnknownOperationException")
    head, _, rest = fresh.partition(b"\r\n\r\n")
    status, _, body = post(sdk_server, head + b"\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n" + rest)
    assert (status, json.loads(body)["__type"]) == (400, "AccessDeniedException")
    assert moto.count() == 0


def test_the_protocol_can_be_turned_off(moto: MotoServer, seeded: Seeded,
                                        start_sdk: Callable[..., ServerProcess]) -> None:
    server = start_sdk(PARAMETERS_SECRETS_EXTENSION_SDK_PROTOCOL="false")
    raw = signed_bytes("GetParameter", {"Name": "/app/plain"}, host=f"127.0.0.1:{server.port}")
    status, headers, _ = post(server, raw)
    assert status == 400  # the default profile: the AWS extension's answer to any method but GET
    assert headers["x-paramsecrets-error"] == "MethodNotAllowed"
    assert moto.count() == 0


def test_refusals_are_logged_at_info_with_their_reason(moto: MotoServer, seeded: Seeded, sdk_server: ServerProcess,
                                                       via: Client) -> None:
    """A newcomer signing with the wrong credentials finds out why in the server's log (default
    level info), without any secret in it."""
    wrong_key = via("ssm", access_key="AKIAOTHEROTHEROTHER0", secret_key="not-the-secret-key-xyz")
    assert error_code(lambda: wrong_key.get_parameter(Name="/app/plain")) == "UnrecognizedClientException"
    wrong_secret = via("ssm", secret_key="not-the-secret-key-xyz")
    assert error_code(lambda: wrong_secret.get_parameter(Name="/app/plain")) == "InvalidSignatureException"
    output = sdk_server.output()
    assert " INFO SDK request refused: UnrecognizedClientException, signed with another access key id" in output
    assert " INFO SDK request refused: InvalidSignatureException, the signature does not match: signed with the " \
           "access key id paramsecrets holds but another secret access key" in output
    from paramsecrets.testing.moto import SECRET_KEY

    assert "not-the-secret-key-xyz" not in output and SECRET_KEY not in output
