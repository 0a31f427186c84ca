"""Every error of CONTRACT §3.4: status, `__type`, JSON body, and that the server keeps serving."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from tests.integration.conftest import Seeded
from tests.support.net import raw_exchange
from tests.support.server import TOKEN, TOKEN_HEADER, ServerProcess

PARAM = "/systemsmanager/parameters/get?name=/app/plain"


def assert_error(answer, status: int, code: str, contains: str = "") -> None:
    assert answer.status == status, answer.body
    assert answer.headers["content-type"] == "application/json"
    document = answer.json()
    assert list(document) == ["__type", "message"]
    assert document["__type"] == code
    assert contains in document["message"]
    assert TOKEN not in answer.body.decode()
    assert "Traceback" not in answer.body.decode()


def test_forwarded_is_refused_first(server: ServerProcess, seeded: Seeded) -> None:
    assert_error(server.get(PARAM, headers={"X-Forwarded-For": "10.0.0.1"}), 400, "Forwarded")
    assert_error(server.get(PARAM, headers={"x-forwarded-for": "1.2.3.4"}, token=False), 400, "Forwarded")


@pytest.mark.parametrize("headers", [
    {},
    {TOKEN_HEADER: "wrong"},
    {TOKEN_HEADER: TOKEN + "x"},
    {TOKEN_HEADER: TOKEN[:-1]},
    {"X-Aws-Parameters-Secrets-Tokens": TOKEN},
])
def test_bad_or_missing_token(server: ServerProcess, seeded: Seeded, headers: dict[str, str]) -> None:
    answer = server.get(PARAM, headers=headers, token=False)
    assert_error(answer, 401, "Unauthorized")
    assert answer.json()["message"] == "Bad session token or header key"
    assert_error(server.get("/v1/prod/db", headers=headers, token=False), 401, "Unauthorized")


@pytest.mark.parametrize("name", ["x-aws-parameters-secrets-token", "X-AWS-PARAMETERS-SECRETS-TOKEN",
                                  "x-Aws-Parameters-Secrets-Token"])
def test_token_header_name_in_any_case(server: ServerProcess, seeded: Seeded, name: str) -> None:
    assert server.get(PARAM, headers={name: TOKEN}, token=False).status == 200


def test_ping_and_metrics_need_no_token(server: ServerProcess) -> None:
    ping = server.get("/ping", token=False)
    assert (ping.status, ping.body) == (200, b"healthy")
    assert server.get("/metrics", token=False).status == 200


def test_unknown_path(server: ServerProcess) -> None:
    assert_error(server.get("/systemsmanager/parameters"), 404, "NotFound")
    assert_error(server.get("/nope", token=False), 404, "NotFound")
    assert_error(server.get("/v1/"), 404, "NotFound")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
def test_methods_other_than_get(server: ServerProcess, method: str) -> None:
    answer = server.get(PARAM, method=method)
    assert answer.status == 405
    assert answer.headers["allow"] == "GET"
    if method != "HEAD":
        assert_error(answer, 405, "MethodNotAllowed")


@pytest.mark.parametrize(("query", "mentions"), [
    ("", "'name' is required"),
    ("name=", "'name' is required"),
    ("Name=/app/plain", "unknown query parameter 'Name'"),
    ("name=/app/plain&foo=1", "unknown query parameter 'foo'"),
    ("name=/app/plain&withDecryption=yes", "true or false"),
    ("name=/app/plain&refreshNow=1", "true or false"),
    ("name=/app/plain&version=abc", "positive integer"),
    ("name=/app/plain&version=0", "positive integer"),
    ("name=/app/plain&version=-1", "positive integer"),
    ("name=/app/plain&label=", "must not be empty"),
    ("name=/app/plain:1&version=1", "already carries a selector"),
    ("name=/app/plain&name=/app/list", "more than once"),
    ("name=%2", "percent-encoding"),
    ("name=%ff%fe", "not valid UTF-8"),
])
def test_bad_parameter_queries(server: ServerProcess, query: str, mentions: str) -> None:
    assert_error(server.get(f"/systemsmanager/parameters/get?{query}"), 400, "BadRequest", mentions)


@pytest.mark.parametrize(("path", "mentions"), [
    ("/secretsmanager/get", "'secretId' is required"),
    ("/secretsmanager/get?secretId=", "'secretId' is required"),
    ("/secretsmanager/get?secretid=x", "unknown query parameter 'secretid'"),
    ("/secretsmanager/get?secretId=x&versionStage=", "must not be empty"),
    ("/v1/x?secretId=y", "unknown query parameter 'secretId'"),
    ("/v1/x?refreshNow=maybe", "true or false"),
])
def test_bad_secret_queries(server: ServerProcess, path: str, mentions: str) -> None:
    assert_error(server.get(path), 400, "BadRequest", mentions)


def test_query_validation_comes_after_the_token(server: ServerProcess) -> None:
    assert_error(server.get("/systemsmanager/parameters/get?bogus=1", token=False), 401, "Unauthorized")


def test_body_on_get_is_refused_and_the_connection_closed(server: ServerProcess, seeded: Seeded) -> None:
    request = (f"GET {PARAM} HTTP/1.1\r\nHost: x\r\n{TOKEN_HEADER}: {TOKEN}\r\nContent-Length: 5\r\n\r\nhello"
               f"GET {PARAM} HTTP/1.1\r\nHost: x\r\n{TOKEN_HEADER}: {TOKEN}\r\n\r\n").encode()
    reply = raw_exchange(server.port, request)
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"Connection: close" in reply
    assert b"request body is not allowed" in reply
    assert reply.count(b"HTTP/1.1") == 1


def test_request_line_and_header_limits(server: ServerProcess) -> None:
    long_line = f"GET /ping?{'a' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    assert raw_exchange(server.port, long_line).startswith(b"HTTP/1.1 414 ")
    huge_header = f"GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: {'b' * 33000}\r\n\r\n".encode()
    reply = raw_exchange(server.port, huge_header)
    assert reply.startswith(b"HTTP/1.1 431 ") and b'"RequestTooLarge"' in reply
    many = "GET /ping HTTP/1.1\r\n" + "".join(f"X-H{i}: v\r\n" for i in range(101)) + "\r\n"
    assert raw_exchange(server.port, many.encode()).startswith(b"HTTP/1.1 431 ")
    exactly_100 = "GET /ping HTTP/1.1\r\n" + "".join(f"X-H{i}: v\r\n" for i in range(100)) + "\r\n"
    assert raw_exchange(server.port, exactly_100.encode(), read_until_close=False).startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize("garbage", [
    b"GARBAGE\r\n\r\n",
    b"GET /ping\r\n\r\n",
    b"GET ping HTTP/1.1\r\n\r\n",
    b"GET http://evil/ping HTTP/1.1\r\n\r\n",
    b"GET /ping HTTP/2.0\r\n\r\n",
    b"GET /ping HTTP/1.1\r\nBad Header: x\r\n\r\n",
    b"GET /ping HTTP/1.1\r\nHost : x\r\n\r\n",
    b"GET /ping HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
    b"GET /ping HTTP/1.1\r\nX: a\x00b\r\n\r\n",
    b"GET /ping HTTP/1.1\nHost: x\n\n",
    b"GET /ping HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
])
def test_malformed_http_gets_400_then_close(server: ServerProcess, garbage: bytes) -> None:
    reply = raw_exchange(server.port, garbage)
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n"), reply[:200]
    assert b"Connection: close" in reply
    assert b'"__type":"BadRequest"' in reply
    assert server.get("/ping").status == 200  # and the server is fine


def test_upstream_not_found(server: ServerProcess, seeded: Seeded) -> None:
    assert_error(server.get("/systemsmanager/parameters/get?name=/missing"), 404, "ParameterNotFound")
    assert_error(server.get("/systemsmanager/parameters/get?name=/app/versioned&version=9"), 404,
                 "ParameterVersionNotFound")
    assert_error(server.get("/secretsmanager/get?secretId=missing"), 404, "ResourceNotFoundException")


def test_upstream_unreachable_is_502(start: Callable[..., ServerProcess]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    server = start(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}")
    assert_error(server.get(PARAM), 502, "BadGateway")


@pytest.fixture
def silent_upstream() -> Iterator[int]:
    """A TCP server that accepts and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for sock in held:
        sock.close()
    listener.close()


def test_upstream_timeout_is_504(start: Callable[..., ServerProcess], silent_upstream: int) -> None:
    server = start(AWS_ENDPOINT_URL=f"http://127.0.0.1:{silent_upstream}", SSM_PARAMETER_STORE_TIMEOUT_MILLIS="200")
    assert_error(server.get(PARAM), 504, "GatewayTimeout", "did not answer within 0.2s")


def test_aws_error_mode(start: Callable[..., ServerProcess], seeded: Seeded) -> None:
    server = start(PARAMETERS_SECRETS_EXTENSION_ERROR_MODE="aws")
    answer = server.get("/systemsmanager/parameters/get?name=/missing")
    assert answer.status == 400
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.body == b"an unexpected error occurred while executing request"
    # Our own refusals keep their statuses; only upstream errors are made opaque.
    assert server.get(PARAM, token=False).status == 401
    assert server.get(PARAM).status == 200
