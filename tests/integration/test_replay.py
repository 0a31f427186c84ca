"""Repeated hits on one keep-alive connection (paramsecrets.api.replay), against the real server and
moto: every answer is the one the full path would give, the hits are all counted, and a new value
replaces the replayed one once the entry is refreshed."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Callable

from paramsecrets.testing.moto import MotoServer, wait_until
from paramsecrets.testing.server import TOKEN_HEADER, ServerProcess
from tests.integration.conftest import Seeded

PLAIN = "/systemsmanager/parameters/get?name=/app/plain"


def value_and_cache(conn: http.client.HTTPConnection, token: str) -> tuple[str, str | None, str]:
    conn.request("GET", PLAIN, headers={TOKEN_HEADER: token})
    answer = conn.getresponse()
    body = answer.read()
    assert answer.status == 200, body
    date = answer.getheader("Date")
    assert date is not None
    value: str = json.loads(body)["Parameter"]["Value"]
    return value, answer.getheader("X-Paramsecrets-Cache"), date


def hits_counted(server: ServerProcess) -> int:
    text = server.get("/metrics").body.decode()
    found = re.search(r"^paramsecrets_cache_hits_total (\d+)$", text, re.M)
    assert found is not None, text
    return int(found.group(1))


def test_repeated_hits_on_one_connection_are_answered_and_counted(start: Callable[..., ServerProcess],
                                                                   seeded: Seeded, moto: MotoServer) -> None:
    server = start(SSM_PARAMETER_STORE_TTL="2")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        assert value_and_cache(conn, server.token)[:2] == ("plain-value", "miss")
        answers = [value_and_cache(conn, server.token) for _ in range(200)]
        assert {(value, cache) for value, cache, _ in answers} <= {("plain-value", "hit"), ("plain-value", "refresh")}
        assert all(date.endswith(" GMT") for _, _, date in answers)
        assert hits_counted(server) == sum(1 for _, cache, _ in answers if cache == "hit")  # replays counted too

        moto.client("ssm").put_parameter(Name="/app/plain", Value="new-value", Type="String", Overwrite=True)
        # The 2 s TTL's refresh-ahead point ends every replay of the old entry: the new value follows.
        assert wait_until(lambda: value_and_cache(conn, server.token)[0] == "new-value", timeout=30, interval=0.01)
        assert value_and_cache(conn, server.token)[:2] == ("new-value", "hit")
    finally:
        conn.close()
