"""Endpoint rules, error classification and the response shapes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paramsecrets.aws.endpoints import Endpoint, EndpointError, parse_endpoint_url, resolve
from paramsecrets.aws.errors import Kind, classify, from_response
from paramsecrets.cache import shapes


@pytest.mark.parametrize(("service", "suffix", "region", "env", "url"), [
    ("ssm", "SSM", "us-east-1", {}, "https://ssm.us-east-1.amazonaws.com/"),
    ("secretsmanager", "SECRETS_MANAGER", "eu-west-1", {}, "https://secretsmanager.eu-west-1.amazonaws.com/"),
    ("ssm", "SSM", "cn-north-1", {}, "https://ssm.cn-north-1.amazonaws.com.cn/"),
    ("ssm", "SSM", "us-gov-west-1", {}, "https://ssm.us-gov-west-1.amazonaws.com/"),
    ("ssm", "SSM", "us-east-1", {"AWS_USE_FIPS_ENDPOINT": "true"}, "https://ssm-fips.us-east-1.amazonaws.com/"),
    ("ssm", "SSM", "us-gov-west-1", {"AWS_USE_FIPS_ENDPOINT": "TRUE"}, "https://ssm.us-gov-west-1.amazonaws.com/"),
    ("secretsmanager", "SECRETS_MANAGER", "us-gov-east-1", {"AWS_USE_FIPS_ENDPOINT": "true"},
     "https://secretsmanager-fips.us-gov-east-1.amazonaws.com/"),
    ("ssm", "SSM", "us-iso-east-1", {}, "https://ssm.us-iso-east-1.c2s.ic.gov/"),
    ("ssm", "SSM", "us-east-1", {"AWS_ENDPOINT_URL": "http://localhost:4566"}, "http://localhost:4566/"),
    ("ssm", "SSM", "us-east-1", {"AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_SSM": "https://b"},
     "https://b/"),
    ("secretsmanager", "SECRETS_MANAGER", "us-east-1",
     {"AWS_ENDPOINT_URL_SSM": "https://b", "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://c:8080/x"}, "http://c:8080/x"),
    ("ssm", "SSM", "us-east-1", {"AWS_ENDPOINT_URL": "http://a:1", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
     "https://ssm.us-east-1.amazonaws.com/"),
])
def test_endpoints(service: str, suffix: str, region: str, env: dict[str, str], url: str) -> None:
    assert resolve(service, suffix, region, env).url == url


def test_endpoint_errors() -> None:
    with pytest.raises(EndpointError, match="AWS_ENDPOINT_URL_SSM"):
        resolve("ssm", "SSM", "us-east-1", {"AWS_ENDPOINT_URL_SSM": "localhost:4566"})
    with pytest.raises(EndpointError, match="not a valid region"):
        resolve("ssm", "SSM", "US East", {})


@pytest.mark.parametrize(("status", "code", "kind"), [
    (400, "ParameterNotFound", Kind.NOT_FOUND), (400, "ParameterVersionNotFound", Kind.NOT_FOUND),
    (400, "ResourceNotFoundException", Kind.NOT_FOUND), (400, "AccessDeniedException", Kind.DENIED),
    (403, "InvalidClientTokenId", Kind.DENIED), (400, "ExpiredTokenException", Kind.DENIED),
    (400, "KMSAccessDeniedException", Kind.DENIED), (400, "DecryptionFailure", Kind.DENIED),
    (400, "ThrottlingException", Kind.THROTTLED), (400, "TooManyRequestsException", Kind.THROTTLED),
    (500, "InternalServerError", Kind.UNAVAILABLE), (503, "", Kind.UNAVAILABLE),
    (400, "ValidationException", Kind.INVALID), (400, "InvalidParameterException", Kind.INVALID),
    (400, "InvalidRequestException", Kind.INVALID), (429, "Whatever", Kind.THROTTLED),
])
def test_classification(status: int, code: str, kind: Kind) -> None:
    assert classify(status, code) is kind
    assert kind.transient == (kind in (Kind.THROTTLED, Kind.UNAVAILABLE, Kind.TIMEOUT))


def test_error_bodies() -> None:
    json_error = from_response(400, None, b'{"__type":"com.amazonaws.ssm#ParameterNotFound","message":"gone"}')
    assert (json_error.code, json_error.message, json_error.status) == ("ParameterNotFound", "gone", 404)
    header = from_response(400, "ThrottlingException:http://internal.amazon.com/", b"{}")
    assert (header.code, header.status) == ("ThrottlingException", 429)
    xml = from_response(403, None, b"<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code>"
                                   b"<Message>bad sig</Message></Error></ErrorResponse>")
    assert (xml.code, xml.message, xml.status) == ("SignatureDoesNotMatch", "bad sig", 403)
    bare = from_response(502, None, b"<html>bad gateway</html>")
    assert (bare.code, bare.status) == ("HTTP502", 502)


def test_dates_keys_and_escaping() -> None:
    assert shapes.go_time_json(1668586960.362) == "2022-11-16T08:22:40.362Z"
    assert shapes.go_time_json(1668586960.36) == "2022-11-16T08:22:40.36Z"  # Go trims trailing zeros
    assert shapes.go_time_json(1668586960.3) == "2022-11-16T08:22:40.3Z"
    assert shapes.go_time_json(1668586960) == "2022-11-16T08:22:40Z"  # and prints no fraction at all
    assert shapes.go_time_json(1668586960.0) == "2022-11-16T08:22:40Z"
    assert shapes.go_time_json(1668586960.9996) == "2022-11-16T08:22:40.999Z"  # truncated, as smithy-go does
    assert shapes.go_time_json(-0.5) == "1969-12-31T23:59:59.5Z"  # towards zero, then Go's normalisation
    body = shapes.parameter_body({"Value": "<&>\u2028é", "Name": "/n", "Type": "String", "Version": 2,
                                  "LastModifiedDate": 1668586960.362, "ARN": "a", "DataType": "text"}, ":2")
    assert body == ('{"Parameter":{"ARN":"a","DataType":"text","LastModifiedDate":"2022-11-16T08:22:40.362Z",'
                    '"Name":"/n","Selector":":2","SourceResult":null,"Type":"String",'
                    '"Value":"\\u003c\\u0026\\u003e\\u2028é","Version":2},"ResultMetadata":{}}').encode()
    assert json.loads(body)["Parameter"]["Value"] == "<&>\u2028é"


def test_item_framing_round_trips() -> None:
    parameter = {"Name": "/n", "Value": "v", "Type": "String", "Version": 1}
    body = shapes.parameter_body(parameter)
    assert json.loads(shapes.parameter_item_bytes(body)) == shapes.parameter_item(parameter)
    secret = {"Name": "s", "SecretString": "x", "VersionStages": ["AWSCURRENT"], "CreatedDate": 0}
    assert json.loads(shapes.secret_item_bytes(shapes.secret_body(secret))) == shapes.secret_item(secret)
    many = shapes.parameters_body_from_items([shapes.parameter_item_bytes(body)], ["/x"])
    assert json.loads(many) == {"Parameters": [shapes.parameter_item(parameter)], "InvalidParameters": ["/x"],
                                "ResultMetadata": {}}


def test_one_parameter_never_twice_in_a_get_parameters_call() -> None:
    from paramsecrets.aws.ssm import distinct_batches, parameter_identity

    arn = "arn:aws:ssm:us-east-1:123456789012:parameter/app/x"
    assert {parameter_identity(name) for name in ("/app/x", "/app/x:3", "/app/x:prod", arn, arn + ":2")} == {"app/x"}
    names = ["/app/x", "/app/x:1", "/app/y", arn, *[f"/p{i}" for i in range(12)]]
    batches = distinct_batches(names, 10)
    assert sorted(name for batch in batches for name in batch) == sorted(names)
    for batch in batches:
        assert len(batch) <= 10
        assert len({parameter_identity(name) for name in batch}) == len(batch)


def test_answers_pair_with_their_names() -> None:
    from paramsecrets.cache.reader import match_parameters

    found = [{"Name": "/x", "Selector": ":1", "Version": 1, "ARN": "arn:aws:ssm:r:1:parameter/x"},
             {"Name": "/y", "Version": 4, "ARN": "arn:aws:ssm:r:1:parameter/y"}]
    matched = match_parameters(["/x:1", "arn:aws:ssm:r:1:parameter/y", "/z"], found)
    assert matched == {"/x:1": found[0], "arn:aws:ssm:r:1:parameter/y": found[1]}


def _urlsplit_reading(url: str) -> str | None:
    """The reference: what `urllib.parse.urlsplit` makes of an endpoint URL (None: refused)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return Endpoint(parts.scheme, parts.hostname, port, parts.path or "/").url


def _our_reading(url: str) -> str | None:
    try:
        return parse_endpoint_url("AWS_ENDPOINT_URL", url).url
    except EndpointError:
        return None


URL_PIECES = {
    "scheme": st.sampled_from(["http://", "https://", "HTTPS://", "ftp://", "http:/", "http:", "", "://"]),
    "user": st.sampled_from(["", "user@", "user:pw@", "a@b@"]),
    "host": st.sampled_from(["localhost", "LocalStack.Internal", "127.0.0.1", "[::1]", "[::ffff:10.0.0.1]",
                             "[1.2.3.4]", "[::1", "::1]", "", "a:b", "xn--bcher-kva.example"]),
    "port": st.sampled_from(["", ":", ":2773", ":0", ":080", ":0000000443", ":65535", ":65536", ":99999999999",
                             ":12a", ":-1", ": 80", ":١٢"]),
    "path": st.sampled_from(["", "/", "/x", "/a/b/", "/p:8/q"]),
    "tail": st.sampled_from(["", "?", "?q=1", "#f", "?q#f/", "#/x?y", "  "]),
}


@settings(max_examples=2000, deadline=None)
@given(**URL_PIECES)
def test_endpoint_urls_are_read_as_urlsplit_reads_them(scheme: str, user: str, host: str, port: str, path: str,
                                                        tail: str) -> None:
    url = scheme + user + host + port + path + tail
    assert _our_reading(url) == _urlsplit_reading(url), url


@pytest.mark.parametrize(("url", "message"), [
    ("http://[::1", "not a valid endpoint URL"),  # urlsplit raised a bare ValueError here
    ("http://localhost:99999", "invalid port"),
    ("http://localhost:8o", "invalid port"),
    ("localhost:4566", "not a valid endpoint URL"),
])
def test_bad_endpoint_urls_name_the_problem(url: str, message: str) -> None:
    with pytest.raises(EndpointError, match=message):
        parse_endpoint_url("AWS_ENDPOINT_URL_SSM", url)
