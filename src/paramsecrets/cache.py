"""The in-memory cache: ready-to-send bytes, LRU by count and bytes, wall-clock TTLs.

Expiry is measured on the wall clock (`time.time`), not a monotonic clock: a Lambda sandbox
that is frozen and thawed, or a SnapStart restore, must not keep serving a value past its TTL.
Entries past their TTL stay (as stale candidates) until `max_staleness` has also passed, so a
failing refresh can fall back to the last good value. Single flight lives here too: concurrent
misses for one key share one upstream call.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from enum import Enum
from typing import TypeVar

T = TypeVar("T")

ENTRY_OVERHEAD = 240  # bytes per entry beyond its payload: the entry, the key, the dict slot
REFRESH_AHEAD_AT = 0.8  # a hit in the last 20% of the TTL refreshes the entry in the background
TTL_JITTER = 0.1  # TTLs are shortened by up to 10% so a fleet's entries do not expire in step
RETRY_BASE_S = 1.0  # after a failed refresh, the first wait before another attempt...
RETRY_CAP_S = 60.0  # ...doubling up to this


class State(Enum):
    """How an entry may be used right now."""

    FRESH = "fresh"
    REFRESH = "refresh"  # fresh, in its last 20%, and nobody is refreshing it yet
    EXPIRED = "expired"  # past its TTL but still within the staleness window


class Entry:
    """One cached answer: the status line and Content-Length, the body bytes, and when they were fetched.

    The profile's Content-Type, `Date`, `Age` and the cache state are added per answer (service.py).
    `wire` holds the fields AWS itself sent but the value (JSON, dates as epoch numbers): with the
    value from `body`, the AWS SDK protocol (paramsecrets.sdk) answers from the same entry.
    """

    __slots__ = ("body", "expires_at", "failures", "fetched_at", "head", "hit_from", "hit_head", "hit_profile",
                 "hit_until", "key", "refresh_at", "refreshing", "retry_after", "size", "variant_free", "wire")

    def __init__(self, key: Hashable, head: bytes, body: bytes, fetched_at: float, ttl: float,
                 wire: bytes = b"") -> None:
        self.key = key
        self.head = head
        self.body = body
        self.wire = wire
        self.fetched_at = fetched_at
        self.expires_at = fetched_at + ttl
        self.refresh_at = fetched_at + ttl * REFRESH_AHEAD_AT
        self.refreshing = False
        self.size = len(head) + len(body) + len(wire) + ENTRY_OVERHEAD
        self.variant_free = False  # also answers for its key's alternate (see Cache.lookup)
        # The head of a keep-alive hit, for one profile, and the wall-clock interval it is right for
        # (`Date` and `Age` change once a second): see service.render_hit.
        self.hit_profile: object = None
        self.hit_from = 0.0
        self.hit_until = 0.0
        self.hit_head = b""
        self.failures = 0  # transient failures to refresh this value, in a row
        self.retry_after = 0.0  # no new attempt before this (wall clock) after a failure

    def note_failure(self, now: float) -> None:
        """A refresh failed transiently: back off (exponential, jittered) before the next attempt.

        Meanwhile hits keep the value and expired reads get it as stale at once, instead of each
        calling an AWS that is throttling or down.
        """
        self.failures += 1
        self.refreshing = False
        delay = min(RETRY_CAP_S, RETRY_BASE_S * 2 ** (self.failures - 1))
        self.retry_after = now + delay * random.uniform(0.5, 1.0)

    def age(self, now: float) -> int:
        """Whole seconds since the value was fetched (the `Age` header)."""
        return max(0, int(now - self.fetched_at))


class Cache:
    """LRU store bounded by entry count and bytes, with the freshness rules of CONTRACT §4."""

    def __init__(self, max_entries: int, max_bytes: int, max_staleness: float = 0.0,
                 refresh_ahead: bool = True, clock: Callable[[], float] = time.time,
                 jitter: float = TTL_JITTER) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_staleness = max_staleness
        self.refresh_ahead = refresh_ahead
        self.clock = clock
        self.jitter = jitter
        self.bytes = 0
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0

    def lookup(self, key: Hashable, now: float, alternate: Hashable = None) -> tuple[Entry, State] | None:
        """The entry for `key` and how it may be used, or None when there is nothing usable.

        `alternate` names a sibling key whose entry may answer too, if it is `variant_free`
        (a String parameter read with or without decryption is the same answer).
        """
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries.get(alternate) if alternate is not None else None
            if entry is None or not entry.variant_free:
                return None
            key = alternate
        if now < entry.expires_at:
            self._entries.move_to_end(key)
            if self.refresh_ahead and now >= entry.refresh_at and not entry.refreshing and now >= entry.retry_after:
                return entry, State.REFRESH
            return entry, State.FRESH
        if now < entry.expires_at + self.max_staleness:
            return entry, State.EXPIRED
        self._remove(entry)
        return None

    def store(self, key: Hashable, head: bytes, body: bytes, ttl: float, fetched_at: float,
              variant_free: bool = False, wire: bytes = b"") -> Entry:
        """Keep a fresh answer (unless caching is off for it) and return its entry either way."""
        if self.jitter and ttl > 0:
            ttl *= 1.0 - self.jitter * random.random()
        entry = Entry(key, head, body, fetched_at, ttl, wire)
        entry.variant_free = variant_free
        if ttl <= 0 or not self.enabled or entry.size > self.max_bytes:
            self.discard(key)
            return entry
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old.size
        self._entries[key] = entry
        self.bytes += entry.size
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            self._remove(next(iter(self._entries.values())))
        return entry

    def discard(self, key: Hashable) -> None:
        entry = self._entries.get(key) if key is not None else None
        if entry is not None:
            self._remove(entry)

    def discard_where(self, doomed: Callable[[Hashable], bool]) -> int:
        """Drop every entry whose key `doomed` accepts (a write invalidating what it changed); how many."""
        keys = [key for key in self._entries if doomed(key)]
        for key in keys:
            self._remove(self._entries[key])
        return len(keys)

    def peek(self, key: Hashable) -> Entry | None:
        """The entry without touching its recency (tests, metrics, batch planning)."""
        return self._entries.get(key)

    def _remove(self, entry: Entry) -> None:
        del self._entries[entry.key]
        self.bytes -= entry.size


class Flights:
    """Single flight: concurrent loads of one key share one call and its outcome."""

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Future[object]] = {}

    def __contains__(self, key: Hashable) -> bool:
        return key in self._running

    def joining(self, key: Hashable) -> asyncio.Future[object] | None:
        """The load running for `key`, if any."""
        return self._running.get(key)

    def items(self) -> list[tuple[Hashable, asyncio.Future[object]]]:
        """Every running load (few at a time: misses in flight)."""
        return list(self._running.items())

    async def run(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        """Await the load already running for `key`, or start it; a waiter's cancel spares it."""
        future = self._running.get(key)
        if future is None:
            future = asyncio.ensure_future(load())
            self.claim(key, future)
        return await asyncio.shield(future)  # type: ignore[return-value]

    def claim(self, key: Hashable, future: asyncio.Future[object]) -> None:
        """Register a load started elsewhere (a prefetch batch) so requests wait for it."""
        if key in self._running:
            return
        self._running[key] = future

        def finished(done: asyncio.Future[object]) -> None:
            if self._running.get(key) is done:
                del self._running[key]
            if not done.cancelled():
                done.exception()  # retrieved: waiters may all have gone away

        future.add_done_callback(finished)
