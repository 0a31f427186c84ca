"""A repeated cached hit answered from its rendered bytes, before the parser and the routes.

A function asks for the same few values again and again, with the same request bytes. After a
keep-alive GET has been answered as a cache hit that repeats a hit on the same entry within the
same second (a replay is right for that second at most, so a lone hit is not worth one), the HTTP
server (paramsecrets.http.server) keeps its exact bytes with a `Replay`: the answer's bytes and
what must still hold for them to be the answer. The next time those exact bytes arrive on an idle
connection, the Replay either gives the bytes (one clock read, a few comparisons, the
constant-time token check) or says no, and the request takes the full path (which may then make
a new Replay).

What the bytes decide (method, route, query, profile, keep-alive, no body, no forwarding header,
no signature) cannot change while they are the same bytes; what can change is checked on every
replay:

- the wall clock is inside the interval the rendered head is right for (its `Date` and `Age`
  change once a second), and before the entry's refresh-ahead point or expiry (after it the full
  path decides, and starts a refresh);
- the entry is still the cache's entry for its key (not replaced, dropped or evicted), and the
  replay touches its recency as a hit does;
- the token the request carries still matches (constant time; a `file://` token is re-read as on
  the full path).

The table lookup itself leaks nothing about the token: it is a dictionary keyed by the whole
request bytes, so bytes with a wrong token (or a token's prefix) differ in their hash (keyed per
process) and are never compared with a kept request; they take the full path, whose token check is
constant-time. The table is consulted only for what arrives on an idle connection with nothing
buffered, so the bytes of a request's body are never looked up (see paramsecrets.http.server).
"""

from __future__ import annotations

from collections.abc import Callable

from paramsecrets.api.tokens import Token
from paramsecrets.cache.store import Cache, Entry
from paramsecrets.metrics import Metrics

__all__ = ["Replay", "make"]

KEEP_JOINED = 1024  # bodies up to this are kept joined to their head; larger ones are joined per answer


Replay = Callable[[], "bytes | None"]
"""The answer's bytes, or None: the request must take the full path."""


def make(entry: Entry, profile: object, token_sent: bytes | None, *, cache: Cache, token: Token,
         metrics: Metrics, now: Callable[[], float]) -> Replay | None:
    """A Replay of the keep-alive hit just rendered for `entry` in `profile`, or None when its
    rendered head (paramsecrets.api.rendering.hit's memo) is not there or no longer right.

    A closure rather than an object: its checks run on every repeated hit, and cell reads are
    the cheapest Python has."""
    memo = entry.rendered
    if memo is None or memo.profile is not profile:
        return None
    ahead = cache.rules.refresh_ahead
    valid_from = memo.valid_from
    valid_until = min(memo.valid_until, entry.refresh_at if ahead else entry.expires_at)
    if now() >= valid_until:
        return None
    head = memo.head
    # A small answer is kept whole (one buffer to write); a large body is not copied per replay.
    joined = head + entry.body if len(entry.body) <= KEEP_JOINED else b""
    matches = token.matches
    touch = cache.touch

    def replay() -> bytes | None:
        moment = now()
        if moment < valid_from or moment >= valid_until:
            return None
        # The entry's life may have been shortened since (a secret's rotation learnt later).
        if moment >= (entry.refresh_at if ahead else entry.expires_at):
            return None
        if not matches(token_sent) or not touch(entry):
            return None
        metrics.hits += 1
        return joined or head + entry.body

    return replay
