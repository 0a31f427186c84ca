"""Route table, query validation and the guard's order, without a server."""

from __future__ import annotations

import pytest

from paramsecrets.api.routes import (
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
)
from paramsecrets.api.tokens import Token
from paramsecrets.cache.keys import ParameterKey, split_selector
from paramsecrets.http.parser import Request


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
    assert read.key == ParameterKey("/a:7", False) and read.alternate == ParameterKey("/a:7", True)
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
    return Request(method, target, b"HTTP/1.1", token=token, **flags)  # type: ignore[arg-type]


@pytest.mark.parametrize(("req", "status"), [
    (request(b"/ping", forwarded=True), 400),
    (request(b"/nope", token=None, forwarded=True), 400),
    (request(b"/nope", token=None, method=b"POST"), 405),
    (request(b"/nope", token=None), 404),
    (request(b"/systemsmanager/parameters/get?bogus=1", token=b"bad"), 401),
    (request(b"/systemsmanager/parameters/get?bogus=1"), 400),
    (request(b"/systemsmanager/parameters/get?name=/a", has_body=True), 400),
    (request(b"/systemsmanager/parameters/get?name=/a", method=b"HEAD"), 405),
])
def test_guard_order(req: Request, status: int) -> None:
    with pytest.raises(RequestError) as error:
        Router(Token("AWS_TOKEN", b"tok")).route(req, strict=False)
    assert error.value.status == status
    with pytest.raises(RequestError) as strict_error:  # the same order in both profiles
        Router(Token("AWS_TOKEN", b"tok")).route(req, strict=True)
    assert strict_error.value.status == status


def test_open_routes_and_memo() -> None:
    router = Router(Token("AWS_TOKEN", b"tok"))
    assert router.route(request(b"/ping", token=None), strict=False) is PING
    assert router.route(request(b"/metrics", token=None), strict=True) is METRICS
    target = b"/systemsmanager/parameters/get?name=/a"
    first = router.route(request(target), strict=False)
    with pytest.raises(RequestError):  # the memo never skips the token check
        router.route(request(target, token=b"other"), strict=False)
    assert router.route(request(target), strict=False) is first
    lenient_only = b"/systemsmanager/parameters/get?name=/a&unused=1"
    assert router.route(request(lenient_only), strict=False) == first
    with pytest.raises(RequestError):  # one memo per way of reading: the strict read still refuses it
        router.route(request(lenient_only), strict=True)


GET = b"/systemsmanager/parameters/get?"


@pytest.mark.parametrize(("query", "expected"), [
    (b"name=/a&foo=1&Name=/b", ParameterRead("/a", None, False)),  # unused names are ignored
    (b"name=/a&name=/b", ParameterRead("/a", None, False)),  # the first of a repeat wins
    (b"name=/a&withDecryption=1", ParameterRead("/a", None, True)),
    (b"name=/a&withDecryption=t", ParameterRead("/a", None, True)),
    (b"name=/a&withDecryption=T", ParameterRead("/a", None, True)),
    (b"name=/a&withDecryption=TRUE", ParameterRead("/a", None, True)),
    (b"name=/a&withDecryption=True", ParameterRead("/a", None, True)),
    (b"name=/a&withDecryption=true&withDecryption=nonsense", ParameterRead("/a", None, True)),
    (b"name=/a&withDecryption=0", ParameterRead("/a", None, False)),
    (b"name=/a&withDecryption=F", ParameterRead("/a", None, False)),
    (b"name=/a&withDecryption=False", ParameterRead("/a", None, False)),
    (b"name=/a&label=", ParameterRead("/a", None, False)),  # empty selectors read as absent
    (b"name=/a&version=", ParameterRead("/a", None, False)),
    (b"name=/a&label=Dev&version=2", ParameterRead("/a:Dev", ":Dev", False)),  # the first selector wins
    (b"name=/a&bad=%zz", ParameterRead("/a", None, False)),  # Go drops a pair it cannot unescape
    (b"name=/a&x;y=1", ParameterRead("/a", None, False)),  # and a pair with a semicolon
    (b"name=/b%zz&name=/a", ParameterRead("/a", None, False)),
])
def test_go_style_parameter_queries(query: bytes, expected: ParameterRead) -> None:
    assert parse_target(GET + query, strict=False) == expected


@pytest.mark.parametrize("query", [
    b"", b"name=", b"foo=1", b"name=/a&withDecryption=tRuE", b"name=/a&withDecryption=yes",
    b"name=/a&withDecryption=", b"name=/a&refreshNow=2", b"name=/a&version=abc", b"name=/a&version=0",
    b"name=/a:1&version=1", b"name=%ff",
])
def test_go_style_refusals(query: bytes) -> None:
    with pytest.raises(RequestError) as error:
        parse_target(GET + query, strict=False)
    assert error.value.status == 400


@pytest.mark.parametrize("query", [b"name=/a&foo=1", b"name=/a&name=/b", b"name=/a&label=", b"name=/a&x;y=1",
                                   b"name=/a&bad=%zz"])
def test_strict_refusals(query: bytes) -> None:
    with pytest.raises(RequestError):
        parse_target(GET + query, strict=True)


def test_strict_takes_go_booleans_and_any_case() -> None:
    for value, expected in ((b"1", True), (b"t", True), (b"tRuE", True), (b"0", False), (b"FaLsE", False)):
        assert parse_target(GET + b"name=/a&withDecryption=" + value, strict=True).decrypt is expected  # type: ignore[union-attr]


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("digits", [20, 4301, 100_000])
def test_long_versions_are_refused_before_conversion(strict: bool, digits: int) -> None:
    with pytest.raises(RequestError) as error:  # int() of 4,301+ digits raises ValueError: a 500 before
        parse_target(GET + b"name=/a&version=" + b"1" * digits, strict=strict)
    assert error.value.status == 400
    assert parse_target(GET + b"name=/a&version=" + b"9" * 19, strict=strict).name == "/a:" + "9" * 19  # type: ignore[union-attr]


def test_cloud_extensions_path_route() -> None:
    """/secretsmanager/<id>: slashes kept, %2F decoded, `+` kept, /secretsmanager/get's query names."""
    assert parse_target(b"/secretsmanager/prod/db") == SecretRead("prod/db", None, None)
    assert parse_target(b"/secretsmanager/prod%2Fdb?versionStage=AWSPREVIOUS&refreshNow=1") == \
        SecretRead("prod/db", None, "AWSPREVIOUS", True)
    assert parse_target(b"/secretsmanager/a+b").secret_id == "a+b"  # type: ignore[union-attr]
    assert parse_target(b"/secretsmanager/get?secretId=get") == SecretRead("get", None, None)  # `get`: query route
    with pytest.raises(RequestError) as caught:
        parse_target(b"/secretsmanager/get")  # the query route, which needs secretId
    assert caught.value.status == 400
    with pytest.raises(RequestError) as caught:
        parse_target(b"/secretsmanager/db?secretId=x")  # strict: the id is in the path
    assert "secretId" in caught.value.message
    with pytest.raises(RequestError) as caught:
        parse_target(b"/secretsmanager/")
    assert caught.value.status == 404


def test_refusals_name_the_reason() -> None:
    router = Router(Token("AWS_TOKEN", b"t" * 16))
    for token, reason in ((None, "MISSING_AUTHENTICATION"), (b"wrong", "INVALID_TOKEN")):
        with pytest.raises(RequestError) as caught:
            router.route(Request(b"GET", b"/secretsmanager/db", b"HTTP/1.1", token), strict=True)
        assert (caught.value.status, caught.value.reason) == (401, reason)
    assert router.route(Request(b"GET", b"/secretsmanager/db", b"HTTP/1.1"), strict=True,
                        authenticated=True) == SecretRead("db", None, None)
