"""The freshness policy, in one place: what an entry is good for at a given time.

Every part that decides (the cache's lookup, the loader's batch planning, the GET routes, the
SDK protocol) asks `freshness`; nothing else compares an entry's times. Pure functions of an
entry, a time and the rules (plus a random draw where jitter is wanted), so they are tested
exactly on numbers (tests/policy/).

    now < refresh_at                         HIT
    refresh_at <= now < expires_at           REFRESH_AHEAD once (the rest of the window: HIT),
                                             unless a refresh runs or a failed one backs off
    expires_at <= now < expires_at + max_staleness
                                             BACKING_OFF while the last refresh's retry time
                                             is ahead (answer stale, no call), else STALE
                                             (fetch; the value is the fallback if AWS fails)
    later, or no entry                       MISS
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

REFRESH_AHEAD_AT = 0.8  # a hit in the last 20% of the TTL refreshes the entry in the background
TTL_JITTER = 0.1  # TTLs are shortened by up to 10% so a fleet's entries do not expire in step
RETRY_BASE_S = 1.0  # after a failed refresh, the first wait before another attempt...
RETRY_CAP_S = 60.0  # ...doubling up to this


class Freshness(Enum):
    """How an entry may be used right now."""

    HIT = "hit"
    REFRESH_AHEAD = "refresh ahead"  # answer it, and refresh it in the background
    BACKING_OFF = "backing off"  # expired; its last refresh failed and the retry time is ahead
    STALE = "stale"  # expired but within the staleness window: fetch, fall back to it
    MISS = "miss"

    @property
    def answers(self) -> bool:
        """Whether the entry is the answer as it is (a hit, with or without a refresh behind it)."""
        return self is HIT or self is REFRESH_AHEAD


# The members as module constants: the hit path compares against these (an Enum attribute lookup
# costs ~80 ns on CPython 3.11, a module global ~20 ns).
HIT = Freshness.HIT
REFRESH_AHEAD = Freshness.REFRESH_AHEAD
BACKING_OFF = Freshness.BACKING_OFF
STALE = Freshness.STALE
MISS = Freshness.MISS


class Entry(Protocol):
    """What the rules read of a cached entry (paramsecrets.cache.store.Entry has it): its times, as
    a protocol so the rules import nothing of the store that asks them."""

    expires_at: float
    refresh_at: float
    refreshing: bool
    retry_after: float


@dataclass(frozen=True, slots=True)
class Rules:
    """The process's freshness settings."""

    max_staleness: float = 0.0  # seconds past the TTL an entry may still answer when AWS fails
    refresh_ahead: bool = True


def freshness(entry: Entry | None, now: float, rules: Rules) -> Freshness:
    """What `entry` is good for at `now` (see the module's table)."""
    if entry is None:
        return MISS
    if now < entry.expires_at:
        if now >= entry.refresh_at and rules.refresh_ahead and not entry.refreshing and now >= entry.retry_after:
            return REFRESH_AHEAD
        return HIT
    if may_serve_stale(entry, now, rules):  # the stale window: one rule, below
        return BACKING_OFF if now < entry.retry_after else STALE
    return MISS


def may_serve_stale(entry: Entry, now: float, rules: Rules) -> bool:
    """Whether `entry` may still stand in for a failed fetch at `now` (within its staleness window)."""
    return now < entry.expires_at + rules.max_staleness


def jittered_ttl(ttl: float, jitter: float, draw: float) -> float:
    """`ttl` shortened by up to `jitter` of itself; `draw` is uniform in [0, 1)."""
    if jitter and ttl > 0:
        return ttl * (1.0 - jitter * draw)
    return ttl


def refresh_at(fetched_at: float, ttl: float) -> float:
    """When the refresh-ahead window of a value fetched at `fetched_at` opens."""
    return fetched_at + ttl * REFRESH_AHEAD_AT


def retry_delay(failures: int, draw: float) -> float:
    """The wait after the `failures`-th failed refresh in a row: exponential, capped, jittered.

    `draw` is uniform in [0, 1): the wait is between half and all of the doubling step, so a
    fleet that failed together does not retry together.
    """
    step = min(RETRY_CAP_S, RETRY_BASE_S * 2.0 ** (failures - 1))
    return step * (0.5 + 0.5 * draw)


# Rotation-aware expiry (Secrets Manager) ------------------------------------------------------
# An entry never outlives its secret's next rotation: it expires at most ROTATION_GRACE_S after
# NextRotationDate. Past that instant, while the version has not changed yet (the rotation runs
# or waits in its window), it is revalidated often: ROTATION_POLL_BASE_S, doubling to
# ROTATION_POLL_CAP_S, each shortened by up to ROTATION_POLL_JITTER; after ROTATION_WATCH_S past the
# instant (a rotation that failed or never ran) the normal TTL returns.
ROTATION_GRACE_S = 5.0
ROTATION_POLL_BASE_S = 5.0
ROTATION_POLL_CAP_S = 30.0
ROTATION_POLL_JITTER = 0.2
ROTATION_WATCH_S = 900.0


def rotation_poll_delay(polls: int, draw: float) -> float:
    """The wait before the `polls`+1-th revalidation past a rotation instant; `draw` uniform in [0, 1)."""
    step = min(ROTATION_POLL_CAP_S, ROTATION_POLL_BASE_S * 2.0 ** polls)
    return step * (1.0 - ROTATION_POLL_JITTER * draw)


def secret_ttl(ttl: float, now: float, next_rotation: float | None, polls: int, draw: float) -> float:
    """A secret entry's TTL at `now`, given its rotation schedule (None: rotation off or unknown).

    Before the rotation instant (plus the grace): the TTL, cut to end there. Past it, while the
    version stays the same: the short poll delay, for up to ROTATION_WATCH_S. Never longer than `ttl`.
    """
    if next_rotation is None or ttl <= 0:
        return ttl
    due = next_rotation + ROTATION_GRACE_S
    if now < due:
        return min(ttl, due - now)
    if now - due < ROTATION_WATCH_S:
        return min(ttl, rotation_poll_delay(polls, draw))
    return ttl


# Error caching -------------------------------------------------------------------------------


def error_ttl(error_ttl_setting: float, service_ttl: float) -> float:
    """How long a definitive error (not found, denied, invalid) is remembered: the setting, at
    most the service's TTL (0: never)."""
    return max(0.0, min(error_ttl_setting, service_ttl))
