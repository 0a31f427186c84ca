"""A clock that moves only when the test says so, and fires the timers that fall due.

    clock = FakeClock()
    cache = Cache(..., clock=clock)
    clock.advance(80)          # fires every timer due by then, in order
    await clock.settle()       # lets the event loop run what those timers started

Nothing here sleeps: `settle` yields to the loop (asyncio.sleep(0)) until no task is ready.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable

from paramsecrets.clock import Timer

START = 1_700_000_000.0  # a plausible wall-clock epoch time, whole second


class FakeTimer:
    """A pending callback on a FakeClock."""

    __slots__ = ("callback", "cancelled", "due")

    def __init__(self, due: float, callback: Callable[[], object]) -> None:
        self.due = due
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """Wall and monotonic time that advance together, only through `advance`."""

    def __init__(self, start: float = START) -> None:
        self.now = start
        self._monotonic = 0.0
        self._timers: list[tuple[float, int, FakeTimer]] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self._monotonic

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer:
        timer = FakeTimer(self.now + max(0.0, delay), callback)
        heapq.heappush(self._timers, (timer.due, next(self._order), timer))
        return timer

    @property
    def pending(self) -> int:
        """Timers not yet fired nor cancelled."""
        return sum(1 for _, _, timer in self._timers if not timer.cancelled)

    def next_due(self) -> float | None:
        """When the next live timer fires, or None."""
        for due, _, timer in sorted(self._timers):
            if not timer.cancelled:
                return due
        return None

    def advance(self, seconds: float) -> None:
        """Move both clocks forward, firing each timer due on the way at its own time.

        Callbacks run synchronously; coroutines they wake resume at the next `settle`, by when
        the clock reads the end time. Use `run` when resumed work must see each timer's own time.
        """
        if seconds < 0:
            raise ValueError("a fake clock does not go back; use jump() for a wall-clock step")
        self.advance_to(self.now + seconds)

    def advance_to(self, target: float) -> None:
        """`advance` to an exact wall-clock reading (no float rounding of a sum)."""
        if target < self.now:
            raise ValueError("a fake clock does not go back")
        while self._timers and self._timers[0][0] <= target:
            due, _, timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._monotonic += due - self.now
            self.now = due
            timer.callback()
        self._monotonic += target - self.now
        self.now = target

    def jump(self, seconds: float) -> None:
        """Step the wall clock only (a thawed sandbox, an NTP step); timers and monotonic stay."""
        self.now += seconds

    async def settle(self, rounds: int = 50) -> None:
        """Let the event loop run everything that is ready (no time passes)."""
        for _ in range(rounds):
            await asyncio.sleep(0)

    async def run(self, seconds: float) -> None:
        """Advance `seconds`, stopping at each timer due on the way and settling there, so work
        a timer wakes runs at the timer's own time and may schedule more."""
        end = self.now + seconds
        await self.settle()
        while True:
            due = self.next_due()
            if due is None or due > end:
                break
            self.advance_to(due)
            await self.settle()
        self.advance_to(end)
        await self.settle()
