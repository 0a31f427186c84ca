"""TLS to AWS for real: moto served over HTTPS with a CA made at test time, a second CA that is not
trusted, and a real HTTP CONNECT proxy (tinyproxy)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from paramsecrets.testing.moto import MotoServer, TlsFiles, start_moto
from paramsecrets.testing.server import ServerProcess, base_env, start_server
from paramsecrets.testing.tinyproxy import TINYPROXY, Tinyproxy
from paramsecrets.testing.tls import make_ca, make_server_cert

if shutil.which("openssl") is None:
    pytest.skip("openssl is needed to make the test CA", allow_module_level=True)


class Pki:
    def __init__(self, directory: Path) -> None:
        trusted = make_ca(directory, "trusted")
        self.server: TlsFiles = make_server_cert(directory, trusted)
        self.ca: Path = trusted[0]
        self.untrusted_ca: Path = make_ca(directory, "untrusted")[0]


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def https_moto_server(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = start_moto(tmp_path_factory.mktemp("https-moto"), tls=pki.server)
    yield server
    server.stop()


@pytest.fixture
def https_moto(https_moto_server: MotoServer) -> MotoServer:
    https_moto_server.reset()
    https_moto_server.client("ssm").put_parameter(Name="/tls/plain", Value="over-tls", Type="String")
    https_moto_server.client("secretsmanager").create_secret(Name="tls/secret", SecretString="tls-secret-value")
    https_moto_server.clear_calls()
    return https_moto_server


@pytest.fixture
def tinyproxy(tmp_path: Path) -> Iterator[Tinyproxy]:
    if not Path(TINYPROXY).exists():
        pytest.skip("tinyproxy is not installed (make deps)")
    proxy = Tinyproxy(tmp_path)
    yield proxy
    proxy.stop()


@pytest.fixture
def tls_start(https_moto: MotoServer, tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Factory: a server whose AWS endpoint is the HTTPS moto; `drop` removes variables."""
    servers: list[ServerProcess] = []

    def _start(wait: bool = True, drop: tuple[str, ...] = (), **overrides: str) -> ServerProcess:
        env = {**base_env(https_moto.url, tmp_path), **overrides}
        server = start_server({k: v for k, v in env.items() if k not in drop}, tmp_path, wait=wait)
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.stop()
