"""Shared fixtures: one real moto server per session, a fault proxy in front of it, and real
`paramsecrets serve` processes.

Fixture names mean one thing across the suite: a folder's conftest or a test module may define a
more specific fixture only under its own name (e.g. `cli_seeded`, `compat_seeded`), never reuse one
of these names for something else."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from paramsecrets.testing.fault_proxy import FaultProxy
from paramsecrets.testing.moto import MotoServer, start_moto
from paramsecrets.testing.net import BlackholedPort, PortHolder
from paramsecrets.testing.server import ServerPool, ServerProcess, base_env, merged_env

HOLD_DEFAULT_PORT = "PARAMSECRETS_TESTS_HOLD_2773"


def holds_default_port() -> bool:
    """In CI (CI=true, where no `make dev` runs) or when asked: on a developer's machine 2773 is
    left alone, so `make dev` can start while `make test` runs."""
    return os.environ.get(HOLD_DEFAULT_PORT, "1" if os.environ.get("CI") == "true" else "0") == "1"


@pytest.fixture(scope="session", autouse=True)
def default_port_held() -> Iterator[PortHolder]:
    """2773 is taken for the whole run in CI, as when `make dev` runs beside `make test`: a test
    that binds the default port (instead of a free one) fails there on every run, not only
    sometimes. Elsewhere PARAMSECRETS_TESTS_HOLD_2773=1 does the same; by default the port is left
    for `make dev` (and the scan in tests/unit/test_fixed_ports.py still checks every test file)."""
    holder = PortHolder()
    if not holds_default_port():
        yield holder
        return
    with holder:
        yield holder


@pytest.fixture
def blackholed_port() -> Iterator[int]:
    """A loopback port nobody answers (see BlackholedPort)."""
    port = BlackholedPort()
    yield port.port
    port.close()


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
def proxy(moto: MotoServer) -> Iterator[FaultProxy]:
    """A fresh fault proxy (paramsecrets.testing.fault_proxy) in front of the wiped moto server."""
    with FaultProxy(moto.url) as fault_proxy:
        yield fault_proxy


@pytest.fixture
def aws_env(moto: MotoServer, tmp_path: Path) -> dict[str, str]:
    return base_env(moto.url, tmp_path)


@pytest.fixture
def start(aws_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Factory: start(**env_overrides, args=(...)) -> a running server, stopped after the test."""
    pool = ServerPool(tmp_path)

    def _start(args: tuple[str, ...] = (), wait: bool = True, drop: tuple[str, ...] = (),
               **overrides: str) -> ServerProcess:
        return pool.start(merged_env(aws_env, overrides, drop), args=args, wait=wait)

    yield _start
    pool.stop_all()


@pytest.fixture
def server(start: Callable[..., ServerProcess]) -> ServerProcess:
    """A server with default settings against a clean moto."""
    return start()
