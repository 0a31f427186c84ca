"""Pure parts of the SDK protocol: page tokens, what a write invalidates, request validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from paramsecrets.api import profiles
from paramsecrets.api.sdk import items, wire
from paramsecrets.api.sdk.cached import NEXT_TOKEN_PREFIX, page_offset
from paramsecrets.api.sdk.invalidation import doomed_by, secret_names
from paramsecrets.api.sdk.wire import SdkError
from paramsecrets.cache import shapes
from paramsecrets.cache.keys import Key
from paramsecrets.cache.keys import ParameterKey as P
from paramsecrets.cache.keys import PathKey as D
from paramsecrets.cache.keys import SecretKey as S
from paramsecrets.cache.reader import aws_item, aws_items
from paramsecrets.cache.store import Entry

PARAMETER: dict[str, Any] = {"Name": "/a/b", "Type": "String", "Value": "<x> & \u2028 \"q\"", "Version": 3,
             "Selector": ":3", "LastModifiedDate": 1700000000.123456, "ARN": "arn:aws:ssm:us-east-1:1:parameter/a/b",
             "DataType": "text"}


def entry(key: Any, body: bytes, wire_fields: bytes) -> Entry:
    return Entry(key, body, 0.0, 60.0, wire_fields)


def test_items_are_rebuilt_exactly_as_aws_sent_them() -> None:
    stored = entry(P("/a/b:3", False), shapes.parameter_body(PARAMETER), aws_item(PARAMETER))
    assert items.parameter(stored) == PARAMETER
    assert b"<x>" not in stored.wire  # the value is held once, in the extension's body
    plain: dict[str, Any] = {"Name": "s", "ARN": "arn:s", "VersionId": "v1", "SecretString": "",
                             "VersionStages": ["AWSCURRENT"], "CreatedDate": 1.5}
    binary: dict[str, Any] = {"Name": "b", "ARN": "arn:b", "VersionId": "v2", "SecretBinary": "AAEC",
                              "VersionStages": ["AWSCURRENT"], "CreatedDate": 2}
    for secret in (plain, binary):
        assert items.secret(entry(S(secret["Name"]), shapes.secret_body(secret),
                                  aws_item(secret))) == secret


def test_path_listings_keep_aws_order_and_values() -> None:
    listing = [dict(PARAMETER, Name="/p/z", Value="last"), dict(PARAMETER, Name="/p/a", Value="first,\n]")]
    body = shapes.parameters_body([shapes.parameter_item(p) for p in sorted(listing, key=lambda p: p["Name"])])
    assert items.path(entry(D("/p", True, False), body, aws_items(listing))) == listing
    assert items.path(entry(D("/p", True, False), shapes.parameters_body([]), aws_items([]))) == []


def test_page_tokens() -> None:
    assert page_offset(None) == 0
    assert page_offset(NEXT_TOKEN_PREFIX + "20") == 20
    for foreign in ("AAAA", NEXT_TOKEN_PREFIX, NEXT_TOKEN_PREFIX + "-1", NEXT_TOKEN_PREFIX + "1" * 7,
                    NEXT_TOKEN_PREFIX + "٣", 5):
        assert page_offset(foreign) is None


def test_parameter_writes_invalidate_every_form_of_the_name_and_covering_paths() -> None:
    doomed = doomed_by("ssm", "PutParameter", {"Name": "/app/db/url", "Value": "v"})
    assert doomed is not None
    covered: list[Key] = [P("/app/db/url", False), P("app/db/url", True),
                          P("/app/db/url:3", False), P("/app/db/url:prod", True),
                          P("arn:aws:ssm:us-east-1:123456789012:parameter/app/db/url", False),
                          D("/app", True, False), D("/app/db", False, True), D("/", True, False)]
    for key in covered:
        assert doomed(key), key
    untouched: list[Key] = [P("/app/db/url2", False), D("/app", False, False), D("/other", True, True),
                            S("/app/db/url", None, None)]
    for key in untouched:
        assert not doomed(key), key
    many = doomed_by("ssm", "DeleteParameters", {"Names": ["/a", "/b"]})
    assert many is not None and many(P("/b", False))


def test_secret_writes_invalidate_names_and_arns() -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
    assert secret_names(arn) == {"prod/db-AbCdEf", "prod/db"}
    doomed = doomed_by("secretsmanager", "PutSecretValue", {"SecretId": arn, "SecretString": "x"})
    assert doomed is not None
    assert doomed(S("prod/db", None, None))
    assert doomed(S(arn, "v1", None))
    assert doomed(S("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db", None, "AWSCURRENT"))
    assert not doomed(S("prod/db2", None, None))
    assert not doomed(P("prod/db", False))


def test_reads_and_unknown_operations_invalidate_nothing() -> None:
    assert doomed_by("ssm", "DescribeParameters", {}) is None
    assert doomed_by("ssm", "AddTagsToResource", {"ResourceId": "/a"}) is None
    assert doomed_by("secretsmanager", "ListSecrets", {}) is None
    assert doomed_by("ssm", "PutParameter", {"Name": 5}) is None


@pytest.mark.parametrize(("body", "code"), [
    (b"{", "SerializationException"), (b"[]", "SerializationException"), (b'"x"', "SerializationException"),
    (b"[" * 100000, "SerializationException"),
])
def test_bodies_that_are_not_a_json_object(body: bytes, code: str) -> None:
    with pytest.raises(SdkError) as caught:
        wire.document(body)
    assert caught.value.code == code


def test_field_validation_uses_aws_codes() -> None:
    assert wire.document(b"") == {}
    with pytest.raises(SdkError, match="ValidationException"):
        wire.text({}, "Name", required=True)
    with pytest.raises(SdkError, match="ValidationException"):
        wire.text({"Name": ""}, "Name")
    with pytest.raises(SdkError, match="SerializationException"):
        wire.text({"Name": 3}, "Name")
    with pytest.raises(SdkError, match="SerializationException"):
        wire.flag({"WithDecryption": "true"}, "WithDecryption")
    with pytest.raises(SdkError, match="ValidationException"):
        wire.names({"Names": [f"/{i}" for i in range(11)]}, "Names", 10)
    with pytest.raises(SdkError, match="ValidationException"):
        wire.integer({"MaxResults": 11}, "MaxResults", 1, 10, 10)
    assert wire.names({"Names": ["/a", "/a", "/b"]}, "Names", 10) == ("/a", "/b")


def test_error_answers_have_aws_shape() -> None:
    raw = profiles.sdk_error(SdkError("ParameterNotFound", "Parameter /x not found."), keep_alive=True)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"Content-Type: application/x-amz-json-1.1" in head
    assert b"x-amzn-ErrorType: ParameterNotFound" in head
    assert b"x-amzn-RequestId: " in head
    assert json.loads(body) == {"__type": "ParameterNotFound", "message": "Parameter /x not found."}


def test_a_fetch_running_during_a_write_does_not_keep_its_value() -> None:
    import asyncio

    from paramsecrets.api.sdk.forward import Forwarder
    from paramsecrets.cache.keys import ParameterKey
    from paramsecrets.cache.store import Cache, Flights

    async def scenario() -> tuple[bool, bool]:
        cache, flights = Cache(10, 1 << 20, jitter=0), Flights()
        key = ParameterKey("/a", False)
        fetch: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        flights.claim(key, fetch)  # a GetParameter of /a is on its way to AWS
        forwarder = Forwarder(None, cache, None, 1, flights)  # type: ignore[arg-type]
        forwarder.invalidate("ssm", "PutParameter", {"Name": "/a", "Value": "new"})
        cache.store(key, b"old", 60, 0.0)  # the fetch stores what it read before the write
        cache.store(ParameterKey("/b", False), b"other", 60, 0.0)
        fetch.set_result(None)
        await asyncio.sleep(0)  # done callbacks run
        return cache.peek(key) is None, cache.peek(ParameterKey("/b", False)) is not None

    assert asyncio.run(scenario()) == (True, True)
