"""Python CPU of one cached hit in-process, against a bare asyncio Protocol answering the same bytes.

    .venv/bin/python bench/hit_cpu.py [--requests 200000] [--rounds 5]

No sockets and no wrk: the server's own `Connection` (paramsecrets.http.server) is fed the same
keep-alive GET again and again through `data_received`, with a transport that only keeps the
bytes written, the answer path assembled as the server assembles it (process.app.assemble) on
the wall clock, the value cached from a fake upstream. The reference, measured in the same run
and alternating with ours, is the floor `bench/hit.py --asyncio-floor` runs: a Protocol whose
`data_received` writes fixed response bytes. The difference is what our Python adds per hit,
the figure that decides how close a socket benchmark can come to the floor (the kernel's TCP
and asyncio's own read and write are the same for both). Prints µs per hit, the median of the
rounds, and the difference; exits 1 if an answer is not the cached hit.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from paramsecrets.api.tokens import Token
from paramsecrets.clock import WALL_CLOCK
from paramsecrets.config import Settings
from paramsecrets.http.server import Connection, HttpServer
from paramsecrets.metrics import Metrics
from paramsecrets.process.app import assemble
from paramsecrets.testing.fake_upstream import FakeUpstream

TOKEN = b"bench-token"
NAME = "/bench/hit/config"
REQUEST = (b"GET /systemsmanager/parameters/get?name=%s HTTP/1.1\r\nHost: localhost:2773\r\n"
           b"X-Aws-Parameters-Secrets-Token: %s\r\n\r\n" % (NAME.encode(), TOKEN))


class Transport(asyncio.Transport):
    """Keeps the last write; never pauses, never closes."""

    def __init__(self) -> None:
        super().__init__()
        self.last = b""
        self.writes = 0

    def write(self, data: Any) -> None:
        self.last = data
        self.writes += 1

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def is_closing(self) -> bool:
        return False


class Floor(asyncio.Protocol):
    """The reference: what bench/hit.py's asyncio floor does per request."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(self.response)


def per_request_us(protocol: asyncio.BaseProtocol, requests: int) -> float:
    feed = protocol.data_received  # type: ignore[attr-defined]
    start = time.perf_counter_ns()
    for _ in range(requests):
        feed(REQUEST)
    return (time.perf_counter_ns() - start) / requests / 1000


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200_000, help="hits per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per target (alternating)")
    args = parser.parse_args(argv)

    upstream = FakeUpstream(WALL_CLOCK)
    upstream.put_parameter(NAME, "x" * 300)
    ready: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    ready.set_result(upstream)
    settings = Settings(None, None, ssm_ttl=3600)
    parts = assemble(settings, Token("AWS_SESSION_TOKEN", TOKEN), ready, Metrics())
    server = HttpServer(parts.answering, max_connections=16)
    ours = Connection(server)
    transport = Transport()
    ours.connection_made(transport)
    ours.data_received(REQUEST)  # the miss
    for _ in range(100):
        await asyncio.sleep(0)
        if transport.writes:
            break
    ours.data_received(REQUEST)
    hit = transport.last
    if b"X-Paramsecrets-Cache: hit" not in hit:
        print(f"not a cached hit: {hit[:200]!r}", file=sys.stderr)
        return 1
    floor = Floor(hit)
    floor.connection_made(Transport())

    times: dict[str, list[float]] = {"asyncio floor": [], "paramsecrets": []}
    for _ in range(args.rounds):
        times["asyncio floor"].append(per_request_us(floor, args.requests))
        times["paramsecrets"].append(per_request_us(ours, args.requests))
    if b"X-Paramsecrets-Cache: hit" not in transport.last or ours.closing:
        print("the last answer was not a keep-alive hit", file=sys.stderr)
        return 1
    floor_us = statistics.median(times["asyncio floor"])
    ours_us = statistics.median(times["paramsecrets"])
    print(f"asyncio floor data_received: {floor_us:.2f} µs per request (median of {args.rounds} rounds "
          f"of {args.requests:,})")
    print(f"paramsecrets data_received:  {ours_us:.2f} µs per hit; adds {ours_us - floor_us:.2f} µs of Python "
          f"per hit over the floor (ratio {ours_us / floor_us:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
