"""Issue 22 item 5: the operation must be bound to the signature.

A request signed without X-Amz-Target in SignedHeaders used to be accepted; replayed within the
5-minute window with another target and the same body, a GetParameter became DeleteParameter and a
GetSecretValue became DeleteSecret. Now such a signature is refused before any upstream call.
"""

from __future__ import annotations

import json

from paramsecrets.testing.moto import MotoServer
from paramsecrets.testing.server import ServerProcess
from tests.integration.conftest import Seeded
from tests.sdk.signing import signed_leaving_out
from tests.sdk.test_auth import post


def test_a_read_signed_without_its_target_is_not_replayed_as_a_delete(moto: MotoServer, seeded: Seeded,
                                                                       sdk_server: ServerProcess) -> None:
    host = f"127.0.0.1:{sdk_server.port}"
    cases = [
        ("ssm", "GetParameter", "DeleteParameter", {"Name": "/app/plain"}, b"AmazonSSM"),
        ("secretsmanager", "GetSecretValue", "DeleteSecret", {"SecretId": "prod/db"}, b"secretsmanager"),
    ]
    moto.clear_calls()
    for service, read, delete, payload, prefix in cases:
        signed = signed_leaving_out(read, payload, ("x-amz-target",), service=service, host=host)
        replayed = signed.replace(prefix + b"." + read.encode(), prefix + b"." + delete.encode())
        assert replayed != signed
        for raw in (signed, replayed):
            status, _, body = post(sdk_server, raw)
            assert status == 400, body
            assert json.loads(body)["__type"] == "InvalidSignatureException"
            assert "x-amz-target" in json.loads(body)["message"]
    assert moto.count() == 0  # nothing reached AWS, let alone a delete
    assert moto.client("ssm").get_parameter(Name="/app/plain")["Parameter"]["Value"] == "plain-value"
    assert json.loads(moto.client("secretsmanager").get_secret_value(SecretId="prod/db")["SecretString"]) \
        == seeded.json_secret
