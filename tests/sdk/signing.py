"""Requests signed by botocore's own SigV4 signer, as raw HTTP bytes and as parsed Requests."""

from __future__ import annotations

import datetime
import json
from typing import Any
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from paramsecrets.http.parser import Request, parse

REGION = "us-east-1"
ACCESS_KEY = "AKIATESTTESTTESTTEST"
SECRET_KEY = "test-secret-key-not-real"
TARGETS = {"ssm": "AmazonSSM", "secretsmanager": "secretsmanager"}


def signed_bytes(operation: str, payload: dict[str, Any] | bytes, service: str = "ssm",
                 access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY, token: str | None = None,
                 region: str = REGION, at: datetime.datetime | None = None, host: str = "127.0.0.1:2773",
                 extra: dict[str, str] | None = None, drop: tuple[str, ...] = ()) -> bytes:
    """One POST / as an SDK sends it, signed by botocore (optionally at a fixed time); `drop`: lower-case
    names of headers left out of the request (and so of the signature)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"{TARGETS[service]}.{operation}",
               "Host": host, **(extra or {})}
    headers = {name: value for name, value in headers.items() if name.lower() not in drop}
    request = AWSRequest(method="POST", url=f"http://{host}/", data=body, headers=headers)
    signer = SigV4Auth(Credentials(access_key, secret_key, token), service, region)
    if at is None:
        signer.add_auth(request)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=at.replace(tzinfo=None)):
            signer.add_auth(request)
    prepared = request.prepare()
    lines = [b"POST / HTTP/1.1"]
    lines += [f"{name}: {value}".encode() for name, value in prepared.headers.items()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def parsed(raw: bytes) -> Request:
    result = parse(raw)
    assert result is not None, "incomplete request"
    return result[0]


def unsign(raw: bytes, header: bytes) -> bytes:
    """The same request without one header."""
    head, _, body = raw.partition(b"\r\n\r\n")
    kept = [line for line in head.split(b"\r\n") if not line.lower().startswith(header.lower() + b":")]
    return b"\r\n".join(kept) + b"\r\n\r\n" + body


def signed_leaving_out(operation: str, payload: dict[str, Any], left_out: tuple[str, ...], **options: Any) -> bytes:
    """A request signed without the `left_out` headers (lower-case names), which are then added
    unsigned, as a careless or hostile signer sends them: SignedHeaders does not name them."""
    full = signed_bytes(operation, payload, **options)
    added = [line for line in full.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]
             if line.partition(b":")[0].lower().decode() in left_out]
    head, _, body = signed_bytes(operation, payload, **options, drop=left_out).partition(b"\r\n\r\n")
    return b"\r\n".join([head, *added]) + b"\r\n\r\n" + body
