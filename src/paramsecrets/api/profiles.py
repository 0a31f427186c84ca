"""The two answer profiles: the AWS extension's (the default) and the detailed one (opt-in).

A function written for the AWS layer must see what the AWS layer would have answered: `400` and
one opaque text body for every failure but a bad token, `Content-Type: text/plain` on success,
and query strings read the way Go's `net/url` reads them. Callers that want real statuses and
`{"__type","message"}` bodies ask for them per request (the `X-Paramsecrets-Profile: detailed`
header) or per process (`PARAMETERS_SECRETS_EXTENSION_ERROR_MODE=detailed`). In both profiles
every error answer names its code in the `X-Paramsecrets-Error` header.
"""

from __future__ import annotations

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


def answered_status(profile: Profile, status: int) -> int:
    """The status `error` sends for `status` in `profile` (for the log line)."""
    return status if profile.detailed or status == 401 else 400
