"""Remembered errors, exactly: not found, denied and invalid are remembered for ERROR_TTL (at most
the service's TTL; 0 = never); throttling, 5xx, network failures and timeouts never are;
refreshNow skips a remembered error; an SDK-protocol write drops it; a remembered error is
answered with `X-Paramsecrets-Cache: hit` and counted in /metrics."""

from __future__ import annotations

import pytest

from paramsecrets.api.sdk.forward import Forwarder
from paramsecrets.aws.endpoints import Endpoint
from paramsecrets.aws.settings import AwsSettings
from paramsecrets.testing.fake_upstream import Failure
from paramsecrets.testing.stack import Stack
from tests.policy.conftest import many, param, secrets_many


async def test_two_reads_of_a_missing_name_within_the_error_ttl_cost_one_call() -> None:
    stack = Stack()  # the default ERROR_TTL: 5 s
    first = await stack.get(param("/missing"))
    assert (first.status, first.json["__type"], first.cache) == (404, "ParameterNotFound", None)
    stack.clock.advance(4.9)
    again = stack.answered_at_once(param("/missing"))  # answered inline: no call, no wait
    assert (again.status, again.json["__type"], again.cache) == (404, "ParameterNotFound", "hit")
    assert stack.upstream.calls["GetParameter"] == 1
    stack.clock.advance(0.1)
    assert (await stack.get(param("/missing"))).cache is None  # 5 s later: asked again
    assert stack.upstream.calls["GetParameter"] == 2
    assert (stack.metrics.error_hits, stack.metrics.errors_remembered) == (1, 2)
    text = stack.metrics.render(0, 0).decode()
    assert "paramsecrets_cached_error_answers_total 1" in text
    assert "paramsecrets_errors_remembered_total 2" in text


async def test_a_missing_secret_and_the_aws_profile() -> None:
    stack = Stack()
    assert (await stack.get("/v1/nothing")).status == 404
    answer = stack.answered_at_once("/v1/nothing", profile="aws")
    assert (answer.status, answer.cache, answer.headers["x-paramsecrets-error"]) == (
        400, "hit", "ResourceNotFoundException")
    assert stack.upstream.calls["GetSecretValue"] == 1


@pytest.mark.parametrize("failure", [Failure.NOT_FOUND, Failure.DENIED], ids=lambda f: f.value)
async def test_denied_is_remembered_too(failure: Failure) -> None:
    stack = Stack()
    stack.upstream.put_parameter("/p", "v")
    stack.upstream.fail("GetParameter", failure)
    first = await stack.get(param("/p"))
    assert (await stack.get(param("/p"))).status == first.status
    assert stack.upstream.calls["GetParameter"] == 1


@pytest.mark.parametrize("failure", [Failure.THROTTLED, Failure.SERVER_ERROR, Failure.NETWORK, Failure.TIMEOUT],
                         ids=lambda f: f.value)
async def test_transient_failures_are_never_remembered(failure: Failure) -> None:
    stack = Stack()
    stack.upstream.put_parameter("/p", "v")
    stack.upstream.fail("GetParameter", failure)
    assert (await stack.get(param("/p"))).status >= 429
    assert (await stack.get(param("/p"))).status == 200
    assert stack.upstream.calls["GetParameter"] == 2
    assert len(stack.reader.errors) == 0


async def test_the_error_ttl_is_at_most_the_service_ttl_and_zero_turns_it_off() -> None:
    capped = Stack(ssm_ttl=2, error_ttl=5)
    await capped.get(param("/missing"))
    capped.clock.advance(1.9)
    assert (await capped.get(param("/missing"))).cache == "hit"
    capped.clock.advance(0.1)
    assert (await capped.get(param("/missing"))).cache is None
    assert capped.upstream.calls["GetParameter"] == 2
    off = Stack(error_ttl=0)
    for _ in range(3):
        await off.get(param("/missing"))
    assert off.upstream.calls["GetParameter"] == 3


async def test_refresh_now_skips_a_remembered_error() -> None:
    stack = Stack()
    await stack.get(param("/late"))
    stack.upstream.put_parameter("/late", "here now")
    assert (await stack.get(param("/late"))).status == 404  # remembered
    answer = await stack.get(param("/late", refresh=True))
    assert (answer.status, answer.cache) == (200, "refresh")
    assert stack.upstream.calls["GetParameter"] == 2


async def test_an_sdk_write_drops_the_remembered_error() -> None:
    stack = Stack()
    await stack.get(param("/late"))
    await stack.get("/v1/later")
    aws = AwsSettings("us-east-1", Endpoint("http", "127.0.0.1", 9), Endpoint("http", "127.0.0.1", 9))
    forwarder = Forwarder(aws, stack.cache, stack.ready, 1, stack.reader.flights, errors=stack.reader.errors)
    forwarder.invalidate("ssm", "PutParameter", {"Name": "/late", "Value": "x"})
    forwarder.invalidate("secretsmanager", "CreateSecret", {"Name": "later"})  # not a write we track
    stack.upstream.put_parameter("/late", "here now")
    assert (await stack.get(param("/late"))).status == 200
    assert (await stack.get("/v1/later")).cache == "hit"
    forwarder.invalidate("secretsmanager", "PutSecretValue", {"SecretId": "later"})
    assert (await stack.get("/v1/later")).cache is None


async def test_batch_reads_use_and_fill_remembered_errors() -> None:
    stack = Stack()
    stack.upstream.put_parameter("/a", "v")
    first = await stack.get(many(["/a", "/gone"]))
    assert first.json["InvalidParameters"] == ["/gone"]
    stack.clock.advance(1)
    await stack.get(many(["/gone"]))  # the remembered error answers the only name: no call
    assert stack.upstream.calls["GetParameters"] == 1
    answer = await stack.get(secrets_many(["x", "y"]))
    assert [error["SecretId"] for error in answer.json["Errors"]] == ["x", "y"]
    again = await stack.get(secrets_many(["y", "x"]))
    assert [error["ErrorCode"] for error in again.json["Errors"]] == ["ResourceNotFoundException"] * 2
    assert stack.upstream.calls["BatchGetSecretValue"] == 1
