"""Single flight, stale on transient errors and typed throttling apply to the SDK protocol as to
the GET routes: a real server behind the fault proxy, in front of moto."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from paramsecrets.testing.fault_proxy import FaultProxy
from paramsecrets.testing.moto import MotoServer, wait_until
from paramsecrets.testing.net import free_port
from paramsecrets.testing.server import ServerProcess, start_server
from tests.faults.conftest import concurrently
from tests.sdk.conftest import sdk_env

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def proxy(moto: MotoServer) -> Iterator[FaultProxy]:
    with FaultProxy(moto.url) as fault_proxy:
        yield fault_proxy


@pytest.fixture
def behind_proxy(moto: MotoServer, proxy: FaultProxy, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., ServerProcess]]:
    """Factory: a server whose upstream is the fault proxy; boto3 clients made after it reach it."""
    servers: list[ServerProcess] = []

    def _start(**overrides: str) -> ServerProcess:
        port = free_port()
        env = {**sdk_env(moto, tmp_path, port), **overrides,
               "PARAMETERS_SECRETS_EXTENSION_UPSTREAM_URL_SSM": proxy.url,
               "PARAMETERS_SECRETS_EXTENSION_UPSTREAM_URL_SECRETS_MANAGER": proxy.url}
        server = start_server(env, tmp_path, port=port)
        servers.append(server)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", f"http://127.0.0.1:{port}")
        return server

    yield _start
    for server in servers:
        server.stop()


def cache_state(answer: dict[str, Any]) -> str:
    return str(answer["ResponseMetadata"]["HTTPHeaders"]["x-paramsecrets-cache"])


def test_concurrent_misses_share_one_call(moto: MotoServer, proxy: FaultProxy,
                                          behind_proxy: Callable[..., ServerProcess], via: Callable[..., Any]) -> None:
    moto.client("ssm").put_parameter(Name="/sf/a", Value="one", Type="String")
    moto.client("secretsmanager").create_secret(Name="sf-secret", SecretString="s")
    behind_proxy()
    moto.clear_calls()
    proxy.delay(0.5)  # every fetch is slow, so the 16 requests overlap it
    ssm, secrets = via("ssm"), via("secretsmanager")
    results = concurrently([lambda: ssm.get_parameter(Name="/sf/a")] * 8
                           + [lambda: secrets.get_secret_value(SecretId="sf-secret")] * 8)
    assert [answer["Parameter"]["Value"] for answer in results[:8]] == ["one"] * 8
    assert [answer["SecretString"] for answer in results[8:]] == ["s"] * 8
    assert moto.count("AmazonSSM.GetParameter") == 1
    assert moto.count("secretsmanager.GetSecretValue") == 1


def test_stale_on_transient_errors_never_on_not_found(moto: MotoServer, proxy: FaultProxy,
                                                      behind_proxy: Callable[..., ServerProcess],
                                                      via: Callable[..., Any]) -> None:
    moto.client("ssm").put_parameter(Name="/st/a", Value="good", Type="String")
    behind_proxy(SSM_PARAMETER_STORE_TTL="1", PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD="false")
    ssm = via("ssm")
    assert cache_state(ssm.get_parameter(Name="/st/a")) == "miss"
    proxy.fail(503, service="AmazonSSM")
    seen: list[dict[str, Any]] = []

    def stale_answer() -> bool:
        seen.append(ssm.get_parameter(Name="/st/a"))
        return cache_state(seen[-1]) == "stale"

    assert wait_until(stale_answer, timeout=30, interval=0.05)
    assert all(answer["Parameter"]["Value"] == "good" for answer in seen)
    # Not found is never hidden: once the back-off after the 503s ends, the next fetch's answer is final.
    proxy.fail(400, service="AmazonSSM", code="ParameterNotFound", message="Parameter /st/a not found.")

    def not_found() -> bool:
        try:
            assert ssm.get_parameter(Name="/st/a")["Parameter"]["Value"] == "good"
        except ssm.exceptions.ParameterNotFound:
            return True
        return False

    assert wait_until(not_found, timeout=60, interval=0.05)


def test_throttling_raises_the_typed_exception(moto: MotoServer, proxy: FaultProxy,
                                               behind_proxy: Callable[..., ServerProcess],
                                               via: Callable[..., Any]) -> None:
    moto.client("ssm").put_parameter(Name="/th/a", Value="v", Type="String")
    behind_proxy()
    proxy.throttle(0.001, burst=0, service="AmazonSSM")
    ssm = via("ssm")
    with pytest.raises(ssm.exceptions.ClientError) as caught:
        ssm.get_parameter(Name="/th/a")
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert moto.count("AmazonSSM.GetParameter") == 0


def test_refresh_ahead_keeps_sdk_reads_hits(moto: MotoServer, proxy: FaultProxy,
                                            behind_proxy: Callable[..., ServerProcess],
                                            via: Callable[..., Any]) -> None:
    moto.client("ssm").put_parameter(Name="/ra/a", Value="v1", Type="String")
    behind_proxy(SSM_PARAMETER_STORE_TTL="5")
    ssm = via("ssm")
    assert cache_state(ssm.get_parameter(Name="/ra/a")) == "miss"
    moto.clear_calls()
    states: list[str] = []

    def refreshed() -> bool:
        states.append(cache_state(ssm.get_parameter(Name="/ra/a")))
        return moto.count() > 0

    # In the last 20% of the TTL a hit starts a background refresh (batched: GetParameters).
    assert wait_until(refreshed, timeout=30, interval=0.05)
    assert set(states) == {"hit"}
    assert moto.calls() == ["AmazonSSM.GetParameters"]
