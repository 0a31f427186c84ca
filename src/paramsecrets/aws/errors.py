"""Classify upstream failures once, so every caller agrees on status codes and on what is transient.

The HTTP status we answer with, and whether a failure may be hidden behind a stale value, both
follow from the class. Messages come from AWS (or from us) and never carry a value or a token.
"""

from __future__ import annotations

import json
import re
from enum import Enum


class Kind(Enum):
    """What sort of failure, from the caller's point of view."""

    NOT_FOUND = 404
    DENIED = 403
    INVALID = 400
    THROTTLED = 429
    UNAVAILABLE = 502
    TIMEOUT = 504

    @property
    def transient(self) -> bool:
        """Worth a retry, and worth hiding behind a stale value."""
        return self in (Kind.THROTTLED, Kind.UNAVAILABLE, Kind.TIMEOUT)


NOT_FOUND_CODES = frozenset({
    "ParameterNotFound", "ParameterVersionNotFound", "ResourceNotFoundException",
})
DENIED_CODES = frozenset({
    "AccessDeniedException", "AccessDenied", "UnrecognizedClientException", "InvalidClientTokenId",
    "ExpiredTokenException", "ExpiredToken", "SignatureDoesNotMatch", "IncompleteSignature",
    "MissingAuthenticationToken", "InvalidSignatureException", "AuthFailure", "NotAuthorized",
    "KMSAccessDeniedException", "KMS.AccessDeniedException", "DecryptionFailure",
    "KMSDisabledException", "KMSInvalidStateException", "KMSNotFoundException", "InvalidKeyId",
})
THROTTLING_CODES = frozenset({
    "ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "RequestThrottled", "RequestThrottledException", "SlowDown",
    "ProvisionedThroughputExceededException", "TransactionInProgressException",
})
UNAVAILABLE_CODES = frozenset({
    "InternalServerError", "InternalServiceError", "InternalFailure", "InternalError",
    "ServiceUnavailable", "ServiceUnavailableException", "RequestTimeout", "RequestTimeoutException",
    "PriorRequestNotComplete",
})


class UpstreamError(Exception):
    """A failed upstream call, classified. `code` is AWS's error code or one of ours."""

    def __init__(self, kind: Kind, code: str, message: str, per_item: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.kind = kind
        self.code = code
        self.message = message
        self.per_item = per_item  # one item of a batch failed, not the call
        self.upstream_status: int | None = None  # AWS's own HTTP status, when AWS answered
        self.cached = False  # answered from remembered errors (paramsecrets.cache.error_cache), not a call

    @property
    def status(self) -> int:
        return self.kind.value

    @property
    def transient(self) -> bool:
        return self.kind.transient


def classify(http_status: int, code: str) -> Kind:
    """Map an AWS error code (and the HTTP status it came with) to a Kind."""
    if code in NOT_FOUND_CODES:
        return Kind.NOT_FOUND
    if code in DENIED_CODES or code.startswith("KMS"):
        return Kind.DENIED
    if code in THROTTLING_CODES:
        return Kind.THROTTLED
    if code in UNAVAILABLE_CODES or http_status >= 500:
        return Kind.UNAVAILABLE
    if http_status == 429:
        return Kind.THROTTLED
    if http_status == 403 and not code:
        return Kind.DENIED
    return Kind.INVALID


_XML_CODE = re.compile(rb"<Code>([^<]{1,200})</Code>")
_XML_MESSAGE = re.compile(rb"<Message>([^<]{0,2000})</Message>")


def _clean_code(raw: str) -> str:
    """`com.amazonaws.ssm#ParameterNotFound` or `ThrottlingException:http://...` -> bare code."""
    return raw.rpartition("#")[2].partition(":")[0].strip()


def from_response(http_status: int, error_type_header: str | None, body: bytes) -> UpstreamError:
    """Build the error for a non-2xx AWS answer: JSON (`__type`), header, or XML (auth failures)."""
    code = _clean_code(error_type_header) if error_type_header else ""
    message = ""
    try:
        document = json.loads(body) if body[:1] == b"{" else None
    except ValueError:
        document = None
    if isinstance(document, dict):
        code = code or _clean_code(str(document.get("__type") or document.get("code") or ""))
        message = str(document.get("message") or document.get("Message") or "")
    elif body.lstrip()[:1] == b"<":
        found = _XML_CODE.search(body)
        code = code or (found.group(1).decode("utf-8", "replace") if found else "")
        found = _XML_MESSAGE.search(body)
        message = found.group(1).decode("utf-8", "replace") if found else ""
    if not code:
        code = f"HTTP{http_status}"
    kind = classify(http_status, code)
    error = UpstreamError(kind, code, message or f"upstream answered HTTP {http_status}")
    error.upstream_status = http_status
    return error


def network_error(detail: str) -> UpstreamError:
    return UpstreamError(Kind.UNAVAILABLE, "BadGateway", f"could not reach AWS: {detail}")


def timeout_error(service: str, seconds: float) -> UpstreamError:
    return UpstreamError(Kind.TIMEOUT, "GatewayTimeout", f"{service} did not answer within {seconds:g}s")
