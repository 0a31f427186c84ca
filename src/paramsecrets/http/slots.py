"""Inbound slots and who gives one up when they are all taken, without I/O.

Slots are a shared resource nobody may hold for free (docs/security.md). Holders that may be
evicted sit in three orders, oldest first (dicts keep insertion order), one per
`HttpConnection.kind`: connections that never sent a whole request, connections whose request has
not arrived whole, and keep-alive connections between requests. Busy ones (a request being
answered) and closing ones are in none. Tested with plain objects (tests/unit/test_http_slots.py).
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from paramsecrets.http.connection import IDLE, UNFINISHED, UNUSED, HttpConnection

EVICTION_CHECKS = 16  # holders asked about unread input per eviction, before the unfinished ones


class Holder(Protocol):
    """One connection as the slots see it: its state, and whether input waits unread for it."""

    @property
    def state(self) -> HttpConnection: ...

    def pending_input(self) -> bool: ...


H = TypeVar("H", bound=Holder)


class Slots(Generic[H]):
    """The holders of inbound slots and their eviction orders."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.open: set[H] = set()  # every holder of a slot
        self.unused: dict[H, None] = {}
        self.unfinished: dict[H, None] = {}
        self.idle: dict[H, None] = {}
        self._orders = {UNUSED: self.unused, UNFINISHED: self.unfinished, IDLE: self.idle}
        self._order_of: dict[H, dict[H, None]] = {}

    def take(self, holder: H) -> bool:
        """A new connection takes a slot: False when every slot is taken (make_room, or refuse it)."""
        self.open.add(holder)
        return len(self.open) <= self.capacity

    def leave(self, holder: H) -> None:
        """The holder closes: its slot is free."""
        self.open.discard(holder)
        self.place(holder, None)

    def place(self, holder: H, kind: str | None) -> None:
        """Move `holder` to the back of the order `kind` (or out of them all)."""
        order = self._order_of.pop(holder, None)
        if order is not None:
            del order[holder]
        if kind is not None and holder in self.open:
            order = self._orders[kind]
            order[holder] = None
            self._order_of[holder] = order
        holder.state.placed_at = holder.state.last_active

    def make_room(self) -> H | None:
        """Evict one holder for a newcomer; the one evicted (its state told so), or None when every
        slot has a request being answered or waiting to be read (the newcomer is then refused 429).

        Evicted first: the oldest connection that never sent a whole request and has nothing unread,
        then the oldest unfinished request (408), then the least recently used idle keep-alive
        connection. A holder whose request already waits unread is not idle: it goes to the back
        (the check is a syscall, so at most EVICTION_CHECKS are made per eviction). A connection
        that was never asked is never evicted as unused: under a slowloris flood every new attacker
        connection shows unread input, and evicting whoever came after the checks ran out used to
        drop fresh clients whose request had just arrived (the attackers' unfinished requests go
        instead). Idle holders are not reordered on every request (that would tax the hot path):
        one used since it was placed gets a second chance at the back instead.
        """
        checks = EVICTION_CHECKS
        for _ in range(min(len(self.unused), EVICTION_CHECKS)):
            holder = next(iter(self.unused))
            checks -= 1
            if holder.pending_input():
                self.place(holder, UNUSED)
                continue
            return self._evict(holder)
        if self.unfinished:
            return self._evict(next(iter(self.unfinished)))
        for _ in range(len(self.idle)):
            holder = next(iter(self.idle))
            state = holder.state
            if state.last_active > state.placed_at:
                self.place(holder, IDLE)  # used since it was placed: second chance
                continue
            if checks > 0:
                checks -= 1
                if holder.pending_input():
                    self.place(holder, IDLE)
                    continue
            return self._evict(holder)
        return None

    def _evict(self, holder: H) -> H:
        holder.state.evict()
        self.open.discard(holder)
        self.place(holder, None)
        return holder
