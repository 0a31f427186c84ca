"""SigV4 verification of SDK requests against the credentials paramsecrets itself holds.

The cheap checks come first (an Authorization header of the right form, our access key id, our
session token, a date within AWS's 5-minute window, a credential scope for this service); then
the signature is recomputed over the received request with awscrt, never by hand, and compared in
constant time. The refusals are AWS's own codes and messages, so SDKs raise what they raise
against AWS. What this does and does not protect against: docs/sdk.md.
"""

from __future__ import annotations

import hmac
import io
from datetime import UTC, datetime
from typing import Any

from awscrt.auth import (
    AwsCredentialsProvider,
    AwsSignedBodyHeaderType,
    AwsSigningConfig,
    aws_sign_request,
)
from awscrt.exceptions import AwsCrtError
from awscrt.http import HttpHeaders, HttpRequest

from paramsecrets.aws.endpoints import valid_region
from paramsecrets.aws.transport import crt_result
from paramsecrets.http.parser import Request
from paramsecrets.sdk.wire import SdkError, header

ALGORITHM = "AWS4-HMAC-SHA256"
WINDOW_S = 300  # AWS refuses a request signed more than 5 minutes from its own clock
MAX_AUTHORIZATION = 4096
# Headers the signer writes itself: taken from its configuration, never from the received request.
SIGNER_WRITES = frozenset({b"authorization", b"x-amz-date", b"x-amz-security-token", b"x-amz-content-sha256"})
BAD_SIGNATURE = ("The request signature we calculated does not match the signature you provided. Check your AWS "
                 "Secret Access Key and signing method. Consult the service documentation for details.")
BAD_TOKEN = "The security token included in the request is invalid."


class Credentials:
    """The access key, secret key and session token paramsecrets signs its own calls with."""

    __slots__ = ("_provider", "access_key", "secret_key", "session_token")

    def __init__(self, access_key: str, secret_key: str, session_token: str | None) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.session_token = session_token or None
        self._provider: AwsCredentialsProvider | None = None

    def provider(self) -> AwsCredentialsProvider:
        """awscrt's static provider for these keys, made once (not per verified request)."""
        if self._provider is None:
            self._provider = AwsCredentialsProvider.new_static(self.access_key, self.secret_key, self.session_token)
        return self._provider


class Authorization:
    """The parts of `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`."""

    __slots__ = ("access_key", "day", "region", "service", "signature", "signed_headers")

    def __init__(self, value: bytes) -> None:
        if len(value) > MAX_AUTHORIZATION:
            raise SdkError("IncompleteSignatureException", "the Authorization header is too long")
        text = value.decode("ascii", "replace")
        algorithm, _, rest = text.partition(" ")
        if algorithm != ALGORITHM:
            raise SdkError("IncompleteSignatureException", f"Unsupported AWS 'algorithm': '{algorithm[:40]}'")
        parts: dict[str, str] = {}
        for item in rest.split(","):
            key, equals, found = item.strip().partition("=")
            if equals:
                parts[key] = found
        for required in ("Credential", "SignedHeaders", "Signature"):
            if not parts.get(required):
                raise SdkError("IncompleteSignatureException", f"Authorization header requires '{required}' "
                               "parameter. Authorization header requires 'Credential', 'SignedHeaders' and "
                               "'Signature' parameters.")
        scope = parts["Credential"].split("/")
        if len(scope) != 5 or scope[4] != "aws4_request":
            raise SdkError("IncompleteSignatureException", "Credential should have 5 parts separated by '/' and "
                           "end with 'aws4_request'")
        self.access_key, self.day, self.region, self.service, _ = scope
        self.signed_headers = parts["SignedHeaders"].split(";")
        self.signature = parts["Signature"]


def _signing_time(value: bytes | None) -> datetime:
    if value is None:
        raise SdkError("IncompleteSignatureException", "Authorization header requires existence of either a "
                       "'X-Amz-Date' or a 'Date' header.")
    try:
        if len(value) != 16:
            raise ValueError
        return datetime.strptime(value.decode("ascii"), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except (ValueError, UnicodeDecodeError):
        raise SdkError("IncompleteSignatureException", "the X-Amz-Date header is not of the form "
                       "YYYYMMDD'T'HHMMSS'Z'") from None


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def check_window(signed_at: datetime, now: datetime) -> None:
    """AWS's 5-minute window, with its messages."""
    skew = (signed_at - now).total_seconds()
    if skew < -WINDOW_S:
        earliest = datetime.fromtimestamp(now.timestamp() - WINDOW_S, UTC)
        raise SdkError("InvalidSignatureException", f"Signature expired: {_stamp(signed_at)} is now earlier than "
                       f"{_stamp(earliest)} ({_stamp(now)} - 5 min.)")
    if skew > WINDOW_S:
        latest = datetime.fromtimestamp(now.timestamp() + WINDOW_S, UTC)
        raise SdkError("InvalidSignatureException", f"Signature not yet current: {_stamp(signed_at)} is still "
                       f"later than {_stamp(latest)} ({_stamp(now)} + 5 min.)")


def check_claims(request: Request, service: str, credentials: Credentials, now: datetime) -> tuple[Authorization,
                                                                                                    datetime]:
    """Everything but the signature itself; returns the parsed header and the signing time."""
    raw = header(request, b"authorization")
    if raw is None:
        raise SdkError("MissingAuthenticationTokenException", "Missing Authentication Token")
    authorization = Authorization(raw)
    if not hmac.compare_digest(authorization.access_key.encode(), credentials.access_key.encode()):
        raise SdkError("UnrecognizedClientException", BAD_TOKEN)
    token = header(request, b"x-amz-security-token")
    expected = credentials.session_token
    if (token is None) != (expected is None) or (
            token is not None and not hmac.compare_digest(token, expected.encode())):  # type: ignore[union-attr]
        raise SdkError("UnrecognizedClientException", BAD_TOKEN)
    signed_at = _signing_time(header(request, b"x-amz-date"))
    check_window(signed_at, now)
    if authorization.day != signed_at.strftime("%Y%m%d"):
        raise SdkError("InvalidSignatureException", "Credential should be scoped to a valid date: the day of "
                       "the X-Amz-Date header")
    if not valid_region(authorization.region):
        raise SdkError("InvalidSignatureException", "Credential should be scoped to a valid region.")
    if authorization.service != service:
        raise SdkError("InvalidSignatureException", f"Credential should be scoped to correct service: '{service}'.")
    signed = set(authorization.signed_headers)
    if "host" not in signed or "x-amz-date" not in signed:
        raise SdkError("InvalidSignatureException", "'Host' and 'X-Amz-Date' must be signed headers")
    return authorization, signed_at


async def recompute(request: Request, authorization: Authorization, signed_at: datetime,
                    credentials: Credentials) -> str:
    """The signature awscrt computes for the received request with our credentials."""
    signed = {name.encode() for name in authorization.signed_headers}
    headers = HttpHeaders([(name.decode("latin-1"), value.strip(b" \t").decode("latin-1"))
                           for name, value in request.headers if name in signed and name not in SIGNER_WRITES])
    crt_request = HttpRequest(request.method.decode(), request.target.decode("latin-1"), headers,
                              io.BytesIO(request.body))
    body_header = (AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256 if b"x-amz-content-sha256" in signed
                   else AwsSignedBodyHeaderType.NONE)
    config = AwsSigningConfig(
        credentials_provider=credentials.provider(),
        region=authorization.region, service=authorization.service, date=signed_at,
        signed_body_header_type=body_header,
        omit_session_token=b"x-amz-security-token" not in signed,
    )
    try:
        await crt_result(aws_sign_request(crt_request, config))
    except AwsCrtError:
        raise SdkError("InvalidSignatureException", BAD_SIGNATURE) from None
    produced: Any = crt_request.headers.get("Authorization") or ""
    return str(produced).rpartition("Signature=")[2]


async def verify(request: Request, service: str, credentials: Credentials, now: datetime | None = None) -> str:
    """Refuse (SdkError) unless the request is signed with our credentials; returns its region."""
    authorization, signed_at = check_claims(request, service, credentials, now or datetime.now(UTC))
    expected = await recompute(request, authorization, signed_at, credentials)
    if not expected or not hmac.compare_digest(expected.encode(), authorization.signature.encode("ascii", "replace")):
        raise SdkError("InvalidSignatureException", BAD_SIGNATURE)
    return authorization.region
