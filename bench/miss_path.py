"""How many calls, changes of module and tasks one GET costs inside paramsecrets, for a hit and a
miss, on the in-process stack (paramsecrets.testing.stack: the server's own assembly on the fake
upstream and the fake clock; no sockets, so only our code and asyncio are counted).

    python bench/miss_path.py                          # this tree's counts
    python bench/miss_path.py --against /other/src     # both trees' counts, and the hit's CPU ratio

Counts, not times: the same request makes the same calls on every run, so the figures are exact
and comparable across trees (docs/architecture.md quotes them). `--against` (a reference tree,
e.g. `git archive <commit> src | tar -x -C /tmp/before`) also times the in-process hit
(`Service.respond`, CPU time per call, the best of HIT_ROUNDS batches, so a busy machine's
waits are left out), alternating between the trees in fresh interpreters, and prints the ratio.
A "change of module" is a call into a paramsecrets module other than the caller's; tasks are the
event loop's create_task calls (asyncio.ensure_future and asyncio.create_task end there).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from paramsecrets.http.parser import Request
from paramsecrets.testing.stack import TOKEN, Stack, parse

TARGET = b"/systemsmanager/parameters/get?name=/app/db"
HIT_CALLS = 50_000  # per batch
HIT_ROUNDS = 15  # batches per interpreter (the best is kept)
RUNS = 4  # interpreters per tree, alternating
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


async def counts() -> None:
    stack = Stack(ssm_ttl=300)
    stack.upstream.put_parameter("/app/db", "value")
    stack.respond("/ping")  # routes and the profile's first use warmed outside the count
    miss, miss_state = await one_request(stack)
    hit, hit_state = await one_request(stack)
    print("read   state  calls  module changes  modules  tasks")
    for name, counter, state in (("miss", miss, miss_state), ("hit", hit, hit_state)):
        print(f"{name:6} {state:6} {counter.calls:5}  {counter.changes:14}  {len(counter.modules):7}  "
              f"{counter.tasks:5}")


async def hit_ns() -> None:
    """CPU nanoseconds per cached hit answered by Service.respond (the best batch)."""
    stack = Stack(ssm_ttl=10 ** 6)
    stack.upstream.put_parameter("/app/db", "value")
    request = Request(b"GET", TARGET, b"HTTP/1.1", token=TOKEN)
    first = stack.service.respond(request)
    if not isinstance(first, bytes):
        await first
    respond = stack.service.respond
    best = float("inf")
    for _ in range(HIT_ROUNDS):
        started = time.process_time()
        for _ in range(HIT_CALLS):
            respond(request)
        best = min(best, (time.process_time() - started) / HIT_CALLS)
    print(f"{best * 1e9:.0f}")


def run(mode: str, src: str | None) -> str:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    return subprocess.run([sys.executable, __file__, mode], check=True, capture_output=True, text=True,
                          env=env).stdout


def compare(reference: str) -> None:
    print(f"this tree:\n{run('--counts', None)}\nreference ({reference}):\n{run('--counts', reference)}")
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(RUNS):
        ours.append(float(run("--hit-ns", None)))
        theirs.append(float(run("--hit-ns", reference)))
    mine, ref = statistics.median(ours), statistics.median(theirs)
    print(f"hit, CPU per Service.respond: this tree {mine:.0f} ns, reference {ref:.0f} ns, "
          f"ratio {mine / ref:.2f} (median of {RUNS} interpreters each, alternating)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", metavar="SRC", help="a reference tree's src/ to compare with")
    parser.add_argument("--counts", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--hit-ns", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.hit_ns:
        asyncio.run(hit_ns())
    elif options.against:
        compare(options.against)
    else:
        asyncio.run(counts())


if __name__ == "__main__":
    main()
