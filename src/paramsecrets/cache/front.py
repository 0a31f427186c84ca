"""The one read decision, for the GET routes and the AWS SDK protocol alike: what the cache holds
for a key and whether it answers now (fresh, refreshed ahead, stale while backing off), or a
fetch through the reader with a stale fallback and remembered errors.

Both answer paths ask here and only render what comes back, so hit / stale / miss is decided one
way. The freshness rules themselves (TTL, refresh ahead, the stale window) are policy.py's; this
module applies them. The GET hit path keeps its own two-line lookup (Service._answer) so a hit
stays a dozen calls; anything past a plain HIT comes here.
"""

from __future__ import annotations

import asyncio
from typing import Any

from paramsecrets.aws.errors import UpstreamError
from paramsecrets.cache.keys import Key
from paramsecrets.cache.policy import BACKING_OFF, HIT, REFRESH_AHEAD, Freshness, may_serve_stale
from paramsecrets.cache.reader import Reader
from paramsecrets.cache.store import Cache, Entry
from paramsecrets.clock import Clock, wait_at_most
from paramsecrets.metrics import Metrics

__all__ = ["HIT_STATE", "MISS_STATE", "REFRESH_STATE", "STALE_PATIENCE_S", "STALE_STATE", "CacheFront"]

# The cache states an answer reports (X-Paramsecrets-Cache), compared by identity.
HIT_STATE = b"hit"
STALE_STATE = b"stale"
MISS_STATE = b"miss"
REFRESH_STATE = b"refresh"

STALE_PATIENCE_S = 0.5  # a read that has a stale fallback waits at most this long for a fetch


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a background fetch's outcome as seen (nobody may be waiting for it any more)."""
    if not task.cancelled():
        task.exception()


class CacheFront:
    """Lookup, verdict, single flight (the reader's), stale fallback, refresh ahead, remembered errors."""

    def __init__(self, cache: Cache, reader: Reader, metrics: Metrics, stale_ok: bool,
                 clock: Clock | None = None) -> None:
        self.cache = cache
        self.reader = reader
        self.metrics = metrics
        self.stale_ok = stale_ok
        self.clock = clock or cache.clock

    def cached(self, key: Key, alternate: Key | None, now: float,
               need_wire: bool = False) -> tuple[Entry, bytes | None] | None:
        """What the cache holds for a single read: (entry, HIT or STALE) when it answers now,
        (entry, None) when it is only a stale fallback for a fetch, None when there is nothing.

        `need_wire`: only entries holding AWS's own fields count (the SDK protocol answers with them).
        """
        found = self.cache.lookup(key, now, alternate)
        if found is None or (need_wire and not found[0].wire):
            return None
        return found[0], self.judge(found[0], found[1])

    def judge(self, entry: Entry, freshness: Freshness) -> bytes | None:
        """How a found entry answers: HIT (refreshing it ahead if due), STALE while it backs off,
        or None (a stale fallback for a fetch). Counts the hit or the stale answer."""
        if freshness is HIT or freshness is REFRESH_AHEAD:
            if freshness is REFRESH_AHEAD:
                self.reader.refresh_ahead(entry)
            self.metrics.hits += 1
            return HIT_STATE
        if freshness is BACKING_OFF and self.stale_ok:  # no call until the retry time
            self.metrics.stale += 1
            return STALE_STATE
        return None

    def remembered_error(self, key: Key) -> UpstreamError | None:
        """A not-found, denied or invalid answer for `key` remembered a moment ago (no call)."""
        return self.reader.remembered_error(key)

    async def fetch(self, key: Key, refresh: bool, stale: Entry | None,
                    recalled: bool = False) -> tuple[Entry, bytes]:
        """Load `key` through the reader: (entry, MISS or REFRESH), or `stale` (STALE) when AWS
        is slow or failing transiently and the last good value may stand in; else UpstreamError.
        `recalled`: the caller asked `remembered_error` already (the reader does not ask again)."""
        if refresh:
            self.metrics.refresh_now += 1
        else:
            self.metrics.misses += 1
        if stale is None or not self.stale_ok:  # nothing to fall back to in time: no task of ours
            try:
                return await self.reader.load(key, refresh, recall=not recalled), \
                    REFRESH_STATE if refresh else MISS_STATE
            except UpstreamError as error:
                fallback = self.stale_fallback(stale, error, refresh)
                if fallback is None:
                    raise
                return fallback, STALE_STATE
        loading = asyncio.ensure_future(self.reader.load(key, refresh, recall=not recalled))
        loading.add_done_callback(_retrieve)
        try:
            # With a last good value in hand, wait only so long: the fetch (and its retries) goes
            # on in the background and updates the cache when it succeeds.
            if not await wait_at_most(self.clock, loading, STALE_PATIENCE_S):
                self.metrics.stale += 1
                return stale, STALE_STATE
            return await loading, REFRESH_STATE if refresh else MISS_STATE
        except UpstreamError as error:
            fallback = self.stale_fallback(stale, error, refresh)
            if fallback is None:
                raise
            return fallback, STALE_STATE

    def stale_fallback(self, stale: Entry | None, error: UpstreamError, refresh: bool) -> Entry | None:
        """The last good value, when the failure is transient and staleness is allowed."""
        if stale is None or refresh or not self.stale_ok or not error.transient:
            return None
        if not may_serve_stale(stale, self.clock.time(), self.cache.rules):
            return None
        self.metrics.stale += 1  # logged once per failed fetch (reader), not once per answer
        return stale

    def batch_item(self, outcome: UpstreamError, key: Key, alternate: Key | None, refresh: bool) -> Entry | None:
        """A batch outcome that failed as a whole (not per item): the stale value standing in, or None."""
        found = None if refresh else self.cache.lookup(key, self.clock.time(), alternate)
        return self.stale_fallback(found[0] if found else None, outcome, refresh)
