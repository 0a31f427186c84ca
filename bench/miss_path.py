"""How many calls, changes of module and tasks one GET costs inside paramsecrets, for a hit and a
miss, on the in-process stack (paramsecrets.testing.stack: the server's own assembly on the fake
upstream and the fake clock; no sockets, so only our code and asyncio are counted).

    python bench/miss_path.py            # this tree
    PYTHONPATH=/path/to/other/src python bench/miss_path.py   # another tree, for a before/after

Counts, not times: the same request makes the same calls on every run, so the figures are exact
and comparable across trees (docs/architecture.md quotes them). A "change of module" is a call
into a paramsecrets module other than the caller's; tasks are the event loop's create_task calls
(asyncio.ensure_future and asyncio.create_task end there).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from paramsecrets.http.parser import Request
from paramsecrets.testing.stack import TOKEN, Stack, parse

TARGET = b"/systemsmanager/parameters/get?name=/app/db"
TASK_STARTER = "create_task"  # the event loop's: ensure_future and asyncio.create_task end there


class Counter:
    """A profile function: calls into paramsecrets (and tasks started), by module."""

    def __init__(self) -> None:
        self.calls = 0
        self.changes = 0
        self.tasks = 0
        self.modules: set[str] = set()

    def __call__(self, frame: FrameType, event: str, _: Any) -> Callable[..., Any] | None:
        if event != "call":
            return None
        module = frame.f_globals.get("__name__", "")
        if frame.f_code.co_name == TASK_STARTER and module.startswith("asyncio"):
            self.tasks += 1
        if not module.startswith("paramsecrets.") or module.startswith("paramsecrets.testing"):
            return None
        self.calls += 1
        self.modules.add(module)
        caller = frame.f_back
        if caller is None or caller.f_globals.get("__name__", "") != module:
            self.changes += 1
        return None


async def one_request(stack: Stack) -> tuple[Counter, str]:
    request = Request(b"GET", TARGET, b"HTTP/1.1", token=TOKEN)
    counter = Counter()
    sys.setprofile(counter)
    try:
        answered = stack.service.respond(request)
        raw = answered if isinstance(answered, bytes) else await answered
    finally:
        sys.setprofile(None)
    return counter, parse(raw).headers.get("x-paramsecrets-cache", "?")


async def main() -> None:
    stack = Stack(ssm_ttl=300)
    stack.upstream.put_parameter("/app/db", "value")
    stack.respond("/ping")  # routes and the profile's first use warmed outside the count
    miss, miss_state = await one_request(stack)
    hit, hit_state = await one_request(stack)
    print("read   state  calls  module changes  modules  tasks")
    for name, counter, state in (("miss", miss, miss_state), ("hit", hit, hit_state)):
        print(f"{name:6} {state:6} {counter.calls:5}  {counter.changes:14}  {len(counter.modules):7}  "
              f"{counter.tasks:5}")


if __name__ == "__main__":
    asyncio.run(main())
