"""`paramsecrets.client.wire.RawConnection` against canned answers on a real loopback socket: the
framings it reads (Content-Length, chunked, to the close), its bounds, and the errors it raises
for answers that are not HTTP (never with the answer's bytes in the message)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from paramsecrets.client import wire
from paramsecrets.client.wire import ProtocolError, RawConnection


@contextmanager
def canned(*answers: bytes) -> Iterator[tuple[int, list[bytes]]]:
    """A one-connection server: reads one request head per answer, sends the answer; an empty
    answer closes the connection at that point. Yields (port, the request heads received)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    heads: list[bytes] = []

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:  # closed by the test before anyone connected
            return
        with conn:
            buffer = b""
            for answer in answers:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                heads.append(head)
                if not answer:
                    return
                conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], heads
    finally:
        listener.close()
        thread.join(10)


def get(port: int, path: str = "/x", headers: dict[str, str] | None = None) -> wire.RawResponse:
    conn = RawConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    return conn.getresponse()


def test_content_length_answer_and_the_request_sent() -> None:
    answer = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}'
    with canned(answer) as (port, heads):
        response = get(port, "/systemsmanager/parameters/get?name=%2Fa", {"X-Aws-Parameters-Secrets-Token": "t"})
    assert (response.status, response.read(), response.will_close) == (200, b'{"a":1}', False)
    assert ("Content-Type", "application/json") in response.getheaders()
    request = heads[0].decode().split("\r\n")
    assert request[0] == "GET /systemsmanager/parameters/get?name=%2Fa HTTP/1.1"
    assert f"Host: 127.0.0.1:{port}" in request
    assert "X-Aws-Parameters-Secrets-Token: t" in request


def test_keep_alive_two_answers_on_one_connection() -> None:
    first = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
    second = b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nbc"
    with canned(first, second) as (port, heads):
        conn = RawConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/1", headers={})
        assert conn.getresponse().read() == b"a"
        conn.request("GET", "/2", headers={})
        answer = conn.getresponse()
        assert (answer.status, answer.read()) == (404, b"bc")
        conn.close()
    assert len(heads) == 2


def test_chunked_answer_with_extensions_and_trailers() -> None:
    body = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: y\r\n\r\n"
    with canned(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body) as (port, _):
        assert get(port).read() == b"Wikipedia"


def test_answer_read_to_the_close_and_connection_close() -> None:
    with canned(b"HTTP/1.0 200 OK\r\n\r\nuntil the end") as (port, _):
        response = get(port)
    assert (response.read(), response.will_close) == (b"until the end", True)
    with canned(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok") as (port, _):
        assert get(port).will_close is True


def test_a_kept_connection_closed_before_the_answer_is_a_reset() -> None:
    """What the client takes as "send once more on a fresh connection"."""
    with canned(b"") as (port, _), pytest.raises(ConnectionResetError):
        get(port)


@pytest.mark.parametrize("answer, named", [
    (b"SSH-2.0-OpenSSH\r\n\r\n", "status line"),
    (b"HTTP/1.1 2x0 OK\r\n\r\n", "status line"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "header line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "body"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n", "CRLF"),
    (b"HTTP/1.1 200 OK\r\nContent-Le", "head"),
])
def test_malformed_answers_raise_a_protocol_error_without_their_bytes(answer: bytes, named: str) -> None:
    with canned(answer) as (port, _), pytest.raises(ProtocolError) as caught:
        get(port)
    assert isinstance(caught.value, OSError)  # the client reports it as a failed connection
    assert named in str(caught.value)
    assert "OpenSSH" not in str(caught.value) and "short" not in str(caught.value)


def test_bounds_are_checked_before_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "MAX_BODY_BYTES", 8)
    with canned(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n123456789") as (port, _), \
            pytest.raises(ProtocolError, match="longer than 8 bytes"):
        get(port)
    with canned(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n5\r\n67890\r\n0\r\n\r\n") as (
            port, _), pytest.raises(ProtocolError, match="longer than 8 bytes"):
        get(port)
    monkeypatch.setattr(wire, "MAX_HEADERS", 2)
    with canned(b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n") as (port, _), \
            pytest.raises(ProtocolError, match="more than 2 header lines"):
        get(port)
    monkeypatch.setattr(wire, "MAX_HEAD_BYTES", 64)
    with canned(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70000) as (port, _), \
            pytest.raises(ProtocolError, match="head is longer than 64 bytes"):
        get(port)


def test_a_header_with_a_line_break_is_never_sent() -> None:
    with canned(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") as (port, heads):
        conn = RawConnection("127.0.0.1", port, timeout=10)
        with pytest.raises(ValueError, match="line break"):
            conn.request("GET", "/x", headers={"X-Token": "a\r\nInjected: yes"})
        conn.close()
    assert heads == []


def test_nothing_listening_is_refused() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    with pytest.raises(ConnectionRefusedError):
        get(port)


@pytest.mark.parametrize("text", [
    '{"Parameters": [{"Name": "/a", "Value": "v\\u00e9", "Version": 3}], "InvalidParameters": []}',
    ' [1, 2.5, -1e3, true, false, null, "x"] ', '"just a string"', "42", "NaN",
    '{"emoji": "\\ud83d\\ude00", "dup": 1, "dup": 2, "deep": {"a": [{"b": {}}]}}',
])
def test_loads_is_json_loads(text: str) -> None:
    import json

    assert repr(wire.loads(text)) == repr(json.loads(text))
    assert repr(wire.loads(text.encode())) == repr(json.loads(text))


@pytest.mark.parametrize("text", ["", "{", '{"secret-value": 1} trailing', "[1,]", "{'a': 1}", "\ufeff{}",
                                  '{"a": "\x01"}', "[" * 100_000])
def test_loads_refuses_what_json_refuses_without_quoting_it(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        wire.loads(text)
    assert "secret-value" not in str(caught.value)


def test_loads_of_bytes_that_are_not_utf8_is_a_decode_error() -> None:
    with pytest.raises(UnicodeDecodeError):
        wire.loads(b'"\xff"')
