"""The layer on runtimes without Python, in a root that holds nothing of the host.

Each function runs under the real RIE, chrooted into a root holding only a static busybox, the
RIE, the function and the unpacked layer at /opt (read-only): no /usr, no /lib, no /etc/ssl, no
Python. The extension must start on its own interpreter, loader and C library, trust its own CA
bundle, and serve the function's reads from a real moto server during INIT and in invokes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CALL_REPORT, FUNCTIONS, JSON_SECRET, SECURE_PARAM, SESSION_TOKEN, STRING_PARAM

from paramsecrets.testing.lambda_sandbox import (
    BareRootSandbox,
    bare_root_popen,
    close_sandboxes,
    copy_with_libraries,
    http_get,
    make_bare_root,
    static_busybox,
    wait_for,
)
from paramsecrets.testing.net import free_port

REPO = Path(__file__).resolve().parents[2]
EXTENSION = "paramsecrets/run.py"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(static_busybox() is None, reason="needs Debian busybox-static")


def _quoted(name: str) -> str:
    return urllib.parse.quote(name, safe="")


@pytest.fixture
def bare_sandbox(request: pytest.FixtureRequest, sandbox_ok: None) -> Iterator[Callable[..., BareRootSandbox]]:
    """bare_sandbox(function_dir, opt_dir, env, runtime=[...], files=...) -> a started BareRootSandbox."""
    made: list[BareRootSandbox] = []

    def _make(function_dir: Path, opt_dir: Path, env: dict[str, str], **kwargs: Any) -> BareRootSandbox:
        box = BareRootSandbox(function_dir, opt_dir, env, **kwargs)
        made.append(box)
        return box.start()

    yield _make
    report = request.node.stash.get(CALL_REPORT, None)
    close_sandboxes(made, report is not None and report.failed)


def _extension_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith("[paramsecrets]")]


def _assert_no_secret_logged(log: str) -> None:
    lines = "\n".join(_extension_lines(log))
    for value in (SECURE_PARAM[1], JSON_SECRET[1]["password"], SESSION_TOKEN):
        assert value not in lines, "a secret or the token reached the log"


def test_provided_shell_function_reads_everything(bare_sandbox: Callable[..., BareRootSandbox], layer_dir: Path,
                                                  lambda_env: dict[str, str]) -> None:
    """A `provided` bootstrap in busybox sh + wget, AWS-docs style reads, during INIT and invokes."""
    env = {
        **lambda_env, "_HANDLER": "reader.handler",
        "STRING_NAME": _quoted(STRING_PARAM[0]), "SECURE_NAME": _quoted(SECURE_PARAM[0]),
        "SECRET_ID": _quoted(JSON_SECRET[0]),
    }
    box = bare_sandbox(FUNCTIONS / "provided", layer_dir, env, runtime=["/var/task/bootstrap"])
    for _ in range(3):
        answer = box.invoke_json({})
        for phase in ("init", "invoke"):
            got = answer[phase]
            assert got["string"]["Parameter"]["Value"] == STRING_PARAM[1]
            assert got["secure"]["Parameter"]["Value"] == SECURE_PARAM[1]
            assert json.loads(got["secret"]["SecretString"]) == JSON_SECRET[1]
    pid = box.find_process(EXTENSION)
    assert pid is not None, box.processes()
    cmdline = box.processes()[pid]
    assert cmdline.startswith("/opt/extensions/../paramsecrets/runtime/lib/ld-linux-x86-64.so.2 --inhibit-cache "
                              "--library-path /opt/extensions/../paramsecrets/runtime/lib "
                              "/opt/extensions/../paramsecrets/runtime/bin/python3.11 -I -S "), cmdline
    log = box.logs()
    # HTTP endpoints and credentials from the environment need no trust store: nothing built a TLS
    # context, not even the default chain (tests/unit/test_crt_runtime.py covers the fallback itself).
    assert "no CA trust store" not in log
    assert "ready to serve traffic" in log
    _assert_no_secret_logged(log)
    ending = box.sigterm()
    assert not ending.killed and ending.returncode == 0, ending
    assert "stopping (SHUTDOWN (SandboxTerminated))" in box.logs()


def test_shell_example_uses_the_layer_command(bare_sandbox: Callable[..., BareRootSandbox], layer_dir: Path,
                                              lambda_env: dict[str, str], tmp_path: Path) -> None:
    """examples/shell/function.sh with /opt/bin/paramsecrets on PATH (the layer's own Python)."""
    function = tmp_path / "function"
    function.mkdir()
    shutil.copy2(FUNCTIONS / "provided" / "bootstrap", function / "bootstrap")
    shutil.copy2(REPO / "examples" / "shell" / "function.sh", function / "function.sh")
    env = {**lambda_env, "_HANDLER": "function.handler", "CONFIG_PARAMETER": STRING_PARAM[0],
           "DB_SECRET_ID": JSON_SECRET[0]}
    box = bare_sandbox(function, layer_dir, env, runtime=["/var/task/bootstrap"])
    assert box.invoke_json({}) == {"db_host": STRING_PARAM[1], "db_user": JSON_SECRET[1]["username"]}
    assert box.invoke_json({}) == {"db_host": STRING_PARAM[1], "db_user": JSON_SECRET[1]["username"]}


@pytest.mark.skipif(NODE is None, reason="needs Node.js")
def test_node_function_without_any_python(bare_sandbox: Callable[..., BareRootSandbox], layer_dir: Path,
                                          lambda_env: dict[str, str]) -> None:
    """A Node.js handler written like AWS's docs (http.request to localhost:PORT with the token
    header), with a small Runtime API loop in Node; the root holds Node and its libraries only."""
    assert NODE is not None
    files = copy_with_libraries(str(Path(NODE).resolve()))
    files = {**files, "/usr/bin/node": Path(NODE).resolve()}
    hosts = FUNCTIONS / "node" / "hosts"
    files["/etc/hosts"] = hosts  # "localhost", as every Lambda environment resolves it
    env = {**lambda_env, "_HANDLER": "index.handler", "STRING_NAME": STRING_PARAM[0],
           "SECURE_NAME": SECURE_PARAM[0], "SECRET_ID": JSON_SECRET[0]}
    box = bare_sandbox(FUNCTIONS / "node", layer_dir, env, runtime=["/usr/bin/node", "/var/task/runtime.mjs"],
                       files=files)
    assert not [p for p in box.root.rglob("python*")], "the root must hold no Python"
    for _ in range(2):
        answer = box.invoke_json({})
        for phase in ("init", "invoke"):
            assert answer[phase] == {
                "string": STRING_PARAM[1], "secure": SECURE_PARAM[1], "secret": json.dumps(JSON_SECRET[1]),
            }, answer
    assert box.find_process(EXTENSION) is not None
    _assert_no_secret_logged(box.logs())


def test_no_trust_store_at_all_never_kills_the_server(layer_dir: Path, moto_endpoint: str, sandbox_ok: None,
                                                      tmp_path: Path) -> None:
    """A root without /etc/ssl and a layer without its CA bundle: awscrt cannot build the AWS
    client for HTTPS endpoints. The server stays up: /ping answers, reads get a clear 502, the log
    names the cause. (Plain HTTP endpoints, as in the other bare-root tests, need no trust store.)"""
    opt = tmp_path / "opt"
    shutil.copytree(layer_dir, opt)
    (opt / "paramsecrets" / "runtime" / "etc" / "ssl" / "ca-certificates.crt").unlink()
    root = make_bare_root(tmp_path / "root", FUNCTIONS / "provided")
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "AWS_ENDPOINT_URL": moto_endpoint.replace("http://", "https://"),
    }
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        proc = bare_root_popen(root, opt, ["/opt/extensions/paramsecrets", "--port", str(port)], env, log)
        try:
            wait_for(lambda: http_get(port, "/ping", SESSION_TOKEN)[0] == 200, proc, log_path)
            name = urllib.parse.quote(STRING_PARAM[0], safe="")
            for _ in range(2):
                status, body = http_get(port, f"/systemsmanager/parameters/get?name={name}", SESSION_TOKEN,
                                        detailed=True)
                assert status == 502, body
                error = json.loads(body)
                assert error["__type"] == "AwsClientUnavailable"
                assert "AWS_IO_TLS_ERROR_DEFAULT_TRUST_STORE_NOT_FOUND" in error["message"]
            assert http_get(port, "/ping", SESSION_TOKEN)[0] == 200
            assert proc.poll() is None
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
    text = log_path.read_text()
    assert "ERROR the AWS client could not be built (RuntimeError: 1173 " \
           "(AWS_IO_TLS_ERROR_DEFAULT_TRUST_STORE_NOT_FOUND)" in text, text
    assert "Traceback" not in text

