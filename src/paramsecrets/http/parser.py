"""A strict parser for the HTTP/1.1 subset we serve: requests with headers and an optional body.

Pure functions over bytes, no I/O, so it is fuzzed directly (tests/unit/test_http_parser.py).
Anything ambiguous (obsolete line folding, space before a colon, bare LF, control bytes, a
duplicate Content-Length) is refused: a sidecar holding secrets has no use for leniency that
request smuggling feeds on.

A body is framed by Content-Length only, and consumed here, exactly, whatever the server later
answers: the bytes of a body can never be read as the next request. Transfer-Encoding is refused
(501) and ends the connection; so does a body over MAX_BODY (413).
"""

from __future__ import annotations

import re
from typing import NamedTuple

MAX_REQUEST_LINE = 8 * 1024
MAX_HEADER_BYTES = 32 * 1024
MAX_HEADER_FIELDS = 100
TOKEN_HEADER = b"x-aws-parameters-secrets-token"
MAX_BODY = 1024 * 1024  # 1 MiB: an SDK call's JSON body is a few hundred bytes
MAX_LENGTH_DIGITS = len(str(MAX_BODY))  # Content-Length digits beyond this are over MAX_BODY anyway
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


Headers = tuple[tuple[bytes, bytes], ...]


class Request(NamedTuple):
    """What the rest of the server needs to know about one request. Immutable: identical request
    bytes give the same shared Request (see `parse`), and what happens to the connection after the
    answer is the connection's decision (connection.py), not a mark on the request.

    `headers` (every field, names lower-cased, values without surrounding whitespace, in order)
    and `body` are kept only for requests with a body or an `Authorization` header: a signed
    request (SigV4) needs every header it signed, and an AWS SDK's call for another service, sent
    here by a global AWS_ENDPOINT_URL, is answered in its own protocol.
    """

    method: bytes
    target: bytes
    version: bytes
    token: bytes | None = None
    profile: bytes | None = None  # the X-Paramsecrets-Profile value, lower-cased
    forwarded: bool = False  # a FORWARDING header was sent
    # HTTP/1.0 always closes: its keep-alive would need a `Connection: keep-alive` answer.
    keep_alive: bool = True
    has_body: bool = False
    body: bytes = b""
    headers: Headers = ()


class _Head(NamedTuple):
    """What the header block says (before the body is known to have arrived)."""

    token: bytes | None
    profile: bytes | None
    forwarded: bool
    close: bool
    body_length: int
    fields: Headers
    signed: bool = False  # an Authorization header: SigV4 in place of the token needs every field


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
# Any of these says a proxy relayed the request: the sidecar serves local callers only.
FORWARDING = frozenset({b"x-forwarded-for", b"x-forwarded-host", b"forwarded", b"via", b"x-real-ip"})
FORWARDING_NAMES = "X-Forwarded-For, X-Forwarded-Host, Forwarded, Via or X-Real-IP"  # for messages
AUTHORIZATION = b"authorization"
INTERESTING = frozenset({TOKEN_HEADER, PROFILE_HEADER, b"content-length", b"transfer-encoding",
                         b"connection", AUTHORIZATION}) | FORWARDING


def _request_line(line: bytes) -> tuple[bytes, bytes, bytes]:
    """(method, target, version) of a valid request line."""
    if len(line) > MAX_REQUEST_LINE:
        raise ParseError(414, "request line longer than 8 KiB")
    if REQUEST_LINE.fullmatch(line) is None:
        raise ParseError(400, _request_line_problem(line))
    method, target, version = line.split(b" ")
    return method, target, version


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


NO_HEADERS = _Head(None, None, False, False, 0, ())


def _headers(block: bytes) -> _Head:
    """Read the header block: the fields we act on, the body length and every (name, value) pair."""
    if len(block) > MAX_HEADER_BYTES:
        raise ParseError(431, "request headers larger than 32 KiB")
    lines = block.split(b"\r\n")
    if len(lines) > MAX_HEADER_FIELDS:
        raise ParseError(431, "more than 100 request header fields")
    if HEADER_BLOCK.fullmatch(block) is None:
        raise ParseError(400, "malformed header line")
    token: bytes | None = None
    profile: bytes | None = None
    forwarded = close = signed = False
    content_length: bytes | None = None
    fields = []
    for line in lines:
        name, _, value = line.partition(b":")
        name = name.lower()
        value = value.strip(b" \t")
        fields.append((name, value))
        if name not in INTERESTING:
            continue
        if name == TOKEN_HEADER:
            if token is not None:
                raise ParseError(400, "the token header is given more than once")
            token = value
        elif name == PROFILE_HEADER:
            if profile is None:  # the first one wins, as with Go's Header.Get
                profile = value.lower()
        elif name in FORWARDING:
            forwarded = True
        elif name == AUTHORIZATION:
            signed = True
        elif name == b"content-length":
            if not value.isdigit() or (content_length is not None and value != content_length):
                raise ParseError(400, "invalid Content-Length")
            content_length = value
        elif name == b"transfer-encoding":
            raise ParseError(501, "Transfer-Encoding is not supported; send the body with Content-Length")
        else:
            options = {option.strip() for option in value.lower().split(b",")}
            close = close or b"close" in options
    return _Head(token, profile, forwarded, close, _body_length(content_length), tuple(fields), signed)


def _body_length(digits: bytes | None) -> int:
    """Content-Length as a number, its length checked before conversion."""
    if digits is None:
        return 0
    digits = digits.lstrip(b"0")
    if len(digits) > MAX_LENGTH_DIGITS or (digits and int(digits) > MAX_BODY):
        raise ParseError(413, "request body larger than 1 MiB")
    return int(digits) if digits else 0


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
    method, target, version = _request_line(buffer[start:line_end])
    if end - start > MAX_REQUEST_LINE + MAX_HEADER_BYTES:
        raise ParseError(431, "request headers larger than 32 KiB")
    fields = _headers(buffer[line_end + 2:end]) if line_end < end else NO_HEADERS
    keep_alive = version == b"HTTP/1.1" and not fields.close
    length = fields.body_length
    if length:
        body_end = end + 4 + length
        if len(buffer) < body_end:
            return None  # the body is still arriving (the connection's request timeout bounds the wait)
        return Request(method, target, version, fields.token, fields.profile, fields.forwarded, keep_alive,
                       True, buffer[end + 4:body_end], fields.fields), body_end
    if fields.signed:  # a signed GET (SigV4 in place of the token): its headers are verified; never memoised
        return Request(method, target, version, fields.token, fields.profile, fields.forwarded, keep_alive,
                       headers=fields.fields), end + 4
    request = Request(method, target, version, fields.token, fields.profile, fields.forwarded, keep_alive)
    if len(_seen) >= SEEN_LIMIT:
        _seen.clear()
    _seen[head] = request
    return request, end + 4
