"""The cache alone, on numbers: LRU bounds, freshness through the policy, jitter and back-off with an
injected random draw, single flight. (Moved from tests/unit/test_cache.py; exact where it used ranges.)"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from paramsecrets.cache.keys import ParameterKey, PathKey, SecretKey
from paramsecrets.cache.policy import Freshness
from paramsecrets.cache.store import ENTRY_OVERHEAD, Cache, Entry, Flights

K = ParameterKey("/k", False)


def key(name: str) -> ParameterKey:
    return ParameterKey("/" + name, False)


def make(max_entries: int = 10, max_bytes: int = 1 << 20, staleness: float = 0, refresh_ahead: bool = True,
         draw: float = 0.0) -> Cache:
    return Cache(max_entries, max_bytes, staleness, refresh_ahead, jitter=0, draw=lambda: draw)


def state(cache: Cache, now: float, at: ParameterKey = K) -> Freshness | None:
    found = cache.lookup(at, now)
    return None if found is None else found[1]


def test_fresh_refresh_window_expired_and_gone() -> None:
    cache = make(staleness=50)
    cache.store(K, b"b", ttl=100, fetched_at=0)
    assert state(cache, 10) is Freshness.HIT
    assert state(cache, 79.9) is Freshness.HIT
    entry, found = cache.lookup(K, 80)  # type: ignore[misc]
    assert found is Freshness.REFRESH_AHEAD
    entry.refreshing = True
    assert state(cache, 85) is Freshness.HIT  # someone is already refreshing
    assert state(cache, 100) is Freshness.STALE
    assert state(cache, 149.9) is Freshness.STALE
    assert state(cache, 150) is None
    assert len(cache) == 0 and cache.bytes == 0


def test_no_refresh_window_when_refresh_ahead_is_off() -> None:
    cache = make(refresh_ahead=False)
    cache.store(K, b"b", ttl=100, fetched_at=0)
    assert state(cache, 99.9) is Freshness.HIT


def test_without_a_staleness_window_an_expired_entry_is_gone() -> None:
    cache = make(staleness=0)
    cache.store(K, b"b", ttl=100, fetched_at=0)
    assert state(cache, 100) is None and len(cache) == 0


def test_a_clock_jump_expires_entries() -> None:
    """A thawed Lambda sandbox sees the wall clock jump: the entry must be expired, not kept."""
    cache = make()
    cache.store(K, b"b", ttl=300, fetched_at=0)
    assert cache.lookup(K, 3600) is None


def test_lru_by_count() -> None:
    cache = make(max_entries=2)
    cache.store(key("a"), b"1", 100, 0)
    cache.store(key("b"), b"2", 100, 0)
    cache.lookup(key("a"), 1)
    cache.store(key("c"), b"3", 100, 0)
    assert cache.peek(key("b")) is None and cache.peek(key("a")) is not None and cache.peek(key("c")) is not None


def test_lru_by_bytes_and_accounting() -> None:
    size = 1000 + ENTRY_OVERHEAD
    cache = make(max_bytes=3 * size)
    for name in "abcd":
        cache.store(key(name), b"x" * 1000, 100, 0)
    assert [cache.peek(key(name)) is not None for name in "abcd"] == [False, True, True, True]
    assert cache.bytes == 3 * size
    cache.store(key("b"), b"y" * 10, 100, 0)  # replacing an entry re-counts its bytes
    assert cache.bytes == 2 * size + 10 + ENTRY_OVERHEAD
    cache.discard(key("c"))
    assert cache.bytes == size + 10 + ENTRY_OVERHEAD and len(cache) == 2


def test_wire_fields_count_towards_the_bytes() -> None:
    cache = make()
    entry = cache.store(K, b"x" * 10, 100, 0, wire=b"w" * 7)
    assert entry.size == 17 + ENTRY_OVERHEAD == cache.bytes


def test_an_entry_larger_than_the_cache_is_not_kept() -> None:
    cache = make(max_bytes=100)
    entry = cache.store(K, b"x" * 500, 100, 0)
    assert entry.body == b"x" * 500 and cache.peek(K) is None and cache.bytes == 0


@pytest.mark.parametrize(("entries", "ttl"), [(0, 100), (10, 0)])
def test_disabled_cache_or_zero_ttl_keeps_nothing(entries: int, ttl: float) -> None:
    cache = make(max_entries=entries)
    cache.store(K, b"b", ttl, 0)
    assert cache.peek(K) is None


def test_ttl_zero_also_drops_an_older_entry() -> None:
    cache = make()
    cache.store(K, b"old", 100, 0)
    cache.store(K, b"new", 0, 1)
    assert cache.peek(K) is None


def test_jitter_shortens_by_the_drawn_fraction_exactly() -> None:
    draws = iter([0.0, 0.5, 0.999])
    cache = Cache(1000, 1 << 24, jitter=0.1, draw=lambda: next(draws))
    expiries = [cache.store(key(str(i)), b"", 100, 0).expires_at for i in range(3)]
    assert expiries == [100.0, 95.0, pytest.approx(90.01)]
    # the refresh-ahead window follows the jittered TTL (80% of it)
    assert cache.peek(key("1")).refresh_at == pytest.approx(76.0)  # type: ignore[union-attr]


def test_jitter_spreads_a_fleet_with_real_randomness() -> None:
    cache = Cache(1000, 1 << 24, jitter=0.1)
    ttls = {cache.store(key(str(i)), b"", 100, 0).expires_at for i in range(200)}
    assert all(90 <= ttl <= 100 for ttl in ttls)
    assert len(ttls) > 150


def test_variant_free_alternate() -> None:
    cache = make()
    a, s = ParameterKey("/a", True), ParameterKey("/s", True)
    cache.store(a, b"b", 100, 0, variant_free=True)
    cache.store(s, b"b", 100, 0, variant_free=False)
    assert cache.lookup(a.alternate, 1, a) is not None
    assert cache.lookup(s.alternate, 1, s) is None
    assert cache.lookup(a.alternate, 1) is None


def test_a_failed_refresh_backs_off_exponentially_with_the_drawn_jitter() -> None:
    draws = itertools.cycle([0.0, 1.0 - 2 ** -52])
    cache = Cache(10, 1 << 20, 1000, jitter=0, draw=lambda: next(draws))
    entry = cache.store(K, b"b", ttl=100, fetched_at=0)
    entry.refreshing = True
    cache.note_failure(entry, 85)  # draw 0.0: half the first 1 s step
    assert not entry.refreshing and entry.retry_after == 85.5 and entry.failures == 1
    assert state(cache, 85.4) is Freshness.HIT  # no new refresh before the retry time
    assert state(cache, 85.5) is Freshness.REFRESH_AHEAD
    delays = []
    for _ in range(8):
        before = entry.retry_after
        cache.note_failure(entry, before)
        delays.append(entry.retry_after - before)
    # steps 2, 4, 8, 16, 32, 60 (cap), 60, 60; draws alternate: the whole step, then half of it
    assert delays == pytest.approx([2, 2, 8, 8, 32, 30, 60, 30])


def test_an_expired_entry_backing_off_is_answered_stale_without_a_call() -> None:
    cache = make(staleness=1000)
    entry = cache.store(K, b"b", ttl=100, fetched_at=0)
    cache.note_failure(entry, 150)  # retry at 150.5
    assert state(cache, 150.4) is Freshness.BACKING_OFF
    assert state(cache, 150.5) is Freshness.STALE


def test_entries_hold_no_http() -> None:
    entry = Entry(K, b'{"Parameter":{}}', 0, 100)
    assert not hasattr(entry, "head") and entry.rendered is None


def test_single_flight_shares_one_call_and_its_error() -> None:
    async def scenario() -> tuple[int, list[object]]:
        flights = Flights()
        calls = 0
        release = asyncio.Event()
        done = Entry(K, b"value", 0, 100)

        async def load() -> Entry:
            nonlocal calls
            calls += 1
            await release.wait()
            return done

        waiters = [asyncio.ensure_future(flights.run(K, load)) for _ in range(100)]
        await asyncio.sleep(0)
        assert K in flights
        release.set()
        results = await asyncio.gather(*waiters)

        async def fail() -> Entry:
            nonlocal calls
            calls += 1
            raise ValueError("boom")

        other = SecretKey("e")
        errors = await asyncio.gather(*(flights.run(other, fail) for _ in range(5)), return_exceptions=True)
        assert other not in flights
        return calls, [*(result.body for result in results), *errors]

    calls, outcomes = asyncio.run(scenario())
    assert calls == 2
    assert outcomes[:100] == [b"value"] * 100
    assert all(isinstance(error, ValueError) for error in outcomes[100:])


def test_a_cancelled_waiter_does_not_cancel_the_flight() -> None:
    async def scenario() -> bytes:
        flights = Flights()
        release = asyncio.Event()

        async def load() -> Entry:
            await release.wait()
            return Entry(K, b"done", 0, 100)

        first = asyncio.ensure_future(flights.run(K, load))
        second = asyncio.ensure_future(flights.run(K, load))
        await asyncio.sleep(0)
        first.cancel()
        release.set()
        return (await second).body

    assert asyncio.run(scenario()) == b"done"


def test_keys_know_their_alternate_group_and_coverage() -> None:
    from paramsecrets.cache.keys import RefreshGroup

    assert ParameterKey("/a", False).alternate == ParameterKey("/a", True)
    assert ParameterKey("/a:3", True).selector == ":3" and ParameterKey("/a:3", True).plain_name is None
    assert ParameterKey("/a", True).refresh_group is RefreshGroup.DECRYPTED_PARAMETERS
    assert ParameterKey("/a", False).refresh_group is RefreshGroup.PARAMETERS
    assert SecretKey("s").refresh_group is RefreshGroup.SECRETS and SecretKey("s").alternate is None
    assert SecretKey("s", "v1").refresh_group is None and SecretKey("s", None, "AWSPREVIOUS").refresh_group is None
    assert PathKey("/p", True, False).alternate == PathKey("/p", True, True)
    assert PathKey("/p", True, False).refresh_group is None
    assert PathKey("/app/", True, False).covers("/app/db/host")
    assert PathKey("/app", False, True).covers("/app/host")
    assert not PathKey("/app/", False, False).covers("/app/db/host")
    assert not PathKey("/app/", True, False).covers("/application/x")
