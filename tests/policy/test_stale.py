"""Stale on error, exactly: transient failures are hidden behind the last good value for at most
`max_staleness` past expiry; not-found, denied and invalid never are; refreshNow never answers
stale; after a failed fetch the entry backs off and reads get the stale value without a call; a
read with a stale fallback waits STALE_PATIENCE_S (on the clock) for a slow fetch.
(Replaces the timed loops of tests/faults/test_stale.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from paramsecrets.cache.front import STALE_PATIENCE_S
from paramsecrets.testing.fake_upstream import Failure
from paramsecrets.testing.stack import Stack
from tests.policy.conftest import BY_PATH, SECRET, T0, entry, many, param, q, secrets_many, value

TTL = 100
EPS = 2 ** -10  # a step the clock's floats hold exactly
TRANSIENT = [Failure.THROTTLED, Failure.SERVER_ERROR, Failure.NETWORK, Failure.TIMEOUT]
STATUS = {Failure.THROTTLED: 429, Failure.SERVER_ERROR: 502, Failure.NETWORK: 502, Failure.TIMEOUT: 504,
          Failure.NOT_FOUND: 404, Failure.DENIED: 403}


async def cached(stack: Stack, target: str) -> None:
    answer = await stack.get(target)
    assert (answer.status, answer.cache) == (200, "miss"), answer


async def test_stale_from_expiry_until_max_staleness_then_the_error() -> None:
    stack = Stack(ssm_ttl=TTL, max_staleness=50, refresh_ahead=False)
    stack.upstream.put_parameter("/a", "good")
    await cached(stack, param("/a"))
    stack.upstream.fail_always("GetParameter", Failure.SERVER_ERROR)

    stack.clock.advance(TTL - EPS)
    assert stack.answered_at_once(param("/a")).cache == "hit"
    stack.clock.advance(EPS)  # expired: a fetch, failing, so the stale value
    first = await stack.get(param("/a"))
    assert (first.status, first.cache, value(first), first.age) == (200, "stale", "good", TTL)
    assert stack.upstream.calls["GetParameter"] == 2
    # Backing off (draw 0: half of 1 s): answered stale at once, no call.
    again = stack.answered_at_once(param("/a"))
    assert (again.cache, value(again)) == ("stale", "good")
    assert stack.upstream.calls["GetParameter"] == 2
    stack.clock.advance(0.5)  # the retry time: one more attempt, then 1 s of back-off
    assert (await stack.get(param("/a"))).cache == "stale"
    assert stack.upstream.calls["GetParameter"] == 3
    assert entry(stack, "/a").retry_after == T0 + TTL + 0.5 + 1.0
    stack.clock.advance(50 - 0.5 - EPS)  # the last moment of the window
    last = await stack.get(param("/a"))
    assert (last.cache, last.age) == ("stale", TTL + 49)
    stack.clock.advance(EPS)
    error = await stack.get(param("/a"))
    assert (error.status, error.json) == (502, {"__type": "ServiceUnavailable", "message": "Service Unavailable"})
    assert stack.metrics.stale == 4
    stack.upstream.recover()
    recovered = await stack.get(param("/a"))
    assert (recovered.status, recovered.cache, value(recovered)) == (200, "miss", "good")


@pytest.mark.parametrize("failure", TRANSIENT, ids=lambda f: f.value)
async def test_every_transient_fault_is_served_stale_and_backs_off(failure: Failure) -> None:
    stack = Stack(ssm_ttl=TTL, refresh_ahead=False)
    stack.upstream.put_parameter("/t", "good")
    await cached(stack, param("/t"))
    stack.clock.advance(TTL)
    stack.upstream.fail("GetParameter", failure)
    stale = await stack.get(param("/t"))
    assert (stale.status, stale.cache, value(stale)) == (200, "stale", "good")
    held = entry(stack, "/t")
    assert (held.failures, held.retry_after) == (1, T0 + TTL + 0.5)
    for _ in range(5):  # while it backs off: stale at once, no call
        assert stack.answered_at_once(param("/t")).cache == "stale"
    assert stack.upstream.calls["GetParameter"] == 2
    stack.clock.advance(0.5)  # retry time: AWS is back
    assert (await stack.get(param("/t"))).cache == "miss"
    assert stack.upstream.calls["GetParameter"] == 3


async def test_a_slow_fetch_is_answered_stale_after_the_patience_and_still_updates_the_cache() -> None:
    stack = Stack(ssm_ttl=TTL, refresh_ahead=False)
    stack.upstream.put_parameter("/slow", "old")
    await cached(stack, param("/slow"))
    stack.clock.advance(TTL)
    stack.upstream.put_parameter("/slow", "new")
    stack.upstream.latency("GetParameter", 10)
    waiting = await stack.start(param("/slow"))
    stack.clock.advance(STALE_PATIENCE_S - EPS)
    await stack.clock.settle()
    assert not waiting.done()
    stack.clock.advance(EPS)
    await stack.clock.settle()
    answer = waiting.result()
    assert (answer.cache, value(answer)) == ("stale", "old")
    await stack.clock.run(10)  # the fetch goes on and lands at TTL + 10
    hit = stack.answered_at_once(param("/slow"))
    assert (hit.cache, value(hit), hit.age) == ("hit", "new", 0)  # fetched when it landed: TTL + 10
    assert entry(stack, "/slow").fetched_at == T0 + TTL + 10
    assert stack.upstream.calls["GetParameter"] == 2


async def test_without_a_stale_value_a_slow_fetch_is_waited_for() -> None:
    stack = Stack(ssm_ttl=TTL)
    stack.upstream.put_parameter("/w", "v")
    stack.upstream.latency("GetParameter", 10)
    waiting = await stack.start(param("/w"))
    stack.clock.advance(10 - EPS)
    await stack.clock.settle()
    assert not waiting.done()
    await stack.clock.run(EPS)
    assert (waiting.result().cache, value(waiting.result())) == ("miss", "v")


async def test_path_and_secret_routes_serve_stale() -> None:
    stack = Stack(ssm_ttl=TTL, secrets_ttl=TTL, refresh_ahead=False, revalidate_secrets=False)
    for name in ("/m/a", "/m/b"):
        stack.upstream.put_parameter(name, "v" + name[-1])
    stack.upstream.put_secret("s", "sv")
    for target in (BY_PATH + "/m/", SECRET + "s", "/v1/s"):
        await stack.get(target)
    stack.clock.advance(TTL)
    for operation in ("GetParametersByPath", "GetSecretValue"):
        stack.upstream.fail_always(operation, Failure.SERVER_ERROR)
    path = await stack.get(BY_PATH + "/m/")
    secret = await stack.get(SECRET + "s")
    assert (path.cache, [p["Name"] for p in path.json["Parameters"]]) == ("stale", ["/m/a", "/m/b"])
    assert (secret.cache, secret.json["SecretString"]) == ("stale", "sv")
    assert stack.metrics.stale == 2


async def test_batch_routes_serve_stale_per_item() -> None:
    stack = Stack(ssm_ttl=TTL, secrets_ttl=TTL, refresh_ahead=False, revalidate_secrets=False)
    for name in ("/m/a", "/m/b"):
        stack.upstream.put_parameter(name, "v" + name[-1])
    stack.upstream.put_secret("s", "sv")
    await stack.get(many(["/m/a", "/m/b"]))
    await stack.get(secrets_many(["s"]))
    stack.clock.advance(TTL)
    stack.upstream.fail_always("GetParameters", Failure.SERVER_ERROR)
    stack.upstream.fail_always("BatchGetSecretValue", Failure.THROTTLED)
    parameters = await stack.get(many(["/m/a", "/m/b"]))
    secrets = await stack.get(secrets_many(["s"]))
    assert (parameters.status, parameters.cache) == (200, "stale")
    assert [p["Value"] for p in parameters.json["Parameters"]] == ["va", "vb"]
    assert (secrets.cache, secrets.json["SecretValues"][0]["SecretString"]) == ("stale", "sv")
    assert stack.metrics.stale == 2 + 1  # get-many counts per item
    # backing off now: answered stale, no new call
    assert (await stack.get(many(["/m/a", "/m/b"]))).cache == "stale"
    assert stack.upstream.calls["GetParameters"] == 2


@pytest.mark.parametrize("failure", [Failure.NOT_FOUND, Failure.DENIED], ids=lambda f: f.value)
async def test_not_found_and_denied_are_never_hidden_and_drop_the_value(failure: Failure) -> None:
    stack = Stack(ssm_ttl=TTL, refresh_ahead=False, error_ttl=0)
    stack.upstream.put_parameter("/gone", "old")
    await cached(stack, param("/gone"))
    stack.clock.advance(TTL)
    stack.upstream.fail("GetParameter", failure)
    answer = await stack.get(param("/gone"))
    assert answer.status == STATUS[failure]
    assert len(stack.cache) == 0  # AWS said gone (or no longer ours): not resurrected later
    stack.upstream.fail("GetParameter", Failure.SERVER_ERROR)
    assert (await stack.get(param("/gone"))).status == 502
    assert stack.metrics.stale == 0


async def test_a_deleted_secret_is_never_hidden() -> None:
    stack = Stack(secrets_ttl=TTL, refresh_ahead=False)
    stack.upstream.put_secret("gone", "old")
    await cached(stack, "/v1/gone")
    del stack.upstream.secrets.secrets["gone"]
    stack.clock.advance(TTL)
    answer = await stack.get("/v1/gone")
    assert (answer.status, answer.json["__type"]) == (404, "ResourceNotFoundException")


async def test_refresh_now_never_serves_stale() -> None:
    stack = Stack(ssm_ttl=TTL, refresh_ahead=False)
    stack.upstream.put_parameter("/r", "good")
    await cached(stack, param("/r"))
    stack.upstream.fail_always("GetParameter", Failure.SERVER_ERROR)
    stack.upstream.fail_always("GetParameters", Failure.SERVER_ERROR)
    fresh = await stack.get(param("/r", refresh=True))
    assert (fresh.status, fresh.json["__type"]) == (502, "ServiceUnavailable")
    assert stack.answered_at_once(param("/r")).cache == "hit"  # the failed refresh did not evict it
    stack.clock.advance(TTL)
    expired = await stack.get(param("/r", refresh=True))
    assert expired.status == 502
    assert stack.answered_at_once(param("/r")).cache == "stale"  # backing off; a plain read still may
    assert (await stack.get(many(["/r"], refresh=True))).status == 502


@pytest.mark.parametrize("settings", [{"stale_on_error": False}, {"max_staleness": 0}], ids=["off", "zero-window"])
async def test_stale_off_or_a_zero_window_answers_the_error_at_expiry(settings: dict[str, Any]) -> None:
    stack = Stack(ssm_ttl=TTL, refresh_ahead=False, **settings)
    stack.upstream.put_parameter("/off", "good")
    await cached(stack, param("/off"))
    stack.upstream.fail_always("GetParameter", Failure.THROTTLED)
    stack.clock.advance(TTL - EPS)
    assert stack.answered_at_once(param("/off")).cache == "hit"
    stack.clock.advance(EPS)
    answer = await stack.get(param("/off"))
    assert (answer.status, answer.json["__type"]) == (429, "ThrottlingException")
    assert stack.metrics.stale == 0


async def test_a_plain_read_of_a_decrypted_string_serves_its_stale_value_too() -> None:
    stack = Stack(ssm_ttl=TTL, refresh_ahead=False)
    stack.upstream.put_parameter("/v", "plain")
    await cached(stack, param("/v", decrypt=True))
    assert stack.answered_at_once(param("/v")).cache == "hit"  # a String: the same answer either way
    stack.clock.advance(TTL)
    stack.upstream.fail_always("GetParameter", Failure.SERVER_ERROR)
    assert (await stack.get(param("/v"))).cache == "stale"
    assert q("/v") == "/v"


async def test_a_fetch_failing_after_the_window_closed_answers_the_error() -> None:
    """The window is checked when the fetch fails, not only when the read began."""
    stack = Stack(ssm_ttl=TTL, max_staleness=50, refresh_ahead=False)
    stack.upstream.put_parameter("/edge", "good")
    await cached(stack, param("/edge"))
    stack.clock.advance(TTL + 50 - 0.25)  # inside the window
    stack.upstream.latency("GetParameter", 0.375)  # fails after the window, before the patience ends
    stack.upstream.fail("GetParameter", Failure.SERVER_ERROR)
    waiting = await stack.start(param("/edge"))
    await stack.clock.run(0.375)
    assert waiting.result().status == 502
    assert stack.metrics.stale == 0
