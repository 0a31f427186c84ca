"""A small fuzz of the whole HTTP front (parser, server, router) in process; bench/attack.py runs 50,000
mutated requests against the real server."""

from __future__ import annotations

import asyncio
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paramsecrets.api.routes import RequestError, Router
from paramsecrets.api.tokens import Token
from paramsecrets.http import responses
from paramsecrets.http.parser import Request
from paramsecrets.http.server import Limits, Reply
from tests.attack.inprocess import BOUND_S, ScriptedApp, serving

TOKEN = b"fuzz-token-0123456789"
SEEDS = [
    b"GET /systemsmanager/parameters/get?name=/a HTTP/1.1\r\nHost: x\r\nX-Aws-Parameters-Secrets-Token: "
    + TOKEN + b"\r\n\r\n",
    b"GET /ping HTTP/1.1\r\n\r\nGET /ping HTTP/1.1\r\nConnection: close\r\n\r\n",
    b"POST /ping HTTP/1.1\r\nContent-Length: 18\r\n\r\nGET /ping HTTP/1.1",
    b"GET /secretsmanager/get?secretId=s&versionStage=x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
]
SPECIALS = [b"\r", b"\n", b"\r\n\r\n", b"\x00", b" ", b":", b"\xff", b"Content-Length: 9999999\r\n",
            b"Content-Length: 4\r\n", b"Transfer-Encoding: chunked\r\n", b"9" * 4301, b"X-Real-IP: x\r\n"]
RESPONSE = re.compile(rb"HTTP/1\.1 (\d{3}) [A-Za-z -]+\r\n(?:[!-9;-~]+: [^\r\n]*\r\n)*\r\n")


class RoutedApp(ScriptedApp):
    """The real router in front of the scripted answers."""

    def __init__(self) -> None:
        super().__init__()
        self.router = Router(Token("AWS_TOKEN", TOKEN))

    def respond(self, request: Request) -> Reply:
        try:
            self.router.route(request, True)
        except RequestError as error:  # as service.py: a refused request with a body is closed
            keep_alive = request.keep_alive and not (error.close or request.has_body)
            return responses.error(error.status, error.code, error.message, keep_alive)
        return super().respond(request)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data)))
        kind = draw(st.integers(0, 3))
        if kind == 0 and data:
            data[min(position, len(data) - 1)] = draw(st.integers(0, 255))
        elif kind == 1:
            data[position:position] = draw(st.sampled_from(SPECIALS))
        elif kind == 2:
            del data[position:position + draw(st.integers(1, 12))]
        else:
            data[position:position] = draw(st.binary(max_size=8))
    return bytes(data)


def statuses(stream: bytes) -> list[int]:
    """The statuses of a stream of responses; fails on anything that is not one."""
    found, offset = [], 0
    while offset < len(stream):
        match = RESPONSE.match(stream, offset)
        assert match is not None, stream[offset:offset + 200]
        length = int(re.search(rb"Content-Length: (\d+)", match.group(0)).group(1))  # type: ignore[union-attr]
        found.append(int(match.group(1)))
        offset = match.end() + length
        assert offset <= len(stream)
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_requests_get_http_answers_or_a_close(data: bytes) -> None:
    async def scenario() -> bytes:
        limits = Limits(request_timeout_s=600, idle_timeout_s=600, sweep_every_s=1, linger_s=0.2)
        async with serving(limits=limits, app=RoutedApp()) as (_, app, port):
            app.release.set()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(data)
            writer.write_eof()  # half-closed: whatever is complete is answered, then the server closes
            reply = await asyncio.wait_for(reader.read(), BOUND_S)
            writer.close()
            return reply

    codes = statuses(asyncio.run(scenario()))
    assert 500 not in codes
