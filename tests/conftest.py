"""Shared fixtures: one real moto server per session, and real `paramsecrets serve` processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from paramsecrets.testing.moto import MotoServer, start_moto
from paramsecrets.testing.server import ServerProcess, base_env, start_server


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = start_moto(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture
def moto(moto_server: MotoServer) -> MotoServer:
    """The session's moto server, wiped clean for this test."""
    moto_server.reset()
    return moto_server


@pytest.fixture
def aws_env(moto: MotoServer, tmp_path: Path) -> dict[str, str]:
    return base_env(moto.url, tmp_path)


@pytest.fixture
def start(aws_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Factory: start(**env_overrides, args=(...)) -> a running server, stopped after the test."""
    servers: list[ServerProcess] = []

    def _start(args: tuple[str, ...] = (), wait: bool = True, drop: tuple[str, ...] = (),
               **overrides: str) -> ServerProcess:
        env = {k: v for k, v in {**aws_env, **overrides}.items() if k not in drop}
        server = start_server(env, tmp_path, args=args, wait=wait)
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.stop()


@pytest.fixture
def server(start: Callable[..., ServerProcess]) -> ServerProcess:
    """A server with default settings against a clean moto."""
    return start()
