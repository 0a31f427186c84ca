"""Upstream connections are kept alive and bounded by MAX_CONNECTIONS.

moto closes every connection, so reuse shows only through the fault proxy, which keeps client
connections alive and counts how many it accepted.
"""

from __future__ import annotations

import functools

import pytest

from paramsecrets.testing.fault_proxy import FaultProxy
from paramsecrets.testing.moto import MotoServer
from tests.faults.conftest import Serve, concurrently, param_url, parameter_value

pytestmark = pytest.mark.timeout(60)


def seed(moto: MotoServer, count: int) -> list[str]:
    names = [f"/conn/p{index:02d}" for index in range(count)]
    for name in names:
        moto.client("ssm").put_parameter(Name=name, Value="v" + name[-2:], Type="String")
    return names


def test_sequential_misses_reuse_one_connection(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    names = seed(moto, 20)
    server = serve()
    for name in names:
        assert parameter_value(server.get(param_url(name))) == "v" + name[-2:]
    assert proxy.total("AmazonSSM.GetParameter", "forwarded") == 20
    assert proxy.connections == 1


def test_concurrent_misses_never_open_more_than_max_connections(moto: MotoServer, proxy: FaultProxy,
                                                                serve: Serve) -> None:
    names = seed(moto, 30)
    server = serve(PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS="2")
    proxy.delay(0.05, service="AmazonSSM")  # keep calls in flight long enough to overlap

    answers = concurrently([functools.partial(server.get, param_url(name)) for name in names])

    assert [parameter_value(answer) for answer in answers] == ["v" + name[-2:] for name in names]
    assert proxy.total("AmazonSSM.GetParameter") == 30
    assert proxy.connections == 2
