"""The asyncio Protocol server: connections, keep-alive, pipelining, limits, graceful shutdown.

A cached hit is answered inside `data_received` with one `transport.write` and no task or
coroutine: that path is what the throughput budget measures. Anything that must wait (a miss)
becomes a task; the connection then holds further pipelined requests until it is answered,
so responses keep their order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from paramsecrets import log
from paramsecrets.http import responses
from paramsecrets.http.parser import ParseError, Request, parse

HEADER_TIMEOUT_S = 10.0  # a partial request older than this is dropped (slow clients, slowloris)
IDLE_TIMEOUT_S = 300.0  # an idle keep-alive connection older than this is closed
SWEEP_EVERY_S = 5.0
MAX_PENDING_BYTES = 64 * 1024  # buffered pipelined input while a miss is answered
LINGER_S = 2.0  # how long a closing connection waits for the peer to close

Reply = bytes | Coroutine[Any, Any, bytes]


class Application(Protocol):
    def respond(self, request: Request) -> Reply: ...


PARSE_ERROR_CODES = {413: "RequestTooLarge", 414: "RequestTooLarge", 431: "RequestTooLarge", 501: "NotImplemented"}


class Connection(asyncio.Protocol):
    """One client connection."""

    __slots__ = ("app", "buffer", "closing", "last_active", "paused", "server", "transport", "waiting")

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.app = server.app
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.waiting = False  # a reply is being prepared; later requests wait in the buffer
        self.paused = False
        self.closing = False
        self.last_active = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        server = self.server
        server.connections.add(self)
        if len(server.connections) > server.max_connections or server.stopping:
            self._fail(429, "TooManyConnections",
                       f"more than {server.max_connections} open connections; retry shortly")

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.closing = True
        if not self.server.connections and self.server.drained is not None:
            self.server.drained.set()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return  # lingering close: input is read and dropped until the peer closes
        self.last_active = time.monotonic()
        self.buffer = self.buffer + data if self.buffer else data
        if self.waiting:
            if len(self.buffer) > MAX_PENDING_BYTES and not self.paused:
                self.transport.pause_reading()  # type: ignore[union-attr]
                self.paused = True
            return
        self._serve_buffered()

    def _serve_buffered(self) -> None:
        """Answer every complete request in the buffer, in order, until one must wait."""
        buffer = self.buffer
        transport = self.transport
        assert transport is not None
        while buffer and not self.closing:
            try:
                parsed = parse(buffer)
            except ParseError as error:
                self.buffer = b""
                self._fail(error.status, PARSE_ERROR_CODES.get(error.status, "BadRequest"), error.message)
                return
            if parsed is None:
                break
            request, end = parsed
            buffer = buffer[end:]
            try:
                reply = self.app.respond(request)
            except Exception as error:  # a bug must cost one request, not the server
                reply = internal_error(error, request)
            if type(reply) is bytes:
                transport.write(reply)
                if not request.keep_alive:
                    self._close()
                    return
                continue
            self.buffer = buffer
            self.waiting = True
            task = asyncio.ensure_future(reply)
            task.add_done_callback(lambda done, request=request: self._answered(done, request))
            return
        self.buffer = buffer
        if self.server.stopping and not buffer:
            self._close(linger=False)

    def _answered(self, task: asyncio.Future[bytes], request: Request) -> None:
        self.waiting = False
        if self.closing:
            return
        keep_alive = request.keep_alive
        if task.cancelled():
            reply = responses.error(503, "ServiceUnavailable", "the server is shutting down", False)
            keep_alive = False
        else:
            error = task.exception()
            reply = task.result() if error is None else internal_error(error, request)
        self.transport.write(reply)  # type: ignore[union-attr]
        if not keep_alive:
            self._close()
            return
        if self.paused:
            self.paused = False
            self.transport.resume_reading()  # type: ignore[union-attr]
        self._serve_buffered()

    def _fail(self, status: int, code: str, message: str) -> None:
        """Answer an error that ends the connection."""
        self.transport.write(responses.error(status, code, message, keep_alive=False))  # type: ignore[union-attr]
        self._close()

    def _close(self, linger: bool = True) -> None:
        """Lingering close: send FIN after the answer, drop further input, close when the peer does.

        Closing a socket with unread input makes the kernel send RST, which can destroy the
        answer (a 400 or 429) before the client reads it.
        """
        if self.closing:
            return
        self.closing = True
        transport = self.transport
        assert transport is not None
        if linger and transport.can_write_eof():
            transport.write_eof()
            asyncio.get_running_loop().call_later(LINGER_S, transport.close)
        else:
            transport.close()

    def eof_received(self) -> bool:
        return False  # the peer is done: let the transport close

    def idle_for(self, now: float) -> float:
        return now - self.last_active


def internal_error(error: BaseException, request: Request) -> bytes:
    """A bug: log where (type and place only: messages may quote data), answer 500."""
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    where = f"{traceback.tb_frame.f_code.co_filename}:{traceback.tb_lineno}" if traceback else "?"
    log.error("internal error %s at %s", type(error).__name__, where)
    return responses.error(500, "InternalFailure", "internal error; see the server log", request.keep_alive)


class HttpServer:
    """Listening sockets, the set of connections, the inbound limit and the graceful stop."""

    def __init__(self, app: Application, max_connections: int) -> None:
        self.app = app
        self.max_connections = max_connections
        self.connections: set[Connection] = set()
        self.stopping = False
        self.drained: asyncio.Event | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self, sockets: list[Any]) -> None:
        """Serve on already-bound sockets (bound early, before Lambda registration)."""
        loop = asyncio.get_running_loop()
        factory: Callable[[], Connection] = lambda: Connection(self)  # noqa: E731
        for sock in sockets:
            self._servers.append(await loop.create_server(factory, sock=sock, backlog=1024))
        self._sweeper = asyncio.create_task(self._sweep())

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            now = time.monotonic()
            for connection in list(self.connections):
                if connection.waiting:
                    continue
                idle = connection.idle_for(now)
                if not connection.closing and (
                        (connection.buffer and idle > HEADER_TIMEOUT_S) or idle > IDLE_TIMEOUT_S):
                    connection._close()

    async def stop(self, grace_s: float) -> None:
        """Stop accepting, close idle connections, let in-flight answers finish (up to grace_s)."""
        self.stopping = True
        self.drained = asyncio.Event()
        for server in self._servers:
            server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for connection in list(self.connections):
            if not connection.waiting:
                connection._close(linger=False)  # idle: nothing unread, no reason to wait
        if self.connections:
            try:
                await asyncio.wait_for(self.drained.wait(), grace_s)
            except TimeoutError:
                log.warn("%d connections still busy at shutdown; closing them", len(self.connections))
                for connection in list(self.connections):
                    connection.transport.close()  # type: ignore[union-attr]
