"""Lambda's INIT phase as a deadline, so that a read made during INIT ends before INIT does.

Lambda gives INIT (every extension's start and the function's module-level code) 10 s on
demand. A function that reads a parameter at module level waits for our answer inside those 10 s;
with AWS unreachable (a VPC with no endpoint or NAT), three attempts of 3 s each made every read
take 9 s and two reads failed INIT as a whole, with no word of why. During INIT a call is therefore
bounded by what is left of INIT (less a margin, so the function still gets our answer and can log
it), its first connection attempt is short, and no retry starts that could not finish.

INIT is over at the first event Lambda sends the extension (an INVOKE, or SHUTDOWN). Provisioned
concurrency and SnapStart initialise ahead of any invoke under other limits: no bound there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

INIT_LIMIT_S = 10.0
"""Lambda's INIT limit for on-demand functions."""
ANSWER_MARGIN_S = 1.0
"""A call during INIT ends this long before the limit: time for the function to hear and log why."""
FIRST_CONNECT_S = 1.0
"""The first attempt's connection timeout during INIT (3 s otherwise): a reachable AWS endpoint
connects in milliseconds; a network with no route to it never answers."""
MIN_ATTEMPT_S = 1.0
"""During INIT a retry starts only with at least this long left for it."""
BOUNDED_INIT_TYPES = ("", "on-demand")
"""AWS_LAMBDA_INITIALIZATION_TYPE values whose INIT has the 10 s limit (unset counts as on demand)."""


class InitWindow:
    """What is left of INIT, on an injectable clock; `remaining()` is None once INIT is over."""

    def __init__(self, started: float, is_over: Callable[[], bool], clock: Callable[[], float] = time.monotonic,
                 limit_s: float = INIT_LIMIT_S, margin_s: float = ANSWER_MARGIN_S,
                 first_connect_s: float = FIRST_CONNECT_S, min_attempt_s: float = MIN_ATTEMPT_S) -> None:
        self.started = started
        self.is_over = is_over
        self.clock = clock
        self.limit_s = limit_s
        self.margin_s = margin_s
        self.first_connect_s = first_connect_s
        self.min_attempt_s = min_attempt_s

    def remaining(self) -> float | None:
        """Seconds a call may still take during INIT (0 when none), or None after INIT."""
        if self.is_over():
            return None
        return max(0.0, self.started + self.limit_s - self.margin_s - self.clock())


def for_lambda(environ: Mapping[str, str], started: float, is_over: Callable[[], bool],
               clock: Callable[[], float] = time.monotonic) -> InitWindow | None:
    """The window for this function's INIT, or None where INIT has no 10 s limit."""
    if environ.get("AWS_LAMBDA_INITIALIZATION_TYPE", "").strip().lower() not in BOUNDED_INIT_TYPES:
        return None
    return InitWindow(started, is_over, clock)
