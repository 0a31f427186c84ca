"""The SDK protocol's cached reads decide with the same policy as the GET routes (one cache, one
reader): a hit for one protocol is a hit for the other, stale on transient failures, never on not
found, and a prefetch or GET fetch answers SDK reads without a call."""

from __future__ import annotations

import pytest

from paramsecrets.api.sdk.cached import CachedReads
from paramsecrets.api.sdk.wire import SdkError
from paramsecrets.testing.fake_upstream import Failure
from paramsecrets.testing.stack import Stack
from tests.policy.conftest import param

TTL = 100


async def test_a_get_route_fetch_is_an_sdk_hit_and_back() -> None:
    stack = Stack(ssm_ttl=TTL, secrets_ttl=TTL, revalidate_secrets=False)
    stack.upstream.put_parameter("/a", "v")
    stack.upstream.put_secret("s", "sv")
    reads = CachedReads(stack.service.front)
    assert (await stack.get(param("/a"))).cache == "miss"
    body, state, age = await reads.get_parameter({"Name": "/a"})
    assert (state, age) == (b"hit", 0) and b'"Value":"v"' in body
    _, state, _ = await reads.get_secret_value({"SecretId": "s"})
    assert state == b"miss"
    assert (await stack.get("/v1/s")).cache == "hit"
    stack.clock.advance(7)
    assert (await reads.get_secret_value({"SecretId": "s"}))[2] == 7
    assert stack.upstream.total() == 2


async def test_sdk_reads_serve_stale_on_transient_failures_and_back_off() -> None:
    stack = Stack(ssm_ttl=TTL, refresh_ahead=False)
    stack.upstream.put_parameter("/a", "v")
    reads = CachedReads(stack.service.front)
    await reads.get_parameter({"Name": "/a"})
    stack.clock.advance(TTL)
    stack.upstream.fail_always("GetParameter", Failure.THROTTLED)
    assert (await reads.get_parameter({"Name": "/a"}))[1] == b"stale"
    assert (await reads.get_parameter({"Name": "/a"}))[1] == b"stale"  # backing off: no call
    assert stack.upstream.calls["GetParameter"] == 2


async def test_sdk_reads_never_hide_not_found() -> None:
    stack = Stack(ssm_ttl=TTL, refresh_ahead=False)
    stack.upstream.put_parameter("/a", "v")
    reads = CachedReads(stack.service.front)
    await reads.get_parameter({"Name": "/a"})
    stack.clock.advance(TTL)
    stack.upstream.fail("GetParameter", Failure.NOT_FOUND)
    with pytest.raises(SdkError) as refused:
        await reads.get_parameter({"Name": "/a"})
    assert refused.value.code == "ParameterNotFound"
    assert len(stack.cache) == 0


async def test_sdk_batch_reads_use_the_same_planning() -> None:
    stack = Stack(ssm_ttl=TTL)
    for name in ("/b/1", "/b/2", "/b/3"):
        stack.upstream.put_parameter(name, "v")
    reads = CachedReads(stack.service.front)
    await stack.get(param("/b/1"))
    stack.clock.advance(1)
    _, state, _ = await reads.get_parameters({"Names": ["/b/1", "/b/2", "/b/missing"]})
    assert state == b"miss" and stack.upstream.asked["GetParameters"] == [["/b/2", "/b/missing"]]
    stack.clock.advance(1)
    _, state, age = await reads.get_parameters({"Names": ["/b/1", "/b/2"]})
    assert (state, age) == (b"hit", 2)
