"""No test binds a fixed port: `make dev` (or anything else) may hold 2773 while `make test` runs.

Two checks. In CI the suite holds 2773 itself for its whole run (tests/conftest.py, `default_port_held`),
so a test that starts the server on its default port fails on every run; the first tests here
prove that guard is in place and that it catches such a test. The last one reads every test file
for a port number written as a literal where a server, a listener or a client's port is set.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from paramsecrets.testing.net import DEFAULT_PORT, PortHolder, port_is_bindable
from paramsecrets.testing.server import base_env
from tests.conftest import HOLD_DEFAULT_PORT, holds_default_port

TESTS = Path(__file__).resolve().parents[1]
guarded = pytest.mark.skipif(not holds_default_port(),
                             reason=f"2773 is held in CI or with {HOLD_DEFAULT_PORT}=1 (left for `make dev` here)")

# A literal port (not 0) where one is chosen: `--port 2773`, the port variable, a bind or a server.
FIXED_PORT = re.compile(
    r"""["']--port["'],\s*["'][1-9]\d*["']"""  # ["serve", "--port", "2773"]
    r"""|--port[= ][1-9]\d*\b"""  # "--port 2773" in a shell line
    r"""|HTTP_PORT["']?\s*[:=]\s*["']?[1-9]\d*"""  # PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: "2773"
    r"""|\.bind\(\(\s*["'][^"']*["'],\s*[1-9]\d*\s*\)"""  # sock.bind(("127.0.0.1", 2773))
    r"""|(Server|server|start|serve)\(.*\bport\s*=\s*[1-9]\d*\b"""  # ThreadedMotoServer(port=5000)
    r"""|moto_server\b.*\s-p\s*[1-9]\d*\b"""  # moto_server -p 5000
)
# Lines that only compare with or read the default (a client's fallback, a parsed default), or
# that say why the number is never bound (`# not bound: ...`).
ALLOWED = re.compile(r"==|assert|\.get\(|\|\||:-|# not bound:")


@guarded
def test_the_default_port_is_held_while_the_suite_runs(default_port_held: PortHolder) -> None:
    assert not port_is_bindable(DEFAULT_PORT), "2773 is free: a test binding it would pass by luck"


@guarded
def test_a_server_on_the_default_port_fails_under_the_guard(tmp_path: Path) -> None:
    """What a test that forgets `--port` sees: the start fails, naming the port."""
    env = {**base_env("http://127.0.0.1:9", tmp_path), "PYTHONPATH": os.pathsep.join(sys.path)}
    ran = subprocess.run([sys.executable, "-m", "paramsecrets", "serve"], env=env, capture_output=True,
                         timeout=60, cwd=tmp_path)
    assert ran.returncode == 2
    assert f"127.0.0.1:{DEFAULT_PORT}: Address already in use" in ran.stderr.decode()


def test_the_holder_takes_a_free_port_and_gives_it_back() -> None:
    from paramsecrets.testing.net import free_port

    port = free_port()
    with PortHolder(port) as holder:
        assert holder.held and not port_is_bindable(port)
        with PortHolder(port) as second:
            assert not second.held  # someone else holds it: not ours to release
        assert not port_is_bindable(port)
    assert port_is_bindable(port)


def test_no_test_file_names_a_fixed_port() -> None:
    found = []
    for path in sorted(TESTS.rglob("*")):
        if path.suffix not in (".py", ".sh", ".mjs", ".js") or path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if FIXED_PORT.search(line) and not ALLOWED.search(line):
                found.append(f"{path.relative_to(TESTS)}:{number}: {line.strip()}")
    assert not found, "use paramsecrets.testing.net.free_port() instead:\n" + "\n".join(found)


def test_the_scan_finds_what_it_looks_for() -> None:
    for line in ('run_command(["serve", "--port", "2773"], env, tmp)', 'sock.bind(("127.0.0.1", 2773))',
                 '{"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "2773"}', "ThreadedMotoServer(port=5000)",
                 "moto_server -H 127.0.0.1 -p 5000",
                 "paramsecrets dev --port 2773 &"):
        assert FIXED_PORT.search(line) and not ALLOWED.search(line), line
    for line in ('["serve", "--port", str(free_port())]', 'sock.bind(("127.0.0.1", 0))',
                 'PORT = process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT || "2773";',
                 'assert pc.resolve_port({}) == 2773', 'ThreadedMotoServer(ip_address="127.0.0.1", port=0)',
                 'Client(port=1, token=TOKEN).get_parameter(bad)', 'value = { port = 5432 }'):
        assert not (FIXED_PORT.search(line) and not ALLOWED.search(line)), line
