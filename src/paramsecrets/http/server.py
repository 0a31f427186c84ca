"""The asyncio side of the HTTP server: sockets, tasks and timers around connection.py's rules.

Every decision about a connection (keep-alive, pipelining order, limits, timeouts, lingering
close, half-close, shutdown) is made by `HttpConnection`, which does no I/O; the Protocol here
only feeds it bytes and times, writes what it produces and applies its verdicts. A cached hit is
answered inside `data_received` with one `transport.write` and no task or coroutine: that path
is what the throughput budget measures. Anything that must wait (a miss) becomes a task; the
connection holds further pipelined requests until it is answered, so responses keep their order.

Repeated hits go faster still: when the bytes received on an idle keep-alive connection (nothing
buffered, nothing being answered, not closing) are exactly a request the app answered at once
before, and the app offered a replay for them (`replay_for`; paramsecrets.api.replay), the
replay answers them before the parser and HttpConnection are asked; the connection's state then
changes as an answered keep-alive hit changes it (it was active now). A replay that declines,
bytes that are not exactly one known request, or a connection in any other state take the full
path, so pipelining order, keep-alive and the slot rules are decided where they always are.

Inbound slots are a shared resource that nobody may hold for free (docs/security.md): when every
slot is taken, a new connection closes the oldest connection that never sent a request, else the
oldest unfinished request, else the oldest idle keep-alive connection, to get in; 429 only when
every slot has a request being answered.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from paramsecrets.http import responses
from paramsecrets.http.connection import (
    CLOSE,
    IDLE,
    LINGER,
    OPEN,
    SHUTTING_DOWN,
    HttpConnection,
    Limits,
)
from paramsecrets.http.parser import Request
from paramsecrets.http.slots import Slots

__all__ = ["Application", "Connection", "HttpServer", "Limits", "Log", "Reply"]

monotonic = time.monotonic  # one global lookup on the hot path instead of two

LISTEN_BACKLOG = 1024
ACCEPT_BATCH = 32  # connections accepted per turn of the event loop
REPLAYS = 64  # distinct request bytes kept with their replay (a function repeats a few requests)
REPLAY_MAX_REQUEST = 4096  # longer requests (a long session token) are always answered by the full path

Reply = bytes | Coroutine[Any, Any, bytes]


class Application(Protocol):
    """What the server calls. An answer is bytes (now) or a coroutine (later). The connection
    closes after it when the request did not ask to keep alive, or when the request had a body and
    the answer's head says `Connection: close` (how a refused request with a body ends)."""

    def respond(self, request: Request) -> Reply: ...


class Log(Protocol):
    """Where the server reports its own trouble (paramsecrets.log in production)."""

    def error(self, message: str, *args: object) -> None: ...

    def warn(self, message: str, *args: object) -> None: ...


class StderrLog:
    """The default Log: one line on stderr."""

    @staticmethod
    def _write(level: str, message: str, args: tuple[object, ...]) -> None:
        print(f"{level} {message % args}", file=sys.stderr)

    def error(self, message: str, *args: object) -> None:
        self._write("ERROR", message, args)

    def warn(self, message: str, *args: object) -> None:
        self._write("WARN", message, args)


class Connection(asyncio.Protocol):
    """The adapter between one socket and its HttpConnection."""

    __slots__ = ("app", "applied_close", "paused", "replays", "server", "state", "transport")

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.app = server.app
        self.replays = server.replays  # the server's table (one dict for its whole life)
        self.state = HttpConnection(server.limits, time.monotonic())
        self.transport: asyncio.Transport | None = None
        self.paused = False
        self.applied_close = OPEN

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        server = self.server
        server.connections.add(self)
        if server.stopping:
            self.state.refuse(503, "ServiceUnavailable", SHUTTING_DOWN)
        elif not server.slots.take(self):
            evicted = server.slots.make_room()
            if evicted is None:
                self.state.refuse(429, "TooManyConnections",
                                  f"more than {server.max_connections} requests in progress; retry shortly")
            else:
                evicted.apply()
        self.apply()

    def connection_lost(self, exc: Exception | None) -> None:
        server = self.server
        server.connections.discard(self)
        server.slots.leave(self)
        state = self.state
        if not state.close:
            state.close = CLOSE
        self.applied_close = CLOSE
        if not server.connections and server.drained is not None:
            server.drained.set()

    def data_received(self, data: bytes) -> None:
        state = self.state
        if state.kind is IDLE and not state.buffer and not state.changed:
            # An idle keep-alive connection (IDLE also means nothing is being answered and it is
            # not closing: connection.py). Exact bytes answered before may be replayed (a large
            # chunk, never kept, is not even hashed).
            replay = self.replays.get(data) if len(data) <= REPLAY_MAX_REQUEST else None
            if replay is not None:
                reply = replay()
                if reply is not None:
                    state.last_active = monotonic()  # all the state machine does for an idle keep-alive hit
                    self.transport.write(reply)  # type: ignore[union-attr]  # set in connection_made
                    return
            now = monotonic()
            request = state.receive(data, now)
            self._serve(request, now, data if request is not None and not state.buffer else None)
            return
        now = monotonic()
        self._serve(state.receive(data, now), now)

    def _serve(self, request: Request | None, now: float, alone: bytes | None = None) -> None:
        """Answer `request` and every complete request after it, in order, until one must wait.

        `alone`: the bytes received, when they were exactly `request` on an idle connection; if it
        is answered at once and the connection stays idle, the app may offer to replay them."""
        state = self.state
        while request is not None:
            try:
                reply = self.app.respond(request)
            except Exception as error:  # a bug must cost one request, not the server
                reply = self.server.internal_error(error, request)
            if type(reply) is not bytes:
                self._await(reply, request)
                break
            following = state.answer(request, reply, now)
            if alone is not None:
                if following is None and state.kind is IDLE and not state.changed:
                    self.server.remember(alone, request)
                alone = None
            request = following
        output = state.output  # apply(), with the hot path's single check first
        if output:
            state.output = b""
            self.transport.write(output)  # type: ignore[union-attr]  # set in connection_made
        if state.changed:
            self.apply()

    def _await(self, reply: Reply, request: Request) -> None:
        self.state.awaiting()
        task = asyncio.ensure_future(reply)  # type: ignore[arg-type]  # not bytes: a coroutine
        task.add_done_callback(functools.partial(self._answered, request=request))

    def _answered(self, task: asyncio.Future[bytes], *, request: Request) -> None:
        state = self.state
        if task.cancelled():
            state.answer_cancelled()
            self.apply()
            return
        error = task.exception()
        reply = task.result() if error is None else self.server.internal_error(error, request)
        now = time.monotonic()
        self._serve(state.answer(request, reply, now), now)

    def eof_received(self) -> bool:
        """The client half-closed: keep the connection open to answer a request in progress."""
        keep_open = self.state.receive_eof()
        self.apply()
        return keep_open

    def apply(self) -> None:
        """Do what the connection's state asks: write, pause or resume reading, move, close."""
        state = self.state
        transport = self.transport
        assert transport is not None
        if state.output:
            transport.write(state.take_output())
        if not state.changed:
            return
        state.changed = False
        if state.parser_bug is not None:  # one bounded log line (the client got a 400), never a traceback
            bug, state.parser_bug = state.parser_bug, None
            self.server.log.error("internal error %s while parsing a request at %s", type(bug).__name__, where(bug))
        if state.moved:
            state.moved = False
            self.server.slots.place(self, state.kind)
        if state.reading is self.paused:
            self.paused = not state.reading
            if self.paused:
                transport.pause_reading()
            else:
                transport.resume_reading()
        close = state.close
        if close != self.applied_close:
            self._close(close)

    def _close(self, how: int) -> None:
        """Lingering close: send FIN after the answer, drop further input, close when the peer does
        (or after linger_s). Closing with unread input makes the kernel send RST, which can destroy
        the answer before the client reads it. A closing connection no longer holds a slot."""
        self.applied_close = how
        self.server.slots.leave(self)
        transport = self.transport
        assert transport is not None
        if how == LINGER and transport.can_write_eof():
            transport.write_eof()
            asyncio.get_running_loop().call_later(self.server.limits.linger_s, transport.close)
        else:
            transport.close()  # sends what is buffered first

    def pending_input(self) -> bool:
        """Whether bytes from the client wait in the kernel, not yet read (only when choosing whom
        to evict: a connection whose request has arrived is not idle)."""
        import fcntl
        import termios

        assert self.transport is not None
        sock = self.transport.get_extra_info("socket")
        try:
            waiting = fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
        except (OSError, AttributeError):
            return False
        return int.from_bytes(waiting, sys.byteorder) > 0

    # Kept for tests and the server: the state's view.
    @property
    def closing(self) -> bool:
        return bool(self.state.close)

    @property
    def busy(self) -> bool:
        return self.state.busy


def where(error: BaseException) -> str:
    """File and line an exception was raised at: never its message, which may quote client data."""
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    return f"{traceback.tb_frame.f_code.co_filename}:{traceback.tb_lineno}" if traceback else "?"


class HttpServer:
    """Listening sockets, the set of connections, the inbound limit and the graceful stop."""

    def __init__(self, app: Application, max_connections: int, limits: Limits | None = None,
                 log: Log | None = None) -> None:
        self.app = app
        self.max_connections = max_connections
        self.limits = limits or Limits()
        self.log: Log = log or StderrLog()
        self.connections: set[Connection] = set()  # every connection, closing ones included
        self.slots: Slots[Connection] = Slots(max_connections)  # the ones holding an inbound slot
        self.stopping = False
        self.drained: asyncio.Event | None = None
        self._servers: list[asyncio.Server] = []
        self._sweeper: asyncio.Task[None] | None = None
        self._last_tick = time.monotonic()
        # Exact request bytes -> what answers them again (paramsecrets.api.replay): asked of the
        # app after it answered them at once on an idle keep-alive connection.
        self.replay_for: Callable[[Request], Callable[[], bytes | None] | None] | None = getattr(
            app, "replay_for", None)
        self.replays: dict[bytes, Callable[[], bytes | None]] = {}

    def remember(self, data: bytes, request: Request) -> None:
        """Keep what answers `data` (exactly `request`, just answered at once) again, if the app
        offers it; at most REPLAYS distinct requests of at most REPLAY_MAX_REQUEST bytes (then the
        table starts over), so the table holds at most 256 KiB of request bytes."""
        if self.replay_for is None or len(data) > REPLAY_MAX_REQUEST:
            return
        replay = self.replay_for(request)
        if replay is None:
            self.replays.pop(data, None)
            return
        if len(self.replays) >= REPLAYS and data not in self.replays:
            self.replays.clear()
        self.replays[data] = replay

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

    def internal_error(self, error: BaseException, request: Request) -> bytes:
        """A bug: log where (type and place only: messages may quote data), answer 500."""
        self.log.error("internal error %s at %s", type(error).__name__, where(error))
        return responses.error(500, "InternalFailure", "internal error; see the server log", request.keep_alive)

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
            for connection in self.slots.open:
                connection.state.forgive(gap)
            return
        for connection in list(self.slots.open):
            connection.state.expire(now)
            connection.apply()

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
            connection.state.stop()
            connection.apply()
        if self.connections:
            try:
                await asyncio.wait_for(self.drained.wait(), grace_s)
            except TimeoutError:
                busy = [connection for connection in self.connections if connection.busy]
                self.log.warn("%d requests still in progress at shutdown; answering them 503", len(busy))
                for connection in list(self.connections):
                    connection.state.stop_now()
                    connection.apply()
                await asyncio.sleep(0)  # let the transports flush and close
