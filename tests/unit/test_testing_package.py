"""The test-support package `paramsecrets.testing`: left out of the Lambda layer, and importable
without the test-only dependencies (moto, botocore, pytest...) until a helper really needs them."""

from __future__ import annotations

import pkgutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import paramsecrets.testing
from paramsecrets.layer.build import _copy_package
from paramsecrets.testing import net as testing_net
from paramsecrets.testing import server as testing_server
from paramsecrets.testing.net import free_port, says_port_taken

TEST_ONLY = ("moto", "botocore", "boto3", "pytest", "hypothesis", "h11", "urllib3", "awslambdaric")


def test_the_layer_leaves_the_test_support_out(tmp_path: Path) -> None:
    _copy_package(tmp_path)
    shipped = tmp_path / "paramsecrets"
    assert (shipped / "__init__.py").is_file() and (shipped / "cli.py").is_file()
    assert not (shipped / "testing").exists()
    assert not (shipped / "dev").exists()


def test_every_support_module_imports_without_test_only_packages() -> None:
    modules = sorted(m.name for m in pkgutil.iter_modules(paramsecrets.testing.__path__))
    assert {"moto", "net", "server", "fault_proxy", "lambda_sandbox", "rie"} <= set(modules)
    # A meta-path finder that refuses the test-only packages: an import of one at module level fails.
    script = (
        "import sys, importlib, importlib.abc\n"
        f"BLOCKED = {TEST_ONLY!r}\n"
        "class Refuse(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in BLOCKED:\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Refuse())\n"
        "for name in sys.argv[1:]:\n"
        "    importlib.import_module('paramsecrets.testing.' + name)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in BLOCKED)\n"
        "assert not loaded, loaded\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, *modules], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def _held_port() -> socket.socket:
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    return held


def test_a_chosen_port_taken_before_the_server_binds_it_is_replaced(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """start_server's own port may be taken between its choice and the server's bind: the server
    says so and exits, and start_server tries another port."""
    with _held_port() as held:
        ports = iter([held.getsockname()[1], free_port()])
        monkeypatch.setattr(testing_net, "free_port", lambda: next(ports))  # the one start_server draws from
        server = testing_server.start_server(testing_server.base_env("http://127.0.0.1:9", tmp_path), tmp_path)
        try:
            assert server.port != held.getsockname()[1]
            assert server.get("/ping").status == 200
        finally:
            server.stop()


def test_a_port_the_test_chose_is_never_replaced(tmp_path: Path) -> None:
    with _held_port() as held:
        port = held.getsockname()[1]
        with pytest.raises(RuntimeError, match=r"(?i)address already in use"):
            testing_server.start_server(testing_server.base_env("http://127.0.0.1:9", tmp_path), tmp_path, port=port)


def test_moto_on_a_port_taken_before_it_binds_is_started_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from paramsecrets.testing import moto as testing_moto

    with _held_port() as held:
        taken = held.getsockname()[1]
        ports = iter([taken, free_port()])
        monkeypatch.setattr(testing_net, "free_port", lambda: next(ports))  # the one start_moto draws from
        moto = testing_moto.start_moto(tmp_path)
        try:
            assert moto.port != taken
            assert moto.client("ssm").describe_parameters()["Parameters"] == []
        finally:
            moto.stop()
    assert says_port_taken((tmp_path / f"moto-{taken}.log").read_bytes())


def test_free_ports_come_from_below_the_ephemeral_range_and_never_twice(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """No outgoing connection can take such a port between its choice and its bind (the kernel
    gives those their local ports from the ephemeral range), and no two helpers get the same one."""
    from paramsecrets.testing import net

    ranges = tmp_path / "ip_local_port_range"
    ranges.write_text("40000\t60999\n")
    monkeypatch.setattr(net, "EPHEMERAL_RANGE_FILE", str(ranges))
    ports = [net.free_port() for _ in range(300)]
    assert all(net.LOWEST_CHOSEN <= port < 40000 for port in ports), ports
    assert len(set(ports)) == len(ports)
    with socket.socket() as server:  # each one really is free
        server.bind(("127.0.0.1", ports[-1]))


@pytest.mark.parametrize("content", [None, "", "not numbers\n", "20500\t60999\n"])
def test_without_room_below_the_range_the_kernel_chooses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        content: str | None) -> None:
    from paramsecrets.testing import net

    ranges = tmp_path / "ip_local_port_range"
    if content is not None:
        ranges.write_text(content)
    monkeypatch.setattr(net, "EPHEMERAL_RANGE_FILE", str(ranges))
    import random

    monkeypatch.setattr(random, "randrange", lambda *_: pytest.fail("no draw below the range expected"))
    port = net.free_port()
    assert 0 < port < 65536
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))


def test_the_port_retry_tries_again_only_for_a_taken_port_and_only_so_often() -> None:
    from paramsecrets.testing import net

    calls: list[str] = []

    def always_taken() -> int:
        calls.append("attempt")
        raise RuntimeError("cannot listen on 127.0.0.1:1: Address already in use")

    with pytest.raises(RuntimeError, match="Address already in use"):
        net.retried_if_port_taken(always_taken, lambda error: net.says_port_taken(str(error)),
                                  lambda: calls.append("again"))
    assert calls == ["attempt", "again"] * net.PORT_RETRIES + ["attempt"]

    calls.clear()

    def broken() -> int:
        calls.append("attempt")
        raise RuntimeError("configuration error: no token")

    with pytest.raises(RuntimeError, match="no token"):
        net.retried_if_port_taken(broken, lambda error: net.says_port_taken(str(error)))
    assert calls == ["attempt"]
    assert net.says_port_taken(b"panic: listen tcp 127.0.0.1:9: bind: address already in use")
