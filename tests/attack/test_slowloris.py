"""Issue 22 item 8: fresh connections are served under a slowloris flood.

Every slot is held by a slowloris request. New attacker connections arrive with their first bytes
waiting unread, exactly as a fresh client's request does, so the eviction's unread-input checks were
all spent on attackers, and the next connection in line (a fresh client whose whole request had
arrived) was closed with no answer. A small, bounded flood in this process reproduces it.
"""

from __future__ import annotations

import asyncio
import socket

from paramsecrets.http.server import Limits
from paramsecrets.http.slots import EVICTION_CHECKS
from tests.attack.inprocess import BOUND_S, PING, run, serving, until

SLOTS = 20
ROUNDS = 5
LONG = Limits(request_timeout_s=600, idle_timeout_s=600, sweep_every_s=0.05, linger_s=0.5)
PARTIAL = b"GET /ping HTTP/1.1\r\nX-Slow: "


def connect_and_send(port: int, data: bytes) -> socket.socket:
    """Connect and send at once, without letting the server's loop run: the server sees the
    connection first and reads its bytes only later, as under a flood."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(data)
    sock.setblocking(False)
    return sock


async def answer_of(sock: socket.socket) -> bytes:
    """The first bytes the server sends, or b"" when it closes without an answer."""
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(loop.sock_recv(sock, 4096), BOUND_S)
    except ConnectionResetError:
        return b""


def test_a_fresh_client_is_answered_while_slowloris_connections_arrive() -> None:
    async def scenario() -> None:
        async with serving(max_connections=SLOTS, limits=LONG) as (server, _, port):
            held = [connect_and_send(port, PARTIAL) for _ in range(SLOTS)]
            await until(lambda: len(server.slots.unfinished) == SLOTS)
            answers = []
            for _ in range(ROUNDS):
                # One burst, all connected before the server runs: attackers, the client, more attackers.
                held += [connect_and_send(port, PARTIAL) for _ in range(EVICTION_CHECKS)]
                client = connect_and_send(port, PING)
                held += [connect_and_send(port, PARTIAL) for _ in range(SLOTS)]
                answers.append(await answer_of(client))
                client.close()
            for sock in held:
                sock.close()
            assert [answer[:15] for answer in answers] == [b"HTTP/1.1 200 OK"] * ROUNDS, answers
    run(scenario)
