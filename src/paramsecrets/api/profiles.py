"""How every error is answered: the one table from AWS failures to answers, and the three
profiles that render an AnswerError (paramsecrets.errors): the AWS extension's (the default), the
detailed one (opt-in) and the AWS SDKs' JSON (the SDK protocol, api/sdk/).

A function written for the AWS layer must see what the AWS layer would have answered: `400` and
one opaque text body for every failure but a bad token, `Content-Type: text/plain` on success,
and query strings read the way Go's `net/url` reads them. Callers that want real statuses and
`{"__type","message"}` bodies ask for them per request (the `X-Paramsecrets-Profile: detailed`
header) or per process (`PARAMETERS_SECRETS_EXTENSION_ERROR_MODE=detailed`). In both profiles
every error answer names its code in the `X-Paramsecrets-Error` header.

The SDK protocol answers as AWS does: `{"__type": code, "message": ...}` with AWS's own status
(`sdk_error`). Where an error is raised never decides how it looks: this module does, once per
profile, and no other module writes an error answer (http/'s ParseError aside: http/ imports
nothing of ours).
"""

from __future__ import annotations

import json

from paramsecrets.api.sdk.wire import AMZ_JSON, SdkError, request_id
from paramsecrets.aws.errors import Kind, UpstreamError
from paramsecrets.errors import AnswerError
from paramsecrets.http import responses

HEADER = "X-Paramsecrets-Profile"
AWS_ERROR_TEXT = b"an unexpected error occurred while executing request"
UNAUTHORIZED_TEXT = b"Bad session token or header key"


class Profile:
    """How answers look: `detailed` says which family; `success_type` is the JSON answers' type."""

    __slots__ = ("detailed", "name", "success_type", "type_line")

    def __init__(self, name: str, detailed: bool, success_type: bytes) -> None:
        self.name = name
        self.detailed = detailed
        self.success_type = success_type
        self.type_line = b"Content-Type: %s\r\n" % success_type

    def __repr__(self) -> str:
        return f"Profile({self.name})"


AWS = Profile("aws", False, responses.TEXT)  # Go's net/http labels the JSON text/plain
DETAILED = Profile("detailed", True, responses.JSON)
BY_NAME = {b"aws": AWS, b"detailed": DETAILED}  # header values, compared lower-cased
NAMES = ("aws", "detailed")


def error(profile: Profile, status: int, code: str, message: str, keep_alive: bool, extra: bytes = b"",
          send_body: bool = True, always: bytes = b"", cache_state: bytes | None = None) -> bytes:
    """One error answer in `profile`'s form.

    Detailed: the real status and the JSON body (`extra` holds e.g. `Allow: GET` for a 405). AWS:
    `401` with its text for a bad token, otherwise `400` with the AWS extension's one sentence.
    `always`: header lines both profiles send (the `cloudextensions-error-reason` of a refusal).
    `cache_state` (both profiles): `X-Paramsecrets-Cache` for a remembered error (`hit`).
    """
    cache_line = b"X-Paramsecrets-Cache: %s\r\n" % cache_state if cache_state is not None else b""
    if profile.detailed:
        return responses.error(status, code, message, keep_alive, extra + always + cache_line, send_body)
    body = UNAUTHORIZED_TEXT if status == 401 else AWS_ERROR_TEXT
    return responses.simple(401 if status == 401 else 400, responses.TEXT, body, keep_alive,
                            responses.error_header(code) + always + cache_line, send_body)


REASON_HEADER = b"cloudextensions-error-reason"


def answer(refusal: AnswerError, profile: Profile, keep_alive: bool, extra: bytes = b"", send_body: bool = True,
           cache_state: bytes | None = None) -> bytes:
    """`refusal` in a GET route's profile; an authentication refusal names its reason in both."""
    reason = b"" if refusal.reason is None else b"%s: %s\r\n" % (REASON_HEADER, refusal.reason.encode())
    return error(profile, refusal.status, refusal.code, refusal.message, keep_alive, extra, send_body, reason,
                 cache_state)


def answered_status(profile: Profile, status: int) -> int:
    """The status `error` sends for `status` in `profile` (for the log line)."""
    return status if profile.detailed or status == 401 else 400


# The SDKs' JSON -------------------------------------------------------------------------------

# Cloud Extensions puts the message of these in `Message` (as Parameter Store does), others in `message`.
CAPITAL_MESSAGE = frozenset({"AccessDeniedException", "InternalServerError", "ThrottlingException",
                             "ValidationException"})


def sdk_error(error: AnswerError, keep_alive: bool, cloud_extensions: bool = False) -> bytes:
    """`{"__type": code, "message": ...}` with x-amzn-ErrorType, as AWS JSON services answer; an
    authentication refusal also names its reason in `cloudextensions-error-reason`. On Cloud
    Extensions' paths (`cloud_extensions`) the message key follows its documented shape."""
    key = "Message" if cloud_extensions and error.code in CAPITAL_MESSAGE else "message"
    body = json.dumps({"__type": error.code, key: error.message}, separators=(",", ":")).encode()
    extra = b"x-amzn-RequestId: %s\r\nx-amzn-ErrorType: %s\r\n" % (request_id(), error.code.encode("ascii", "replace"))
    if error.reason:
        extra += b"%s: %s\r\n" % (REASON_HEADER, error.reason.encode("ascii", "replace"))
    return responses.simple(error.status, AMZ_JSON, body, keep_alive, extra)


# AWS failures -> answers: the one table ------------------------------------------------------

UPSTREAM_STATUS: dict[Kind, tuple[int, int]] = {
    Kind.NOT_FOUND: (404, 400),
    Kind.DENIED: (403, 400),
    Kind.INVALID: (400, 400),
    Kind.THROTTLED: (429, 400),
    Kind.UNAVAILABLE: (502, 500),
    Kind.TIMEOUT: (504, 504),
}
"""An AWS failure's kind (aws/errors.py classifies every code) -> (the GET routes' status, the SDK
protocol's status when AWS itself gave none: AWS's own status is passed on as it came). The code
answered is AWS's own, or ours for a failure to reach AWS (below)."""

OUR_UPSTREAM_STATUS = {"BadGateway": 502, "GatewayTimeout": 504, "ServiceUnavailable": 503}
"""Our codes for AWS unreachable, slow or backed off, with the status the SDK protocol gives each."""


def from_upstream(error: UpstreamError, message: str | None = None) -> AnswerError:
    """A failed AWS call as the GET routes answer it (`message`: the text to send, scrubbed)."""
    return AnswerError(UPSTREAM_STATUS[error.kind][0], error.code, error.message if message is None else message)


def sdk_from_upstream(error: UpstreamError) -> SdkError:
    """A failed AWS call as the SDK protocol answers it: AWS's error as AWS gave it (status, code,
    message); our own failures to reach AWS with their 5xx."""
    if error.upstream_status is not None:
        status = error.upstream_status
    elif error.kind is Kind.UNAVAILABLE and error.code in OUR_UPSTREAM_STATUS:
        status = OUR_UPSTREAM_STATUS[error.code]
    else:
        status = UPSTREAM_STATUS[error.kind][1]
    return SdkError(error.code, error.message, status)


def signed_get_refusal(error: SdkError, reason: str) -> AnswerError:
    """A GET route whose SigV4 signature was refused: 401 naming AWS's code and Cloud Extensions'
    `reason`; a failure to check it at all (AWS unreachable) is the server's: 502."""
    if error.status >= 500:
        return AnswerError(502, "BadGateway", error.message)
    return AnswerError(401, "Unauthorized", f"{error.code}: {error.message}", reason=reason)
