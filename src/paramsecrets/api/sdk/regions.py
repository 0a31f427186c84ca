"""Per-region state of the SDK forwarder: only AWS region names, bounded, and released when unused.

A forwarded call signed for another region gets a transport (a connection pool) for that region.
Those used to be kept until restart, at most 32 per service, so signing for 31 made-up regions
locked the real ones out. Now a region must be named as AWS names regions, the table keeps the
most recently used MAX_REGIONS per service (the least recently used one is closed to make room),
and one unused for IDLE_S is closed. The home region's transport is never evicted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

MAX_REGIONS = 32  # per service: the regions a function's calls are signed for
IDLE_S = 900.0  # a region unused this long is released

# AWS's region names: area, an optional partition word, a direction, a number (`us-east-1`,
# `us-gov-west-1`, `us-isob-east-1`, `eu-isoe-west-1`, `eusc-de-east-1`, `ap-southeast-7`).
AREAS = frozenset({"af", "ap", "ca", "cn", "eu", "eusc", "il", "me", "mx", "sa", "us"})
QUALIFIERS = frozenset({"gov", "iso", "isob", "isoe", "isof", "de"})
DIRECTIONS = frozenset({"central", "east", "west", "north", "south", "northeast", "northwest", "southeast",
                        "southwest"})


def is_aws_region_name(region: str) -> bool:
    """Whether `region` is named as AWS names its regions (a real one, or one AWS could open)."""
    parts = region.split("-")
    if len(parts) == 4 and parts[1] in QUALIFIERS:
        del parts[1]
    if len(parts) != 3:
        return False
    area, direction, number = parts
    return (area in AREAS and direction in DIRECTIONS and number.isascii() and number.isdigit()
            and len(number) <= 2 and not number.startswith("0"))


class Closable(Protocol):
    def close(self) -> None: ...


T = TypeVar("T", bound=Closable)


class RegionTable(Generic[T]):
    """Values (transports) per (service, region), least recently used first, bounded per service and
    released after IDLE_S unused; `home` is the region never evicted."""

    def __init__(self, home: str, max_regions: int = MAX_REGIONS, idle_s: float = IDLE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.home = home
        self.max_regions = max_regions
        self.idle_s = idle_s
        self.clock = clock
        self._held: dict[tuple[str, str], tuple[T, float]] = {}  # oldest use first

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._held

    def get(self, service: str, region: str, make: Callable[[], T]) -> T:
        """The value for (service, region), made when absent; marks it used now."""
        now = self.clock()
        self._release_idle(now)
        key = (service, region)
        held = self._held.pop(key, None)
        value = held[0] if held is not None else None
        if value is None:
            self._make_room(service)
            value = make()
        self._held[key] = (value, now)
        return value

    def _release_idle(self, now: float) -> None:
        for key, (value, used) in list(self._held.items()):
            if now - used < self.idle_s:
                break  # ordered by last use: the rest are newer
            if key[1] != self.home:
                del self._held[key]
                value.close()

    def _make_room(self, service: str) -> None:
        held = [key for key in self._held if key[0] == service]
        if len(held) < self.max_regions:
            return
        for key in held:  # least recently used first
            if key[1] != self.home:
                self._held.pop(key)[0].close()
                return

    def values(self) -> list[T]:
        return [value for value, _ in self._held.values()]
