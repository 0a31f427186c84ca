"""HTTP behaviour: keep-alive, pipelining in order, HTTP/1.0, IPv6 loopback, clean stop."""

from __future__ import annotations

import http.client
import signal
import socket
from collections.abc import Callable

from paramsecrets.testing.net import raw_exchange
from paramsecrets.testing.server import TOKEN, TOKEN_HEADER, ServerProcess
from tests.integration.conftest import Seeded


def request(path: str, extra: str = "", version: str = "HTTP/1.1") -> bytes:
    return f"GET {path} {version}\r\nHost: localhost\r\n{TOKEN_HEADER}: {TOKEN}\r\n{extra}\r\n".encode()


def test_keep_alive_serves_many_requests_on_one_connection(server: ServerProcess, seeded: Seeded) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for _ in range(20):
            conn.request("GET", "/systemsmanager/parameters/get?name=/app/plain", headers={TOKEN_HEADER: TOKEN})
            answer = conn.getresponse()
            assert answer.status == 200
            assert b"plain-value" in answer.read()
            assert answer.getheader("Connection") is None
    finally:
        conn.close()


def test_pipelined_requests_are_answered_in_order(server: ServerProcess, seeded: Seeded) -> None:
    server.get("/systemsmanager/parameters/get?name=/app/plain")  # cached: the others will be misses
    batch = (request("/systemsmanager/parameters/get?name=/app/plain")
             + request("/systemsmanager/parameters/get?name=/app/list")  # a miss between hits
             + request("/ping")
             + request("/secretsmanager/get?secretId=prod/db")
             + request("/systemsmanager/parameters/get?name=/app/plain", "Connection: close\r\n"))
    reply = raw_exchange(server.port, batch, timeout=15)
    assert reply.count(b"HTTP/1.1 200 OK") == 5
    positions = [reply.find(marker) for marker in (b'"plain-value"', b'"a,b,c"', b"healthy", b"pa55-w0rd",
                                                    b"Connection: close")]
    assert positions == sorted(positions) and -1 not in positions


def test_http_10(server: ServerProcess, seeded: Seeded) -> None:
    """HTTP/1.0 is answered and closed, even when it asks for keep-alive (and the answer says so)."""
    for extra in ("", "Connection: keep-alive\r\n"):
        reply = raw_exchange(server.port, request("/ping", extra, version="HTTP/1.0"))
        assert reply.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in reply and reply.endswith(b"healthy")


def test_ipv6_loopback_when_available(server: ServerProcess) -> None:
    if not socket.has_ipv6:
        return
    try:
        sock = socket.create_connection(("::1", server.port), timeout=2)
    except OSError:
        return  # no IPv6 loopback on this host: 127.0.0.1 alone is the contract
    with sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 200 ")


def test_only_loopback_is_listening(server: ServerProcess) -> None:
    addresses = [address for address in socket.gethostbyname_ex(socket.gethostname())[2]
                 if not address.startswith("127.")]
    for address in addresses:
        try:
            socket.create_connection((address, server.port), timeout=1).close()
        except OSError:
            continue
        raise AssertionError(f"server answered on {address}")


def test_sigterm_and_sigint_stop_cleanly(start: Callable[..., ServerProcess], seeded: Seeded) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        server = start()
        assert server.get("/systemsmanager/parameters/get?name=/app/plain").status == 200
        # Exit status 0 is the proof: a server that did not stop by itself is killed (-9) at the bound.
        assert server.stop(sig, timeout=30) == 0
        assert "stopped in" in server.output()
