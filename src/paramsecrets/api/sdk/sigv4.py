"""SigV4 verification of SDK requests against the credentials paramsecrets itself holds.

The cheap checks come first (an Authorization header of the right form, our access key id, our
session token, a date within AWS's 5-minute window, a credential scope for this service); then
the signature is recomputed over the received request and compared in constant time: by hand for
the shape every SDK sends (fast_signature: the signing key derived once per day and scope, held to
awscrt's result by a property test), by awscrt for anything else. The refusals are AWS's own
codes and messages, so SDKs raise what they raise against AWS. What this does and does not protect against: docs/sdk.md.
"""

from __future__ import annotations

import hashlib
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

from paramsecrets.api.sdk.wire import SdkError, header
from paramsecrets.aws.endpoints import valid_region
from paramsecrets.aws.transport import crt_result
from paramsecrets.http.parser import Request

ALGORITHM = "AWS4-HMAC-SHA256"
WINDOW_S = 300  # AWS refuses a request signed more than 5 minutes from its own clock
MAX_AUTHORIZATION = 4096
# Headers the signer writes itself: taken from its configuration, never from the received request.
SIGNER_WRITES = frozenset({b"authorization", b"x-amz-date", b"x-amz-security-token", b"x-amz-content-sha256"})
BAD_SIGNATURE = ("The request signature we calculated does not match the signature you provided. Check your AWS "
                 "Secret Access Key and signing method. Consult the service documentation for details.")
BAD_TOKEN = "The security token included in the request is invalid."
# Headers every accepted request must have signed (require_signed_headers says why).
ALWAYS_SIGNED = ("host", "x-amz-date")
OPERATION_SIGNED = "x-amz-target"  # a POST's operation; a GET's is its path and query, always signed
MAX_SIGNING_KEYS = 16  # days x regions x services seen within one credentials' lifetime
# Header names the fast path leaves to awscrt: awscrt skips some of them when signing, and
# matching its choice by hand is not worth it for headers SDKs never sign.
LEFT_TO_AWSCRT = frozenset({"user-agent", "x-amzn-trace-id", "connection", "expect", "transfer-encoding", "upgrade",
                            "authorization", "te", "keep-alive", "proxy-authorization"})


class Credentials:
    """The access key, secret key and session token paramsecrets signs its own calls with."""

    __slots__ = ("_keys", "_provider", "access_key", "secret_key", "session_token")

    def __init__(self, access_key: str, secret_key: str, session_token: str | None) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.session_token = session_token or None
        self._provider: AwsCredentialsProvider | None = None
        self._keys: dict[tuple[str, str, str], bytes] = {}

    def signing_key(self, day: str, region: str, service: str) -> bytes:
        """SigV4's derived key for a day and scope: four HMACs, done once per day, region and
        service instead of once per request."""
        scope = (day, region, service)
        key = self._keys.get(scope)
        if key is None:
            key = ("AWS4" + self.secret_key).encode()
            for part in (day, region, service, "aws4_request"):
                key = hmac.digest(key, part.encode(), "sha256")
            if len(self._keys) >= MAX_SIGNING_KEYS:
                self._keys.clear()
            self._keys[scope] = key
        return key

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
        # YYYYMMDD'T'HHMMSS'Z' read by hand: strptime costs ~15 µs per request.
        text = value.decode("ascii")
        if len(text) != 16 or text[8] != "T" or text[15] != "Z" or not (text[:8] + text[9:15]).isdigit():
            raise ValueError
        return datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[9:11]), int(text[11:13]),
                        int(text[13:15]), tzinfo=UTC)
    except (ValueError, UnicodeDecodeError):
        raise SdkError("IncompleteSignatureException", "the X-Amz-Date header is not of the form "
                       "YYYYMMDD'T'HHMMSS'Z'") from None


def _stamp(moment: datetime) -> str:
    return (f"{moment.year:04d}{moment.month:02d}{moment.day:02d}T"
            f"{moment.hour:02d}{moment.minute:02d}{moment.second:02d}Z")


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
        raise SdkError("UnrecognizedClientException", BAD_TOKEN, detail=(
            "signed with another access key id than the one paramsecrets holds (it holds one ending in "
            f"'{credentials.access_key[-4:]}'): sign with the same credentials as paramsecrets (docs/sdk.md)"))
    token = header(request, b"x-amz-security-token")
    expected = credentials.session_token
    if (token is None) != (expected is None) or (
            token is not None and not hmac.compare_digest(token, expected.encode())):  # type: ignore[union-attr]
        held = "holds a session token and the request carries none" if token is None else (
            "holds no session token and the request carries one" if expected is None
            else "holds another session token than the request carries")
        raise SdkError("UnrecognizedClientException", BAD_TOKEN, detail=f"paramsecrets {held} "
                       "(X-Amz-Security-Token): sign with the same credentials as paramsecrets (docs/sdk.md)")
    signed_at = _signing_time(header(request, b"x-amz-date"))
    check_window(signed_at, now)
    if authorization.day != signed_at.strftime("%Y%m%d"):
        raise SdkError("InvalidSignatureException", "Credential should be scoped to a valid date: the day of "
                       "the X-Amz-Date header")
    if not valid_region(authorization.region):
        raise SdkError("InvalidSignatureException", "Credential should be scoped to a valid region.")
    if authorization.service != service:
        raise SdkError("InvalidSignatureException", f"Credential should be scoped to correct service: '{service}'.")
    require_signed_headers(request, authorization.signed_headers)
    return authorization, signed_at


def require_signed_headers(request: Request, signed_headers: list[str]) -> None:
    """Refuse a signature that leaves out a header naming what the request does.

    SigV4 signs only the headers listed in SignedHeaders. Without `x-amz-target` among them, a
    GetParameter signed by a function could be replayed within the 5-minute window as
    DeleteParameter with the same body and signature (the operation is not in the body of AWS JSON
    requests; a signed GET, SigV4 in place of the token, names its read in the path and query,
    which every signature covers); without `host` or `x-amz-date` the request is not tied to this
    server or moment, and
    a `content-type` that is sent but not signed could be swapped for another protocol's. Every SDK
    signs all four.
    """
    signed = set(signed_headers)
    missing = [name for name in ALWAYS_SIGNED if name not in signed]
    if request.method != b"GET" and OPERATION_SIGNED not in signed:
        missing.append(OPERATION_SIGNED)
    if header(request, b"content-type") is not None and "content-type" not in signed:
        missing.append("content-type")
    if missing:
        raise SdkError("InvalidSignatureException", "'Host', 'X-Amz-Date', 'X-Amz-Target' on a POST (and "
                       f"'Content-Type' when sent) must be signed headers; not signed: {', '.join(missing)}")


async def recompute(request: Request, authorization: Authorization, signed_at: datetime,
                    credentials: Credentials, double_encode: bool = True) -> str:
    """The signature awscrt computes for the received request with our credentials.

    `double_encode`: the canonical path encoded once more, as the AWS SDKs sign it; curl's
    `--aws-sigv4` signs an already-encoded path (`/secretsmanager/prod%2Fdb`) as it is.
    """
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
        use_double_uri_encode=double_encode,
    )
    try:
        await crt_result(aws_sign_request(crt_request, config))
    except AwsCrtError:
        raise SdkError("InvalidSignatureException", BAD_SIGNATURE) from None
    produced: Any = crt_request.headers.get("Authorization") or ""
    return str(produced).rpartition("Signature=")[2]


def fast_signature(request: Request, authorization: Authorization, signed_at: datetime,
                   credentials: Credentials) -> str | None:
    """The signature awscrt would compute, by hand, for the shape every SDK sends (POST / without a
    query, plainly valued headers each sent once); None for anything else (awscrt decides).

    Why: awscrt re-derives the signing key and builds its own copy of the request every time;
    here the key is cached per day and scope and the canonical request is one join. Held to
    awscrt's result by tests/sdk/test_sigv4_fast.py."""
    if request.target != b"/":
        return None
    names = authorization.signed_headers
    if len(set(names)) != len(names) or any(name in LEFT_TO_AWSCRT or name.startswith("sec-websocket")
                                            for name in names):
        return None
    wanted = {name.encode() for name in names}
    values: dict[bytes, bytes] = {}
    for field, received in request.headers:
        if field in wanted:
            if field in values or b"  " in received or b"\t" in received:
                return None
            values[field] = received.strip(b" \t")
    payload_hash = hashlib.sha256(request.body).hexdigest()
    stamp = _stamp(signed_at)
    lines = []
    for signed_name in sorted(names):
        raw = signed_name.encode()
        if raw == b"x-amz-date":
            value = stamp.encode()
        elif raw == b"x-amz-security-token":
            if credentials.session_token is None:
                return None
            value = credentials.session_token.encode()
        elif raw == b"x-amz-content-sha256":
            value = payload_hash.encode()
        elif raw in values:
            value = values[raw]
        else:
            return None
        lines.append(raw + b":" + value + b"\n")
    canonical = b"".join([request.method, b"\n/\n\n", *lines, b"\n", ";".join(sorted(names)).encode(), b"\n",
                          payload_hash.encode()])
    scope = f"{stamp[:8]}/{authorization.region}/{authorization.service}/aws4_request"
    to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{hashlib.sha256(canonical).hexdigest()}".encode()
    key = credentials.signing_key(stamp[:8], authorization.region, authorization.service)
    return hmac.digest(key, to_sign, "sha256").hex()


def verified_now(request: Request, service: str, credentials: Credentials) -> str | None:
    """The region of a request whose signature the fast path proves ours, without awaiting;
    None when awscrt must decide or the request is refused (verify() then answers it)."""
    try:
        authorization, signed_at = check_claims(request, service, credentials, datetime.now(UTC))
    except SdkError:
        return None
    expected = fast_signature(request, authorization, signed_at, credentials)
    if expected is None or not hmac.compare_digest(expected.encode(),
                                                   authorization.signature.encode("ascii", "replace")):
        return None
    return authorization.region


async def verify(request: Request, service: str, credentials: Credentials, now: datetime | None = None) -> str:
    """Refuse (SdkError) unless the request is signed with our credentials; returns its region."""
    authorization, signed_at = check_claims(request, service, credentials, now or datetime.now(UTC))
    given = authorization.signature.encode("ascii", "replace")
    expected = fast_signature(request, authorization, signed_at, credentials)
    if expected is None:
        expected = await recompute(request, authorization, signed_at, credentials)
    if expected and hmac.compare_digest(expected.encode(), given):
        return authorization.region
    path = request.target.partition(b"?")[0]
    if b"%" in path:  # an encoded path: also its canonical form encoded once (curl's --aws-sigv4)
        expected = await recompute(request, authorization, signed_at, credentials, double_encode=False)
        if expected and hmac.compare_digest(expected.encode(), given):
            return authorization.region
    raise SdkError("InvalidSignatureException", BAD_SIGNATURE, detail=(
        "the signature does not match: signed with the access key id paramsecrets holds but another secret "
        "access key, or the request changed after signing; sign with the same credentials as paramsecrets "
        "(docs/sdk.md)"))
