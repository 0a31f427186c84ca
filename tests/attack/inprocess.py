"""The real HttpServer in this process, on a loopback port, with a scripted application.

The slow route waits for an event the test sets, so "a request in progress" is an exact state,
not a duration; limits are shrunk so the timeouts fire within a test's lifetime.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from paramsecrets.http import responses
from paramsecrets.http.parser import Request
from paramsecrets.http.server import HttpServer, Limits, Log, Reply

POLL_S = 0.005
BOUND_S = 30.0
PING = b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"
SLOW = b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"


class ScriptedApp:
    """`/slow` waits for `release`; everything else is answered at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = 0

    def respond(self, request: Request) -> Reply:
        if request.target == b"/slow":
            return self._slow(request)
        return responses.simple(200, responses.TEXT, b"ok", request.keep_alive)

    async def _slow(self, request: Request) -> bytes:
        self.started += 1
        await self.release.wait()
        return responses.simple(200, responses.TEXT, b"slow", request.keep_alive)


async def until(condition: Callable[[], bool], bound: float = BOUND_S) -> None:
    """Poll `condition` until it holds; fail after `bound` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met within the bound")
        await asyncio.sleep(POLL_S)


@asynccontextmanager
async def serving(max_connections: int = 800, limits: Limits | None = None, app: ScriptedApp | None = None,
                  log: Log | None = None) -> AsyncIterator[tuple[HttpServer, ScriptedApp, int]]:
    app = app or ScriptedApp()
    server = HttpServer(app, max_connections, limits or Limits(), log)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.setblocking(False)
    port = sock.getsockname()[1]
    await server.start([sock])
    try:
        yield server, app, port
    finally:
        if not server.stopping:
            app.release.set()
            await server.stop(1.0)


class Client:
    """A raw connection: send bytes, read one answer or everything until close."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self) -> bytes:
        """One response (head and Content-Length body)."""
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), BOUND_S)
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        return head + await asyncio.wait_for(self.reader.readexactly(length), BOUND_S)

    async def rest(self) -> bytes:
        """Everything until the server closes (bounded)."""
        return await asyncio.wait_for(self.reader.read(), BOUND_S)

    def close(self) -> None:
        self.writer.close()


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())  # type: ignore[arg-type]
