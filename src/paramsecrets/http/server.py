"""The asyncio Protocol server: connections, keep-alive, pipelining, limits, graceful shutdown.

A cached hit is answered inside `data_received` with one `transport.write` and no task or
coroutine: that path is what the throughput budget measures. Anything that must wait (a miss)
becomes a task; the connection then holds further pipelined requests until it is answered,
so responses keep their order.

Inbound slots are a shared resource that nobody may hold for free (docs/security.md):
- a request must arrive whole within `request_timeout_s` of its first byte (408, then close);
- an idle keep-alive connection is closed after `idle_timeout_s`;
- when every slot is taken, a new connection closes the oldest connection that never sent a
  request, else the oldest unfinished request, else the oldest idle keep-alive connection, to
  get in; 429 only when every slot has a request being answered.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from paramsecrets import log
from paramsecrets.http import responses
from paramsecrets.http.parser import ParseError, Request, parse

MAX_PENDING_BYTES = 64 * 1024  # buffered pipelined input while a miss is answered
LISTEN_BACKLOG = 1024
ACCEPT_BATCH = 32  # connections accepted per turn of the event loop
EVICTION_CHECKS = 16  # idle connections looked at for unread input before the unfinished ones

Reply = bytes | Coroutine[Any, Any, bytes]


@dataclass(frozen=True)
class Limits:
    """Time limits for inbound connections (tests shrink them)."""

    request_timeout_s: float = 10.0  # from a request's first byte to its last
    idle_timeout_s: float = 60.0  # a keep-alive connection with no request for this long is closed
    sweep_every_s: float = 1.0  # how often the limits are checked
    linger_s: float = 2.0  # how long a closing connection waits for the peer to close


class Application(Protocol):
    def respond(self, request: Request) -> Reply: ...


PARSE_ERROR_CODES = {413: "RequestTooLarge", 414: "RequestTooLarge", 431: "RequestTooLarge", 501: "NotImplemented"}


class Connection(asyncio.Protocol):
    """One client connection."""

    __slots__ = (
        "app",
        "buffer",
        "closing",
        "idle_order",
        "last_active",
        "paused",
        "peer_closed",
        "placed_at",
        "request_started",
        "server",
        "slot",
        "transport",
        "waiting",
    )

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.app = server.app
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.waiting = False  # a reply is being prepared; later requests wait in the buffer
        self.paused = False
        self.closing = False
        self.peer_closed = False  # the client half-closed: answer what it sent, then close
        self.last_active = time.monotonic()  # when the connection last became idle
        self.request_started: float | None = None  # first byte of an unfinished request
        self.slot: dict[Connection, None] | None = None  # which eviction order holds it, if any
        self.placed_at = 0.0  # last_active when it was placed there (see HttpServer.make_room)
        self.idle_order = server.idle

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        server = self.server
        server.connections.add(self)
        if server.stopping:
            self._fail(503, "ServiceUnavailable", "the server is shutting down")
            return
        server.open.add(self)
        if len(server.open) > server.max_connections and not server.make_room():
            self._fail(429, "TooManyConnections",
                       f"more than {server.max_connections} requests in progress; retry shortly")
            return
        self._place(server.unused)

    def connection_lost(self, exc: Exception | None) -> None:
        server = self.server
        server.connections.discard(self)
        self._leave_slot()
        self.closing = True
        if not server.connections and server.drained is not None:
            server.drained.set()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return  # lingering close: input is read and dropped until the peer closes
        if self.buffer:
            self.buffer += data
        else:
            self.buffer = data
            self.request_started = time.monotonic()
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
        restarted = False
        while buffer and not self.closing:
            try:
                parsed = parse(buffer)
            except ParseError as error:
                self.buffer = b""
                self._fail(error.status, PARSE_ERROR_CODES.get(error.status, "BadRequest"), error.message)
                return
            except Exception as error:  # a parser bug: one bounded log line and a 400, never a traceback
                self.buffer = b""
                log.error("internal error %s while parsing a request at %s", type(error).__name__, where(error))
                self._fail(400, "BadRequest", "malformed request")
                return
            if parsed is None:
                break
            request, end = parsed
            buffer = buffer[end:]
            if buffer:
                self.request_started = time.monotonic()  # pipelined: the next request starts now
                restarted = True
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
            self._place(None)  # busy: never evicted
            task = asyncio.ensure_future(reply)  # type: ignore[arg-type]  # not bytes: a coroutine
            task.add_done_callback(functools.partial(self._answered, request=request))
            return
        self.buffer = buffer
        if buffer or self.closing or self.peer_closed or self.server.stopping:
            self._settle(restarted)
            return
        started = self.request_started  # all answered: idle again (the hot path ends here)
        if started is not None:
            self.last_active = started
            self.request_started = None
        if self.slot is not self.idle_order:
            self._place(self.idle_order)

    def _settle(self, restarted: bool) -> None:
        """After serving: an unfinished request waits, or the connection must close."""
        if self.closing:
            return
        server = self.server
        if self.peer_closed or (server.stopping and not self.buffer):
            self._close(linger=False)  # nothing more can come (or is wanted) on this connection
        elif self.slot is not server.unfinished or restarted:
            self._place(server.unfinished)  # an unfinished request, ordered by request_started

    def _answered(self, task: asyncio.Future[bytes], *, request: Request) -> None:
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
        if self.server.stopping:
            self._close(linger=False)  # no more requests on this connection; the answer is flushed first
            return
        if not keep_alive:
            self._close()
            return
        now = time.monotonic()
        self.last_active = now
        self.request_started = now if self.buffer else None
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
        answer (a 400 or 429) before the client reads it. A closing connection no longer holds
        an inbound slot.
        """
        if self.closing:
            return
        self.closing = True
        self._leave_slot()
        transport = self.transport
        assert transport is not None
        if linger and not self.peer_closed and transport.can_write_eof():
            transport.write_eof()
            asyncio.get_running_loop().call_later(self.server.limits.linger_s, transport.close)
        else:
            transport.close()  # sends what is buffered first

    def _leave_slot(self) -> None:
        self.server.open.discard(self)
        self._place(None)

    def _place(self, slots: dict[Connection, None] | None) -> None:
        """Move to the end of one of the server's eviction orders (or out of them)."""
        if self.slot is not None:
            del self.slot[self]
        if slots is not None:
            slots[self] = None
        self.slot = slots
        self.placed_at = self.last_active

    def pending_input(self) -> bool:
        """Whether bytes from the client wait in the kernel, not yet read (only when choosing whom
        to evict: a connection whose request has arrived is not idle)."""
        import fcntl
        import termios

        sock = self.transport.get_extra_info("socket")  # type: ignore[union-attr]
        try:
            waiting = fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
        except (OSError, AttributeError):
            return False
        return int.from_bytes(waiting, sys.byteorder) > 0

    def eof_received(self) -> bool:
        """The client half-closed: keep the connection open to answer a request in progress."""
        self.peer_closed = True
        return self.waiting and not self.closing

    def expire(self, now: float) -> None:
        """Enforce the time limits (called by the server's sweep)."""
        if self.closing or self.waiting:
            return
        limits = self.server.limits
        if self.request_started is not None:
            if now - self.request_started > limits.request_timeout_s:
                self.buffer = b""
                self._fail(408, "RequestTimeout",
                           f"the request did not arrive whole within {limits.request_timeout_s:g} s")
        elif now - self.last_active > limits.idle_timeout_s:
            self._close(linger=False)

    def evict(self) -> None:
        """Give up this connection's slot to a new one (it is idle, or its request is unfinished)."""
        if self.request_started is None:
            self._close(linger=False)
        else:
            self.buffer = b""
            self._fail(408, "RequestTimeout", "the request did not arrive whole before its slot was needed")

    def shutdown(self) -> None:
        """The grace period is over: answer a request still in progress with 503, then close."""
        if self.closing:
            self.transport.close()  # type: ignore[union-attr]
            return
        if self.waiting:
            self._fail(503, "ServiceUnavailable", "the server is shutting down")
        self._close(linger=False)
        self.transport.close()  # type: ignore[union-attr]


def where(error: BaseException) -> str:
    """File and line an exception was raised at: never its message, which may quote client data."""
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    return f"{traceback.tb_frame.f_code.co_filename}:{traceback.tb_lineno}" if traceback else "?"


def internal_error(error: BaseException, request: Request) -> bytes:
    """A bug: log where (type and place only: messages may quote data), answer 500."""
    log.error("internal error %s at %s", type(error).__name__, where(error))
    return responses.error(500, "InternalFailure", "internal error; see the server log", request.keep_alive)


class HttpServer:
    """Listening sockets, the set of connections, the inbound limit and the graceful stop."""

    def __init__(self, app: Application, max_connections: int, limits: Limits | None = None) -> None:
        self.app = app
        self.max_connections = max_connections
        self.limits = limits or Limits()
        self.connections: set[Connection] = set()  # every connection, closing ones included
        self.open: set[Connection] = set()  # the ones holding an inbound slot
        # Slot holders that may be evicted, oldest first (dicts keep insertion order): connections
        # that never sent a whole request, ones whose request has not arrived whole, and
        # keep-alive connections between requests. Busy ones (a request being answered) are in none.
        self.unused: dict[Connection, None] = {}
        self.unfinished: dict[Connection, None] = {}
        self.idle: dict[Connection, None] = {}
        self.stopping = False
        self.drained: asyncio.Event | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._sweeper: asyncio.Task[None] | None = None
        self._last_tick = time.monotonic()

    async def start(self, sockets: list[Any]) -> None:
        """Serve on already-bound sockets (bound early, before Lambda registration)."""
        loop = asyncio.get_running_loop()
        factory: Callable[[], Connection] = lambda: Connection(self)  # noqa: E731
        for sock in sockets:
            # asyncio accepts up to `backlog` connections per turn of the loop; under a connection
            # flood a batch of 1024 (each may evict another) stalls every other client for tens of
            # milliseconds. Accept in small batches, then restore the kernel's deep queue.
            self._servers.append(await loop.create_server(factory, sock=sock, backlog=ACCEPT_BATCH))
            sock.listen(LISTEN_BACKLOG)
        self._sweeper = asyncio.create_task(self._sweep())

    def make_room(self) -> bool:
        """Free a slot for a new connection. Evicted first: the oldest connection that never sent a
        whole request, then the oldest unfinished request (408), then the least recently used idle
        keep-alive connection. False when every slot has a request being answered.

        A connection whose request already waits unread is not idle: it goes to the back (the
        unread-input check is a syscall, so at most EVICTION_CHECKS are made). Idle connections
        are not reordered on every request (that would tax the hot path): one used since it was
        placed gets a second chance at the back instead.
        """
        checks = EVICTION_CHECKS
        for victims in (self.unused, self.unfinished, self.idle):
            for _ in range(len(victims)):
                connection = next(iter(victims))
                if victims is self.idle and connection.last_active > connection.placed_at:
                    connection._place(victims)  # used since it was placed: second chance
                    continue
                if victims is not self.unfinished and checks > 0:
                    checks -= 1
                    if connection.pending_input():
                        connection._place(victims)
                        continue
                connection.evict()
                return True
        return False

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.limits.sweep_every_s)
            self.tick(time.monotonic())

    def tick(self, now: float) -> None:
        """Enforce the time limits at `now` (monotonic seconds)."""
        gap = now - self._last_tick
        self._last_tick = now
        if gap > 3 * self.limits.sweep_every_s + 1.0:
            # The process was frozen (a Lambda sandbox between invocations) or the loop stalled:
            # that time was nobody's idleness. Shift every connection's clock by the gap.
            self._forgive(gap)
            return
        for connection in list(self.open):
            connection.expire(now)

    def _forgive(self, gap: float) -> None:
        for connection in self.open:
            connection.last_active += gap
            if connection.request_started is not None:
                connection.request_started += gap

    async def stop(self, grace_s: float) -> None:
        """Stop accepting, close idle connections, let in-flight answers finish (up to grace_s),
        then answer what is still in progress with 503 and close everything."""
        self.stopping = True
        self.drained = asyncio.Event()
        for server in self._servers:
            server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for connection in list(self.connections):
            if connection.closing:
                connection.transport.close()  # type: ignore[union-attr]  # lingering: already answered
            elif not connection.waiting:
                connection._close(linger=False)  # idle (or an unfinished request): nothing to answer
        if self.connections:
            try:
                await asyncio.wait_for(self.drained.wait(), grace_s)
            except TimeoutError:
                busy = [connection for connection in self.connections if connection.waiting]
                log.warn("%d requests still in progress at shutdown; answering them 503", len(busy))
                for connection in list(self.connections):
                    connection.shutdown()
                await asyncio.sleep(0)  # let the transports flush and close
