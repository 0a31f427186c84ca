"""Answer profiles and the per-answer headers, without a server: error forms, `Date`, and the
cached head of a keep-alive hit (right for exactly as long as neither `Date` nor `Age` changes)."""

from __future__ import annotations

import email.utils
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paramsecrets.api import profiles
from paramsecrets.api.rendering import hit as render_hit
from paramsecrets.api.service import RefusalLog
from paramsecrets.cache.keys import ParameterKey
from paramsecrets.cache.store import Entry
from paramsecrets.http import responses

FETCHED = 1_700_000_000.25


@given(st.integers(0, 253_402_300_799))  # up to 9999-12-31
def test_http_date_is_imf_fixdate(second: int) -> None:
    assert responses.http_date(second).decode() == email.utils.formatdate(second, usegmt=True)


def headers(answer: bytes) -> dict[str, str]:
    head = answer.split(b"\r\n\r\n", 1)[0].decode()
    return dict(line.split(": ", 1) for line in head.split("\r\n")[1:])


def test_error_forms() -> None:
    aws = profiles.error(profiles.AWS, 404, "ParameterNotFound", "gone", True)
    assert aws.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert aws.endswith(b"\r\n\r\nan unexpected error occurred while executing request")
    assert headers(aws)["X-Paramsecrets-Error"] == "ParameterNotFound"
    assert headers(aws)["Content-Type"] == "text/plain; charset=utf-8"
    token = profiles.error(profiles.AWS, 401, "Unauthorized", "Bad session token or header key", True)
    assert token.startswith(b"HTTP/1.1 401 ") and token.endswith(b"\r\n\r\nBad session token or header key")
    detailed = profiles.error(profiles.DETAILED, 405, "MethodNotAllowed", "use GET", False, b"Allow: GET\r\n")
    assert detailed.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n")
    assert headers(detailed)["Allow"] == "GET" and headers(detailed)["Connection"] == "close"
    assert detailed.endswith(b'{"__type":"MethodNotAllowed","message":"use GET"}')
    head_only = profiles.error(profiles.AWS, 405, "MethodNotAllowed", "use GET", True, send_body=False)
    assert head_only.endswith(b"\r\n\r\n") and headers(head_only)["Content-Length"] == "52"


def test_an_upstream_code_cannot_split_the_header() -> None:
    answer = profiles.error(profiles.AWS, 502, "Bad\r\nSet-Cookie: x", "m", True)
    assert headers(answer)["X-Paramsecrets-Error"] == "BadSet-Cookie:x"


def entry() -> Entry:
    body = b'{"Parameter":{}}'
    return Entry(ParameterKey("/a", False), body, FETCHED, 300)


def hit_headers(item: Entry, now: float, profile: profiles.Profile = profiles.AWS) -> tuple[str, str, str]:
    found = headers(render_hit(item, now, True, profile))
    return found["Date"], found["Age"], found["Content-Type"]


def expected(now: float) -> tuple[str, str]:
    return email.utils.formatdate(int(now), usegmt=True), str(int(now - FETCHED))


def test_a_hit_head_follows_date_and_age_exactly() -> None:
    item = entry()
    # Date changes on whole seconds, Age on FETCHED + n: both boundaries are crossed, both ways.
    moments = [FETCHED, FETCHED + 0.5, FETCHED + 0.74, FETCHED + 0.75, FETCHED + 0.99, FETCHED + 1.0,
               FETCHED + 1.7, FETCHED + 61.3, FETCHED + 60.1, FETCHED + 0.8, FETCHED - 5.0, FETCHED + 2.0]
    for now in moments:
        date, age, kind = hit_headers(item, now)
        assert (date, age) == (expected(now)[0], str(max(0, int(now - FETCHED)))), now
        assert kind == "text/plain; charset=utf-8"


@given(st.lists(st.floats(min_value=-3.0, max_value=5.0), min_size=1, max_size=40))
def test_any_sequence_of_clock_readings(offsets: list[float]) -> None:
    item = entry()
    for offset in offsets:
        now = FETCHED + offset
        date, age, _ = hit_headers(item, now)
        assert date == email.utils.formatdate(int(now), usegmt=True)
        assert age == str(max(0, int(now - FETCHED)))


def test_a_hit_head_is_per_profile() -> None:
    item = entry()
    assert hit_headers(item, FETCHED + 1)[2] == "text/plain; charset=utf-8"
    assert hit_headers(item, FETCHED + 1, profiles.DETAILED)[2] == "application/json"
    assert hit_headers(item, FETCHED + 1)[2] == "text/plain; charset=utf-8"


def test_the_same_second_reuses_the_head() -> None:
    item = entry()
    first = render_hit(item, FETCHED + 0.3, True, profiles.AWS)
    cached = item.rendered
    assert render_hit(item, FETCHED + 0.6, True, profiles.AWS) == first
    assert item.rendered is cached  # not remade
    assert first.startswith(responses.status_head(200, len(item.body)))
    assert re.search(rb"\r\nX-Paramsecrets-Cache: hit\r\n\r\n", first)


def test_refused_requests_are_logged_at_most_ten_a_second(capfd: pytest.CaptureFixture[str]) -> None:
    now = [100.2]
    refusals = RefusalLog(clock=lambda: now[0])
    for index in range(25):
        refusals("refused request: %d", index)
    now[0] = 101.0
    refusals("refused request: %s", "later")
    lines = capfd.readouterr().out.splitlines()
    assert [line.split("INFO ", 1)[1] for line in lines] == [
        *(f"refused request: {index}" for index in range(10)),
        "15 more refused requests were not logged", "refused request: later"]
