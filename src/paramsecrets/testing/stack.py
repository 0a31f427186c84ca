"""The whole answer path in-process, as the server assembles it (process.app.assemble): Router ->
Service -> CacheFront -> Reader -> Cache -> FakeUpstream, on a FakeClock.

    stack = Stack(ssm_ttl=100)
    stack.upstream.put_parameter("/a", "one")
    answer = await stack.get("/systemsmanager/parameters/get?name=/a")
    assert (answer.status, answer.cache, answer.json["Parameter"]["Value"]) == (200, "miss", "one")

Requests are in the detailed profile unless a test says otherwise, so statuses and error codes
are the real ones. `start(...)` begins a request that must wait (a fetch) and returns its task; the
test then moves the clock, opens gates or scripts failures, and awaits it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from paramsecrets.api.tokens import Token
from paramsecrets.aws.upstream import Upstream
from paramsecrets.config import Settings
from paramsecrets.http.parser import Request
from paramsecrets.metrics import Metrics
from paramsecrets.process.app import assemble
from paramsecrets.testing.clock import FakeClock
from paramsecrets.testing.fake_upstream import FakeUpstream

TOKEN = b"policy-test-token"


@dataclass
class Answer:
    """One HTTP answer, parsed."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def cache(self) -> str | None:
        return self.headers.get("x-paramsecrets-cache")

    @property
    def age(self) -> int:
        return int(self.headers["age"])

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def parse(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(lines[0].split(" ")[1]), headers, body)


class Stack:
    """A Service wired to a fake upstream and a fake clock. Settings as keyword arguments.

    `draw` replaces the random source of TTL and back-off jitter (uniform in [0, 1)); by default
    jitter is off (`jitter=0`), so times are exact; pass `jitter=paramsecrets.cache.policy.TTL_JITTER` to test it.
    """

    def __init__(self, *, jitter: float = 0.0, draw: Callable[[], float] = lambda: 0.0,
                 upstream_ready: bool = True, **settings: object) -> None:
        settings.setdefault("error_mode", "detailed")
        self.settings = Settings(None, None, **settings)
        self.clock = FakeClock()
        self.upstream = FakeUpstream(self.clock)
        self.ready: asyncio.Future[Upstream] = asyncio.get_running_loop().create_future()
        if upstream_ready:
            self.ready.set_result(self.upstream)
        self.metrics = Metrics()
        # The server's own assembly (paramsecrets.process.app.assemble), on the fake clock, without
        # sockets, AWS settings or the SDK protocol.
        self.parts = assemble(self.settings, Token("AWS_SESSION_TOKEN", TOKEN), self.ready, self.metrics,
                              clock=self.clock, jitter=jitter, draw=draw)
        self.cache, self.reader, self.service = self.parts.cache, self.parts.reader, self.parts.service

    def respond(self, target: str, profile: str | None = None, keep_alive: bool = True) -> bytes | Coroutine[
            Any, Any, bytes]:
        request = Request(b"GET", target.encode(), b"HTTP/1.1", token=TOKEN, keep_alive=keep_alive,
                          profile=None if profile is None else profile.encode())
        return self.service.respond(request)

    async def start(self, target: str, **options: Any) -> asyncio.Future[Answer]:
        """A request as a task, run until it waits (for a gate, latency or a timer) or is answered."""
        answered = self.respond(target, **options)

        async def finish() -> Answer:
            return parse(answered if isinstance(answered, bytes) else await answered)

        task = asyncio.ensure_future(finish())
        await self.clock.settle()
        return task

    async def get(self, target: str, **options: Any) -> Answer:
        """A request answered without moving the clock (the fake upstream has no latency by default)."""
        task = await self.start(target, **options)
        if not task.done():
            raise AssertionError(f"{target} is still waiting (a gate, latency or patience timer holds it)")
        return task.result()

    def answered_at_once(self, target: str, **options: Any) -> Answer:
        """A request that must be answered without waiting at all (a hit, or stale while backing off)."""
        answered = self.respond(target, **options)
        if not isinstance(answered, bytes):
            answered.close()
            raise AssertionError(f"{target} was not answered from the cache")
        return parse(answered)
