"""Who gives up an inbound slot (http/slots.py), with plain holders: no sockets, no sleeps."""

from __future__ import annotations

from paramsecrets.http.connection import CLOSE, LINGER, OPEN, UNUSED, HttpConnection, Limits
from paramsecrets.http.slots import EVICTION_CHECKS, Slots

T0 = 100.0
PING = b"GET /ping HTTP/1.1\r\n\r\n"


class Holder:
    def __init__(self, name: str, unread: bool = False) -> None:
        self.name = name
        self.state = HttpConnection(Limits(), T0)
        self.unread = unread
        self.asked = 0

    def pending_input(self) -> bool:
        self.asked += 1
        return self.unread


def admit(slots: Slots[Holder], holder: Holder) -> Holder | None:
    """As the adapter does: take a slot, evict someone when full; the one evicted."""
    if slots.take(holder):
        slots.place(holder, holder.state.kind)
        return None
    evicted = slots.make_room()
    if evicted is not None:
        slots.place(holder, holder.state.kind)
    return evicted


def idle(holder: Holder, now: float) -> Holder:
    """The holder sends a request, is answered and is idle at `now`."""
    request = holder.state.receive(PING, now)
    assert request is not None
    holder.state.answer(request, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", now)
    return holder


def test_a_slot_is_free_until_capacity() -> None:
    slots: Slots[Holder] = Slots(2)
    assert admit(slots, Holder("a")) is None and admit(slots, Holder("b")) is None
    assert len(slots.open) == 2 and list(h.name for h in slots.unused) == ["a", "b"]


def test_the_oldest_connection_that_never_sent_a_request_goes_first() -> None:
    slots: Slots[Holder] = Slots(3)
    first, second = Holder("unused-1"), Holder("unused-2")
    busy_idle = idle(Holder("idle"), T0)
    for holder in (busy_idle, first, second):
        admit(slots, holder)
    evicted = admit(slots, Holder("new"))
    assert evicted is first and first.state.close == CLOSE and first not in slots.open
    assert first.state.take_output() == b""  # silently


def test_then_the_oldest_unfinished_request_gets_408() -> None:
    slots: Slots[Holder] = Slots(2)
    older, newer = Holder("older"), Holder("newer")
    for holder in (older, newer):
        admit(slots, holder)
        holder.state.receive(PING[:4], T0)
        slots.place(holder, holder.state.kind)
    assert list(slots.unfinished) == [older, newer]
    assert admit(slots, Holder("new")) is older
    assert older.state.close == LINGER and older.state.take_output().startswith(b"HTTP/1.1 408 ")


def test_then_the_least_recently_used_idle_connection() -> None:
    slots: Slots[Holder] = Slots(2)
    a, b = Holder("a"), Holder("b")
    for holder in (a, b):
        admit(slots, holder)
        idle(holder, T0)
        slots.place(holder, holder.state.kind)  # as the adapter does when the kind changes
    assert list(slots.idle) == [a, b]
    idle(a, T0 + 5)  # a is used again: not reordered on the hot path...
    assert list(slots.idle) == [a, b]
    assert admit(slots, Holder("new")) is b  # ...but it gets a second chance when a slot is needed
    assert list(slots.idle) == [a] and b.state.close == CLOSE


def test_a_connection_whose_request_waits_unread_is_not_idle() -> None:
    slots: Slots[Holder] = Slots(2)
    waiting, silent = Holder("waiting", unread=True), Holder("silent")
    admit(slots, waiting)
    admit(slots, silent)
    assert admit(slots, Holder("new")) is silent and waiting.asked == 1 and waiting in slots.open


def test_the_unread_input_checks_are_bounded() -> None:
    slots: Slots[Holder] = Slots(EVICTION_CHECKS + 2)
    holders = [Holder(str(n), unread=True) for n in range(EVICTION_CHECKS + 1)]
    for holder in holders:
        admit(slots, holder)
    unfinished = Holder("unfinished")
    admit(slots, unfinished)
    assert unfinished.state.receive(b"GET /ping HTTP/1.1\r\nX-Slow: a", T0) is None
    slots.place(unfinished, unfinished.state.kind)
    evicted = admit(slots, Holder("new"))
    # The checks ran out: the one never asked is not evicted; the unfinished request goes instead.
    assert evicted is unfinished and holders[EVICTION_CHECKS] in slots.open
    assert sum(holder.asked for holder in holders) == EVICTION_CHECKS


def test_fresh_connections_survive_a_slowloris_flood() -> None:
    """Issue 22 item 8: with every new attacker connection showing unread input, the eviction's checks
    were spent on them and the next connection in line, often a fresh client whose request had just
    arrived, was closed with no answer. Now unfinished (slowloris) requests go instead."""
    capacity = 50
    slots: Slots[Holder] = Slots(capacity)

    def arrive(holder: Holder) -> bool:
        """A connection arrives with its first bytes unread; False when it is refused (429)."""
        if slots.take(holder) or slots.make_room() is not None:
            slots.place(holder, holder.state.kind)
            return True
        slots.open.discard(holder)
        return False

    def read(holder: Holder, data: bytes) -> None:
        """The event loop reads what waited."""
        holder.unread = False
        holder.state.receive(data, T0)
        slots.place(holder, holder.state.kind)

    for n in range(capacity):
        attacker = Holder(f"slow-{n}", unread=True)
        assert arrive(attacker)
        read(attacker, b"GET /ping HTTP/1.1\r\nX-Slow: ")
    for round_ in range(200):
        before = [Holder(f"slow-{round_}-{n}", unread=True) for n in range(EVICTION_CHECKS)]
        client = Holder(f"client-{round_}", unread=True)
        after = [Holder(f"late-{round_}-{n}", unread=True) for n in range(EVICTION_CHECKS)]
        arrived = [holder for holder in before if arrive(holder)]
        assert arrive(client), f"round {round_}: the fresh client was refused"
        arrived += [holder for holder in after if arrive(holder)]
        assert client in slots.open and client.state.close == OPEN, f"round {round_}: the fresh client was evicted"
        read(client, PING)  # whole: it is answered, then it leaves
        slots.leave(client)
        for attacker in arrived:
            if attacker in slots.open:
                read(attacker, b"GET /ping HTTP/1.1\r\nX-Slow: ")


def test_when_every_slot_has_unread_input_the_newcomer_is_refused() -> None:
    slots: Slots[Holder] = Slots(3)
    holders = [Holder(str(n), unread=True) for n in range(3)]
    for holder in holders:
        admit(slots, holder)
    assert admit(slots, Holder("new")) is None  # the adapter answers 429: no request is dropped unanswered
    assert all(holder in slots.open and holder.state.close == OPEN for holder in holders)


def test_no_room_when_every_slot_has_a_request_being_answered() -> None:
    slots: Slots[Holder] = Slots(1)
    busy = Holder("busy")
    admit(slots, busy)
    assert busy.state.receive(PING, T0) is not None
    busy.state.awaiting()
    slots.place(busy, busy.state.kind)
    assert busy.state.kind is None
    newcomer = Holder("new")
    assert admit(slots, newcomer) is None  # the adapter answers the newcomer 429
    assert busy.state.close == OPEN and busy in slots.open


def test_leaving_frees_the_slot_and_the_order() -> None:
    slots: Slots[Holder] = Slots(1)
    holder = Holder("a")
    admit(slots, holder)
    assert holder.state.kind == UNUSED and holder in slots.unused
    slots.leave(holder)
    assert not slots.open and not slots.unused
    assert admit(slots, Holder("b")) is None

