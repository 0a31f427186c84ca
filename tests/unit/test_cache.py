"""The cache alone, with an injected wall clock: LRU bounds, TTL states, jitter, single flight."""

from __future__ import annotations

import asyncio

import pytest

from paramsecrets.cache import ENTRY_OVERHEAD, Cache, Flights, State


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def make(max_entries: int = 10, max_bytes: int = 1 << 20, staleness: float = 0, refresh_ahead: bool = True) -> Cache:
    return Cache(max_entries, max_bytes, staleness, refresh_ahead, jitter=0)


def test_fresh_refresh_window_expired_and_gone() -> None:
    cache = make(staleness=50)
    cache.store("k", b"h", b"b", ttl=100, fetched_at=0)
    assert cache.lookup("k", 10)[1] is State.FRESH  # type: ignore[index]
    assert cache.lookup("k", 79.9)[1] is State.FRESH  # type: ignore[index]
    entry, state = cache.lookup("k", 80)  # type: ignore[misc]
    assert state is State.REFRESH
    entry.refreshing = True
    assert cache.lookup("k", 85)[1] is State.FRESH  # type: ignore[index]  (someone is already refreshing)
    assert cache.lookup("k", 100)[1] is State.EXPIRED  # type: ignore[index]
    assert cache.lookup("k", 149)[1] is State.EXPIRED  # type: ignore[index]
    assert cache.lookup("k", 150) is None
    assert len(cache) == 0 and cache.bytes == 0


def test_no_refresh_window_when_refresh_ahead_is_off() -> None:
    cache = make(refresh_ahead=False)
    cache.store("k", b"h", b"b", ttl=100, fetched_at=0)
    assert cache.lookup("k", 99)[1] is State.FRESH  # type: ignore[index]


def test_a_clock_jump_expires_entries() -> None:
    """A thawed Lambda sandbox sees the wall clock jump: the entry must be expired, not kept."""
    cache = make()
    cache.store("k", b"h", b"b", ttl=300, fetched_at=0)
    assert cache.lookup("k", 3600) is None


def test_age() -> None:
    entry = make().store("k", b"h", b"b", ttl=300, fetched_at=100)
    assert entry.age(100.4) == 0 and entry.age(161.9) == 61 and entry.age(50) == 0


def test_lru_by_count() -> None:
    cache = make(max_entries=2)
    cache.store("a", b"", b"1", 100, 0)
    cache.store("b", b"", b"2", 100, 0)
    cache.lookup("a", 1)
    cache.store("c", b"", b"3", 100, 0)
    assert cache.peek("b") is None and cache.peek("a") is not None and cache.peek("c") is not None


def test_lru_by_bytes_and_accounting() -> None:
    size = 1000 + ENTRY_OVERHEAD
    cache = make(max_bytes=3 * size)
    for key in "abcd":
        cache.store(key, b"", b"x" * 1000, 100, 0)
    assert [cache.peek(key) is not None for key in "abcd"] == [False, True, True, True]
    assert cache.bytes == 3 * size
    cache.store("b", b"", b"y" * 10, 100, 0)  # replacing an entry re-counts its bytes
    assert cache.bytes == 2 * size + 10 + ENTRY_OVERHEAD
    cache.discard("c")
    assert cache.bytes == size + 10 + ENTRY_OVERHEAD and len(cache) == 2


def test_an_entry_larger_than_the_cache_is_not_kept() -> None:
    cache = make(max_bytes=100)
    entry = cache.store("k", b"", b"x" * 500, 100, 0)
    assert entry.body == b"x" * 500 and cache.peek("k") is None and cache.bytes == 0


@pytest.mark.parametrize(("entries", "ttl"), [(0, 100), (10, 0)])
def test_disabled_cache_or_zero_ttl_keeps_nothing(entries: int, ttl: float) -> None:
    cache = make(max_entries=entries)
    cache.store("k", b"", b"b", ttl, 0)
    assert cache.peek("k") is None


def test_ttl_zero_also_drops_an_older_entry() -> None:
    cache = make()
    cache.store("k", b"", b"old", 100, 0)
    cache.store("k", b"", b"new", 0, 1)
    assert cache.peek("k") is None


def test_jitter_only_shortens_and_spreads() -> None:
    cache = Cache(1000, 1 << 24, jitter=0.1)
    ttls = {cache.store(i, b"", b"", 100, 0).expires_at for i in range(200)}
    assert all(90 <= ttl <= 100 for ttl in ttls)
    assert len(ttls) > 150


def test_variant_free_alternate() -> None:
    cache = make()
    cache.store(("p", "/a", True), b"", b"b", 100, 0, variant_free=True)
    cache.store(("p", "/s", True), b"", b"b", 100, 0, variant_free=False)
    assert cache.lookup(("p", "/a", False), 1, ("p", "/a", True)) is not None
    assert cache.lookup(("p", "/s", False), 1, ("p", "/s", True)) is None
    assert cache.lookup(("p", "/a", False), 1) is None


def test_single_flight_shares_one_call_and_its_error() -> None:
    async def scenario() -> tuple[int, list[object]]:
        flights = Flights()
        calls = 0
        release = asyncio.Event()

        async def load() -> str:
            nonlocal calls
            calls += 1
            await release.wait()
            return "value"

        waiters = [asyncio.ensure_future(flights.run("k", load)) for _ in range(100)]
        await asyncio.sleep(0)
        assert "k" in flights
        release.set()
        results = await asyncio.gather(*waiters)

        async def fail() -> str:
            nonlocal calls
            calls += 1
            raise ValueError("boom")

        errors = await asyncio.gather(*(flights.run("e", fail) for _ in range(5)), return_exceptions=True)
        assert "e" not in flights
        return calls, [*results, *errors]

    calls, outcomes = asyncio.run(scenario())
    assert calls == 2
    assert outcomes[:100] == ["value"] * 100
    assert all(isinstance(error, ValueError) for error in outcomes[100:])


def test_a_cancelled_waiter_does_not_cancel_the_flight() -> None:
    async def scenario() -> str:
        flights = Flights()
        release = asyncio.Event()

        async def load() -> str:
            await release.wait()
            return "done"

        first = asyncio.ensure_future(flights.run("k", load))
        second = asyncio.ensure_future(flights.run("k", load))
        await asyncio.sleep(0)
        first.cancel()
        release.set()
        return await second

    assert asyncio.run(scenario()) == "done"


def test_a_failed_refresh_backs_off_exponentially() -> None:
    cache = make(staleness=1000)
    entry = cache.store("k", b"", b"b", ttl=100, fetched_at=0)
    entry.refreshing = True
    entry.note_failure(85)
    assert not entry.refreshing
    assert 85.5 <= entry.retry_after <= 86
    assert cache.lookup("k", 85.2)[1] is State.FRESH  # type: ignore[index]  (no new refresh yet)
    assert cache.lookup("k", 86.1)[1] is State.REFRESH  # type: ignore[index]
    delays = []
    for _ in range(8):
        before = entry.retry_after
        entry.note_failure(before)
        delays.append(entry.retry_after - before)
    assert delays[0] <= 2 < delays[3] and max(delays) <= 60


def test_path_coverage() -> None:
    from paramsecrets.reader import covers

    assert covers(("path", "/app/", True, False), "/app/db/host")
    assert covers(("path", "/app", False, True), "/app/host")
    assert not covers(("path", "/app/", False, False), "/app/db/host")
    assert not covers(("path", "/app/", True, False), "/application/x")
    assert not covers(("parameter", "/app/", True), "/app/x")
