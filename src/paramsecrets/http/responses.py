"""Response bytes. Every answer leaves in one write: status line, headers and body together.

Every answer carries `Date` (RFC 9110 asks an origin server with a clock to send it, and the AWS
extension, a Go `net/http` server, does). Rendering it costs a `gmtime` and a format, so the
header line is kept for the current second and remade when the second changes.
"""

from __future__ import annotations

import json
import time
from typing import Any

REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 413: "Content Too Large", 414: "URI Too Long",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}
JSON = b"application/json"
TEXT = b"text/plain; charset=utf-8"
PROMETHEUS = b"text/plain; version=0.0.4; charset=utf-8"
ERROR_HEADER = b"X-Paramsecrets-Error"  # names the error code on every error answer, in both profiles

_DAYS = (b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun")
_MONTHS = (b"", b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
           b"Dec")
_NOT_VISIBLE = bytes(range(0x21)) + bytes(range(0x7F, 0x100))
_date = [-1, b""]  # [second, b"Date: ...\r\n"] of the last answer


def http_date(second: int) -> bytes:
    """IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), locale-independent, no `email` import."""
    t = time.gmtime(second)
    return b"%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[t.tm_wday], t.tm_mday, _MONTHS[t.tm_mon], t.tm_year, t.tm_hour, t.tm_min, t.tm_sec)


def date_line(now: float) -> bytes:
    """`Date: ...\\r\\n` for the wall-clock second `now` falls in, remade once a second."""
    second = int(now)
    if second != _date[0]:
        _date[1] = b"Date: %s\r\n" % http_date(second)
        _date[0] = second
    return _date[1]  # type: ignore[return-value]


def status_head(status: int, length: int) -> bytes:
    """The status line and `Content-Length`: the part of a head that does not depend on the profile."""
    reason = REASONS.get(status, "Unknown").encode()
    return b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\n" % (status, reason, length)


def head(status: int, content_type: bytes, length: int, extra: bytes = b"") -> bytes:
    """The status line and fixed headers; the caller appends per-request headers and the blank line."""
    return b"%sContent-Type: %s\r\n%s%s" % (status_head(status, length), content_type, date_line(time.time()),
                                             extra)


def finish(head_bytes: bytes, body: bytes, keep_alive: bool, send_body: bool = True) -> bytes:
    """Close the header block (saying `Connection: close` when we will) and append the body.

    `send_body=False` answers a HEAD request: the same headers, no body (RFC 9110 §9.3.2).
    """
    if not send_body:
        body = b""
    if keep_alive:
        return head_bytes + b"\r\n" + body
    return head_bytes + b"Connection: close\r\n\r\n" + body


def simple(status: int, content_type: bytes, body: bytes, keep_alive: bool, extra: bytes = b"",
           send_body: bool = True) -> bytes:
    return finish(head(status, content_type, len(body), extra), body, keep_alive, send_body)


def error_header(code: str) -> bytes:
    """`X-Paramsecrets-Error: <code>`. Codes are our names or AWS's; only visible ASCII is kept, so
    nothing an upstream sends can split the header."""
    token = code.encode("ascii", "replace").translate(None, _NOT_VISIBLE)[:100] or b"Unknown"
    return b"%s: %s\r\n" % (ERROR_HEADER, token)


def error(status: int, code: str, message: str, keep_alive: bool, extra: bytes = b"",
          send_body: bool = True) -> bytes:
    """The detailed error: `{"__type": code, "message": message}` with the real status."""
    body = go_json({"__type": code, "message": message})
    return simple(status, JSON, body, keep_alive, extra + error_header(code), send_body)


_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# Go's encoding/json escapes these inside strings; they can appear nowhere else in JSON text.
_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                             "\u2028": "\\u2028", "\u2029": "\\u2029"})


def go_json(document: Any) -> bytes:
    """Compact JSON as Go's encoding/json writes it (the AWS extension's bodies are Go's)."""
    return _encoder.encode(document).translate(_GO_ESCAPES).encode()


def says_close(reply: bytes) -> bool:
    """Whether an answer's head says `Connection: close` (`finish` puts it last, before the blank line)."""
    return reply.endswith(b"\r\nConnection: close", 0, reply.find(b"\r\n\r\n"))
