"""Batch planning and prefetch, exactly: a batch fetches only what no entry or running fetch
answers, in calls of 10 and 20; a decrypting fetch (the prefetch) of a String answers plain reads;
reads of names, secrets and paths being prefetched wait for the prefetch instead of calling.
(The in-process half of tests/faults/test_batch_routes.py and test_prefetch.py; answers' shapes
against moto stay there.)"""

from __future__ import annotations

import asyncio

from paramsecrets.cache import batching
from paramsecrets.cache.batching import BACKING_OFF
from paramsecrets.cache.keys import Key, ParameterKey
from paramsecrets.cache.store import Cache, Flights
from paramsecrets.config import Settings
from paramsecrets.process.prefetch import prefetch
from paramsecrets.testing.fake_upstream import Failure
from paramsecrets.testing.stack import Stack
from tests.policy.conftest import SECRET, T0, many, param, secrets_many, value


def test_plan_sorts_every_name_into_exactly_one_place() -> None:
    cache = Cache(10, 1 << 20, max_staleness=100, jitter=0)
    flights = Flights()
    fresh, ahead, backing, stale, gone = (ParameterKey(f"/{n}", False) for n in ("fresh", "ahead", "back", "st", "x"))
    cache.store(fresh, b"f", 100, T0)
    cache.store(ahead, b"a", 100, T0 - 80)
    cache.store(backing, b"b", 100, T0 - 100)
    cache.note_failure(cache.peek(backing), T0)  # type: ignore[arg-type]
    cache.store(stale, b"s", 100, T0 - 100)
    keys: dict[str, Key] = {key.name: key for key in (fresh, ahead, backing, stale, gone)}
    alternates: dict[str, Key] = {key.name: key.alternate for key in (fresh, ahead, backing, stale, gone)}
    planned = batching.plan(keys, alternates, cache, flights, T0, False)
    assert set(planned.answered) == {"/fresh", "/ahead", "/back"} and planned.answered["/back"] is BACKING_OFF
    assert [entry.key for entry in planned.refresh_ahead] == [ahead]
    assert planned.missing == ["/st", "/x"] and not planned.waiting and not planned.joined
    refreshing = batching.plan(keys, {}, cache, flights, T0, True)
    assert refreshing.missing == list(keys) and not refreshing.answered  # refreshNow: every name fetched


async def test_get_many_fetches_only_what_is_missing() -> None:
    stack = Stack()
    names = ["/p/a", "/p/b", "/p/c", "/p/d"]
    for name in names:
        stack.upstream.put_parameter(name, "v:" + name)
    for name in names[:2]:
        await stack.get(param(name))
    stack.clock.advance(1)
    answer = await stack.get(many(names))
    assert (answer.status, answer.cache) == (200, "miss")
    assert [p["Value"] for p in answer.json["Parameters"]] == ["v:" + n for n in names]
    assert stack.upstream.asked["GetParameters"] == [names[2:]]
    stack.clock.advance(1)  # a batch answer is a hit when every entry predates the request
    again = await stack.get(many(names))
    assert (again.cache, stack.upstream.calls["GetParameters"]) == ("hit", 1)
    assert (stack.metrics.misses, stack.metrics.hits) == (2 + 2, 2 + 4)


async def test_batches_are_split_by_the_apis_limits_and_invalid_names_are_reported() -> None:
    stack = Stack()
    names = [f"/c/{i:02d}" for i in range(25)]
    for name in names:
        stack.upstream.put_parameter(name, "v")
    ids = [f"s{i:02d}" for i in range(45)]
    for secret_id in ids[:-1]:
        stack.upstream.put_secret(secret_id, "s")
    parameters = await stack.get(many([*names[::-1], "/c/missing"]))
    assert [p["Name"] for p in parameters.json["Parameters"]] == names[::-1]
    assert parameters.json["InvalidParameters"] == ["/c/missing"]
    assert sorted(len(batch) for batch in stack.upstream.asked["GetParameters"]) == [6, 10, 10]
    secrets = await stack.get(secrets_many(ids))
    assert [error["SecretId"] for error in secrets.json["Errors"]] == [ids[-1]]
    assert sorted(len(batch) for batch in stack.upstream.asked["BatchGetSecretValue"]) == [5, 20, 20]
    missing = await stack.get(param("/c/missing"))  # remembered from the batch for the error TTL
    assert (missing.status, missing.cache) == (404, "hit")
    assert stack.upstream.calls["GetParameter"] == 0


async def test_a_whole_call_failure_is_the_batchs_error() -> None:
    stack = Stack()
    stack.upstream.put_parameter("/t/a", "v")
    stack.upstream.fail("GetParameters", Failure.THROTTLED)
    answer = await stack.get(many(["/t/a", "/t/b"]))
    assert (answer.status, answer.json["__type"]) == (429, "ThrottlingException")
    assert len(stack.cache) == 0


async def test_a_securestring_read_without_decryption_is_never_served_the_decrypted_value() -> None:
    stack = Stack()
    stack.upstream.put_parameter("/d/secure", "plain-secret", "SecureString")
    stack.upstream.put_parameter("/d/string", "plain")
    decrypted = await stack.get(many(["/d/secure", "/d/string"], decrypt=True))
    assert [p["Value"] for p in decrypted.json["Parameters"]] == ["plain-secret", "plain"]
    assert stack.answered_at_once(param("/d/string")).cache == "hit"  # a String: the same answer
    undecrypted = await stack.get(param("/d/secure"))
    assert undecrypted.cache == "miss" and value(undecrypted) != "plain-secret"


async def run_prefetch(stack: Stack, parameters: tuple[str, ...] = (), secrets: tuple[str, ...] = ()) -> object:
    settings = Settings(None, None, prefetch_parameters=parameters, prefetch_secrets=secrets)
    task = asyncio.ensure_future(prefetch(settings, stack.reader, stack.metrics))
    await stack.clock.settle()
    return task


async def test_prefetch_makes_the_minimum_calls_and_later_reads_are_hits() -> None:
    stack = Stack()
    names = [f"/pf/n{i:02d}" for i in range(12)]
    for name in names:
        stack.upstream.put_parameter(name, "v")
    stack.upstream.put_parameter("/pf/path/a", "pa", "SecureString")
    stack.upstream.put_secret("pf/s", "sv")
    done = await run_prefetch(stack, (*names, "/pf/path/"), ("pf/s",))
    assert done.done()  # type: ignore[attr-defined]
    # One secret: GetSecretValue (quota 10,000/s, BatchGetSecretValue's is 100/s), then its rotation
    # schedule in the background (DescribeSecret).
    assert dict(stack.upstream.calls) == {"GetParameters": 2, "GetParametersByPath": 1, "GetSecretValue": 1,
                                          "DescribeSecret": 1}
    assert stack.metrics.prefetched == 12 + 1 + 1
    for target in [param(name) for name in names] + [param("/pf/path/a", decrypt=True), SECRET + "pf/s", "/v1/pf/s"]:
        assert stack.answered_at_once(target).cache == "hit", target
    assert stack.upstream.total() == 5  # not one more call


async def test_reads_of_what_is_being_prefetched_wait_for_the_prefetch() -> None:
    stack = Stack()
    stack.upstream.put_parameter("/w/a", "va")
    stack.upstream.put_parameter("/w/b", "vb", "SecureString")
    stack.upstream.put_parameter("/w/p/c", "vc")
    stack.upstream.put_secret("w/s", "vs")
    gates = [stack.upstream.hold(op) for op in ("GetParameters", "GetSecretValue", "GetParametersByPath")]
    await run_prefetch(stack, ("/w/a", "/w/b", "/w/p/"), ("w/s",))
    reads = [await stack.start(target) for target in (
        param("/w/a"), param("/w/b", decrypt=True), SECRET + "w/s", "/v1/w/s", many(["/w/a", "/w/b"], decrypt=True),
        param("/w/p/c"))]
    assert not any(read.done() for read in reads)
    for gate in gates:
        gate.open()
    await stack.clock.settle()
    assert [value(reads[i].result()) for i in (0, 1, 5)] == ["va", "vb", "vc"]
    assert reads[2].result().json["SecretString"] == reads[3].result().json["SecretString"] == "vs"
    assert [p["Value"] for p in reads[4].result().json["Parameters"]] == ["va", "vb"]
    assert dict(stack.upstream.calls) == {"GetParameters": 1, "GetSecretValue": 1, "GetParametersByPath": 1,
                                          "DescribeSecret": 1}


async def test_a_failed_prefetch_leaves_reads_working() -> None:
    stack = Stack()
    stack.upstream.put_parameter("/f/p/a", "va")
    stack.upstream.put_parameter("/g/a", "ga")
    stack.upstream.fail("GetParametersByPath", Failure.THROTTLED)
    done = await run_prefetch(stack, ("/f/p/", "/g/a", "/g/missing"))
    assert done.done() and stack.metrics.prefetched == 1  # type: ignore[attr-defined]
    assert stack.answered_at_once(param("/g/a")).cache == "hit"
    missing = await stack.get(param("/g/missing"))
    assert (missing.status, missing.json["__type"]) == (404, "ParameterNotFound")
    after = await stack.get(param("/f/p/a"))
    assert (after.status, after.cache, value(after)) == (200, "miss", "va")


async def test_prefetch_runs_in_the_background() -> None:
    stack = Stack()
    stack.upstream.put_parameter("/o", "o")
    stack.upstream.hold("GetParameters")  # the prefetch is stuck upstream
    stuck = await run_prefetch(stack, ("/stuck",))
    other = await stack.get(param("/o"))
    assert (other.status, value(other)) == (200, "o") and not stuck.done()  # type: ignore[attr-defined]


async def test_prefetched_entries_are_refreshed_ahead_like_any_other() -> None:
    stack = Stack(ssm_ttl=10)
    stack.upstream.put_parameter("/pf/r", "v0")
    await run_prefetch(stack, ("/pf/r",))
    stack.upstream.put_parameter("/pf/r", "v1")
    for _ in range(20):
        await stack.clock.run(0.5)
        assert stack.answered_at_once(param("/pf/r", decrypt=True)).cache == "hit"
    assert stack.upstream.calls["GetParameters"] == 2 and stack.metrics.refresh_ahead == 1
    assert value(stack.answered_at_once(param("/pf/r", decrypt=True))) == "v1"
