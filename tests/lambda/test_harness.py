"""The RIE harness itself, with a stand-in stdlib extension: proves the sandbox mechanics
(registration, SHUTDOWN on SIGTERM, clean-up of every process) apart from paramsecrets."""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path
from typing import cast

from conftest import MakeSandbox

from paramsecrets.testing.lambda_sandbox import LambdaSandbox
from paramsecrets.testing.moto import wait_until
from paramsecrets.testing.net import says_port_taken

STUB_LAYER = Path(__file__).resolve().parent / "stub_layer"
FUNCTIONS = Path(__file__).resolve().parent / "functions"
STUB_ENV = {"AWS_REGION": "us-east-1", "STUBEXT_PYTHON": getattr(sys, "_base_executable", sys.executable)}


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_stub_extension_lifecycle(make_sandbox: MakeSandbox) -> None:
    box: LambdaSandbox = make_sandbox("trivial", STUB_LAYER, STUB_ENV)
    assert box.invoke_json({}) == {"ok": True}
    assert box.invoke_json({}) == {"ok": True}
    assert box.timings.listening is not None and box.timings.first_invoke is not None
    assert len(box.timings.invokes) == 2
    pids = box.processes()
    ext = box.find_process("stubext.py")
    runtime = box.find_process("awslambdaric")
    assert ext and runtime, pids

    ending = box.sigterm()
    log = box.logs()
    assert ending.returncode == 0 and not ending.killed, log[-3000:]
    assert "stubext event SHUTDOWN SandboxTerminated" in log
    assert "Sending SIGKILL" not in log
    assert not any(_alive(pid) for pid in pids), "processes left behind after RIE exited"


def test_everything_dies_with_the_sandbox(make_sandbox: MakeSandbox) -> None:
    """Killing unshare outright (as a crashed test run would) takes down RIE and its children."""
    box: LambdaSandbox = make_sandbox("trivial", STUB_LAYER, STUB_ENV)
    box.invoke_json({})
    pids = [*box.processes(), cast(int, box.rie_pid)]
    assert box._proc is not None
    os.kill(box._proc.pid, signal.SIGKILL)
    box._proc.wait(10)
    assert wait_until(lambda: not any(_alive(pid) for pid in pids), timeout=30)


def test_no_layer(make_sandbox: MakeSandbox) -> None:
    box: LambdaSandbox = make_sandbox("trivial", None, {"AWS_REGION": "us-east-1"})
    assert box.invoke_json({}) == {"ok": True}
    assert box.find_process("stubext") is None
    assert box.stop().returncode == 0


def test_a_port_taken_before_rie_listens_is_retried_on_new_ports(sandbox_ok: None) -> None:
    """The Runtime API's port, taken by another socket by the time RIE binds it (as an outgoing
    connection's local port can be): RIE panics, and the first invoke starts it again on new ports."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        box = LambdaSandbox(FUNCTIONS / "trivial", None, {"AWS_REGION": "us-east-1"}, rie_log_level="info")
        box.runtime_api_port = port
        with box:
            assert box.invoke_json({}) == {"ok": True}
            assert box.runtime_api_port != port
            assert not says_port_taken(box.logs())  # the log is the successful run's
            assert box.invoke_json({}) == {"ok": True}


def test_other_failures_of_a_first_invoke_are_not_retried(sandbox_ok: None, tmp_path: Path) -> None:
    box = LambdaSandbox(tmp_path, None, {"AWS_REGION": "us-east-1"}, handler="missing.handler",
                        rie_log_level="info")
    with box:
        first_ports = (box.port, box.runtime_api_port)
        status, _ = box.invoke({})
        assert status != 200
        assert (box.port, box.runtime_api_port) == first_ports
