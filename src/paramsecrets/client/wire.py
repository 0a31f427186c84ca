"""A minimal HTTP/1.1 client connection on a raw socket, for `paramsecrets exec` on the INIT path.

`http.client` imports `email` (its header parser), `socket`, `ssl` probes, `urllib.parse` and more:
about 20 ms of CPU on the layer's interpreter before the first byte is sent, and the exec wrapper
runs before the function's runtime starts, so every millisecond is added to INIT. Talking to the
local server needs none of that: one GET, one answer with `Content-Length` (or chunked, or read to
the close), on loopback.

`RawConnection` offers the few methods `paramsecrets.client.Client` calls on an
`http.client.HTTPConnection` (`request`, `getresponse`, `close`), so the client's retry, keep-alive
and error rules stay in one place. Every read is bounded before anything is converted: the head to
`MAX_HEAD_BYTES` and `MAX_HEADERS` lines, the body to `MAX_BODY_BYTES`. A malformed answer raises
`ProtocolError`, an `OSError` the client reports as a failed connection; nothing of the body is put
in an error. A server that closes a kept connection before answering raises
`ConnectionResetError`, which the client takes as "send once more on a fresh connection".

`loads` parses JSON on json's own C scanner without importing `json` (and `re` with it).
"""

from __future__ import annotations

import _socket

TYPE_CHECKING = False  # mypy reads this name as true
if TYPE_CHECKING:
    from typing import Any

MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100
MAX_BODY_BYTES = 64 * 1024 * 1024
"""Far above any answer of the server (a get-by-path of 10,000 parameters of 8 KiB is ~100 MiB in
theory; paramsecrets bounds a path read well below that); an answer past it is refused, not read."""
READ_CHUNK = 65536


class ProtocolError(OSError):
    """The answer is not HTTP/1.x as we read it (the message names the part, never its bytes)."""


class RawResponse:
    """What `Client._send` reads from an answer: `status`, `getheaders()`, `read()`, `will_close`."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes, will_close: bool) -> None:
        self.status = status
        self._headers = headers
        self._body = body
        self.will_close = will_close

    def getheaders(self) -> list[tuple[str, str]]:
        return self._headers

    def read(self) -> bytes:
        return self._body


class RawConnection:
    """One keep-alive connection to host:port (`timeout` seconds for the connect and each read)."""

    def __init__(self, host: str, port: int, timeout: float | None = None) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.sock: _socket.socket | None = None
        self._buffer = b""
        self._response: RawResponse | None = None

    def connect(self) -> None:
        last: OSError | None = None
        for family, kind, proto, _name, address in _socket.getaddrinfo(self.host, self.port, 0,
                                                                       _socket.SOCK_STREAM):
            sock = _socket.socket(family, kind, proto)
            try:
                sock.settimeout(self.timeout)
                sock.connect(address)
            except OSError as error:
                sock.close()
                last = error
                continue
            self.sock = sock
            self._buffer = b""
            return
        raise last if last is not None else OSError(f"no address for {self.host}")

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self._buffer = b""

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> None:
        """Send one request (a body only with its length). Raises what the socket raises."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        for name, value in (headers or {}).items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ValueError(f"header {name!r} holds a line break")
            lines.append(f"{name}: {value}")
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        self.sock.sendall(data)
        self._response = self._read_response(method)

    def getresponse(self) -> RawResponse:
        response, self._response = self._response, None
        if response is None:
            raise ProtocolError("no request was sent")
        return response

    # ---- reading -------------------------------------------------------------------------------

    def _recv(self) -> bytes:
        assert self.sock is not None
        return self.sock.recv(READ_CHUNK)

    def _read_head(self) -> bytes:
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end >= 0:
                head, self._buffer = self._buffer[:end], self._buffer[end + 4:]
                return head
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise ProtocolError(f"the answer's head is longer than {MAX_HEAD_BYTES} bytes")
            chunk = self._recv()
            if not chunk:
                if not self._buffer:  # closed before answering: a kept connection the server let go
                    raise ConnectionResetError("the server closed the connection without answering")
                raise ProtocolError("the connection closed in the middle of the answer's head")
            self._buffer += chunk

    def _read_response(self, method: str) -> RawResponse:
        head = self._read_head()
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        code = rest[:3]
        if version not in ("HTTP/1.1", "HTTP/1.0") or len(code) != 3 or not code.isdigit():
            raise ProtocolError("the answer does not start with an HTTP/1.x status line")
        if len(header_lines) > MAX_HEADERS:
            raise ProtocolError(f"the answer has more than {MAX_HEADERS} header lines")
        headers: list[tuple[str, str]] = []
        for line in header_lines:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                raise ProtocolError("the answer has a malformed header line")
            headers.append((name, value.strip()))
        fields = {name.lower(): value for name, value in headers}
        connection = fields.get("connection", "").lower()
        will_close = connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive")
        status = int(code)
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "chunked" in fields.get("transfer-encoding", "").lower():
            body = self._read_chunked()
        elif "content-length" in fields:
            length = fields["content-length"]
            if not length.isdigit() or len(length) > 12:
                raise ProtocolError("the answer's Content-Length is not a number")
            body = self._read_exactly(int(length))
        else:
            body = self._read_to_close()
            will_close = True
        if will_close:
            self.close()
        return RawResponse(status, headers, body, will_close)

    def _read_exactly(self, length: int) -> bytes:
        if length > MAX_BODY_BYTES:
            raise ProtocolError(f"the answer's body is longer than {MAX_BODY_BYTES} bytes")
        while len(self._buffer) < length:
            chunk = self._recv()
            if not chunk:
                raise ProtocolError("the connection closed in the middle of the answer's body")
            self._buffer += chunk
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return body

    def _read_line(self) -> bytes:
        while True:
            end = self._buffer.find(b"\r\n")
            if end >= 0:
                line, self._buffer = self._buffer[:end], self._buffer[end + 2:]
                return line
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise ProtocolError("a chunk size line is too long")
            chunk = self._recv()
            if not chunk:
                raise ProtocolError("the connection closed in the middle of a chunked body")
            self._buffer += chunk

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size_text = self._read_line().split(b";", 1)[0].strip()
            if not size_text or len(size_text) > 12 or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
                raise ProtocolError("a chunk size is not a hexadecimal number")
            size = int(size_text, 16)
            if size == 0:
                while self._read_line():  # trailers, up to the empty line
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY_BYTES:
                raise ProtocolError(f"the answer's body is longer than {MAX_BODY_BYTES} bytes")
            parts.append(self._read_exactly(size))
            if self._read_line():
                raise ProtocolError("a chunk does not end with CRLF")

    def _read_to_close(self) -> bytes:
        parts = [self._buffer]
        total = len(self._buffer)
        self._buffer = b""
        while True:
            chunk = self._recv()
            if not chunk:
                return b"".join(parts)
            total += len(chunk)
            if total > MAX_BODY_BYTES:
                raise ProtocolError(f"the answer's body is longer than {MAX_BODY_BYTES} bytes")
            parts.append(chunk)


# ---- JSON without `json` ---------------------------------------------------------------------------

JSON_WHITESPACE = " \t\n\r"


class _ScannerContext:
    """The settings `json.JSONDecoder` hands its C scanner, with json.loads's defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # NaN, Infinity, -Infinity: what json.loads makes of them
    memo: dict[str, str] = {}


_scan: Any = None


def loads(data: bytes | str) -> Any:
    """`json.loads` for the server's answers and the values exec reads, on the same C scanner
    json uses, without importing `json` (it imports `re`: ~8 ms of CPU on the INIT path).
    ValueError (UnicodeDecodeError for bytes that are not UTF-8) for anything that is not one
    JSON value; the message never holds the text."""
    global _scan
    if _scan is None:
        try:
            from _json import make_scanner
        except ImportError:  # an interpreter without json's accelerator
            import json

            _scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
        else:
            _scan = make_scanner(_ScannerContext())  # type: ignore[arg-type]  # any object with those attributes
    text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    start = len(text) - len(text.lstrip(JSON_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration as stop:
        raise ValueError(f"not JSON: no value at character {stop.value}") from None
    except RecursionError:
        raise ValueError("not JSON: nested too deeply") from None
    if text[end:].strip(JSON_WHITESPACE):
        raise ValueError(f"not JSON: extra data at character {end}")
    return value
