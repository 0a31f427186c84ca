"""A strict parser for the HTTP/1.1 subset we serve: GET requests with headers and no body.

Pure functions over bytes, no I/O, so it is fuzzed directly (tests/unit/test_http_parser.py).
Anything ambiguous (obsolete line folding, space before a colon, bare LF, control bytes, a
duplicate Content-Length) is refused: a sidecar holding secrets has no use for leniency that
request smuggling feeds on.
"""

from __future__ import annotations

import re

MAX_REQUEST_LINE = 8 * 1024
MAX_HEADER_BYTES = 32 * 1024
MAX_HEADER_FIELDS = 100
TOKEN_HEADER = b"x-aws-parameters-secrets-token"
PROFILE_HEADER = b"x-paramsecrets-profile"  # opt-in to the detailed answers (profiles.py)
SEEN_LIMIT = 1024  # distinct request heads remembered: a function repeats the same few requests

# RFC 9110 token characters (method and header names) and visible ASCII (request target),
# used to explain a refused request line precisely.
TCHARS = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
VCHARS = bytes(range(0x21, 0x7F))


class ParseError(Exception):
    """The request cannot be served; the connection is closed after the answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Request:
    """What the rest of the server needs to know about one request.

    Identical request bytes give the same (shared) Request: treat it as read-only. Requests with
    a body are never shared, so marking one of them to close is safe.
    """

    __slots__ = ("forwarded", "has_body", "keep_alive", "method", "profile", "target", "token", "version")

    def __init__(self, method: bytes, target: bytes, version: bytes) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.token: bytes | None = None
        self.profile: bytes | None = None  # the X-Paramsecrets-Profile value, lower-cased
        self.forwarded = False
        self.has_body = False
        self.keep_alive = version == b"HTTP/1.1"


def _check_incomplete(buffer: bytes, start: int) -> None:
    """Fail early on a request that can never become valid, instead of buffering it."""
    pending = len(buffer) - start
    line_end = buffer.find(b"\r\n", start)
    if line_end < 0 and pending > MAX_REQUEST_LINE:
        raise ParseError(414, "request line longer than 8 KiB")
    if pending > MAX_REQUEST_LINE + MAX_HEADER_BYTES + 4:
        raise ParseError(431, "request headers larger than 32 KiB")
    if buffer.find(b"\n\n", start) >= 0:
        raise ParseError(400, "malformed request: lines must end with CRLF")


_TCHAR = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
REQUEST_LINE = re.compile(_TCHAR + rb"+ /[\x21-\x7e]* HTTP/1\.[01]")
# The whole header block in one match (C speed): name ":" value lines, no folding, no bare CR/LF.
HEADER_BLOCK = re.compile(rb"(?:" + _TCHAR + rb"+:[\t\x20-\x7e\x80-\xff]*(?:\r\n|\Z))+")
INTERESTING = frozenset({TOKEN_HEADER, PROFILE_HEADER, b"x-forwarded-for", b"content-length", b"transfer-encoding",
                         b"connection"})


def _request_line(line: bytes) -> Request:
    if len(line) > MAX_REQUEST_LINE:
        raise ParseError(414, "request line longer than 8 KiB")
    if REQUEST_LINE.fullmatch(line) is None:
        raise ParseError(400, _request_line_problem(line))
    method, target, version = line.split(b" ")
    return Request(method, target, version)


def _request_line_problem(line: bytes) -> str:
    """Say precisely what is wrong (only on the error path)."""
    parts = line.split(b" ")
    if len(parts) != 3:
        return "malformed request line"
    method, target, _ = parts
    if not method or method.translate(None, TCHARS):
        return "malformed request method"
    if not target.startswith(b"/") or target.translate(None, VCHARS):
        return "malformed request target (expected an absolute path)"
    return "unsupported HTTP version (HTTP/1.1 and HTTP/1.0 are served)"


def _headers(request: Request, block: bytes) -> None:
    if len(block) > MAX_HEADER_BYTES:
        raise ParseError(431, "request headers larger than 32 KiB")
    lines = block.split(b"\r\n")
    if len(lines) > MAX_HEADER_FIELDS:
        raise ParseError(431, "more than 100 request header fields")
    if HEADER_BLOCK.fullmatch(block) is None:
        raise ParseError(400, "malformed header line")
    content_length: bytes | None = None
    for line in lines:
        name, _, value = line.partition(b":")
        name = name.lower()
        if name not in INTERESTING:
            continue
        value = value.strip(b" \t")
        if name == TOKEN_HEADER:
            if request.token is not None:
                raise ParseError(400, "the token header is given more than once")
            request.token = value
        elif name == PROFILE_HEADER:
            if request.profile is None:  # the first one wins, as with Go's Header.Get
                request.profile = value.lower()
        elif name == b"x-forwarded-for":
            request.forwarded = True
        elif name == b"content-length":
            if not value.isdigit() or (content_length is not None and value != content_length):
                raise ParseError(400, "invalid Content-Length")
            content_length = value
            request.has_body = request.has_body or int(value) > 0
        elif name == b"transfer-encoding":
            request.has_body = True
        else:
            options = {option.strip() for option in value.lower().split(b",")}
            if b"close" in options:
                request.keep_alive = False
            elif b"keep-alive" in options:
                request.keep_alive = True


# Parsed requests by their exact bytes. A function sends the same few requests again and again,
# so most requests skip parsing (~2.5 us) for one dictionary lookup; exact bytes make it safe.
_seen: dict[bytes, Request] = {}


def parse(buffer: bytes, start: int = 0) -> tuple[Request, int] | None:
    """Parse the request at `buffer[start:]`: (request, end offset) or None when incomplete.

    Raises ParseError for anything malformed or over the limits.
    """
    while buffer.startswith(b"\r\n", start):  # RFC 9112 §2.2: ignore empty lines before a request
        start += 2
    end = buffer.find(b"\r\n\r\n", start)
    if end < 0:
        _check_incomplete(buffer, start)
        return None
    head = buffer if start == 0 and end + 4 == len(buffer) else buffer[start:end + 4]
    request = _seen.get(head)
    if request is not None:
        return request, end + 4
    line_end = buffer.find(b"\r\n", start, end + 2)
    request = _request_line(buffer[start:line_end])
    if line_end < end:
        _headers(request, buffer[line_end + 2:end])
    if end - start > MAX_REQUEST_LINE + MAX_HEADER_BYTES:
        raise ParseError(431, "request headers larger than 32 KiB")
    if not request.has_body:
        if len(_seen) >= SEEN_LIMIT:
            _seen.clear()
        _seen[head] = request
    return request, end + 4
