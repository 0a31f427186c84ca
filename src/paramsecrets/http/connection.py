"""One HTTP connection's rules, without I/O: bytes in -> requests; answers -> bytes out.

The asyncio adapter (server.py) feeds it what the socket gives, the current monotonic time and
the answers; it reads back what to write, whether to close (and how), whether to stop reading
and which eviction order the connection belongs in. Every decision is here, so each is tested
with plain calls and invented times (tests/unit/test_http_connection.py):

- requests are answered one at a time, in order: while one is being answered (`busy`), later
  pipelined bytes wait in the buffer, and reading pauses past MAX_PENDING_BYTES;
- keep-alive: the connection closes after an answer when the request asked to (HTTP/1.0,
  `Connection: close`) or when the answer to a request with a body says `Connection: close`
  (a refused request with a body is answered and closed, whatever its verdict);
- limits: a request must arrive whole within `request_timeout_s` of its first byte (408), an idle
  keep-alive connection lives `idle_timeout_s`; a malformed request gets its error, then a close;
- lingering close: after an error the connection half-closes and drops input until the peer
  closes (closing with unread input would make the kernel reset the answer away);
- half-close: a client that sent EOF gets the answers to what it sent, then the connection closes;
- shutdown: idle connections close at once, busy ones are answered (their result or a 503).

The states (`kind` names the evictable ones; busy and closing connections are never evicted):

| state      | held as                         | event                        | next state                  |
|------------|---------------------------------|------------------------------|-----------------------------|
| unused     | kind UNUSED                     | part of a request            | unfinished                  |
|            |                                 | a whole request              | busy                        |
|            |                                 | idle_timeout_s / evicted     | closing (CLOSE)             |
| unfinished | kind UNFINISHED, request_started| the rest of the request      | busy                        |
|            |                                 | request_timeout_s / evicted  | closing (LINGER, 408)       |
|            |                                 | malformed bytes              | closing (LINGER, 4xx)       |
| busy       | busy, kind None                 | answer, keep-alive           | idle (or busy: pipelined)   |
|            |                                 | answer, close asked / body   | closing (LINGER)            |
|            |                                 | stop (shutdown)              | busy, then closing (CLOSE)  |
| idle       | kind IDLE                       | a request                    | busy (or unfinished)        |
|            |                                 | idle_timeout_s / evicted     | closing (CLOSE)             |
| any        |                                 | peer EOF                     | closing once answered       |
| closing    | close LINGER or CLOSE           | output flushed (and peer EOF)| gone                        |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from paramsecrets.http import responses
from paramsecrets.http.parser import ParseError, Request, parse

MAX_PENDING_BYTES = 64 * 1024  # buffered pipelined input while an answer is prepared

# How the connection must end (`HttpConnection.close`).
OPEN: Final = 0
LINGER: Final = 1  # half-close after the output, drop input, close when the peer does (or linger_s)
CLOSE: Final = 2  # close after the output is flushed

# Which eviction order holds the connection (`HttpConnection.kind`): who gives up a slot first.
UNUSED: Final = "unused"  # connected, never sent a whole request
UNFINISHED: Final = "unfinished"  # part of a request has arrived
IDLE: Final = "idle"  # keep-alive, between requests
# None: busy (a request is being answered) or closing: never evicted

PARSE_ERROR_CODES = {413: "RequestTooLarge", 414: "RequestTooLarge", 431: "RequestTooLarge", 501: "NotImplemented"}
SHUTTING_DOWN = "the server is shutting down"


@dataclass(frozen=True)
class Limits:
    """Time limits for inbound connections (tests shrink them)."""

    request_timeout_s: float = 10.0  # from a request's first byte to its last
    idle_timeout_s: float = 60.0  # a keep-alive connection with no request for this long is closed
    sweep_every_s: float = 1.0  # how often the limits are checked
    linger_s: float = 2.0  # how long a closing connection waits for the peer to close


class HttpConnection:
    """The state of one connection. Times are monotonic seconds, always passed in."""

    __slots__ = (
        "buffer",
        "busy",
        "changed",
        "close",
        "kind",
        "last_active",
        "limits",
        "moved",
        "output",
        "parser_bug",
        "peer_closed",
        "placed_at",
        "reading",
        "request_started",
        "served",
        "stopping",
    )

    def __init__(self, limits: Limits, now: float) -> None:
        self.limits = limits
        self.buffer = b""  # received, not yet parsed
        self.output = b""  # to write, in order; the adapter takes it
        self.busy = False  # a request is being answered; later ones wait in the buffer
        self.reading = True  # False: the adapter pauses reading (too much pipelined input waits)
        self.close = OPEN
        self.peer_closed = False  # the client half-closed: answer what it sent, then close
        self.stopping = False  # the server is shutting down: no request after the current one
        self.served = False  # a whole request has arrived at least once
        self.last_active = now  # when the connection last became idle
        self.request_started: float | None = None  # first byte of an unfinished request
        self.parser_bug: Exception | None = None  # set when the parser failed unexpectedly
        self.kind: str | None = UNUSED
        self.moved = True  # the adapter must (re)place the connection in the order `kind`
        # The adapter must look beyond the output: a move (above), a close, reading paused or
        # resumed, a parser bug to report. False on the hot path, so a hit costs one check.
        self.changed = True
        self.placed_at = now  # last_active when it was last placed (second chance: slots.py)

    # Input -------------------------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> Request | None:
        """Bytes from the client; the next request to answer now, if one is complete."""
        if self.close:
            return None  # lingering close: input is read and dropped until the peer closes
        if self.buffer:
            self.buffer += data
        else:
            self.buffer = data
            self.request_started = now
        if self.busy:
            if len(self.buffer) > MAX_PENDING_BYTES and self.reading:
                self.reading = False
                self.changed = True
            return None
        return self.next_request(now)

    def receive_eof(self) -> bool:
        """The client half-closed. True: keep the transport open to answer the request in progress."""
        self.peer_closed = True
        if self.busy and not self.close:
            return True
        self._end(CLOSE)
        return False

    def next_request(self, now: float) -> Request | None:
        """Parse the next buffered request, unless one is being answered; None when none is ready
        (the connection then settles: idle, unfinished or closing)."""
        if self.busy or self.close:
            return None
        buffer = self.buffer
        if buffer:
            try:
                parsed = parse(buffer)
            except ParseError as error:
                self.refuse(error.status, PARSE_ERROR_CODES.get(error.status, "BadRequest"), error.message)
                return None
            except Exception as error:  # a parser bug: a 400; the adapter logs where (parser_bug)
                self.parser_bug = error
                self.refuse(400, "BadRequest", "malformed request")
                return None
            if parsed is not None:
                request, end = parsed
                self.buffer = buffer[end:]
                if self.buffer:
                    self.request_started = now  # pipelined: the next request starts now
                    if self.kind is UNFINISHED:
                        self.moved = self.changed = True  # ordered by request_started: to the back
                self.busy = True
                self.served = True
                return request
        self._settle()
        return None

    # Output ------------------------------------------------------------------------------------

    def answer(self, request: Request, reply: bytes, now: float) -> Request | None:
        """Queue the answer to `request` (the one being answered); the next request, if ready."""
        self.busy = False
        if self.close:
            return None
        self.output += reply
        if not request.keep_alive or (request.has_body and responses.says_close(reply)):
            self._end(LINGER)
            return None
        if self.stopping:
            self._end(CLOSE)  # no more requests on this connection; the answer is flushed first
            return None
        if not self.reading:
            self.reading = True
            self.changed = True
        self.last_active = now
        if self.buffer:
            self.request_started = now  # what waited behind this answer starts its time now
            return self.next_request(now)
        if self.kind is IDLE and not self.peer_closed:
            self.request_started = None  # the hot path: idle again, in the same eviction order
            return None
        self._settle()
        return None

    def awaiting(self) -> None:
        """The answer to the request just returned by `next_request` will come later: busy."""
        if self.kind is not None:
            self.kind = None
            self.moved = self.changed = True

    def answer_cancelled(self) -> None:
        """The answer was cancelled (the server is stopping): a 503, then close."""
        self.busy = False
        if not self.close:
            self.output += responses.error(503, "ServiceUnavailable", SHUTTING_DOWN, keep_alive=False)
            self._end(CLOSE)

    def refuse(self, status: int, code: str, message: str) -> None:
        """Answer an error that ends the connection (lingering close)."""
        self.buffer = b""
        self.output += responses.error(status, code, message, keep_alive=False)
        self._end(LINGER)

    def take_output(self) -> bytes:
        """What to write now (the adapter's hot path reads and resets `output` itself)."""
        output = self.output
        self.output = b""
        return output

    # Time, slots and shutdown ------------------------------------------------------------------

    def expire(self, now: float) -> None:
        """Enforce the time limits at `now`; a request being answered has no limit here."""
        if self.close or self.busy:
            return
        limits = self.limits
        if self.request_started is not None:
            if now - self.request_started > limits.request_timeout_s:
                self.refuse(408, "RequestTimeout",
                            f"the request did not arrive whole within {limits.request_timeout_s:g} s")
        elif now - self.last_active > limits.idle_timeout_s:
            self._end(CLOSE)

    def forgive(self, gap: float) -> None:
        """The process was frozen for `gap` seconds: that time was nobody's idleness."""
        self.last_active += gap
        if self.request_started is not None:
            self.request_started += gap

    def evict(self) -> None:
        """Give up this connection's slot to a new one (it is idle, or its request is unfinished)."""
        if self.request_started is None:
            self._end(CLOSE)
        else:
            self.refuse(408, "RequestTimeout", "the request did not arrive whole before its slot was needed")

    def stop(self) -> None:
        """The server starts shutting down: close unless a request is being answered."""
        self.stopping = True
        if self.close == LINGER:
            self.close = CLOSE  # already answered: no more waiting for the peer
            self.changed = True
        elif not self.busy:
            self._end(CLOSE)

    def stop_now(self) -> None:
        """The grace period is over: a request still in progress is answered 503; close."""
        self.stopping = True
        if self.busy and not self.close:
            self.output += responses.error(503, "ServiceUnavailable", SHUTTING_DOWN, keep_alive=False)
        self.busy = False
        self.close = CLOSE
        self.kind = None
        self.moved = self.changed = True

    # Internals ---------------------------------------------------------------------------------

    def _end(self, how: int) -> None:
        """Close after the output; lingering only when the peer can still send."""
        if self.close:
            return
        self.close = CLOSE if self.peer_closed or self.stopping else how
        self.kind = None
        self.moved = self.changed = True

    def _settle(self) -> None:
        """Nothing to answer now: the connection is idle, holds an unfinished request, or must close."""
        if self.peer_closed or (self.stopping and not self.buffer):
            self._end(CLOSE)  # nothing more can come (or is wanted) on this connection
            return
        if self.buffer:
            kind = UNFINISHED
        else:
            self.request_started = None  # all answered: idle again (since `answer` set last_active)
            kind = IDLE if self.served else UNUSED
        if kind is not self.kind:
            self.kind = kind
            self.moved = self.changed = True
