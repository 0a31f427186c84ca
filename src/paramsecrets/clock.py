"""The clock seam: wall time, monotonic time and timers, injected wherever a decision needs time.

Production uses `WALL_CLOCK` (the system clock and the running event loop's timers). Tests use
`paramsecrets.testing.clock.FakeClock`, which moves only when the test says so and fires the
timers that fall due, so every freshness, back-off and patience rule is tested exactly.
Expiry is measured on the wall clock (`time()`): a Lambda sandbox that is frozen and thawed must
not serve a value past its TTL.
"""

from __future__ import annotations

import asyncio
import time as system_time
from collections.abc import Callable
from typing import Any, Protocol


class Timer(Protocol):
    """A scheduled callback that can be cancelled (asyncio.TimerHandle is one)."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """What the cache, the loader and the service ask of time."""

    def time(self) -> float:
        """Wall-clock seconds since the epoch (TTLs, `Age`, `Date`)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (durations in log lines)."""
        ...

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer:
        """Run `callback` once `delay` seconds have passed (refresh gathering, stale patience)."""
        ...


class WallClock:
    """The system clocks and the running event loop's timers."""

    time = staticmethod(system_time.time)
    monotonic = staticmethod(system_time.monotonic)

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer:
        return asyncio.get_running_loop().call_later(delay, callback)


WALL_CLOCK: Clock = WallClock()


async def wait_at_most(clock: Clock, future: asyncio.Future[Any], delay: float) -> bool:
    """Wait for `future` at most `delay` seconds on `clock`; whether it finished (it is never cancelled)."""
    if future.done():
        return True
    expired = asyncio.get_running_loop().create_future()

    def expire() -> None:
        if not expired.done():
            expired.set_result(None)

    timer = clock.call_later(delay, expire)
    try:
        await asyncio.wait((future, expired), return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        expire()
    return future.done()
