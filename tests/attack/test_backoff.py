"""Item 4: the back-off after a failed fetch grows once per failed fetch, not once per waiting request."""

from __future__ import annotations

import asyncio
from typing import Any

from paramsecrets.aws.errors import Kind, UpstreamError
from paramsecrets.cache import Cache
from paramsecrets.config import Settings
from paramsecrets.reader import Reader
from paramsecrets.routes import ParameterRead, ParametersRead

READERS = 20
DOWN = UpstreamError(Kind.UNAVAILABLE, "ServiceUnavailable", "AWS is down")


class StalledSsm:
    """SSM that fails every call, but only once the test releases it (so every reader is waiting)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.calls = 0

    async def get_parameter(self, name: str, decrypt: bool) -> dict[str, Any]:
        self.calls += 1
        await self.release.wait()
        raise DOWN

    async def get_parameters(self, names: list[str], decrypt: bool) -> list[Any]:
        self.calls += 1
        await self.release.wait()
        raise DOWN


class Upstream:
    def __init__(self) -> None:
        self.ssm = StalledSsm()


async def expired_entry_under_load(read: Any, fetch: str) -> tuple[int, int]:
    """Store a value, let it expire, then 20 concurrent readers: (upstream calls, failures noted)."""
    cache = Cache(100, 1 << 20, max_staleness=3600, jitter=0)
    upstream = Upstream()
    ready: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    ready.set_result(upstream)
    reader = Reader(Settings(), cache, ready)
    key = ParameterRead("/p", None, False).key
    entry = cache.store(key, b"head", b"body", 60, fetched_at=0.0)  # expired long ago, still stale-usable
    readers = [asyncio.ensure_future(getattr(reader, fetch)(read)) for _ in range(READERS)]
    while upstream.ssm.calls == 0:
        await asyncio.sleep(0)
    for _ in range(50):  # no I/O here: a few loop passes bring every reader to its wait
        await asyncio.sleep(0)
    assert not any(task.done() for task in readers)
    upstream.ssm.release.set()
    await asyncio.gather(*readers, return_exceptions=True)
    return upstream.ssm.calls, entry.failures


def test_twenty_single_readers_of_one_failed_fetch_count_one_failure() -> None:
    calls, failures = asyncio.run(expired_entry_under_load(ParameterRead("/p", None, False, True), "parameter"))
    assert (calls, failures) == (1, 1)


def test_twenty_batch_readers_of_one_failed_fetch_count_one_failure() -> None:
    calls, failures = asyncio.run(expired_entry_under_load(ParametersRead(("/p",), False, True), "parameters"))
    assert (calls, failures) == (1, 1)
