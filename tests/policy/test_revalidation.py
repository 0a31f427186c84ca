"""Revalidation by version, exactly: a due secret costs one DescribeSecret, and GetSecretValue (or
BatchGetSecretValue) only when the version its selector resolves to has changed; a pinned
versionId is extended with no call; DescribeSecret denied falls back to fetching for the process,
with one warning; a read never fails because of revalidation."""

from __future__ import annotations

from typing import Any

from paramsecrets.cache.batching import REFRESH_GATHER_S
from paramsecrets.cache.keys import SecretKey
from paramsecrets.testing.fake_upstream import Failure
from paramsecrets.testing.stack import Stack
from tests.policy.conftest import T0, entry, secrets_many

TTL = 100


def calls(stack: Stack) -> dict[str, int]:
    return {operation: count for operation, count in stack.upstream.calls.items() if count}


async def cached_secret(stack: Stack, target: str = "/v1/db") -> None:
    answer = await stack.get(target)
    assert answer.status == 200 and answer.cache == "miss"
    await stack.clock.settle()  # the background DescribeSecret that learns the rotation schedule


async def test_an_unchanged_secret_past_its_ttl_costs_one_describe_and_keeps_its_bytes() -> None:
    stack = Stack(secrets_ttl=TTL, refresh_ahead=False)
    stack.upstream.put_secret("db", "v1")
    await cached_secret(stack)
    assert calls(stack) == {"GetSecretValue": 1, "DescribeSecret": 1}
    held = entry(stack, SecretKey("db"))
    stack.clock.advance(TTL)
    answer = await stack.get("/v1/db")
    assert (answer.status, answer.json["SecretString"]) == (200, "v1")
    assert calls(stack) == {"GetSecretValue": 1, "DescribeSecret": 2}
    renewed = entry(stack, SecretKey("db"))
    assert renewed.body is held.body and renewed.wire is held.wire
    assert (renewed.fetched_at, renewed.expires_at) == (T0 + TTL, T0 + 2 * TTL)
    assert stack.metrics.revalidated == 1
    assert stack.answered_at_once("/v1/db").cache == "hit"


async def test_a_changed_secret_costs_one_describe_and_one_fetch_and_returns_the_new_value() -> None:
    stack = Stack(secrets_ttl=TTL, refresh_ahead=False)
    stack.upstream.put_secret("db", "v1")
    await cached_secret(stack)
    stack.upstream.put_secret("db", "v2")
    stack.clock.advance(TTL)
    answer = await stack.get("/v1/db")
    assert (answer.json["SecretString"], answer.json["VersionId"]) == ("v2", "version-2")
    assert calls(stack) == {"GetSecretValue": 2, "DescribeSecret": 2}
    assert stack.metrics.revalidated == 0


async def test_an_asked_stage_is_resolved_by_its_own_label() -> None:
    stack = Stack(secrets_ttl=TTL, refresh_ahead=False)
    stack.upstream.put_secret("db", "v1")
    stack.upstream.put_secret("db", "v2")  # v1 is AWSPREVIOUS now
    target = "/v1/db?versionStage=AWSPREVIOUS"
    assert (await stack.get(target)).json["SecretString"] == "v1"
    await stack.clock.settle()
    stack.clock.advance(TTL)
    assert (await stack.get(target)).json["SecretString"] == "v1"  # AWSPREVIOUS still names version-1
    assert calls(stack) == {"GetSecretValue": 1, "DescribeSecret": 2}
    stack.upstream.put_secret("db", "v3")  # AWSPREVIOUS moves to version-2
    stack.clock.advance(TTL)
    assert (await stack.get(target)).json["SecretString"] == "v2"
    assert calls(stack) == {"GetSecretValue": 2, "DescribeSecret": 3}


async def test_a_pinned_version_is_extended_without_any_call() -> None:
    stack = Stack(secrets_ttl=TTL, refresh_ahead=False)
    stack.upstream.put_secret("db", "v1")
    target = "/v1/db?versionId=version-1"
    assert (await stack.get(target)).cache == "miss"
    await stack.clock.settle()
    assert calls(stack) == {"GetSecretValue": 1}  # a pinned version's schedule does not matter
    for _ in range(3):
        stack.clock.advance(TTL)
        assert (await stack.get(target)).json["SecretString"] == "v1"
    assert calls(stack) == {"GetSecretValue": 1}
    assert stack.metrics.revalidated == 3
    assert entry(stack, SecretKey("db", "version-1")).expires_at == T0 + 4 * TTL


async def test_describe_denied_falls_back_to_fetching_for_the_process_with_one_warning(capfd: Any) -> None:
    stack = Stack(secrets_ttl=TTL, refresh_ahead=False)
    stack.upstream.fail_always("DescribeSecret", Failure.DENIED)
    stack.upstream.put_secret("db", "v1")
    stack.upstream.put_secret("other", "o1")
    await cached_secret(stack)
    await cached_secret(stack, "/v1/other")
    for _ in range(3):
        stack.clock.advance(TTL)
        assert (await stack.get("/v1/db")).status == 200
        assert (await stack.get("/v1/other")).status == 200
    assert calls(stack) == {"GetSecretValue": 8, "DescribeSecret": 1}  # asked once, then never again
    assert capfd.readouterr().out.count("DescribeSecret is denied") == 1
    assert stack.metrics.revalidation_fallbacks == 1


async def test_a_failing_describe_never_fails_the_read() -> None:
    stack = Stack(secrets_ttl=TTL, refresh_ahead=False)
    stack.upstream.put_secret("db", "v1")
    await cached_secret(stack)
    stack.upstream.put_secret("db", "v2")
    stack.upstream.fail("DescribeSecret", Failure.THROTTLED)
    stack.clock.advance(TTL)
    answer = await stack.get("/v1/db")
    assert (answer.status, answer.json["SecretString"]) == (200, "v2")  # fetched instead
    await stack.clock.settle()  # the fetched value's schedule, learnt in the background: DescribeSecret 3
    stack.clock.advance(TTL)
    assert (await stack.get("/v1/db")).status == 200
    assert calls(stack) == {"GetSecretValue": 2, "DescribeSecret": 4}  # throttling is not remembered


async def test_refresh_now_fetches_the_value_without_describing() -> None:
    stack = Stack(secrets_ttl=TTL, refresh_ahead=False)
    stack.upstream.put_secret("db", "v1")
    await cached_secret(stack)
    answer = await stack.get("/v1/db?refreshNow=true")
    assert answer.cache == "refresh"
    await stack.clock.settle()
    # The value first; its rotation schedule after it, in the background (as after any fetch).
    assert [operation for _, operation, _ in stack.upstream.log] == [
        "GetSecretValue", "DescribeSecret", "GetSecretValue", "DescribeSecret"]


async def test_refresh_ahead_of_a_secret_revalidates_instead_of_batch_fetching() -> None:
    stack = Stack(secrets_ttl=TTL)
    stack.upstream.put_secret("db", "v1")
    await cached_secret(stack)
    stack.clock.advance(0.8 * TTL)
    assert stack.answered_at_once("/v1/db").cache == "hit"
    await stack.clock.run(REFRESH_GATHER_S)
    assert calls(stack) == {"GetSecretValue": 1, "DescribeSecret": 2}
    assert entry(stack, SecretKey("db")).fetched_at == T0 + 0.8 * TTL + REFRESH_GATHER_S


async def test_a_batch_fetches_only_the_secrets_whose_version_changed() -> None:
    stack = Stack(secrets_ttl=TTL, refresh_ahead=False)
    ids = [f"s{n}" for n in range(5)]
    for secret_id in ids:
        stack.upstream.put_secret(secret_id, "old")
    assert (await stack.get(secrets_many(ids))).cache == "miss"
    stack.upstream.put_secret("s3", "new")
    stack.clock.advance(TTL)
    answer = await stack.get(secrets_many(ids))
    assert [value["SecretString"] for value in answer.json["SecretValues"]] == ["old", "old", "old", "new", "old"]
    assert stack.upstream.asked["BatchGetSecretValue"] == [ids, ["s3"]]
    assert calls(stack) == {"BatchGetSecretValue": 2, "DescribeSecret": 5}
    assert stack.metrics.revalidated == 4


async def test_revalidation_can_be_turned_off() -> None:
    stack = Stack(secrets_ttl=TTL, refresh_ahead=False, revalidate_secrets=False)
    stack.upstream.put_secret("db", "v1")
    await cached_secret(stack)
    stack.clock.advance(TTL)
    assert (await stack.get("/v1/db")).status == 200
    assert calls(stack) == {"GetSecretValue": 2}
