"""The in-memory cache: answers' bodies by key, LRU by count and bytes, wall-clock TTLs.

Expiry is measured on the wall clock (the injected Clock's `time`), not a monotonic clock: a
Lambda sandbox that is frozen and thawed, or a SnapStart restore, must not keep serving a value
past its TTL. Entries past their TTL stay (as stale candidates) until `max_staleness` has also
passed, so a failing refresh can fall back to the last good value. What an entry is good for at
a given time is decided by paramsecrets.cache.policy alone; how a read acts on it, by
paramsecrets.cache.front. `Flights` (below) is the single-flight table: the reader runs every load
through `Flights.run`, so concurrent misses for one key share one upstream call.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable

from paramsecrets.cache import policy
from paramsecrets.cache.keys import Key
from paramsecrets.cache.policy import HIT, MISS, REFRESH_AHEAD, Freshness, Rules, freshness
from paramsecrets.clock import WALL_CLOCK, Clock

ENTRY_OVERHEAD = 240  # bytes per entry beyond its payload: the entry, the key, the dict slot


class HitMemo:
    """The head of an entry's last keep-alive hit, for one profile, and when it is right: kept on
    the entry for paramsecrets.api.rendering (the profile is only compared by identity here)."""

    __slots__ = ("head", "profile", "valid_from", "valid_until")

    def __init__(self, profile: object, valid_from: float, valid_until: float, head: bytes) -> None:
        self.profile = profile
        self.valid_from = valid_from
        self.valid_until = valid_until
        self.head = head


class Entry:
    """One cached answer: the body the GET routes send, AWS's own fields, and when they were fetched.

    Nothing here is HTTP: the status line, `Age` and the cache state are rendered per answer
    (paramsecrets.api.rendering), which keeps its memo of the last keep-alive hit head in `rendered`.
    `wire` holds the fields AWS itself sent but the value (JSON, dates as epoch numbers): with the
    value from `body`, the AWS SDK protocol (paramsecrets.api.sdk) answers from the same entry.
    """

    __slots__ = ("body", "expires_at", "failures", "fetched_at", "key", "next_rotation", "refresh_at", "refreshing",
                 "rendered", "retry_after", "rotation_polls", "size", "variant_free", "version_id", "wire")

    def __init__(self, key: Key, body: bytes, fetched_at: float, ttl: float, wire: bytes = b"") -> None:
        self.key = key
        self.body = body
        self.wire = wire
        self.fetched_at = fetched_at
        self.expires_at = fetched_at + ttl
        self.refresh_at = policy.refresh_at(fetched_at, ttl)
        self.refreshing = False
        self.size = len(body) + len(wire) + ENTRY_OVERHEAD
        self.variant_free = False  # also answers for its key's alternate (see Cache.lookup)
        self.rendered: HitMemo | None = None  # paramsecrets.api.rendering's memo of this entry's last hit head
        self.failures = 0  # transient failures to refresh this value, in a row
        self.retry_after = 0.0  # no new attempt before this (wall clock) after a failure
        # A secret's version and rotation schedule, for revalidation (paramsecrets.cache.revalidation).
        self.version_id: str | None = None
        self.next_rotation: float | None = None
        self.rotation_polls = 0  # revalidations past the rotation instant that found no new version


class Cache:
    """LRU store bounded by entry count and bytes; freshness by paramsecrets.cache.policy.

    `draw` is the source of randomness for TTL and back-off jitter (uniform in [0, 1)): tests
    inject their own to assert exact times.
    """

    def __init__(self, max_entries: int, max_bytes: int, max_staleness: float = 0.0,
                 refresh_ahead: bool = True, clock: Clock = WALL_CLOCK,
                 jitter: float = policy.TTL_JITTER, draw: Callable[[], float] = random.random) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.rules = Rules(max_staleness, refresh_ahead)
        self.clock = clock
        self.jitter = jitter
        self.draw = draw
        self.bytes = 0
        self._entries: OrderedDict[Key, Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0

    @property
    def max_staleness(self) -> float:
        return self.rules.max_staleness

    def lookup(self, key: Key, now: float, alternate: Key | None = None) -> tuple[Entry, Freshness] | None:
        """The entry for `key` and what it is good for, or None when there is nothing usable.

        `alternate` names a sibling key whose entry may answer too, if it is `variant_free`
        (a String parameter read with or without decryption is the same answer).
        """
        entry = self._entries.get(key)
        if entry is None:
            if alternate is None:
                return None
            entry = self._entries.get(alternate)
            if entry is None or not entry.variant_free:
                return None
        found = freshness(entry, now, self.rules)
        if found is HIT or found is REFRESH_AHEAD:
            self._entries.move_to_end(entry.key)
        elif found is MISS:
            self._remove(entry)
            return None
        return entry, found

    def touch(self, entry: Entry) -> bool:
        """Whether `entry` is still the one cached for its key; if so, mark it used, as a hit does
        (paramsecrets.api.replay's check before it answers a repeated hit from its bytes)."""
        key = entry.key
        if self._entries.get(key) is not entry:
            return False
        self._entries.move_to_end(key)
        return True

    def store(self, key: Key, body: bytes, ttl: float, fetched_at: float, variant_free: bool = False,
              wire: bytes = b"") -> Entry:
        """Keep a fresh answer (unless caching is off for it) and return its entry either way."""
        if self.jitter:  # a draw only when jitter is on: an injected sequence stays for back-off
            ttl = policy.jittered_ttl(ttl, self.jitter, self.draw())
        entry = Entry(key, body, fetched_at, ttl, wire)
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

    def too_large(self, entry: Entry, ttl: float) -> bool:
        """Whether `store` left this answer out only because it exceeds the byte bound."""
        return ttl > 0 and self.enabled and entry.size > self.max_bytes

    def note_failure(self, entry: Entry, now: float) -> None:
        """A refresh of `entry` failed transiently: back off (exponential, jittered) before the next attempt.

        Meanwhile hits keep the value and expired reads get it as stale at once, instead of each
        calling an AWS that is throttling or down.
        """
        entry.failures += 1
        entry.refreshing = False
        entry.retry_after = now + policy.retry_delay(entry.failures, self.draw())

    def shorten(self, entry: Entry, expires_at: float) -> None:
        """End `entry`'s life sooner (a secret's rotation learnt after it was stored); never later."""
        if expires_at < entry.expires_at:
            ttl = expires_at - entry.fetched_at
            entry.expires_at = expires_at
            entry.refresh_at = policy.refresh_at(entry.fetched_at, ttl)

    def discard(self, key: Key | None) -> None:
        entry = self._entries.get(key) if key is not None else None
        if entry is not None:
            self._remove(entry)

    def discard_where(self, doomed: Callable[[Key], bool]) -> int:
        """Drop every entry whose key `doomed` accepts (a write invalidating what it changed); how many."""
        keys = [key for key in self._entries if doomed(key)]
        for key in keys:
            self._remove(self._entries[key])
        return len(keys)

    def peek(self, key: Key) -> Entry | None:
        """The entry without touching its recency (tests, metrics, batch planning)."""
        return self._entries.get(key)

    def peek_each(self, keys: Iterable[Key]) -> list[tuple[Key, Entry]]:
        """The entries held for `keys`, as `peek` finds them, in one call (a fetch's superseded forms)."""
        entries = self._entries
        return [(key, entries[key]) for key in keys if key in entries]

    def _remove(self, entry: Entry) -> None:
        del self._entries[entry.key]
        self.bytes -= entry.size


class Flights:
    """Single flight: concurrent loads of one key share one call and its outcome."""

    def __init__(self) -> None:
        # The loads in flight by key: read it (empty: no call can be joined), never write it.
        self.running: dict[Key, asyncio.Future[Entry]] = {}

    def __contains__(self, key: Key) -> bool:
        return key in self.running

    def joining(self, key: Key | None) -> asyncio.Future[Entry] | None:
        """The load running for `key`, if any."""
        return self.running.get(key) if key is not None else None

    def items(self) -> list[tuple[Key, asyncio.Future[Entry]]]:
        """Every running load (few at a time: misses in flight)."""
        return list(self.running.items())

    async def run(self, key: Key, load: Callable[[], Awaitable[Entry]]) -> Entry:
        """Await the load already running for `key`, or start it; a waiter's cancel spares it."""
        future = self.running.get(key)
        if future is None:
            future = asyncio.ensure_future(load())
            self.claim(key, future)
        return await asyncio.shield(future)

    def claim(self, key: Key, future: asyncio.Future[Entry]) -> None:
        """Register a load started elsewhere (a prefetch batch) so requests wait for it."""
        if key in self.running:
            return
        self.running[key] = future

        def finished(done: asyncio.Future[Entry]) -> None:
            if self.running.get(key) is done:
                del self.running[key]
            if not done.cancelled():
                done.exception()  # retrieved: waiters may all have gone away

        future.add_done_callback(finished)
