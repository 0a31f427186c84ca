"""A cached answer as HTTP: the status line, the profile's type, `Date`, `Age` and the cache state.

The cache keeps bodies only; this module turns an entry into the bytes of one answer. The hot
path (`hit`) keeps the head of the last keep-alive hit on the entry (`Entry.rendered`) with the
wall-clock interval it is right for, so a repeat hit costs one comparison and one concatenation.
"""

from __future__ import annotations

from paramsecrets.api.profiles import Profile
from paramsecrets.cache.front import HIT_STATE, MISS_STATE, REFRESH_STATE, STALE_STATE
from paramsecrets.cache.store import Entry, HitMemo
from paramsecrets.http import responses

CLOSE = b"Connection: close\r\n"
HIT, STALE, MISS, REFRESH = HIT_STATE, STALE_STATE, MISS_STATE, REFRESH_STATE  # the cache front's states


def age(entry: Entry, now: float) -> int:
    """Whole seconds since the value was fetched (the `Age` header)."""
    return max(0, int(now - entry.fetched_at))


def cache_headers(age_s: int, state: bytes) -> bytes:
    """`Age` and `X-Paramsecrets-Cache` (hit, miss, refresh, stale), as one block of header lines."""
    return b"Age: %d\r\nX-Paramsecrets-Cache: %s\r\n" % (age_s, state)


def _head(entry: Entry, now: float, state: bytes, profile: Profile) -> bytes:
    return b"%s%s%s%s" % (responses.status_head(200, len(entry.body)), profile.type_line,
                          responses.date_line(now), cache_headers(age(entry, now), state))


def answer(entry: Entry, now: float, state: bytes, keep_alive: bool, profile: Profile) -> bytes:
    """A cached answer with its per-request headers, as one buffer."""
    return b"%s%s\r\n%s" % (_head(entry, now, state, profile), b"" if keep_alive else CLOSE, entry.body)


def hit(entry: Entry, now: float, keep_alive: bool, profile: Profile) -> bytes:
    """The hot path: a keep-alive hit reuses its head while neither `Date` nor `Age` changes.

    Both change once a second (on different boundaries): the head is kept with the interval of
    wall-clock time it is right for.
    """
    if not keep_alive:
        return answer(entry, now, HIT, False, profile)
    memo = entry.rendered
    if memo is not None and memo.profile is profile and memo.valid_from <= now < memo.valid_until:
        return memo.head + entry.body
    second = int(now)
    age_from = entry.fetched_at + age(entry, now)
    valid_from = max(second, age_from) if age_from <= now else second
    head = _head(entry, now, HIT, profile) + b"\r\n"
    entry.rendered = HitMemo(profile, valid_from, min(second + 1, age_from + 1), head)
    return head + entry.body
