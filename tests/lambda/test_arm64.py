"""The arm64 layer, run for real: its own loader, Python 3.11 and awscrt under qemu-aarch64-static
(user-mode emulation, called directly: no binfmt handler is registered), chrooted into a root
holding nothing of the host, serving a GET from a real moto server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.parse
from pathlib import Path

import pytest
from conftest import FUNCTIONS, JSON_SECRET, SECURE_PARAM, SESSION_TOKEN, STRING_PARAM

from paramsecrets.testing.lambda_sandbox import (
    BASE_PATH,
    bare_root_command,
    bare_root_popen,
    http_get,
    make_bare_root,
    static_busybox,
    wait_for,
)
from paramsecrets.testing.net import free_port

QEMU = shutil.which("qemu-aarch64-static")
RUNTIME = "/opt/paramsecrets/runtime"
ON_ARM64 = ["/qemu-aarch64-static", f"{RUNTIME}/lib/ld-linux-aarch64.so.1", "--inhibit-cache",
            "--library-path", f"{RUNTIME}/lib", f"{RUNTIME}/bin/python3.11", "-I", "-S", "/opt/paramsecrets/run.py"]

pytestmark = [
    pytest.mark.skipif(QEMU is None, reason="needs Debian qemu-user-static"),
    pytest.mark.skipif(static_busybox() is None, reason="needs Debian busybox-static"),
    pytest.mark.timeout(300),
]


def _env(moto_endpoint: str, port: int) -> dict[str, str]:
    return {
        "PATH": BASE_PATH, "LC_ALL": "C.UTF-8", "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_SESSION_TOKEN": SESSION_TOKEN, "AWS_ENDPOINT_URL": moto_endpoint,
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port),
    }


def test_arm64_layer_serves_under_qemu(arm64_layer_dir: Path, moto_endpoint: str, sandbox_ok: None,
                                       tmp_path: Path) -> None:
    assert QEMU is not None
    root = make_bare_root(tmp_path / "root", FUNCTIONS / "provided", {"/qemu-aarch64-static": Path(QEMU)})
    port = free_port()
    env = _env(moto_endpoint, port)
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        proc = bare_root_popen(root, arm64_layer_dir, [*ON_ARM64, "serve"], env, log)
        try:
            # Emulated start-up: a generous bound, polled.
            wait_for(lambda: http_get(port, "/ping", SESSION_TOKEN)[0] == 200, proc, log_path, timeout=120)
            name = urllib.parse.quote(SECURE_PARAM[0], safe="")
            path = f"/systemsmanager/parameters/get?name={name}&withDecryption=true"
            status, body = http_get(port, path, SESSION_TOKEN)
            assert status == 200, body
            assert json.loads(body)["Parameter"]["Value"] == SECURE_PARAM[1]
            path = f"/secretsmanager/get?secretId={urllib.parse.quote(JSON_SECRET[0], safe='')}"
            status, body = http_get(port, path, SESSION_TOKEN)
            assert status == 200 and json.loads(json.loads(body)["SecretString"]) == JSON_SECRET[1]

            # The client command on the arm64 interpreter, against the same server.
            cli = subprocess.run(
                ["unshare", "--mount", "--propagation", "private", "--",
                 *bare_root_command(root, arm64_layer_dir, [*ON_ARM64, "get-parameter", STRING_PARAM[0]])],
                env=env, capture_output=True, timeout=120, check=False,
            )
            assert cli.returncode == 0, cli.stderr
            assert cli.stdout == STRING_PARAM[1].encode()
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # unshare --kill-child takes the whole namespace down
            proc.wait(30)
    text = log_path.read_text()
    assert "ready to serve traffic" in text, text
    assert "Traceback" not in text
    assert SECURE_PARAM[1] not in text and SESSION_TOKEN not in text


