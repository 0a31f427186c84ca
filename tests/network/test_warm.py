"""Warm start: one connection per service right after start, reused by the first miss; and off
when configured. Counted at a real CONNECT proxy, which sees every connection opened."""

from __future__ import annotations

from collections.abc import Callable

from paramsecrets.testing.moto import MotoServer, wait_until
from paramsecrets.testing.server import ServerProcess
from paramsecrets.testing.tinyproxy import Tinyproxy
from tests.network.conftest import Pki

Start = Callable[..., ServerProcess]
PLAIN = "/systemsmanager/parameters/get?name=%2Ftls%2Fplain"
SECRET = "/secretsmanager/get?secretId=tls%2Fsecret"


def test_each_service_gets_one_connection_at_start_and_the_first_miss_uses_it(
        tls_start: Start, pki: Pki, https_moto: MotoServer, tinyproxy: Tinyproxy) -> None:
    target = f"127.0.0.1:{https_moto.port}"
    # No revalidation: after a first fetch it asks DescribeSecret in the background (the rotation
    # schedule), which may open a second connection while the first is on its way back to the pool.
    server = tls_start(AWS_CA_BUNDLE=str(pki.ca), HTTPS_PROXY=tinyproxy.url,
                       PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL="debug",
                       PARAMETERS_SECRETS_EXTENSION_REVALIDATE_SECRETS="false")
    assert wait_until(lambda: "opened a connection to SSM and Secrets Manager" in server.output(), timeout=30), \
        server.output()
    assert wait_until(lambda: tinyproxy.connects(target) == 2, timeout=30)  # both tunnels, before any request
    assert https_moto.count() == 0  # connecting only: nothing sent
    assert server.get(PLAIN).status == 200
    assert server.get(SECRET).status == 200
    assert tinyproxy.connects(target) == 2  # the first misses went over the warm connections


def test_warm_connections_off(tls_start: Start, pki: Pki, https_moto: MotoServer, tinyproxy: Tinyproxy) -> None:
    target = f"127.0.0.1:{https_moto.port}"
    server = tls_start(AWS_CA_BUNDLE=str(pki.ca), HTTPS_PROXY=tinyproxy.url,
                       PARAMETERS_SECRETS_EXTENSION_WARM_CONNECTIONS="false",
                       PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL="debug")
    assert server.get("/ping", token=False).status == 200
    assert tinyproxy.connects(target) == 0
    assert server.get(PLAIN).status == 200
    assert tinyproxy.connects(target) == 1  # opened by the miss itself
    assert "opened a connection" not in server.output()
