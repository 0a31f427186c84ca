"""A repeated cached hit answered from its bytes (paramsecrets.api.replay), exactly: the real
HttpServer's Connection fed request bytes, the real Service on a fake clock and fake upstream.

The replay must give the bytes the full path would (the same Date, Age and value), and must give
way to the full path whenever anything those bytes do not decide has changed: the second (Date,
Age), the entry (refreshed, replaced, dropped), the refresh-ahead point, the token; and it must
never answer on a connection that is not idle (pipelined bytes, an unfinished request, closing).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from paramsecrets.api.tokens import Token
from paramsecrets.cache.keys import ParameterKey
from paramsecrets.http.server import Connection, HttpServer
from paramsecrets.testing.stack import TOKEN, Stack
from tests.policy.conftest import param


def request(name: str, extra: bytes = b"") -> bytes:
    """A keep-alive GET of parameter `name` with the token, as a function's SDK sends it."""
    return b"GET %s HTTP/1.1\r\nHost: localhost\r\nX-Aws-Parameters-Secrets-Token: %s\r\n%s\r\n" % (
        param(name).encode(), TOKEN, extra)


class Transport(asyncio.Transport):
    """Collects what is written; records a close."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def write(self, data: Any) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def can_write_eof(self) -> bool:
        return False

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


class Wire:
    """One connection to a Stack's Service through the real HttpServer adapter."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.server = HttpServer(stack.service, max_connections=8)
        self.full_path = 0  # requests the Service itself answered
        respond = stack.service.respond

        def counting(request: Any) -> Any:
            self.full_path += 1
            return respond(request)

        stack.service.respond = counting  # type: ignore[method-assign]
        self.connection = Connection(self.server)
        self.transport = Transport()
        self.connection.connection_made(self.transport)

    async def send(self, data: bytes) -> bytes:
        """What the server writes for `data` (misses included: the fake upstream answers at once)."""
        start = len(self.transport.written)
        self.connection.data_received(data)
        await self.stack.clock.settle()
        return bytes(self.transport.written[start:])


async def warmed(name: str = "/a", **settings: Any) -> tuple[Stack, Wire]:
    """A stack with `name` cached and its hit answered twice in one second by the full path (the
    repeat offers the replay)."""
    stack = Stack(ssm_ttl=100, **settings)
    stack.upstream.put_parameter(name, "one")
    wire = Wire(stack)
    assert b"X-Paramsecrets-Cache: miss" in await wire.send(request(name))
    assert b"X-Paramsecrets-Cache: hit" in await wire.send(request(name))
    assert request(name) not in wire.server.replays  # one hit in this second: no replay yet
    assert b"X-Paramsecrets-Cache: hit" in await wire.send(request(name))
    assert request(name) in wire.server.replays
    return stack, wire


async def test_a_repeated_hit_is_answered_from_its_bytes_exactly_as_the_full_path_answers_it() -> None:
    stack, wire = await warmed()
    full = wire.full_path
    hits = stack.metrics.hits
    replayed = await wire.send(request("/a"))
    assert wire.full_path == full  # the Service was not asked
    assert stack.metrics.hits == hits + 1  # but the hit is counted
    del wire.server.replays[request("/a")]
    assert await wire.send(request("/a")) == replayed  # the full path's bytes, byte for byte
    assert wire.full_path == full + 1


async def test_the_next_second_takes_the_full_path_for_a_new_date_and_age() -> None:
    stack, wire = await warmed()
    before = await wire.send(request("/a"))
    full = wire.full_path
    stack.clock.advance(1.0)
    after = await wire.send(request("/a"))
    assert wire.full_path == full + 1
    assert b"Age: 1\r\n" in after and b"Age: 0\r\n" in before
    assert after.split(b"Date: ")[1][:29] != before.split(b"Date: ")[1][:29]
    assert await wire.send(request("/a")) == after  # the repeat in the new second offers a replay
    assert wire.full_path == full + 2
    assert await wire.send(request("/a")) == after
    assert wire.full_path == full + 2  # replayed again within the new second


async def test_the_refresh_ahead_point_takes_the_full_path_which_refreshes() -> None:
    stack, wire = await warmed()
    stack.clock.advance(80.0)  # 80% of the 100 s TTL: the refresh-ahead window opens
    full = wire.full_path
    stack.upstream.put_parameter("/a", "two")
    assert b'"one"' in await wire.send(request("/a"))  # still the cached value, a hit
    assert wire.full_path == full + 1
    await stack.clock.run(1.0)  # the gathered refresh runs
    assert stack.upstream.calls["GetParameters"] == 1
    answer = await wire.send(request("/a"))
    assert b'"two"' in answer  # the refreshed entry, never the replay of the old one


async def test_a_replaced_or_dropped_entry_is_never_replayed() -> None:
    stack, wire = await warmed()
    stack.upstream.put_parameter("/a", "two")
    stack.cache.discard(ParameterKey("/a", False))
    full = wire.full_path
    answer = await wire.send(request("/a"))
    assert wire.full_path == full + 1
    assert b"X-Paramsecrets-Cache: miss" in answer and b'"two"' in answer


async def test_the_token_is_checked_on_every_replay(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_bytes(TOKEN)
    token_file.chmod(0o600)
    stack = Stack(ssm_ttl=100)
    token = Token("AWS_SESSION_TOKEN", TOKEN, str(token_file))
    stack.service.router.token = token
    stack.upstream.put_parameter("/a", "one")
    wire = Wire(stack)
    for _ in range(3):  # a miss, a hit, and its repeat (which offers the replay)
        await wire.send(request("/a"))
    assert request("/a") in wire.server.replays
    token_file.unlink()  # revoked: every request is refused until the file is back
    token._next_check = 0.0  # the file is re-checked at most once a second: now, without waiting
    full = wire.full_path
    assert (await wire.send(request("/a"))).startswith(b"HTTP/1.1 401 ")
    assert wire.full_path == full + 1  # the replay declined; the full path refused


async def test_a_replayed_hit_keeps_its_entry_recent_in_the_lru() -> None:
    stack, wire = await warmed("/a", cache_size=2)
    stack.upstream.put_parameter("/b", "b")
    stack.upstream.put_parameter("/c", "c")
    await wire.send(request("/b"))  # stored after /a: /a is now the least recent
    full = wire.full_path
    await wire.send(request("/a"))  # replayed: /a becomes the most recent
    assert wire.full_path == full
    await wire.send(request("/c"))  # a third entry evicts the least recent: /b, not /a
    assert stack.cache.peek(ParameterKey("/a", False)) is not None
    assert stack.cache.peek(ParameterKey("/b", False)) is None


async def test_pipelined_copies_are_answered_in_order_by_the_full_path() -> None:
    _, wire = await warmed()
    full = wire.full_path
    answers = await wire.send(request("/a") * 3)
    assert answers.count(b"HTTP/1.1 200 ") == 3
    assert wire.full_path == full + 3
    assert not wire.transport.closed


async def test_bytes_completing_an_unfinished_request_are_never_replayed() -> None:
    _, wire = await warmed()
    assert await wire.send(b"GET /x") == b""  # an unfinished request
    answer = await wire.send(request("/a"))  # "GET /xGET /... HTTP/1.1" is malformed, not a replay
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert wire.connection.closing


async def test_a_request_asking_to_close_is_answered_and_closed_never_replayed() -> None:
    _, wire = await warmed()
    closing = request("/a", extra=b"Connection: close\r\n")
    assert b"X-Paramsecrets-Cache: hit" in await wire.send(closing)
    assert closing not in wire.server.replays
    assert wire.connection.closing


async def test_a_stopping_server_replays_nothing() -> None:
    _, wire = await warmed()
    wire.connection.state.stop()
    wire.connection.apply()
    assert await wire.send(request("/a")) == b""
    assert wire.transport.closed


async def test_hits_of_distinct_values_make_no_replays() -> None:
    stack = Stack(ssm_ttl=100)
    names = [f"/p{i}" for i in range(20)]
    for name in names:
        stack.upstream.put_parameter(name, name)
    wire = Wire(stack)
    for _ in range(2):  # misses, then one hit each
        for name in names:
            await wire.send(request(name))
    assert wire.server.replays == {}


async def test_a_large_value_is_replayed_whole() -> None:
    stack = Stack(ssm_ttl=100)
    stack.upstream.put_parameter("/big", "v" * 20_000)
    wire = Wire(stack)
    await wire.send(request("/big"))
    await wire.send(request("/big"))
    full_path_answer = await wire.send(request("/big"))
    assert request("/big") in wire.server.replays
    full = wire.full_path
    assert await wire.send(request("/big")) == full_path_answer
    assert wire.full_path == full


async def test_a_request_longer_than_the_replay_bound_always_takes_the_full_path() -> None:
    _, wire = await warmed()
    long = request("/a", extra=b"X-Padding: " + b"p" * 5000 + b"\r\n")
    await wire.send(long)
    full = wire.full_path
    assert b"X-Paramsecrets-Cache: hit" in await wire.send(long)
    assert long not in wire.server.replays and wire.full_path == full + 1
