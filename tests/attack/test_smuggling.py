"""Item 1: nothing inside a request body is ever answered as a request, whatever the verdict."""

from __future__ import annotations

import pytest

from paramsecrets.testing.net import raw_exchange
from paramsecrets.testing.server import PROFILE_HEADER, TOKEN, TOKEN_HEADER, ServerProcess
from tests.integration.conftest import Seeded

SECRET = b"pa55-w0rd"
INNER = (f"GET /secretsmanager/get?secretId=prod/db HTTP/1.1\r\nHost: x\r\n{TOKEN_HEADER}: {TOKEN}\r\n"
         "\r\n").encode()
FOLLOW_UP = b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def statuses(reply: bytes) -> list[int]:
    """The status code of every response in a raw byte stream."""
    return [int(line[9:12]) for line in reply.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]


def outer(method: str, path: str, extra: str = "", body: bytes = INNER) -> bytes:
    """The attack request; it asks for the detailed profile, whose statuses tell the verdicts apart
    (the AWS profile answers every refusal but a bad token 400)."""
    return (f"{method} {path} HTTP/1.1\r\nHost: x\r\n{PROFILE_HEADER}: detailed\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


# The outer verdicts of the attack (detailed profile): 405 (POST), 401 (no token), 404 (no such path),
# 400 (forwarded), 400 (body on a GET that would otherwise succeed).
CASES = {
    "405": (outer("POST", "/ping"), 405),
    "401": (outer("GET", "/secretsmanager/get?secretId=prod/db"), 401),
    "404": (outer("GET", "/nowhere", f"{TOKEN_HEADER}: {TOKEN}\r\n"), 404),
    "forwarded": (outer("GET", "/ping", "X-Forwarded-For: 10.0.0.1\r\n"), 400),
    "forwarded-rfc7239": (outer("GET", "/ping", "Forwarded: for=10.0.0.1\r\n"), 400),
    "x-real-ip": (outer("GET", "/ping", "X-Real-IP: 10.0.0.1\r\n"), 400),
    "x-forwarded-host": (outer("GET", "/ping", "X-Forwarded-Host: internal.example\r\n"), 400),
    "via": (outer("GET", "/ping", "Via: 1.1 proxy.example\r\n"), 400),
    "body-on-get": (outer("GET", "/ping"), 400),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_request_smuggled_in_a_body_is_never_answered(server: ServerProcess, seeded: Seeded, case: str) -> None:
    data, verdict = CASES[case]
    reply = raw_exchange(server.port, data + FOLLOW_UP, timeout=15)
    assert SECRET not in reply
    codes = statuses(reply)
    assert codes[0] == verdict
    # Either the connection stays usable (the body was consumed exactly, the follow-up is answered)
    # or it was closed after the verdict: never a second answer to the smuggled request.
    assert codes in ([verdict], [verdict, 200])


def test_chunked_bodies_are_refused_and_the_connection_closed(server: ServerProcess, seeded: Seeded) -> None:
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(INNER), INNER)
    data = b"GET /secretsmanager/get?secretId=prod/db HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    reply = raw_exchange(server.port, data + chunked + FOLLOW_UP, timeout=15)
    assert statuses(reply) == [501]
    assert b"Connection: close" in reply and SECRET not in reply


def test_content_length_with_chunked_is_refused(server: ServerProcess, seeded: Seeded) -> None:
    data = outer("POST", "/ping", "Transfer-Encoding: chunked\r\n")
    reply = raw_exchange(server.port, data + FOLLOW_UP, timeout=15)
    assert statuses(reply) == [501] and SECRET not in reply


def test_a_body_over_the_limit_is_refused_before_it_is_read(server: ServerProcess) -> None:
    reply = raw_exchange(server.port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n", timeout=15)
    assert statuses(reply) == [413] and b"Connection: close" in reply


def test_a_huge_content_length_is_a_clean_413(server: ServerProcess) -> None:
    """Item 5: a 4,301-digit Content-Length used to raise out of the parser (empty reply, log spam)."""
    data = b"GET /ping HTTP/1.1\r\nHost: x\r\nContent-Length: " + b"9" * 4301 + b"\r\n\r\n"
    reply = raw_exchange(server.port, data, timeout=15)
    assert statuses(reply) == [413]
    assert "Traceback" not in server.output() and "ValueError" not in server.output()
