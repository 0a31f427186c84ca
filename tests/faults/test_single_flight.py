"""Single flight, end to end: concurrent reads of one key make exactly one call to AWS.

The proxy delays the upstream answer so that concurrent requests arrive while the first fetch is
in flight; each assertion holds whether or not a given request overlapped it (a late one is a
hit), so none depends on timing. Sharing a failure, a not-found, and batches claiming their names
are tested exactly, in-process, in tests/policy/test_single_flight.py.
"""

from __future__ import annotations

import functools
import socket
from collections import Counter

import pytest

from paramsecrets.testing.fault_proxy import FaultProxy
from paramsecrets.testing.moto import MotoServer, wait_until
from paramsecrets.testing.server import TOKEN_HEADER
from tests.faults.conftest import (
    BY_PATH,
    SECRET,
    Serve,
    concurrently,
    metrics,
    param_url,
    parameter_value,
    q,
)

pytestmark = pytest.mark.timeout(60)

CONCURRENCY = 100
FLIGHT_S = 0.8  # the upstream answer is held this long, so all 100 requests overlap it


def test_100_concurrent_misses_for_a_parameter_make_one_upstream_call(moto: MotoServer, proxy: FaultProxy,
                                                                      serve: Serve) -> None:
    moto.client("ssm").put_parameter(Name="/sf/cold", Value="v-cold", Type="String")
    moto.clear_calls()
    server = serve()
    proxy.delay(FLIGHT_S, operation="AmazonSSM.GetParameter")

    responses = concurrently([lambda: server.get(param_url("/sf/cold"))] * CONCURRENCY)

    assert [r.status for r in responses] == [200] * CONCURRENCY
    assert {parameter_value(r) for r in responses} == {"v-cold"}
    states = Counter(r.cache for r in responses)
    assert set(states) <= {"miss", "hit"}, states
    assert moto.count("AmazonSSM.GetParameter") == 1
    assert proxy.total("AmazonSSM.GetParameter") == 1  # the server attempted only one call
    samples = metrics(server)
    assert samples["paramsecrets_cache_misses_total"] == states["miss"]
    assert samples["paramsecrets_cache_hits_total"] == states["hit"]


def test_both_secret_routes_share_one_flight(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    """`/secretsmanager/get?secretId=X` and `/v1/X` are the same key: 100 mixed requests, 1 call."""
    moto.client("secretsmanager").create_secret(Name="sf/db", SecretString='{"user":"u"}')
    moto.clear_calls()
    server = serve()
    proxy.delay(FLIGHT_S, operation="secretsmanager.GetSecretValue")
    paths = [SECRET + q("sf/db"), "/v1/sf%2Fdb", "/v1/sf/db", SECRET + q("sf/db") + "&"] * (CONCURRENCY // 4)

    responses = concurrently([functools.partial(server.get, p) for p in paths])

    assert [r.status for r in responses] == [200] * CONCURRENCY, [r.body for r in responses if r.status != 200]
    assert {r.json()["SecretString"] for r in responses} == {'{"user":"u"}'}
    assert moto.count("secretsmanager.GetSecretValue") == 1


def test_concurrent_path_reads_make_one_paged_fetch(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    ssm = moto.client("ssm")
    for i in range(15):  # two pages of GetParametersByPath
        ssm.put_parameter(Name=f"/sf/path/p{i:02d}", Value=f"v{i}", Type="String")
    moto.clear_calls()
    server = serve()
    proxy.delay(FLIGHT_S / 2, operation="AmazonSSM.GetParametersByPath")

    responses = concurrently([lambda: server.get(BY_PATH + "/sf/path/")] * 50)

    assert [r.status for r in responses] == [200] * 50
    assert {len(r.json()["Parameters"]) for r in responses} == {15}
    assert moto.count("AmazonSSM.GetParametersByPath") == 2  # one flight: its two pages, nothing more


def test_a_client_that_gives_up_does_not_cancel_the_flight(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    moto.client("ssm").put_parameter(Name="/sf/slow", Value="v-slow", Type="String")
    moto.clear_calls()
    server = serve()
    proxy.delay(FLIGHT_S, operation="AmazonSSM.GetParameter")

    with socket.create_connection(("127.0.0.1", server.port)) as quitter:
        quitter.sendall(f"GET {param_url('/sf/slow')} HTTP/1.1\r\nHost: x\r\n{TOKEN_HEADER}: {server.token}\r\n\r\n"
                        .encode())
        assert wait_until(lambda: proxy.total("AmazonSSM.GetParameter", "delayed") == 1)
    # The first client is gone; a second one joins the same flight and gets the value.
    response = server.get(param_url("/sf/slow"))
    assert parameter_value(response) == "v-slow"  # a miss joining the flight, or a hit once it stored
    assert moto.count("AmazonSSM.GetParameter") == 1
    assert proxy.total("AmazonSSM.GetParameter") == 1
