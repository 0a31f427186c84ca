"""Response bytes. Every answer leaves in one write: status line, headers and body together."""

from __future__ import annotations

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


def head(status: int, content_type: bytes, length: int, extra: bytes = b"") -> bytes:
    """The status line and fixed headers; the caller appends per-request headers and the blank line."""
    reason = REASONS.get(status, "Unknown").encode()
    return b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s" % (
        status, reason, content_type, length, extra)


def finish(head_bytes: bytes, body: bytes, keep_alive: bool) -> bytes:
    """Close the header block (saying `Connection: close` when we will) and append the body."""
    if keep_alive:
        return head_bytes + b"\r\n" + body
    return head_bytes + b"Connection: close\r\n\r\n" + body


def simple(status: int, content_type: bytes, body: bytes, keep_alive: bool, extra: bytes = b"") -> bytes:
    return finish(head(status, content_type, len(body), extra), body, keep_alive)


def error(status: int, code: str, message: str, keep_alive: bool, extra: bytes = b"") -> bytes:
    """`{"__type": code, "message": message}`: the error body of CONTRACT §3.4."""
    from paramsecrets.shapes import error_body

    return simple(status, JSON, error_body(code, message), keep_alive, extra)
