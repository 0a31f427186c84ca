"""Route table, query validation and the guard's order, without a server."""

from __future__ import annotations

import pytest

from paramsecrets.http.parser import Request
from paramsecrets.routes import (
    METRICS,
    PING,
    ParameterRead,
    ParametersRead,
    PathRead,
    RequestError,
    Router,
    SecretRead,
    SecretsRead,
    parse_target,
    split_selector,
)
from paramsecrets.tokens import Token


@pytest.mark.parametrize(("name", "expected"), [
    ("/a/b", ("/a/b", None)), ("/a/b:3", ("/a/b", ":3")), ("name:Label", ("name", ":Label")),
    ("arn:aws:ssm:us-east-1:123:parameter/a", ("arn:aws:ssm:us-east-1:123:parameter/a", None)),
    ("arn:aws:ssm:us-east-1:123:parameter/a:7", ("arn:aws:ssm:us-east-1:123:parameter/a", ":7")),
    ("arn:aws-cn:ssm:cn-north-1:123:parameter/x/y:prod", ("arn:aws-cn:ssm:cn-north-1:123:parameter/x/y", ":prod")),
])
def test_split_selector(name: str, expected: tuple[str, str | None]) -> None:
    assert split_selector(name) == expected


def test_parameter_reads() -> None:
    assert parse_target(b"/systemsmanager/parameters/get?name=%2Fa&withDecryption=TRUE") == \
        ParameterRead("/a", None, True)
    read = parse_target(b"/systemsmanager/parameters/get/?name=/a&version=007")
    assert read == ParameterRead("/a:7", ":7", False)
    assert read.key == ("parameter", "/a:7", False)  # type: ignore[union-attr]
    assert parse_target(b"/systemsmanager/parameters/get?name=/a&refreshNow=true").refresh  # type: ignore[union-attr]
    assert parse_target(b"/systemsmanager/parameters/get?name=a+b").name == "a b"  # type: ignore[union-attr]


def test_secret_reads() -> None:
    assert parse_target(b"/secretsmanager/get?secretId=a%2Bb&versionStage=AWSPREVIOUS") == \
        SecretRead("a+b", None, "AWSPREVIOUS")
    assert parse_target(b"/v1/prod/db%2Fx+y?versionId=v1") == SecretRead("prod/db/x+y", "v1", None)


def test_batch_and_path_reads() -> None:
    many = parse_target(b"/systemsmanager/parameters/get-many?name=/a&name=/b&name=/a&withDecryption=true")
    assert many == ParametersRead(("/a", "/b"), True)
    assert parse_target(b"/systemsmanager/parameters/get-by-path?path=/app/") == PathRead("/app/", True, False)
    assert parse_target(b"/systemsmanager/parameters/get-by-path?path=/app&recursive=false").recursive is False  # type: ignore[union-attr]
    assert parse_target(b"/secretsmanager/get-many?secretId=a&secretId=b") == SecretsRead(("a", "b"))


@pytest.mark.parametrize("target", [
    b"/systemsmanager/parameters/get-many",
    b"/systemsmanager/parameters/get-many?name=" + b"&name=".join(b"/p%d" % i for i in range(101)),
    b"/systemsmanager/parameters/get-by-path?path=app",
    b"/secretsmanager/get-many?secretId=",
])
def test_batch_refusals(target: bytes) -> None:
    with pytest.raises(RequestError) as error:
        parse_target(target)
    assert error.value.status == 400


def request(target: bytes, token: bytes | None = b"tok", method: bytes = b"GET", **flags: bool) -> Request:
    req = Request(method, target, b"HTTP/1.1")
    req.token = token
    for name, value in flags.items():
        setattr(req, name, value)
    return req


@pytest.mark.parametrize(("req", "status"), [
    (request(b"/ping", forwarded=True), 400),
    (request(b"/nope", token=None, forwarded=True), 400),
    (request(b"/nope", token=None, method=b"POST"), 405),
    (request(b"/nope", token=None), 404),
    (request(b"/systemsmanager/parameters/get?bogus=1", token=b"bad"), 401),
    (request(b"/systemsmanager/parameters/get?bogus=1"), 400),
    (request(b"/systemsmanager/parameters/get?name=/a", has_body=True), 400),
])
def test_guard_order(req: Request, status: int) -> None:
    with pytest.raises(RequestError) as error:
        Router(Token("AWS_TOKEN", b"tok")).route(req)
    assert error.value.status == status


def test_open_routes_and_memo() -> None:
    router = Router(Token("AWS_TOKEN", b"tok"))
    assert router.route(request(b"/ping", token=None)) is PING
    assert router.route(request(b"/metrics", token=None)) is METRICS
    target = b"/systemsmanager/parameters/get?name=/a"
    first = router.route(request(target))
    with pytest.raises(RequestError):  # the memo never skips the token check
        router.route(request(target, token=b"other"))
    assert router.route(request(target)) is first
