"""Every error, in both answer profiles, over real HTTP against moto (and the fault proxy).

The default profile answers as the AWS extension does: `400` and its one sentence for every
failure but a bad token (`401`), text/plain, the code only in `X-Paramsecrets-Error`. The detailed
profile (`X-Paramsecrets-Profile: detailed`, or ERROR_MODE=detailed) gives the real status and a
`{"__type","message"}` body. The server keeps serving after each.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from paramsecrets.testing.fault_proxy import FaultProxy
from paramsecrets.testing.net import raw_exchange
from paramsecrets.testing.server import PROFILE_HEADER, TOKEN, TOKEN_HEADER, Response, ServerProcess
from tests.integration.conftest import Seeded

PARAM = "/systemsmanager/parameters/get?name=/app/plain"
SECRET = "/secretsmanager/get?secretId=prod/db"
AWS_TEXT = b"an unexpected error occurred while executing request"
TEXT = "text/plain; charset=utf-8"


def assert_detailed(answer: Response, status: int, code: str, contains: str = "") -> None:
    assert answer.status == status, answer.body
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-paramsecrets-error"] == code
    assert "date" in answer.headers
    document = answer.json()
    assert list(document) == ["__type", "message"]
    assert document["__type"] == code
    assert contains in document["message"]
    assert TOKEN not in answer.body.decode()
    assert "Traceback" not in answer.body.decode()


def assert_aws(answer: Response, code: str) -> None:
    """The AWS extension's answer: 400 and its sentence (401 and its sentence for the token)."""
    if code == "Unauthorized":
        assert (answer.status, answer.body) == (401, b"Bad session token or header key")
    else:
        assert (answer.status, answer.body) == (400, AWS_TEXT), answer.headers
    assert answer.headers["content-type"] == TEXT
    assert answer.headers["x-paramsecrets-error"] == code
    assert "date" in answer.headers


def both(server: ServerProcess, path: str, **options: object) -> tuple[Response, Response]:
    """The same request in the default profile and in the detailed one."""
    return server.get(path, **options), server.get(path, detailed=True, **options)  # type: ignore[arg-type]


# ---- the guard: X-Forwarded-For, token, path, method --------------------------------------


def test_forwarded_is_refused_first(server: ServerProcess, seeded: Seeded) -> None:
    default, detailed = both(server, PARAM, headers={"X-Forwarded-For": "10.0.0.1"})
    assert_aws(default, "Forwarded")
    assert_detailed(detailed, 400, "Forwarded")
    default, detailed = both(server, PARAM, headers={"x-forwarded-for": "1.2.3.4"}, token=False)
    assert_aws(default, "Forwarded")
    assert_detailed(detailed, 400, "Forwarded")


@pytest.mark.parametrize("headers", [
    {},
    {TOKEN_HEADER: "wrong"},
    {TOKEN_HEADER: TOKEN + "x"},
    {TOKEN_HEADER: TOKEN[:-1]},
    {"X-Aws-Parameters-Secrets-Tokens": TOKEN},
])
def test_bad_or_missing_token_is_401_in_both_profiles(server: ServerProcess, seeded: Seeded,
                                                      headers: dict[str, str]) -> None:
    for path in (PARAM, "/v1/prod/db", "/systemsmanager/parameters/get-many?name=/app/plain"):
        default, detailed = both(server, path, headers=headers, token=False)
        assert_aws(default, "Unauthorized")
        assert_detailed(detailed, 401, "Unauthorized")
        assert detailed.json()["message"] == "Bad session token or header key"


@pytest.mark.parametrize("name", ["x-aws-parameters-secrets-token", "X-AWS-PARAMETERS-SECRETS-TOKEN",
                                  "x-Aws-Parameters-Secrets-Token"])
def test_token_header_name_in_any_case(server: ServerProcess, seeded: Seeded, name: str) -> None:
    assert server.get(PARAM, headers={name: TOKEN}, token=False).status == 200


def test_ping_and_metrics_need_no_token(server: ServerProcess) -> None:
    ping = server.get("/ping", token=False)
    assert (ping.status, ping.body) == (200, b"healthy")
    assert "date" in ping.headers
    assert server.get("/metrics", token=False).status == 200


@pytest.mark.parametrize(("path", "token"), [
    ("/secretsmanager/", True),  # observed on the AWS extension: 400
    ("/systemsmanager/parameters", True),
    ("/nope", False),
    ("/v1/", True),
])
def test_unknown_path(server: ServerProcess, path: str, token: bool) -> None:
    default, detailed = both(server, path, token=token)
    assert_aws(default, "NotFound")
    assert_detailed(detailed, 404, "NotFound")


DATA_PATHS = [PARAM, SECRET]
OWN_PATHS = ["/systemsmanager/parameters/get-many?name=/app/plain",
             "/systemsmanager/parameters/get-by-path?path=/app/", "/secretsmanager/get-many?secretId=prod/db",
             "/v1/prod/db", "/ping", "/metrics"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "HEAD", "TRACE", "OPTIONS"])
def test_methods_other_than_get(server: ServerProcess, seeded: Seeded, method: str) -> None:
    for path in DATA_PATHS + OWN_PATHS:
        default, detailed = both(server, path, method=method)
        assert detailed.status == 405, (method, path)
        assert detailed.headers["allow"] == "GET"
        assert detailed.headers["x-paramsecrets-error"] == "MethodNotAllowed"
        if method == "HEAD":  # the same headers, no body
            assert default.status == 400 and default.body == b""
            assert default.headers["content-length"] == str(len(AWS_TEXT))
            assert default.headers["x-paramsecrets-error"] == "MethodNotAllowed"
        else:
            assert_aws(default, "MethodNotAllowed")
            assert "allow" not in default.headers
            assert_detailed(detailed, 405, "MethodNotAllowed")
    assert server.get(PARAM).status == 200


def test_a_post_with_a_body_is_answered_and_closed(server: ServerProcess, seeded: Seeded) -> None:
    request = (f"POST {PARAM} HTTP/1.1\r\nHost: x\r\n{TOKEN_HEADER}: {TOKEN}\r\nContent-Length: 5\r\n\r\nhello"
               f"GET {PARAM} HTTP/1.1\r\nHost: x\r\n{TOKEN_HEADER}: {TOKEN}\r\n\r\n").encode()
    reply = raw_exchange(server.port, request)
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"Connection: close" in reply and reply.endswith(AWS_TEXT)
    assert reply.count(b"HTTP/1.1") == 1  # nothing inside the body was read as a request


# ---- queries --------------------------------------------------------------------------------

# (query, what the detailed profile says, whether the default profile (Go's reading) accepts it)
PARAMETER_QUERIES = [
    ("", "'name' is required", False),
    ("name=", "'name' is required", False),
    ("Name=/app/plain", "unknown query parameter 'Name'", False),  # names are case-sensitive
    ("name=/app/plain&foo=1", "unknown query parameter 'foo'", True),  # Go ignores names it does not use
    ("name=/app/plain&withDecryption=yes", "true or false", False),
    ("name=/app/plain&withDecryption=tRuE", "", False),  # detailed: any case; Go: not a boolean
    ("name=/app/plain&refreshNow=1", "", True),  # strconv.ParseBool takes 1 (detailed too)
    ("name=/app/plain&version=abc", "positive integer", False),
    ("name=/app/plain&version=0", "positive integer", False),
    ("name=/app/plain&version=-1", "positive integer", False),
    ("name=/app/plain&version=" + "1" * 4301, "positive integer", False),  # once a 500 (int() of 4,301 digits)
    ("name=/app/plain&label=", "must not be empty", True),  # Go reads an empty selector as absent
    ("name=/app/plain:1&version=1", "already carries a selector", False),
    ("name=/app/plain&name=/app/list", "more than once", True),  # Go: the first wins
    ("name=%2", "percent-encoding", False),
    ("name=%ff%fe", "not valid UTF-8", False),
]


@pytest.mark.parametrize(("query", "mentions", "go_accepts"), PARAMETER_QUERIES)
def test_parameter_queries(server: ServerProcess, seeded: Seeded, query: str, mentions: str,
                           go_accepts: bool) -> None:
    default, detailed = both(server, f"/systemsmanager/parameters/get?{query}")
    if mentions:
        assert_detailed(detailed, 400, "BadRequest", mentions)
    else:
        assert detailed.status == 200
    if go_accepts:
        assert default.status == 200, default.headers
        assert default.json()["Parameter"]["Name"] == "/app/plain"
    else:
        assert_aws(default, "BadRequest")


SECRET_QUERIES = [
    ("/secretsmanager/get", "'secretId' is required", False),  # observed on the AWS extension: 400
    ("/secretsmanager/get?secretId=", "'secretId' is required", False),
    ("/secretsmanager/get?secretid=prod/db", "unknown query parameter 'secretid'", False),
    ("/secretsmanager/get?secretId=prod/db&versionStage=", "must not be empty", True),
    ("/secretsmanager/get?secretId=prod/db&other=1", "unknown query parameter 'other'", True),
    ("/secretsmanager/get?secretId=prod/db&secretId=blob", "more than once", True),
    ("/v1/prod/db?secretId=y", "unknown query parameter 'secretId'", True),
    ("/v1/prod/db?refreshNow=maybe", "true or false", False),
]


@pytest.mark.parametrize(("path", "mentions", "go_accepts"), SECRET_QUERIES)
def test_secret_queries(server: ServerProcess, seeded: Seeded, path: str, mentions: str, go_accepts: bool) -> None:
    default, detailed = both(server, path)
    assert_detailed(detailed, 400, "BadRequest", mentions)
    if go_accepts:
        assert default.status == 200
        assert default.json()["Name"] == "prod/db"
    else:
        assert_aws(default, "BadRequest")


def test_query_validation_comes_after_the_token(server: ServerProcess) -> None:
    default, detailed = both(server, "/systemsmanager/parameters/get?bogus=1", token=False)
    assert_aws(default, "Unauthorized")
    assert_detailed(detailed, 401, "Unauthorized")


def test_unknown_profile_is_a_detailed_400(server: ServerProcess, seeded: Seeded) -> None:
    answer = server.get(PARAM, headers={PROFILE_HEADER: "verbose"})
    assert_detailed(answer, 400, "BadRequest", "X-Paramsecrets-Profile must be one of: aws, detailed")
    assert server.get(PARAM, headers={PROFILE_HEADER: "DETAILED"}).headers["content-type"] == "application/json"
    assert server.get(PARAM, headers={PROFILE_HEADER: "aws"}).headers["content-type"] == TEXT


# ---- bodies and transport-level refusals ------------------------------------------------------


@pytest.mark.parametrize("detailed", [False, True])
def test_body_on_get_is_refused_and_the_connection_closed(server: ServerProcess, seeded: Seeded,
                                                          detailed: bool) -> None:
    profile = f"{PROFILE_HEADER}: detailed\r\n" if detailed else ""
    request = (f"GET {PARAM} HTTP/1.1\r\nHost: x\r\n{TOKEN_HEADER}: {TOKEN}\r\n{profile}Content-Length: 5\r\n\r\n"
               f"hello"
               f"GET {PARAM} HTTP/1.1\r\nHost: x\r\n{TOKEN_HEADER}: {TOKEN}\r\n\r\n").encode()
    reply = raw_exchange(server.port, request)
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"Connection: close" in reply and b"X-Paramsecrets-Error: BadRequest" in reply
    assert (b"request body is not allowed" in reply) if detailed else reply.endswith(AWS_TEXT)
    assert reply.count(b"HTTP/1.1") == 1


def test_request_line_and_header_limits(server: ServerProcess) -> None:
    long_line = f"GET /ping?{'a' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    assert raw_exchange(server.port, long_line).startswith(b"HTTP/1.1 414 ")
    huge_header = f"GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: {'b' * 33000}\r\n\r\n".encode()
    reply = raw_exchange(server.port, huge_header)
    assert reply.startswith(b"HTTP/1.1 431 ") and b'"RequestTooLarge"' in reply
    assert b"X-Paramsecrets-Error: RequestTooLarge\r\n" in reply
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
    """Answered before any header is read, so in one form whatever the profile (as Go's net/http
    answers malformed requests itself, before the extension's handler sees them)."""
    reply = raw_exchange(server.port, garbage)
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n"), reply[:200]
    assert b"Connection: close" in reply
    assert b'"__type":"BadRequest"' in reply and b"X-Paramsecrets-Error: BadRequest\r\n" in reply
    assert server.get("/ping").status == 200  # and the server is fine


# ---- upstream failures, each class in both profiles --------------------------------------------


@pytest.mark.parametrize(("path", "code"), [
    ("/systemsmanager/parameters/get?name=/missing", "ParameterNotFound"),
    ("/systemsmanager/parameters/get?name=/app/versioned&version=9", "ParameterVersionNotFound"),
    ("/secretsmanager/get?secretId=missing", "ResourceNotFoundException"),
    ("/v1/missing", "ResourceNotFoundException"),
])
def test_upstream_not_found(server: ServerProcess, seeded: Seeded, path: str, code: str) -> None:
    default, detailed = both(server, path)
    assert_aws(default, code)
    assert_detailed(detailed, 404, code)


def test_a_process_can_default_to_the_detailed_profile(start: Callable[..., ServerProcess], seeded: Seeded) -> None:
    server = start(PARAMETERS_SECRETS_EXTENSION_ERROR_MODE="detailed")
    assert_detailed(server.get("/systemsmanager/parameters/get?name=/missing"), 404, "ParameterNotFound")
    assert_detailed(server.get(PARAM, method="POST"), 405, "MethodNotAllowed")
    assert server.get(PARAM).headers["content-type"] == "application/json"
    # ... and a request can still ask for the AWS extension's answers.
    assert_aws(server.get("/systemsmanager/parameters/get?name=/missing", headers={PROFILE_HEADER: "aws"}),
               "ParameterNotFound")


@pytest.mark.parametrize(("status", "code", "answered"), [
    (400, "AccessDeniedException", 403),
    (400, "ValidationException", 400),
    (400, "ThrottlingException", 429),  # after the retries
    (500, "InternalServerError", 502),
])
@pytest.mark.parametrize("path", [PARAM, SECRET])
def test_upstream_refusals(start: Callable[..., ServerProcess], seeded: Seeded, proxy: FaultProxy,
                           path: str, status: int, code: str, answered: int) -> None:
    server = start(AWS_ENDPOINT_URL=proxy.url, PARAMETERS_SECRETS_EXTENSION_ERROR_TTL="0")  # each read asks AWS
    proxy.fail(status, code=code, message="refused by the test")
    default, detailed = both(server, path)
    assert_aws(default, code)
    assert_detailed(detailed, answered, code, "refused by the test")
    proxy.pass_through()
    assert server.get(path).status == 200


@pytest.mark.parametrize("path", [PARAM, SECRET])
def test_upstream_unreachable(start: Callable[..., ServerProcess], path: str) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    server = start(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}")
    default, detailed = both(server, path)
    assert_aws(default, "BadGateway")
    assert_detailed(detailed, 502, "BadGateway")


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


@pytest.mark.parametrize("path", [PARAM, SECRET])
def test_upstream_timeout(start: Callable[..., ServerProcess], silent_upstream: int, path: str) -> None:
    server = start(AWS_ENDPOINT_URL=f"http://127.0.0.1:{silent_upstream}", SSM_PARAMETER_STORE_TIMEOUT_MILLIS="200",
                   SECRETS_MANAGER_TIMEOUT_MILLIS="200")
    default, detailed = both(server, path)
    assert_aws(default, "GatewayTimeout")
    assert_detailed(detailed, 504, "GatewayTimeout", "did not answer within 0.2s")


def test_the_log_says_what_the_client_got(start: Callable[..., ServerProcess], seeded: Seeded) -> None:
    server = start(PARAMETERS_SECRETS_EXTENSION_ERROR_TTL="0")  # both reads ask AWS, both are logged
    both(server, "/systemsmanager/parameters/get?name=/missing")
    server.get(PARAM, method="DELETE")
    server.stop()
    output = server.output()
    assert "upstream error ParameterNotFound: " in output
    assert "ParameterNotFound" in output and "(answered 400)" in output and "(answered 404)" in output
    assert "refused request: MethodNotAllowed, method DELETE is not allowed; use GET (answered 400)" in output
