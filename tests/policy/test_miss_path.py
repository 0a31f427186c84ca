"""The miss path, exactly: a miss with no stale value starts one task, the flight's (single flight
needs it: its waiters share it, and a waiter that goes away does not cancel it); the cache front
adds a task only when a stale value may stand in after STALE_PATIENCE_S. A remembered error is
asked for once per read, by the cache front (the reader does not ask again)."""

from __future__ import annotations

import asyncio
import types
from collections.abc import Generator
from contextlib import contextmanager
from typing import Any

from paramsecrets.aws.errors import UpstreamError
from paramsecrets.cache.keys import Key
from paramsecrets.testing.fake_upstream import Failure
from paramsecrets.testing.stack import Stack
from tests.policy.conftest import param, value

TTL = 100


@contextmanager
def counting_tasks() -> Generator[list[str], None, None]:
    """The names of the coroutines the event loop starts as tasks meanwhile."""
    loop = asyncio.get_running_loop()
    started: list[str] = []
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: types.CoroutineType[Any, Any, Any],
                **kwargs: Any) -> asyncio.Task[Any]:
        started.append(coro.__qualname__)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)  # type: ignore[arg-type]
    try:
        yield started
    finally:
        loop.set_task_factory(previous)


async def answer(stack: Stack, target: str) -> Any:
    from paramsecrets.testing.stack import parse

    answered = stack.respond(target)
    assert not isinstance(answered, bytes), "a miss awaits its fetch"
    return parse(await answered)


async def test_a_miss_without_a_stale_value_starts_only_the_flight() -> None:
    stack = Stack(ssm_ttl=TTL)
    stack.upstream.put_parameter("/a", "one")
    with counting_tasks() as started:
        first = await answer(stack, param("/a"))
    assert (first.status, first.cache, value(first)) == (200, "miss", "one")
    assert started == ["Reader._load.<locals>.load_and_note"]


async def test_a_miss_with_a_stale_value_also_waits_on_the_front() -> None:
    stack = Stack(ssm_ttl=TTL, max_staleness=50, refresh_ahead=False)
    stack.upstream.put_parameter("/a", "one")
    await answer(stack, param("/a"))
    stack.clock.advance(TTL)  # expired, within the stale window: a fetch with a fallback
    with counting_tasks() as started:
        again = await answer(stack, param("/a"))
    assert (again.status, again.cache) == (200, "miss")
    assert started == ["Reader.parameter", "Reader._load.<locals>.load_and_note"]


async def test_a_remembered_error_is_asked_for_once_per_miss() -> None:
    stack = Stack(ssm_ttl=TTL, error_ttl=10)
    stack.upstream.put_parameter("/a", "one")
    stack.upstream.fail("GetParameter", Failure.NOT_FOUND)
    assert (await answer(stack, param("/gone"))).status == 404  # now one error is remembered
    asked: list[object] = []
    recall = stack.reader.errors.recall

    def counted(key: Key, now: float) -> UpstreamError | None:
        asked.append(key)
        return recall(key, now)

    stack.reader.errors.recall = counted  # type: ignore[method-assign]
    assert (await answer(stack, param("/a"))).cache == "miss"
    assert len(asked) == 1  # the cache front asked; the reader's flight did not ask again
    remembered = stack.respond(param("/gone"))
    assert isinstance(remembered, bytes) and b" 404 " in remembered.split(b"\r\n")[0]
    assert len(asked) == 2 and stack.upstream.calls["GetParameter"] == 2
