"""The connection rules (http/connection.py) with plain calls and invented times: no sockets, no sleeps."""

from __future__ import annotations

import pytest

from paramsecrets.http import connection as connection_module
from paramsecrets.http import responses
from paramsecrets.http.connection import (
    CLOSE,
    IDLE,
    LINGER,
    MAX_PENDING_BYTES,
    OPEN,
    UNFINISHED,
    UNUSED,
    HttpConnection,
    Limits,
)
from paramsecrets.http.parser import Request

LIMITS = Limits(request_timeout_s=10, idle_timeout_s=60)
T0 = 1000.0
PING = b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"


def get(path: str, extra: bytes = b"", version: bytes = b"HTTP/1.1") -> bytes:
    return b"GET %s %s\r\nHost: x\r\n%s\r\n" % (path.encode(), version, extra)


def post(body: bytes, path: str = "/") -> bytes:
    return b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (path.encode(), len(body), body)


def ok(request: Request, body: bytes = b"ok") -> bytes:
    return responses.simple(200, responses.TEXT, body, request.keep_alive)


def refused(request: Request) -> bytes:
    """As the service answers a refused request: one with a body is told `Connection: close`."""
    return responses.error(405, "MethodNotAllowed", "no", request.keep_alive and not request.has_body)


def answers(output: bytes) -> list[bytes]:
    """The bodies of the `ok` answers in an output stream, in order."""
    return [part.split(b"\r\n\r\n", 1)[1] for part in output.split(b"HTTP/1.1 ")[1:]]


def statuses(output: bytes) -> list[int]:
    return [int(part[:3]) for part in output.split(b"HTTP/1.1 ")[1:]]


def fresh(now: float = T0) -> HttpConnection:
    return HttpConnection(LIMITS, now)


def serve_all(conn: HttpConnection, request: Request | None, now: float) -> list[bytes]:
    """Answer at once, as a cached hit is: every request returned, in order; their targets."""
    served = []
    while request is not None:
        served.append(request.target)
        request = conn.answer(request, ok(request, request.target), now)
    return served


# Requests and answers --------------------------------------------------------------------------

def test_a_request_is_answered_and_the_connection_becomes_idle() -> None:
    conn = fresh()
    assert (conn.kind, conn.moved) == (UNUSED, True)
    request = conn.receive(PING, T0 + 1)
    assert request is not None and request.target == b"/ping" and conn.busy
    assert conn.answer(request, ok(request), T0 + 1) is None
    assert conn.take_output().startswith(b"HTTP/1.1 200 OK\r\n") and conn.take_output() == b""
    assert (conn.kind, conn.close, conn.busy) == (IDLE, OPEN, False)
    assert (conn.request_started, conn.last_active) == (None, T0 + 1)


def test_a_request_in_pieces_is_answered_when_whole() -> None:
    conn = fresh()
    assert conn.receive(PING[:10], T0 + 1) is None
    assert (conn.kind, conn.request_started) == (UNFINISHED, T0 + 1)
    assert conn.receive(PING[10:20], T0 + 2) is None
    assert conn.request_started == T0 + 1  # counted from the first byte, not the last
    request = conn.receive(PING[20:], T0 + 3)
    assert request is not None and request.target == b"/ping"


def test_pipelined_requests_are_answered_in_order() -> None:
    conn = fresh()
    data = get("/a") + get("/b") + get("/c")
    assert serve_all(conn, conn.receive(data, T0), T0) == [b"/a", b"/b", b"/c"]
    assert answers(conn.take_output()) == [b"/a", b"/b", b"/c"]
    assert conn.kind == IDLE and conn.buffer == b""


def test_requests_wait_behind_one_being_answered() -> None:
    conn = fresh()
    first = conn.receive(get("/slow"), T0)
    assert first is not None
    conn.awaiting()
    assert (conn.kind, conn.moved) == (None, True)  # busy: never evicted
    assert conn.receive(get("/b") + get("/c"), T0 + 1) is None  # held while /slow is answered
    assert conn.take_output() == b""
    second = conn.answer(first, ok(first, b"slow"), T0 + 5)
    assert second is not None and second.target == b"/b"
    assert serve_all(conn, second, T0 + 5) == [b"/b", b"/c"]
    assert answers(conn.take_output()) == [b"slow", b"/b", b"/c"]


def test_reading_pauses_while_too_much_waits_and_resumes_after_the_answer() -> None:
    conn = fresh()
    first = conn.receive(get("/slow"), T0)
    assert first is not None
    conn.awaiting()
    conn.receive(b"x" * MAX_PENDING_BYTES, T0)
    assert conn.reading
    conn.receive(b"x", T0)
    assert not conn.reading
    assert conn.answer(first, ok(first), T0 + 1) is None  # then the waiting bytes are parsed: garbage
    assert conn.reading and statuses(conn.take_output()) == [200, 414] and conn.close == LINGER


def test_pipelined_requests_resume_reading() -> None:
    conn = fresh()
    first = conn.receive(get("/slow"), T0)
    assert first is not None
    conn.awaiting()
    conn.receive(get("/b", b"X-Pad: " + b"p" * 30_000 + b"\r\n") * 3, T0)
    assert not conn.reading
    assert serve_all(conn, conn.answer(first, ok(first), T0 + 1), T0 + 1) == [b"/b", b"/b", b"/b"]
    assert conn.reading and conn.kind == IDLE


# Keep-alive and close --------------------------------------------------------------------------

@pytest.mark.parametrize("data", [get("/a", b"Connection: close\r\n"), get("/a", version=b"HTTP/1.0"),
                                  get("/a", b"Connection: keep-alive\r\n", b"HTTP/1.0")])
def test_a_request_that_does_not_keep_alive_closes_after_its_answer(data: bytes) -> None:
    conn = fresh()
    request = conn.receive(data + get("/b"), T0)
    assert request is not None
    assert conn.answer(request, ok(request), T0) is None  # /b is never answered
    output = conn.take_output()
    assert statuses(output) == [200] and b"Connection: close\r\n" in output
    assert (conn.close, conn.kind) == (LINGER, None)


def test_a_refused_request_with_a_body_is_answered_then_closed() -> None:
    conn = fresh()
    inner = get("/secret", b"X-Aws-Parameters-Secrets-Token: t\r\n")
    request = conn.receive(post(inner, "/ping") + get("/after"), T0)
    assert request is not None and request.body == inner
    assert conn.answer(request, refused(request), T0) is None
    assert statuses(conn.take_output()) == [405] and conn.close == LINGER


def test_an_accepted_request_with_a_body_keeps_the_connection() -> None:
    conn = fresh()
    request = conn.receive(post(b"{}") + get("/after"), T0)
    assert request is not None and request.has_body
    following = conn.answer(request, ok(request), T0)
    assert following is not None and following.target == b"/after" and conn.close == OPEN


def test_a_body_is_never_read_as_a_request() -> None:
    conn = fresh()
    inner = get("/secret")
    assert serve_all(conn, conn.receive(post(inner), T0), T0) == [b"/"]
    assert serve_all(conn, conn.receive(get("/next"), T0), T0) == [b"/next"]


def test_a_body_still_arriving_waits_under_the_request_timeout() -> None:
    conn = fresh()
    data = post(b"0123456789")
    assert conn.receive(data[:-3], T0) is None
    assert conn.kind == UNFINISHED
    conn.expire(T0 + 10.5)
    assert statuses(conn.take_output()) == [408] and conn.close == LINGER


@pytest.mark.parametrize(("data", "status", "code"), [
    (b"GET /a HTTP/1.1\nHost: x\n\n", 400, b"BadRequest"),
    (b"GET /" + b"a" * 9000, 414, b"RequestTooLarge"),
    (b"POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", 413, b"RequestTooLarge"),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, b"NotImplemented"),
    (b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 431, b"RequestTooLarge"),
])
def test_a_malformed_request_gets_its_error_then_a_lingering_close(data: bytes, status: int, code: bytes) -> None:
    conn = fresh()
    assert conn.receive(data, T0) is None
    output = conn.take_output()
    assert statuses(output) == [status] and b"X-Paramsecrets-Error: " + code in output
    assert b"Connection: close" in output and (conn.close, conn.kind, conn.buffer) == (LINGER, None, b"")
    assert conn.receive(PING, T0) is None and conn.take_output() == b""  # dropped while lingering


def test_the_answers_before_a_malformed_request_are_kept() -> None:
    conn = fresh()
    assert serve_all(conn, conn.receive(get("/a") + b"BAD\r\n\r\n", T0), T0) == [b"/a"]
    assert statuses(conn.take_output()) == [200, 400] and conn.close == LINGER


def test_a_parser_bug_is_a_400_and_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(buffer: bytes, start: int = 0) -> None:
        raise ValueError("client data")

    monkeypatch.setattr(connection_module, "parse", broken)
    conn = fresh()
    assert conn.receive(PING, T0) is None
    assert statuses(conn.take_output()) == [400] and conn.close == LINGER
    assert isinstance(conn.parser_bug, ValueError)


# Time limits -----------------------------------------------------------------------------------

def test_a_request_must_arrive_whole_within_the_timeout_of_its_first_byte() -> None:
    conn = fresh()
    conn.receive(PING[:5], T0)
    for second in range(1, 11):  # a byte every second does not restart the clock
        conn.receive(b"", T0 + second)
        conn.expire(T0 + second)
        assert conn.close == OPEN
    conn.expire(T0 + 10.01)
    output = conn.take_output()
    assert statuses(output) == [408] and b"RequestTimeout" in output and conn.close == LINGER


def test_an_idle_connection_closes_after_the_idle_timeout_without_an_answer() -> None:
    conn = fresh()
    serve_all(conn, conn.receive(PING, T0 + 5), T0 + 5)
    conn.take_output()
    conn.expire(T0 + 65)
    assert conn.close == OPEN
    conn.expire(T0 + 65.01)
    assert conn.close == CLOSE and conn.take_output() == b""


def test_a_connection_that_never_sends_closes_after_the_idle_timeout() -> None:
    conn = fresh()
    conn.expire(T0 + 60.01)
    assert conn.close == CLOSE


def test_a_request_being_answered_has_no_time_limit_here() -> None:
    conn = fresh()
    request = conn.receive(get("/slow") + PING[:5], T0)
    assert request is not None
    conn.awaiting()
    conn.expire(T0 + 1000)
    assert conn.close == OPEN
    conn.answer(request, ok(request), T0 + 1000)
    assert conn.request_started == T0 + 1000  # what waited behind the answer starts its time now
    conn.expire(T0 + 1009)
    assert conn.close == OPEN
    conn.expire(T0 + 1010.01)
    assert statuses(conn.take_output()) == [200, 408]


def test_a_freeze_is_forgiven() -> None:
    conn = fresh()
    conn.receive(PING[:5], T0)
    conn.forgive(3600)
    assert conn.request_started == T0 + 3600 and conn.last_active == T0 + 3600
    conn.expire(T0 + 3605)
    assert conn.close == OPEN


# Slots -----------------------------------------------------------------------------------------

def test_the_eviction_order_follows_the_state() -> None:
    conn = fresh()
    conn.moved = False
    conn.receive(PING[:5], T0)
    assert (conn.kind, conn.moved) == (UNFINISHED, True)
    conn.moved = False
    request = conn.receive(PING[5:] + PING[:5], T0 + 1)
    assert request is not None
    conn.answer(request, ok(request), T0 + 1)
    assert (conn.kind, conn.moved) == (UNFINISHED, True)  # restarted: to the back of the order
    conn.moved = False
    serve_all(conn, conn.receive(PING[5:], T0 + 2), T0 + 2)
    assert (conn.kind, conn.moved) == (IDLE, True)
    conn.moved = False
    serve_all(conn, conn.receive(PING, T0 + 3), T0 + 3)
    assert (conn.kind, conn.moved, conn.last_active) == (IDLE, False, T0 + 3)  # the hot path moves nothing


def test_evicting_an_idle_connection_closes_it_silently() -> None:
    conn = fresh()
    serve_all(conn, conn.receive(PING, T0), T0)
    conn.take_output()
    conn.evict()
    assert (conn.close, conn.take_output()) == (CLOSE, b"")


def test_evicting_an_unfinished_request_answers_408() -> None:
    conn = fresh()
    conn.receive(PING[:5], T0)
    conn.evict()
    assert statuses(conn.take_output()) == [408] and conn.close == LINGER


# Half-close ------------------------------------------------------------------------------------

def test_a_half_closed_idle_client_is_closed() -> None:
    conn = fresh()
    assert conn.receive_eof() is False and conn.close == CLOSE


def test_a_half_closed_client_gets_every_answer_then_a_close() -> None:
    conn = fresh()
    first = conn.receive(get("/slow") + get("/b"), T0)
    assert first is not None
    conn.awaiting()
    assert conn.receive_eof() is True and conn.close == OPEN
    assert serve_all(conn, conn.answer(first, ok(first), T0 + 1), T0 + 1) == [b"/b"]
    assert statuses(conn.take_output()) == [200, 200] and conn.close == CLOSE  # no linger: the peer is done


def test_a_half_closed_client_with_an_unfinished_request_is_closed() -> None:
    conn = fresh()
    conn.receive(PING[:5], T0)
    assert conn.receive_eof() is False and conn.close == CLOSE


def test_an_error_to_a_half_closed_client_does_not_linger() -> None:
    conn = fresh()
    first = conn.receive(get("/slow") + b"BAD\r\n\r\n", T0)
    assert first is not None
    conn.awaiting()
    conn.receive_eof()
    conn.answer(first, ok(first), T0 + 1)
    assert statuses(conn.take_output()) == [200, 400] and conn.close == CLOSE


# Shutdown --------------------------------------------------------------------------------------

def test_stopping_closes_an_idle_connection_at_once() -> None:
    conn = fresh()
    serve_all(conn, conn.receive(PING, T0), T0)
    conn.stop()
    assert conn.close == CLOSE


def test_stopping_lets_the_request_in_progress_finish_and_answers_nothing_after_it() -> None:
    conn = fresh()
    first = conn.receive(get("/slow") + get("/b"), T0)
    assert first is not None
    conn.awaiting()
    conn.stop()
    assert conn.close == OPEN
    assert conn.answer(first, ok(first), T0 + 1) is None
    output = conn.take_output()
    assert statuses(output) == [200] and conn.close == CLOSE


def test_stopping_ends_a_lingering_close() -> None:
    conn = fresh()
    conn.receive(b"BAD\r\n\r\n", T0)
    assert conn.close == LINGER
    conn.stop()
    assert conn.close == CLOSE


def test_after_the_grace_period_a_request_in_progress_is_answered_503() -> None:
    conn = fresh()
    first = conn.receive(get("/slow"), T0)
    assert first is not None
    conn.awaiting()
    conn.stop()
    conn.stop_now()
    output = conn.take_output()
    assert statuses(output) == [503] and b"Connection: close" in output and conn.close == CLOSE
    assert conn.answer(first, ok(first), T0 + 9) is None and conn.take_output() == b""  # too late


def test_a_cancelled_answer_is_a_503() -> None:
    conn = fresh()
    first = conn.receive(get("/slow") + get("/b"), T0)
    assert first is not None
    conn.awaiting()
    conn.answer_cancelled()
    assert statuses(conn.take_output()) == [503] and conn.close == CLOSE


def test_a_refused_connection_answers_and_lingers() -> None:
    conn = fresh()
    conn.refuse(429, "TooManyConnections", "busy")
    assert statuses(conn.take_output()) == [429] and (conn.close, conn.kind) == (LINGER, None)
