"""Batch planning and refresh coalescing: which names of a batch read need a call, and which
refresh-ahead hits are gathered into one GetParameters / BatchGetSecretValue.

A batch read's names are answered from fresh entries, from the stale value while a failed
refresh backs off, by waiting for a fetch already running (its own, or a decrypting prefetch of
a String), or by one batch fetch of the rest: `plan` sorts them, deciding with
paramsecrets.cache.policy. Refresh-ahead hits of parameters and current secrets are gathered for
REFRESH_GATHER_S on the injected clock and refreshed together (`RefreshCoalescer`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from paramsecrets.aws.errors import Kind, UpstreamError
from paramsecrets.cache.keys import Key, RefreshGroup
from paramsecrets.cache.policy import Freshness
from paramsecrets.cache.store import Cache, Entry, Flights
from paramsecrets.clock import Clock

Outcome = Entry | UpstreamError
REFRESH_GATHER_S = 0.02  # refresh-ahead hits gathered this long, then refreshed in batches
# An expired value whose last refresh failed is not fetched again before its retry time.
BACKING_OFF = UpstreamError(Kind.UNAVAILABLE, "ServiceUnavailable", "backing off after a failed refresh")


@dataclass
class BatchPlan:
    """Each requested name in exactly one of: answered, waiting, joined, missing."""

    answered: dict[str, Outcome] = field(default_factory=dict)  # a fresh entry, or BACKING_OFF
    waiting: dict[str, asyncio.Future[Entry]] = field(default_factory=dict)  # its own key's fetch runs
    joined: dict[str, asyncio.Future[Entry]] = field(default_factory=dict)  # its alternate's fetch runs
    missing: list[str] = field(default_factory=list)  # to fetch now, in one batch
    refresh_ahead: list[Entry] = field(default_factory=list)  # answered entries to refresh in the background


def plan(keys: dict[str, Key], alternates: dict[str, Key], cache: Cache, flights: Flights, now: float,
         refresh: bool) -> BatchPlan:
    """Sort a batch's names by what answers them (`refresh`: every name is fetched or joined)."""
    planned = BatchPlan()
    for name, key in keys.items():
        alternate = alternates.get(name)
        if not refresh:
            found = cache.lookup(key, now, alternate)
            if found is not None:
                entry, freshness = found
                if freshness.answers:
                    if freshness is Freshness.REFRESH_AHEAD:
                        planned.refresh_ahead.append(entry)
                    planned.answered[name] = entry
                    continue
                if freshness is Freshness.BACKING_OFF:
                    planned.answered[name] = BACKING_OFF  # the caller answers with the stale value
                    continue
        running = flights.joining(key)
        alternate_running = flights.joining(alternate) if not refresh else None
        if running is not None:
            planned.waiting[name] = running
        elif alternate_running is not None:
            planned.joined[name] = alternate_running
        else:
            planned.missing.append(name)
    return planned


def answered_after_join(keys: dict[str, Key], alternates: dict[str, Key], names: list[str], cache: Cache,
                        now: float) -> tuple[dict[str, Entry], list[str]]:
    """After the joined fetches ended: the names they answered, and the ones still missing."""
    answered: dict[str, Entry] = {}
    missing: list[str] = []
    for name in names:
        found = cache.lookup(keys[name], now, alternates.get(name))
        if found is not None and found[1].answers:
            answered[name] = found[0]
        else:
            missing.append(name)
    return answered, missing


class RefreshCoalescer:
    """Gathers refresh-ahead names per refresh group; after REFRESH_GATHER_S, `flush` gets each group's names.

    A function reading its 20 parameters makes 2 calls per TTL, not 20, which is what keeps a
    fleet under the account's quota.
    """

    def __init__(self, clock: Clock, flush: Callable[[RefreshGroup, tuple[str, ...]], None],
                 gather_s: float = REFRESH_GATHER_S) -> None:
        self.clock = clock
        self.flush = flush
        self.gather_s = gather_s
        self._queued: dict[RefreshGroup, dict[str, None]] = {}

    def add(self, group: RefreshGroup, name: str) -> None:
        queued = self._queued.setdefault(group, {})
        if not queued:
            self.clock.call_later(self.gather_s, lambda: self._flush(group))
        queued[name] = None

    def queued(self, group: RefreshGroup) -> tuple[str, ...]:
        return tuple(self._queued.get(group, ()))

    def _flush(self, group: RefreshGroup) -> None:
        names = tuple(self._queued.pop(group, {}))
        if names:
            self.flush(group, names)
