"""A repeated cached hit answered from its rendered bytes, before the parser and the routes.

A function asks for the same few values again and again, with the same request bytes. After a
keep-alive GET has been answered as a cache hit, the HTTP server (paramsecrets.http.server) keeps
its exact bytes with a `Replay`: the answer's bytes and what must still hold for them to be the
answer. The next time those exact bytes arrive on an idle connection, the Replay either gives the
bytes (one clock read, a few comparisons, the constant-time token check) or says no, and the
request takes the full path (which may then make a new Replay).

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
"""

from __future__ import annotations

from collections.abc import Callable

from paramsecrets.api.tokens import Token
from paramsecrets.cache.store import Cache, Entry
from paramsecrets.metrics import Metrics

__all__ = ["Replay", "make"]

KEEP_JOINED = 4096  # bodies up to this are kept joined to their head; larger ones are joined per answer


class Replay:
    """The answer to one exact request, while it stays the answer (see the module)."""

    __slots__ = ("ahead", "cache", "entry", "head", "joined", "metrics", "now", "token", "token_sent", "valid_from",
                 "valid_until")

    def __init__(self, entry: Entry, head: bytes, valid_from: float, valid_until: float, *, cache: Cache,
                 token: Token, token_sent: bytes | None, metrics: Metrics, now: Callable[[], float]) -> None:
        self.entry = entry
        self.head = head
        # A small answer is kept whole (one buffer to write); a large body is not copied per replay.
        self.joined = head + entry.body if len(entry.body) <= KEEP_JOINED else None
        self.valid_from = valid_from
        self.valid_until = valid_until
        self.cache = cache
        self.ahead = cache.rules.refresh_ahead
        self.token = token
        self.token_sent = token_sent
        self.metrics = metrics
        self.now = now

    def __call__(self) -> bytes | None:
        """The answer's bytes, or None: the request must take the full path."""
        now = self.now()
        if not self.valid_from <= now < self.valid_until:
            return None
        entry = self.entry
        if now >= entry.expires_at or (self.ahead and now >= entry.refresh_at):  # shortened since
            return None
        if not self.token.matches(self.token_sent) or not self.cache.touch(entry):
            return None
        self.metrics.hits += 1
        return self.joined or self.head + entry.body


def make(entry: Entry, profile: object, token_sent: bytes | None, *, cache: Cache, token: Token,
         metrics: Metrics, now: Callable[[], float]) -> Replay | None:
    """A Replay of the keep-alive hit just rendered for `entry` in `profile`, or None when its
    rendered head (paramsecrets.api.rendering.hit's memo) is not there or no longer right."""
    memo = entry.rendered
    if memo is None or memo.profile is not profile:
        return None
    valid_until = min(memo.valid_until, entry.expires_at)
    if cache.rules.refresh_ahead:
        valid_until = min(valid_until, entry.refresh_at)
    if now() >= valid_until:
        return None
    return Replay(entry, memo.head, memo.valid_from, valid_until, cache=cache, token=token,
                  token_sent=token_sent, metrics=metrics, now=now)
