"""SigV4 verification against requests signed by botocore: what passes and what AWS would refuse."""

from __future__ import annotations

import asyncio
import datetime
from typing import cast

import pytest

from paramsecrets.api.sdk.sigv4 import Credentials, verify
from paramsecrets.api.sdk.wire import SdkError
from tests.sdk.signing import ACCESS_KEY, SECRET_KEY, parsed, signed_bytes, signed_leaving_out, unsign

OURS = Credentials(ACCESS_KEY, SECRET_KEY, None)
AT = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.UTC)


def check(raw: bytes, credentials: Credentials = OURS, service: str = "ssm",
          now: datetime.datetime = AT) -> str:
    return asyncio.run(verify(parsed(raw), service, credentials, now))


def refused(raw: bytes, code: str, credentials: Credentials = OURS, service: str = "ssm",
            now: datetime.datetime = AT) -> SdkError:
    with pytest.raises(SdkError) as caught:
        check(raw, credentials, service, now)
    assert caught.value.code == code, caught.value.message
    assert caught.value.status == 400
    return caught.value


def test_a_request_signed_with_our_credentials_passes_and_names_its_region() -> None:
    assert check(signed_bytes("GetParameter", {"Name": "/a"}, at=AT)) == "us-east-1"
    assert check(signed_bytes("GetParameter", {"Name": "/a"}, region="eu-west-1", at=AT)) == "eu-west-1"


def test_session_tokens_must_match() -> None:
    ours = Credentials(ACCESS_KEY, SECRET_KEY, "session-token-1")
    assert check(signed_bytes("GetParameter", {"Name": "/a"}, token="session-token-1", at=AT), ours) == "us-east-1"
    refused(signed_bytes("GetParameter", {"Name": "/a"}, token="session-token-2", at=AT),
            "UnrecognizedClientException", ours)
    refused(signed_bytes("GetParameter", {"Name": "/a"}, at=AT), "UnrecognizedClientException", ours)
    refused(signed_bytes("GetParameter", {"Name": "/a"}, token="session-token-1", at=AT), "UnrecognizedClientException")


def test_a_token_header_left_out_of_the_signature_still_verifies() -> None:
    ours = Credentials(ACCESS_KEY, SECRET_KEY, "session-token-1")
    raw = signed_bytes("GetParameter", {"Name": "/a"}, at=AT)  # signed without a token ...
    head, _, body = raw.partition(b"\r\n\r\n")  # ... which is added afterwards, unsigned
    assert check(head + b"\r\nX-Amz-Security-Token: session-token-1\r\n\r\n" + body, ours) == "us-east-1"


def test_other_credentials_are_refused_as_aws_refuses_them() -> None:
    refused(signed_bytes("GetParameter", {"Name": "/a"}, access_key="AKIAOTHEROTHEROTHER0", at=AT),
            "UnrecognizedClientException")
    error = refused(signed_bytes("GetParameter", {"Name": "/a"}, secret_key="wrong", at=AT),
                    "InvalidSignatureException")
    assert "signature we calculated does not match" in error.message


def test_dates_outside_the_five_minute_window() -> None:
    raw = signed_bytes("GetParameter", {"Name": "/a"}, at=AT)
    assert check(raw, now=AT + datetime.timedelta(minutes=4, seconds=59)) == "us-east-1"
    assert check(raw, now=AT - datetime.timedelta(minutes=4, seconds=59)) == "us-east-1"
    error = refused(raw, "InvalidSignatureException", now=AT + datetime.timedelta(minutes=5, seconds=1))
    assert error.message == ("Signature expired: 20260301T120000Z is now earlier than 20260301T120001Z "
                             "(20260301T120501Z - 5 min.)")
    error = refused(raw, "InvalidSignatureException", now=AT - datetime.timedelta(minutes=6))
    assert error.message.startswith("Signature not yet current: 20260301T120000Z is still later than")


def test_anything_changed_after_signing_is_refused() -> None:
    raw = signed_bytes("GetParameter", {"Name": "/a"}, at=AT)
    refused(raw.replace(b'"/a"', b'"/b"'), "InvalidSignatureException")  # the body
    refused(raw.replace(b"AmazonSSM.GetParameter", b"AmazonSSM.DeleteParameter"), "InvalidSignatureException")
    refused(raw.replace(b"Host: 127.0.0.1:2773", b"Host: 127.0.0.1:2774"), "InvalidSignatureException")


def test_unsigned_and_malformed_requests() -> None:
    raw = signed_bytes("GetParameter", {"Name": "/a"}, at=AT)
    refused(unsign(raw, b"Authorization"), "MissingAuthenticationTokenException")
    refused(unsign(raw, b"X-Amz-Date"), "IncompleteSignatureException")
    refused(raw.replace(b"AWS4-HMAC-SHA256 ", b"AWS4-HMAC-SHA1 "), "IncompleteSignatureException")
    refused(raw.replace(b"Signature=", b"Signatur="), "IncompleteSignatureException")
    refused(raw.replace(b"/ssm/aws4_request", b"/aws4_request"), "IncompleteSignatureException")


def test_the_scope_must_name_this_service() -> None:
    raw = signed_bytes("GetSecretValue", {"SecretId": "s"}, service="secretsmanager", at=AT)
    assert check(raw, service="secretsmanager") == "us-east-1"
    error = refused(raw, "InvalidSignatureException", service="ssm")
    assert error.message == "Credential should be scoped to correct service: 'ssm'."


def test_signatures_made_by_awscrt_verify_too() -> None:
    """botocore signs with awscrt when it is installed; both signers' requests must pass."""
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials
    from botocore.crt.auth import CrtSigV4Auth

    request = AWSRequest(method="POST", url="http://127.0.0.1:2773/", data=b'{"Name":"/a"}', headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM.GetParameter",
        "Host": "127.0.0.1:2773"})
    CrtSigV4Auth(BotoCredentials(ACCESS_KEY, SECRET_KEY, "tok"), "ssm", "us-east-1").add_auth(request)
    prepared = request.prepare()
    raw = b"POST / HTTP/1.1\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in prepared.headers.items())
    raw += b"\r\n" + cast(bytes, prepared.body)
    now = datetime.datetime.now(datetime.UTC)
    assert check(raw, Credentials(ACCESS_KEY, SECRET_KEY, "tok"), now=now) == "us-east-1"


@pytest.mark.parametrize("left_out", ["x-amz-target", "content-type"])
def test_the_operation_and_its_protocol_must_be_signed(left_out: str) -> None:
    """Issue 22 item 5: a signature that leaves out X-Amz-Target could be replayed with another one."""
    raw = signed_leaving_out("GetParameter", {"Name": "/a"}, (left_out,), at=AT)
    assert left_out.encode() not in raw.partition(b"SignedHeaders=")[2].partition(b",")[0]
    error = refused(raw, "InvalidSignatureException")
    assert error.message.rpartition("not signed: ")[2] == left_out


@pytest.mark.parametrize("left_out", ["host", "x-amz-date"])
def test_host_and_date_must_be_signed(left_out: str) -> None:
    raw = signed_bytes("GetParameter", {"Name": "/a"}, at=AT)
    listed = raw.partition(b"SignedHeaders=")[2].partition(b",")[0]
    shorter = b";".join(name for name in listed.split(b";") if name != left_out.encode())
    error = refused(raw.replace(b"SignedHeaders=" + listed, b"SignedHeaders=" + shorter), "InvalidSignatureException")
    assert error.message.rpartition("not signed: ")[2] == left_out


def test_a_request_without_content_type_needs_no_signed_content_type() -> None:
    raw = signed_bytes("GetParameter", {"Name": "/a"}, at=AT, drop=("content-type",))
    assert b"content-type" not in raw.lower()
    assert check(raw) == "us-east-1"
