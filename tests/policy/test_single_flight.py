"""Single flight, exactly: concurrent reads of one key share one upstream call and its outcome,
whichever route asks; batches claim their names; a reader giving up does not cancel the fetch; a
failed fetch is one failure for the back-off however many waited. (Replaces the timed overlaps of
tests/faults/test_single_flight.py, and tests/attack/test_backoff.py.)"""

from __future__ import annotations

import asyncio

from paramsecrets.testing.fake_upstream import Failure
from paramsecrets.testing.stack import Stack
from tests.policy.conftest import BY_PATH, SECRET, entry, many, param, value

CONCURRENCY = 100


async def test_100_concurrent_misses_for_a_parameter_make_one_upstream_call() -> None:
    stack = Stack()
    stack.upstream.put_parameter("/cold", "v-cold")
    gate = stack.upstream.hold("GetParameter")
    waiting = [await stack.start(param("/cold")) for _ in range(CONCURRENCY)]
    assert gate.waiting == 1 and not any(task.done() for task in waiting)
    gate.open()
    await stack.clock.settle()
    answers = [task.result() for task in waiting]
    assert {(a.status, a.cache, value(a)) for a in answers} == {(200, "miss", "v-cold")}
    assert stack.upstream.calls["GetParameter"] == 1
    assert (stack.metrics.misses, stack.metrics.hits) == (CONCURRENCY, 0)
    assert stack.answered_at_once(param("/cold")).cache == "hit"


async def test_both_secret_routes_share_one_flight() -> None:
    stack = Stack()
    stack.upstream.put_secret("sf/db", '{"user":"u"}')
    gate = stack.upstream.hold("GetSecretValue")
    targets = [SECRET + "sf%2Fdb", "/v1/sf%2Fdb", "/v1/sf/db", SECRET + "sf/db&"] * 25
    waiting = [await stack.start(target) for target in targets]
    gate.open()
    await stack.clock.settle()
    assert {task.result().json["SecretString"] for task in waiting} == {'{"user":"u"}'}
    assert stack.upstream.calls["GetSecretValue"] == 1


async def test_concurrent_path_reads_make_one_fetch() -> None:
    stack = Stack()
    for i in range(15):
        stack.upstream.put_parameter(f"/path/p{i:02d}", f"v{i}")
    gate = stack.upstream.hold("GetParametersByPath")
    waiting = [await stack.start(BY_PATH + "/path/") for _ in range(50)]
    gate.open()
    await stack.clock.settle()
    assert {len(task.result().json["Parameters"]) for task in waiting} == {15}
    assert stack.upstream.calls["GetParametersByPath"] == 1
    # the listing stored each parameter under its own key: single reads are hits now
    assert stack.answered_at_once(param("/path/p03")).cache == "hit"


async def test_concurrent_misses_share_a_not_found_and_it_is_not_cached() -> None:
    stack = Stack(error_ttl=0)  # errors remembered: tests/policy/test_error_cache.py
    gate = stack.upstream.hold("GetParameter")
    waiting = [await stack.start(param("/missing")) for _ in range(CONCURRENCY)]
    gate.open()
    await stack.clock.settle()
    assert {(task.result().status, task.result().json["__type"]) for task in waiting} == {(404, "ParameterNotFound")}
    assert stack.upstream.calls["GetParameter"] == 1
    assert (await stack.get(param("/missing"))).status == 404
    assert stack.upstream.calls["GetParameter"] == 2  # errors are not cached: the next read asks again


async def test_concurrent_misses_share_one_failure() -> None:
    stack = Stack()
    stack.upstream.put_parameter("/down", "v")
    stack.upstream.fail("GetParameter", Failure.SERVER_ERROR)
    gate = stack.upstream.hold("GetParameter")
    waiting = [await stack.start(param("/down")) for _ in range(30)]
    gate.open()
    await stack.clock.settle()
    assert {(task.result().status, task.result().json["__type"]) for task in waiting} == {(502, "ServiceUnavailable")}
    assert stack.upstream.calls["GetParameter"] == 1


async def test_a_reader_that_gives_up_does_not_cancel_the_flight() -> None:
    stack = Stack()
    stack.upstream.put_parameter("/slow", "v-slow")
    gate = stack.upstream.hold("GetParameter")
    quitter = await stack.start(param("/slow"))
    quitter.cancel()
    await stack.clock.settle()
    assert quitter.cancelled() and gate.waiting == 1
    joiner = await stack.start(param("/slow"))
    gate.open()
    await stack.clock.settle()
    assert (joiner.result().cache, value(joiner.result())) == ("miss", "v-slow")
    assert stack.upstream.calls["GetParameter"] == 1


async def test_a_single_get_and_an_overlapping_batch_wait_for_a_batch_fetching_their_names() -> None:
    stack = Stack()
    for name in ("a", "b", "c"):
        stack.upstream.put_parameter(f"/b/{name}", f"v-{name}")
    gate = stack.upstream.hold("GetParameters")
    first = await stack.start(many(["/b/a", "/b/b"]))
    single = await stack.start(param("/b/b"))
    overlapping = await stack.start(many(["/b/b", "/b/c"]))
    gate.open()
    await stack.clock.settle()
    assert [p["Value"] for p in first.result().json["Parameters"]] == ["v-a", "v-b"]
    assert value(single.result()) == "v-b"
    assert [p["Value"] for p in overlapping.result().json["Parameters"]] == ["v-b", "v-c"]
    assert stack.upstream.calls["GetParameter"] == 0
    assert sorted(name for batch in stack.upstream.asked["GetParameters"] for name in batch) == [
        "/b/a", "/b/b", "/b/c"]  # each name fetched once


async def twenty_readers_of_one_failed_fetch(target: str) -> tuple[int, int]:
    """An expired (stale-usable) value, 20 readers, one failing fetch: (calls, failures noted)."""
    stack = Stack(ssm_ttl=60, max_staleness=3600, refresh_ahead=False)
    stack.upstream.put_parameter("/p", "v")
    await stack.get(param("/p"))
    stack.clock.advance(60)
    stack.upstream.fail_always("GetParameter", Failure.SERVER_ERROR)
    stack.upstream.fail_always("GetParameters", Failure.SERVER_ERROR)
    gate = stack.upstream.hold("GetParameters" if "get-many" in target else "GetParameter")
    waiting = [await stack.start(target) for _ in range(20)]
    assert not any(task.done() for task in waiting)
    gate.open()
    await stack.clock.settle()
    await asyncio.gather(*waiting)
    return stack.upstream.total(), entry(stack, "/p").failures


async def test_twenty_single_readers_of_one_failed_fetch_count_one_failure() -> None:
    calls, failures = await twenty_readers_of_one_failed_fetch(param("/p", refresh=True))
    assert (calls, failures) == (1 + 1, 1)


async def test_twenty_batch_readers_of_one_failed_fetch_count_one_failure() -> None:
    calls, failures = await twenty_readers_of_one_failed_fetch(many(["/p"], refresh=True))
    assert (calls, failures) == (1 + 1, 1)
