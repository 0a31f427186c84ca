"""Run the real `paramsecrets serve` process for integration tests and talk to it over HTTP."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paramsecrets.testing.net import free_port, on_a_free_port, says_port_taken, stop_process, wait_for_http

TOKEN = "test-token-5f0c1e"
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
PROFILE_HEADER = "X-Paramsecrets-Profile"
# Go's RFC 3339 of a millisecond instant: a fraction without trailing zeros, none for whole seconds.
GO_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,2}[1-9])?Z$")


@dataclass
class Response:
    """One HTTP answer: status, headers with lower-case names, body bytes."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def cache(self) -> str | None:
        return self.headers.get("x-paramsecrets-cache")


class ServerProcess:
    """A `paramsecrets serve` child process bound to a free loopback port."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, token: str, log_path: Path) -> None:
        self.proc = proc
        self.port = port
        self.token = token
        self.log_path = log_path

    def get(self, path: str, headers: dict[str, str] | None = None, token: bool = True,
            method: str = "GET", body: bytes | None = None, timeout: float = 30,
            detailed: bool = False) -> Response:
        """Send one request on a fresh connection; the token header is added unless token=False,
        and `detailed=True` asks for the detailed profile (X-Paramsecrets-Profile: detailed)."""
        all_headers = {TOKEN_HEADER: self.token} if token else {}
        if detailed:
            all_headers[PROFILE_HEADER] = "detailed"
        all_headers.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=all_headers)
            answer = conn.getresponse()
            return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
        finally:
            conn.close()

    def output(self) -> str:
        """Everything the process printed so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        """Signal the process and wait; returns its exit code."""
        return stop_process(self.proc, sig, timeout)  # type: ignore[return-value]


def server_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "paramsecrets", *args]


def merged_env(base: dict[str, str], overrides: dict[str, str], drop: tuple[str, ...] = ()) -> dict[str, str]:
    """`base` with `overrides` applied and the variables in `drop` removed (a fixture's env)."""
    return {key: value for key, value in {**base, **overrides}.items() if key not in drop}


class ServerPool:
    """The servers one test started, all stopped at its end: factory fixtures yield `pool.start`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.servers: list[ServerProcess] = []

    def start(self, env: dict[str, str], **options: Any) -> ServerProcess:
        server = start_server(env, self.workdir, **options)
        self.servers.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


def start_server(env: dict[str, str], workdir: Path, args: tuple[str, ...] = (),
                 port: int | None = None, wait: bool = True, timeout: float = 20) -> ServerProcess:
    """Start `paramsecrets serve` with exactly `env`; wait for /ping unless wait=False.

    A port chosen here (`port` None) was free a moment before the server binds it; if it was taken
    meanwhile, the server exits saying so and is started on another (net.on_a_free_port). A port
    the test chose is the test's: its failure is reported as it is."""
    if port is not None or not wait:
        return _start_server(env, workdir, args, port or free_port(), wait, timeout)
    return on_a_free_port(lambda chosen: _start_server(env, workdir, args, chosen, wait, timeout),
                          lambda error, _port: isinstance(error, RuntimeError) and says_port_taken(str(error)))


def _start_server(env: dict[str, str], workdir: Path, args: tuple[str, ...], port: int, wait: bool,
                  timeout: float) -> ServerProcess:
    log_path = workdir / f"server-{port}-{time.monotonic_ns()}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(
        server_command("serve", "--port", str(port), *args),
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir,
    )
    server = ServerProcess(proc, port, env.get("AWS_TOKEN", TOKEN), log_path)
    if wait:
        try:
            wait_for_http(f"http://127.0.0.1:{port}/ping", timeout=timeout, process=proc)
        except BaseException:
            server.stop()
            raise RuntimeError(f"server did not start:\n{server.output()}") from None
    return server


def run_command(args: list[str], env: dict[str, str], workdir: Path, timeout: float = 30,
                stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a `paramsecrets ...` command to completion, capturing output."""
    return subprocess.run(server_command(*args), env=env, cwd=workdir, capture_output=True,
                          timeout=timeout, input=stdin)


def base_env(moto_url: str, home: Path) -> dict[str, str]:
    """A clean environment pointing at moto, with only what the server should see."""
    from paramsecrets.testing.moto import ACCESS_KEY, REGION, SECRET_KEY

    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_TOKEN": TOKEN,
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONUNBUFFERED": "1",
    }
