"""Refresh ahead, coalescing and TTL jitter, exactly: a hit in the last 20% of the TTL starts one
background refresh; parameters and current secrets are gathered for REFRESH_GATHER_S and refreshed
in batches (GetParameters x10, BatchGetSecretValue x20); a failed refresh keeps the value and backs
off; jitter (an injected draw) shortens TTLs by up to 10%. (Replaces the timed loops of
tests/faults/test_refresh_ahead.py.)"""

from __future__ import annotations

import itertools

import pytest

from paramsecrets.cache.batching import REFRESH_GATHER_S
from paramsecrets.cache.keys import ParameterKey
from paramsecrets.cache.policy import TTL_JITTER
from paramsecrets.testing.fake_upstream import Failure
from paramsecrets.testing.stack import Stack
from tests.policy.conftest import BY_PATH, SECRET, T0, entry, many, param, secrets_many, value

TTL = 10
WINDOW = 8.0  # 80% of the TTL
STEP = 0.5  # a hot key: read every half second of fake time


async def test_a_hot_key_never_misses_across_several_ttls_and_picks_up_new_values() -> None:
    stack = Stack(ssm_ttl=TTL)
    stack.upstream.put_parameter("/hot", "v0")
    assert (await stack.get(param("/hot"))).cache == "miss"
    stack.upstream.put_parameter("/hot", "v1")
    seen = set()
    for _ in range(int(5 * TTL / STEP)):
        await stack.clock.run(STEP)
        answer = stack.answered_at_once(param("/hot"))  # never waits: always a hit
        seen.add(value(answer))
        assert answer.cache == "hit" and answer.age < TTL
    assert seen == {"v0", "v1"}
    # One refresh per window, each a GetParameters gathered for 20 ms after the first hit in it:
    # hits at 8.0, then 8.02 + 8 -> 16.5, 16.52 + 8 -> 25.0, ...
    refreshed = [round(at - T0, 6) for at, operation, _ in stack.upstream.log if operation == "GetParameters"]
    expected, fetched = [], 0.0
    for read in (STEP * n for n in range(1, int(5 * TTL / STEP) + 1)):
        if read >= fetched + WINDOW:
            fetched = read + REFRESH_GATHER_S
            expected.append(round(fetched, 6))
    assert refreshed == expected and len(expected) == 5
    assert stack.upstream.calls["GetParameter"] == 1
    assert stack.metrics.refresh_ahead == 5


async def test_many_hits_in_the_window_start_one_refresh() -> None:
    stack = Stack(ssm_ttl=TTL)
    stack.upstream.put_parameter("/busy", "v")
    await stack.get(param("/busy"))
    gate = stack.upstream.hold("GetParameters")  # a slow refresh: hits keep landing while it runs
    stack.clock.advance(WINDOW)
    for _ in range(100):
        assert stack.answered_at_once(param("/busy")).cache == "hit"
    await stack.clock.run(REFRESH_GATHER_S)
    for _ in range(100):
        assert stack.answered_at_once(param("/busy")).cache == "hit"
    assert stack.upstream.calls["GetParameters"] == 1 and gate.waiting == 1
    gate.open()
    await stack.clock.settle()
    assert stack.upstream.asked["GetParameters"] == [["/busy"]]
    assert stack.metrics.refresh_ahead == 1 and entry(stack, "/busy").fetched_at == T0 + WINDOW + REFRESH_GATHER_S


async def test_refreshes_are_gathered_into_batches_of_ten_and_twenty() -> None:
    stack = Stack(ssm_ttl=TTL, secrets_ttl=TTL, revalidate_secrets=False)  # by version: test_revalidation.py
    names = [f"/g/{i:02d}" for i in range(23)]
    ids = [f"s{i:02d}" for i in range(21)]
    for name in names:
        stack.upstream.put_parameter(name, "v")
    for secret_id in ids:
        stack.upstream.put_secret(secret_id, "s")
    stack.upstream.put_parameter("/g/secure", "k", "SecureString")
    targets = [param(name) for name in names] + [SECRET + i for i in ids] + [param("/g/secure", decrypt=True)]
    for target in targets:
        await stack.get(target)
    stack.clock.advance(WINDOW)
    for target in targets:
        stack.answered_at_once(target)
    await stack.clock.run(REFRESH_GATHER_S - 2 ** -10)
    assert stack.upstream.calls["GetParameters"] == 0  # still gathering
    await stack.clock.run(2 ** -10)
    # 23 plain names: 3 calls (10, 10, 3); the decrypting read: its own group, 1 call; 21 secrets: 2 calls
    assert sorted(len(batch) for batch in stack.upstream.asked["GetParameters"]) == [1, 3, 10, 10]
    assert sorted(len(batch) for batch in stack.upstream.asked["BatchGetSecretValue"]) == [1, 20]
    assert stack.upstream.calls["GetSecretValue"] == 21  # only the first misses
    assert stack.metrics.refresh_ahead == 23 + 21 + 1


async def test_hot_secret_versions_and_paths_refresh_one_by_one_and_never_miss() -> None:
    stack = Stack(ssm_ttl=TTL, secrets_ttl=TTL, revalidate_secrets=False)  # by version: test_revalidation.py
    stack.upstream.put_parameter("/p/a", "x")
    stack.upstream.put_secret("s", "v")
    targets = [BY_PATH + "/p/", SECRET + "s&versionStage=AWSCURRENT"]
    for target in targets:
        assert (await stack.get(target)).cache == "miss"
    for _ in range(int(3 * TTL / STEP)):
        await stack.clock.run(STEP)
        assert {stack.answered_at_once(target).cache for target in targets} == {"hit"}
    assert stack.upstream.calls["GetParametersByPath"] == 1 + 3
    assert stack.upstream.calls["GetSecretValue"] == 1 + 3
    assert stack.upstream.calls["GetParameters"] == stack.upstream.calls["BatchGetSecretValue"] == 0


async def test_a_hot_batch_read_never_misses() -> None:
    stack = Stack(ssm_ttl=TTL, secrets_ttl=TTL, revalidate_secrets=False)  # by version: test_revalidation.py
    for name in ("/b/1", "/b/2"):
        stack.upstream.put_parameter(name, "v")
    stack.upstream.put_secret("s", "v")
    assert (await stack.get(many(["/b/1", "/b/2"]))).cache == "miss"
    assert (await stack.get(secrets_many(["s"]))).cache == "miss"
    for _ in range(int(3 * TTL / STEP)):
        await stack.clock.run(STEP)
        assert (await stack.get(many(["/b/1", "/b/2"]))).cache == "hit"
        assert (await stack.get(secrets_many(["s"]))).cache == "hit"
    assert stack.upstream.calls["GetParameters"] == 1 + 3 and stack.upstream.calls["BatchGetSecretValue"] == 1 + 3


async def test_a_failed_refresh_keeps_the_value_and_backs_off_before_trying_again() -> None:
    stack = Stack(ssm_ttl=TTL, stale_on_error=False)
    stack.upstream.put_parameter("/keep", "v")
    await stack.get(param("/keep"))
    stack.upstream.fail("GetParameters", Failure.SERVER_ERROR)
    stack.clock.advance(WINDOW)
    assert stack.answered_at_once(param("/keep")).cache == "hit"
    await stack.clock.run(REFRESH_GATHER_S)
    held = entry(stack, "/keep")
    failed_at = T0 + WINDOW + REFRESH_GATHER_S
    assert (held.failures, held.refreshing, held.retry_after) == (1, False, failed_at + 0.5)
    assert held.fetched_at == T0  # the value is kept
    await stack.clock.run(0.25)
    assert stack.answered_at_once(param("/keep")).cache == "hit"
    await stack.clock.run(REFRESH_GATHER_S)
    assert stack.upstream.calls["GetParameters"] == 1  # backing off: no refresh started
    stack.clock.advance_to(failed_at + 0.5)
    assert stack.answered_at_once(param("/keep")).cache == "hit"  # the retry time: a refresh again
    await stack.clock.run(REFRESH_GATHER_S)
    assert stack.upstream.calls["GetParameters"] == 2
    assert entry(stack, "/keep").fetched_at == failed_at + 0.5 + REFRESH_GATHER_S
    assert stack.metrics.refresh_ahead == 2


async def test_ttl_jitter_spreads_entries_fetched_together_by_the_drawn_fraction() -> None:
    draws = itertools.cycle([n / 20 for n in range(20)])
    stack = Stack(ssm_ttl=TTL, jitter=TTL_JITTER, draw=lambda: next(draws), refresh_ahead=False,
                  stale_on_error=False)
    names = [f"/j/{i:02d}" for i in range(20)]
    for name in names:
        stack.upstream.put_parameter(name, "v")
    await stack.get(many(names[:10]))
    await stack.get(many(names[10:]))
    expiries = sorted(entry(stack, name).expires_at - T0 for name in names)
    assert expiries == pytest.approx(sorted(TTL * (1 - TTL_JITTER * n / 20) for n in range(20)), abs=1e-6)
    # an entry is a hit until its own expiry, then a miss
    first = min(names, key=lambda name: entry(stack, name).expires_at)
    stack.clock.advance_to(entry(stack, first).expires_at - 2 ** -10)
    assert stack.answered_at_once(param(first)).cache == "hit"
    stack.clock.advance(2 ** -10)
    assert (await stack.get(param(first))).cache == "miss"


async def test_without_refresh_ahead_a_hot_key_misses_at_expiry() -> None:
    stack = Stack(ssm_ttl=TTL, refresh_ahead=False)
    stack.upstream.put_parameter("/cold", "v")
    await stack.get(param("/cold"))
    for _ in range(int(TTL / STEP) - 1):
        await stack.clock.run(STEP)
        assert stack.answered_at_once(param("/cold")).cache == "hit"
    await stack.clock.run(STEP)
    assert (await stack.get(param("/cold"))).cache == "miss"
    assert stack.metrics.refresh_ahead == 0 and stack.upstream.calls["GetParameters"] == 0
    assert stack.cache.peek(ParameterKey("/cold", True)) is None
