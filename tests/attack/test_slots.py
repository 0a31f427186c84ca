"""Item 2: inbound slots cannot be held for free; item 6: half-closed clients get their answer."""

from __future__ import annotations

import asyncio

import pytest

from paramsecrets.http.server import Limits
from tests.attack.inprocess import PING, SLOW, Client, run, serving, until

SHORT = Limits(request_timeout_s=0.5, idle_timeout_s=0.5, sweep_every_s=0.05, linger_s=0.5)
LONG = Limits(request_timeout_s=600, idle_timeout_s=600, sweep_every_s=0.05, linger_s=0.5)


def test_the_request_timeout_counts_from_the_first_byte_not_the_last() -> None:
    """A client dribbling one header byte at a time used to keep its slot forever."""
    async def scenario() -> None:
        async with serving(limits=SHORT) as (_, _, port):
            client = await Client.connect(port)
            await client.send(b"GET /ping HTTP/1.1\r\nX-Slow: ")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while not client.reader.at_eof() and loop.time() < deadline:
                client.writer.write(b"a")  # never finishes the request
                try:
                    data = await asyncio.wait_for(client.reader.read(4096), 0.05)
                except TimeoutError:
                    continue
                assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), data
                assert b'"RequestTimeout"' in data and b"Connection: close" in data
                break
            else:
                raise AssertionError("a slow request kept its connection open")
            client.close()
    run(scenario)


def test_an_idle_keep_alive_connection_is_closed() -> None:
    async def scenario() -> None:
        async with serving(limits=SHORT) as (server, _, port):
            client = await Client.connect(port)
            await client.send(PING)
            assert (await client.answer()).endswith(b"ok")
            assert await client.rest() == b""  # the server closed it
            await until(lambda: not server.connections)
    run(scenario)


def test_a_new_client_evicts_the_oldest_idle_connection_when_slots_are_full() -> None:
    async def scenario() -> None:
        async with serving(max_connections=2, limits=LONG) as (server, _, port):
            oldest, other = await Client.connect(port), await Client.connect(port)
            for client in (oldest, other):
                await client.send(PING)
                await client.answer()
            await until(lambda: len(server.slots.open) == 2)
            newcomer = await Client.connect(port)
            await newcomer.send(PING)
            assert (await newcomer.answer()).startswith(b"HTTP/1.1 200 ")
            assert await oldest.rest() == b""  # closed to make room
            await other.send(PING)
            assert (await other.answer()).startswith(b"HTTP/1.1 200 ")
            for client in (other, newcomer):
                client.close()
    run(scenario)


def test_the_least_recently_used_keep_alive_connection_is_evicted() -> None:
    async def scenario() -> None:
        async with serving(max_connections=2, limits=LONG) as (server, _, port):
            first, second = await Client.connect(port), await Client.connect(port)
            for client in (first, second, first):  # `first` was used last
                await client.send(PING)
                await client.answer()
            await until(lambda: len(server.slots.idle) == 2)
            newcomer = await Client.connect(port)
            await newcomer.send(PING)
            assert (await newcomer.answer()).startswith(b"HTTP/1.1 200 ")
            assert await second.rest() == b""
            await first.send(PING)
            assert (await first.answer()).startswith(b"HTTP/1.1 200 ")
            for client in (first, newcomer):
                client.close()
    run(scenario)


def test_connections_that_never_sent_a_request_go_before_keep_alive_clients() -> None:
    """A flood of silent connections cycles among itself; a function's keep-alive connection stays."""
    async def scenario() -> None:
        async with serving(max_connections=2, limits=LONG) as (server, _, port):
            function = await Client.connect(port)
            await function.send(PING)
            await function.answer()
            silent = await Client.connect(port)  # newer than the function's connection
            await until(lambda: len(server.slots.open) == 2)
            newcomer = await Client.connect(port)
            await newcomer.send(PING)
            assert (await newcomer.answer()).startswith(b"HTTP/1.1 200 ")
            assert await silent.rest() == b""
            await function.send(PING)
            assert (await function.answer()).startswith(b"HTTP/1.1 200 ")
            for client in (function, newcomer):
                client.close()
    run(scenario)


def test_unfinished_requests_give_up_their_slot_with_408() -> None:
    async def scenario() -> None:
        async with serving(max_connections=2, limits=LONG) as (server, _, port):
            slow = [await Client.connect(port) for _ in range(2)]
            for client in slow:
                await client.send(b"GET /ping HTTP/1.1\r\nX-Slow: a")
            await until(lambda: sum(c.state.request_started is not None for c in server.slots.open) == 2)
            newcomer = await Client.connect(port)
            await newcomer.send(PING)
            assert (await newcomer.answer()).startswith(b"HTTP/1.1 200 ")
            assert (await slow[0].rest()).startswith(b"HTTP/1.1 408 ")
            for client in (*slow, newcomer):
                client.close()
    run(scenario)


def test_dribbling_bytes_does_not_make_an_unfinished_request_younger() -> None:
    async def scenario() -> None:
        async with serving(max_connections=2, limits=LONG) as (server, _, port):
            dribbler, other = await Client.connect(port), await Client.connect(port)
            await dribbler.send(b"GET /ping HTTP/1.1\r\nX-Slow: a")
            await until(lambda: len(server.slots.unfinished) == 1)
            await other.send(b"GET /ping HTTP/1.1\r\nX-Slow: b")
            await until(lambda: len(server.slots.unfinished) == 2)
            await dribbler.send(b"a")  # its latest byte is the most recent activity of all
            started = len(b"GET /ping HTTP/1.1\r\nX-Slow: a")
            await until(lambda: sorted(len(c.state.buffer) for c in server.slots.unfinished) == [started, started + 1])
            newcomer = await Client.connect(port)
            await newcomer.send(PING)
            assert (await newcomer.answer()).startswith(b"HTTP/1.1 200 ")
            assert (await dribbler.rest()).startswith(b"HTTP/1.1 408 ")  # its request started first
            for client in (dribbler, other, newcomer):
                client.close()
    run(scenario)


def test_429_only_when_every_slot_is_answering_a_request() -> None:
    async def scenario() -> None:
        async with serving(max_connections=2, limits=LONG) as (_, app, port):
            busy = [await Client.connect(port) for _ in range(2)]
            for client in busy:
                await client.send(SLOW)
            await until(lambda: app.started == 2)
            refused = await Client.connect(port)
            await refused.send(PING)
            reply = await refused.rest()
            assert reply.startswith(b"HTTP/1.1 429 Too Many Requests\r\n") and b'"TooManyConnections"' in reply
            app.release.set()
            for client in busy:
                assert (await client.answer()).endswith(b"slow")
                client.close()
    run(scenario)


def test_a_half_closed_client_gets_its_answer_then_the_connection_closes() -> None:
    """Item 6: `shutdown(SHUT_WR)` after a request that needs AWS used to lose the answer."""
    async def scenario() -> None:
        async with serving(limits=LONG) as (_, app, port):
            client = await Client.connect(port)
            await client.send(SLOW + SLOW)  # two requests, then half-close
            client.writer.write_eof()
            await until(lambda: app.started == 1)
            app.release.set()
            reply = await client.rest()
            assert reply.count(b"HTTP/1.1 200 OK") == 2 and reply.endswith(b"slow")
            client.close()
    run(scenario)


def test_a_half_closed_client_with_a_hit_gets_its_answer() -> None:
    async def scenario() -> None:
        async with serving(limits=LONG) as (_, _, port):
            client = await Client.connect(port)
            await client.send(PING)
            client.writer.write_eof()
            reply = await client.rest()
            assert reply.startswith(b"HTTP/1.1 200 ") and reply.endswith(b"ok")
            client.close()
    run(scenario)


def test_time_frozen_between_invocations_is_not_idleness() -> None:
    """A Lambda sandbox frozen for an hour must not find its keep-alive connection closed on thaw."""
    async def scenario() -> None:
        limits = Limits(request_timeout_s=10, idle_timeout_s=60, sweep_every_s=1)
        async with serving(limits=limits) as (server, _, port):
            server._sweeper.cancel()  # type: ignore[union-attr]  # the test ticks instead
            client = await Client.connect(port)
            await client.send(PING)
            await client.answer()
            await until(lambda: len(server.slots.open) == 1)
            connection = next(iter(server.slots.open))
            thawed = connection.state.last_active + 3600
            server.tick(thawed)  # the first sweep after the freeze sees a gap of an hour
            assert not connection.closing
            for second in range(1, 60):  # then sweeps on time: idle, but not for 60 s yet
                server.tick(thawed + second)
            assert not connection.closing
            server.tick(thawed + 61)
            assert connection.closing  # now it really was idle for the timeout
            client.close()
    run(scenario)


def test_a_parser_bug_costs_one_connection_and_one_bounded_log_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 5: an exception escaping the parser used to leave data_received (empty reply, traceback)."""
    from paramsecrets.http import connection as connection_module

    def broken_parse(buffer: bytes, start: int = 0) -> None:
        raise ValueError("x" * 100_000)  # a message quoting client data, unbounded

    lines: list[str] = []
    monkeypatch.setattr(connection_module, "parse", broken_parse)

    class Lines:
        def error(self, message: str, *args: object) -> None:
            lines.append(message % args)

        def warn(self, message: str, *args: object) -> None:
            lines.append(message % args)

    async def scenario() -> None:
        async with serving(limits=LONG, log=Lines()) as (_, _, port):
            client = await Client.connect(port)
            await client.send(PING)
            reply = await client.rest()
            assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n") and b"Connection: close" in reply
            client.close()
    run(scenario)
    assert len(lines) == 1 and "ValueError" in lines[0] and len(lines[0]) < 300
