"""The strict request parser: valid requests, every refusal, and fuzzing that it never misbehaves."""

from __future__ import annotations

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paramsecrets.http.parser import MAX_BODY, MAX_HEADER_FIELDS, ParseError, Request, parse

TOKEN_LINE = b"X-Aws-Parameters-Secrets-Token: tok\r\n"


def one(data: bytes) -> Request:
    parsed = parse(data)
    assert parsed is not None
    request, end = parsed
    assert end == len(data)
    return request


def test_a_typical_request() -> None:
    request = one(b"GET /ping?x=1 HTTP/1.1\r\nHost: a\r\n" + TOKEN_LINE + b"\r\n")
    assert (request.method, request.target, request.version) == (b"GET", b"/ping?x=1", b"HTTP/1.1")
    assert request.token == b"tok" and request.keep_alive and not request.forwarded and not request.has_body


def test_header_names_in_any_case_and_values_trimmed() -> None:
    request = one(b"GET / HTTP/1.1\r\nx-AWS-parameters-SECRETS-token: \t tok \t\r\n\r\n")
    assert request.token == b"tok"


def test_token_value_keeps_its_case() -> None:
    assert one(b"GET / HTTP/1.1\r\nX-Aws-Parameters-Secrets-Token: AbC\r\n\r\n").token == b"AbC"


def test_incomplete_requests_wait() -> None:
    assert parse(b"GET / HTTP/1.1\r\nHost: a\r\n") is None
    assert parse(b"GET / HT") is None
    assert parse(b"") is None


def test_pipelined_requests_parse_one_at_a_time() -> None:
    data = b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n"
    first, end = parse(data)  # type: ignore[misc]
    second, end2 = parse(data, end)  # type: ignore[misc]
    assert (first.target, second.target, second.keep_alive) == (b"/a", b"/b", False)
    assert end2 == len(data)


def test_leading_empty_lines_are_ignored() -> None:
    assert parse(b"\r\n\r\nGET /a HTTP/1.1\r\n\r\n")[0].target == b"/a"  # type: ignore[index]


@pytest.mark.parametrize(("headers", "keep_alive"), [
    (b"", True), (b"Connection: close\r\n", False), (b"Connection: Keep-Alive, Upgrade\r\n", True),
    (b"Connection: upgrade, CLOSE\r\n", False),
])
def test_keep_alive_http11(headers: bytes, keep_alive: bool) -> None:
    assert one(b"GET / HTTP/1.1\r\n" + headers + b"\r\n").keep_alive is keep_alive


def test_http10_always_closes() -> None:
    """HTTP/1.0 keep-alive would need `Connection: keep-alive` in every answer: we close instead."""
    assert one(b"GET / HTTP/1.0\r\n\r\n").keep_alive is False
    assert one(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive is False


@pytest.mark.parametrize("header", [b"X-Forwarded-For: 1.1.1.1", b"Forwarded: for=1.1.1.1", b"X-Real-IP: 1.1.1.1",
                                    b"x-real-ip: ::1", b"X-Forwarded-Host: internal.example",
                                    b"Via: 1.1 proxy.example", b"via: HTTP/1.1 squid"])
def test_every_forwarding_header_marks_the_request(header: bytes) -> None:
    assert one(b"GET / HTTP/1.1\r\n" + header + b"\r\n\r\n").forwarded is True


def test_flags_for_the_router() -> None:
    request = one(b"POST / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nContent-Length: 3\r\n\r\nabc")
    assert request.forwarded and request.has_body and request.method == b"POST"
    assert one(b"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").has_body is False
    assert one(b"GET / HTTP/1.1\r\nContent-Length: 000\r\n\r\n").has_body is False


def test_a_body_is_consumed_exactly_with_its_headers() -> None:
    data = b"POST / HTTP/1.1\r\nHost: a\r\nX-Amz-Target: T.Op\r\nContent-Length:  5 \r\n\r\nhello"
    request = one(data)
    assert request.body == b"hello" and request.has_body
    assert request.headers == ((b"host", b"a"), (b"x-amz-target", b"T.Op"), (b"content-length", b"5"))


def test_a_body_waits_until_complete_then_ends_where_it_ends() -> None:
    head = b"POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\n"
    assert parse(head) is None
    assert parse(head + b"ab") is None
    request, end = parse(head + b"abcdGET / HTTP/1.1\r\n\r\n")  # type: ignore[misc]
    assert (request.body, end) == (b"abcd", len(head) + 4)


def test_bodyless_requests_keep_no_header_list() -> None:
    assert one(b"GET /nobody HTTP/1.1\r\nHost: a\r\n\r\n").headers == ()


def test_a_request_inside_a_body_is_never_parsed() -> None:
    """Issue 13 item 1: whatever the verdict on the outer request, its body is not a request."""
    inner = b"GET /secretsmanager/get?secretId=x HTTP/1.1\r\n" + TOKEN_LINE + b"\r\n"
    outer = b"POST /ping HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(inner) + inner
    request, end = parse(outer)  # type: ignore[misc]
    assert end == len(outer) and request.body == inner and request.token is None


@pytest.mark.parametrize("value", [b"1048577", b"99999999", b"9" * 4301, b"0" * 10 + b"2000000"])
def test_oversized_bodies_are_refused_before_they_arrive(value: bytes) -> None:
    with pytest.raises(ParseError) as error:
        parse(b"POST / HTTP/1.1\r\nContent-Length: " + value + b"\r\n\r\n")
    assert error.value.status == 413


def test_the_largest_body_is_accepted() -> None:
    body = b"x" * MAX_BODY
    assert one(b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % MAX_BODY + body).body == body


@pytest.mark.parametrize("headers", [b"Transfer-Encoding: chunked\r\n", b"transfer-encoding: identity\r\n",
                                     b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n"])
def test_transfer_encoding_is_refused(headers: bytes) -> None:
    with pytest.raises(ParseError) as error:
        parse(b"POST / HTTP/1.1\r\n" + headers + b"\r\nabc")
    assert error.value.status == 501


@pytest.mark.parametrize(("data", "status"), [
    (b"GET /" + b"a" * 9000, 414),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nX: " + b"b" * 33000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(MAX_HEADER_FIELDS + 1)) + b"\r\n", 431),
    (b"GET / HTTP/1.1\r\nX: " + b"b" * 45000, 431),
    (b"GET / HTTP/1.1\r\n\r\n".replace(b"GET", b"G(T"), 400),
    (b"GET  / HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1.1 \r\n\r\n", 400),
    (b"GET * HTTP/1.1\r\n\r\n", 400),
    (b"GET /\x7f HTTP/1.1\r\n\r\n", 400),
    (b"GET /\xc3\xa9 HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1.2\r\n\r\n", 400),
    (b"GET / http/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n: empty-name\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nNo-Colon\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nA\tB: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nA: x\rB\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nA: 1\r\n\tcontinued\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n" + TOKEN_LINE + TOKEN_LINE + b"\r\n", 400),
    (b"GET / HTTP/1.1\nHost: a\n\n", 400),
])
def test_refusals(data: bytes, status: int) -> None:
    with pytest.raises(ParseError) as error:
        parse(data)
    assert error.value.status == status
    assert error.value.message


def test_exactly_at_the_limits_is_fine() -> None:
    line = b"GET /" + b"a" * (8192 - len(b"GET / HTTP/1.1") ) + b" HTTP/1.1"
    assert len(line) == 8192
    assert one(line + b"\r\n\r\n").target.startswith(b"/aaa")
    headers = b"".join(b"H%d: v\r\n" % i for i in range(MAX_HEADER_FIELDS))
    assert one(b"GET / HTTP/1.1\r\n" + headers + b"\r\n").method == b"GET"


@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_escape_as_anything_but_parse_error(data: bytes) -> None:
    try:
        result = parse(data)
    except ParseError as error:
        assert error.status in (400, 413, 414, 431, 501)
        return
    if result is not None:
        request, end = result
        assert 0 < end <= len(data)
        assert request.method and request.target.startswith(b"/")


_tchar = st.sampled_from(list("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
_name = st.text(_tchar, min_size=1, max_size=20)
_value = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40)
_target = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=60).map(lambda t: "/" + t)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["GET", "POST", "DELETE"]), _target, st.lists(st.tuples(_name, _value), max_size=12),
       _value)
def test_well_formed_requests_agree_with_h11(method: str, target: str, headers: list[tuple[str, str]],
                                             token: str) -> None:
    """Differential check against h11, a well-kept parser: both accept, and read the same."""
    skip = ("content-length", "transfer-encoding", "host", "x-aws-parameters-secrets-token", "connection")
    lines = [f"{method} {target} HTTP/1.1", "Host: a", f"X-Aws-Parameters-Secrets-Token: {token}"]
    lines += [f"{name}: {value}" for name, value in headers if name.lower() not in skip]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode()
    connection = h11.Connection(h11.SERVER)
    connection.receive_data(data)
    event = connection.next_event()
    assert isinstance(event, h11.Request)
    ours = one(data)
    assert ours.method == event.method and ours.target == event.target
    assert ours.token == dict(event.headers)[b"x-aws-parameters-secrets-token"]


def test_requests_are_immutable_and_shared_by_identical_bytes() -> None:
    data = b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"
    request = one(data)
    with pytest.raises(AttributeError):
        request.keep_alive = False  # type: ignore[misc]
    assert one(data) is request


def test_a_request_with_a_body_is_never_shared() -> None:
    data = b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
    assert one(data) is not one(data) and one(data) == one(data)
