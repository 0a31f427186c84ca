"""Item 7: on SIGTERM every request in progress gets an answer (its result or 503) before the close."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from collections.abc import Callable

from paramsecrets.http.server import Limits
from paramsecrets.testing.fault_proxy import FaultProxy
from paramsecrets.testing.server import TOKEN, TOKEN_HEADER, ServerProcess
from tests.attack.inprocess import PING, SLOW, Client, run, serving, until
from tests.faults.conftest import metrics

LIMITS = Limits(request_timeout_s=600, idle_timeout_s=600, sweep_every_s=0.05, linger_s=0.5)


def test_requests_still_in_progress_after_the_grace_period_get_503() -> None:
    async def scenario() -> None:
        async with serving(limits=LIMITS) as (server, app, port):
            busy = [await Client.connect(port) for _ in range(10)]
            for client in busy:
                await client.send(SLOW)
            idle = await Client.connect(port)
            await idle.send(PING)
            await idle.answer()
            await until(lambda: app.started == 10)
            await server.stop(0.2)  # the slow requests never finish
            for client in busy:
                reply = await client.rest()
                assert reply.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), reply
                assert b"shutting down" in reply and b"Connection: close" in reply
            assert await idle.rest() == b""  # idle: closed, nothing to answer
            for client in (*busy, idle):
                client.close()
    run(scenario)


def test_requests_that_finish_within_the_grace_period_get_their_result() -> None:
    async def scenario() -> None:
        async with serving(limits=LIMITS) as (server, app, port):
            busy = [await Client.connect(port) for _ in range(4)]
            for client in busy:
                await client.send(SLOW)
            await until(lambda: app.started == 4)
            stopping = asyncio.ensure_future(server.stop(30))
            await until(lambda: server.stopping)
            app.release.set()
            for client in busy:
                reply = await client.rest()
                assert reply.startswith(b"HTTP/1.1 200 OK\r\n") and reply.endswith(b"slow")
                client.close()
            await asyncio.wait_for(stopping, 30)
            assert not server.connections
    run(scenario)



def test_sigterm_answers_every_miss_in_flight(serve: Callable[..., ServerProcess], proxy: FaultProxy) -> None:
    """The real server, AWS not answering, 10 misses in flight, then SIGTERM: 10 answers, exit 0."""
    server = serve()
    proxy.blackhole()
    clients = [socket.create_connection(("127.0.0.1", server.port), timeout=30) for _ in range(10)]
    try:
        for number, client in enumerate(clients):
            client.sendall(f"GET /systemsmanager/parameters/get?name=/p{number} HTTP/1.1\r\nHost: x\r\n"
                           f"{TOKEN_HEADER}: {TOKEN}\r\n\r\n".encode())
        deadline = time.monotonic() + 30
        while metrics(server).get("paramsecrets_cache_misses_total", 0) < 10:
            assert time.monotonic() < deadline, "the misses never reached the server"
            time.sleep(0.01)
        server.proc.send_signal(signal.SIGTERM)
        replies = [_read_until_close(client) for client in clients]
    finally:
        for client in clients:
            client.close()
    assert server.proc.wait(30) == 0
    for reply in replies:
        assert reply.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), reply[:200]
        assert b"shutting down" in reply
    assert "Traceback" not in server.output()


def _read_until_close(client: socket.socket) -> bytes:
    chunks = []
    while chunk := client.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)
