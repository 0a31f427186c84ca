"""A real moto server in its own process, with request recording, for integration tests.

Recording is how tests prove cache behaviour: every request moto receives is listed with its
`X-Amz-Target`, so "N reads, 1 upstream call" is counted, not assumed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from paramsecrets.testing.net import on_a_free_port, says_port_taken, stop_process, wait_for_http

REGION = "us-east-1"
ACCESS_KEY = "AKIATESTTESTTESTTEST"
SECRET_KEY = "test-secret-key-not-real"
AUTH_OFF = 10**9  # free calls before moto checks signatures: effectively never


class MotoServer:
    """Handle on a running `moto_server` process."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, recording: Path, tls: TlsFiles | None = None,
                 host: str = "127.0.0.1") -> None:
        self.proc = proc
        self.port = port
        self.url = f"{'https' if tls else 'http'}://{host}:{port}"
        self.recording_path = recording
        self.tls = tls

    def _open(self, request: urllib.request.Request | str) -> Any:
        context = None
        if self.tls is not None:
            import ssl

            context = ssl.create_default_context(cafile=str(self.tls.ca))
        return urllib.request.urlopen(request, timeout=10, context=context)

    def _post(self, path: str, body: bytes = b"", content_type: str = "application/json") -> bytes:
        request = urllib.request.Request(
            self.url + path, data=body, method="POST", headers={"Content-Type": content_type}
        )
        with self._open(request) as response:
            data: bytes = response.read()
            return data

    def reset(self) -> None:
        """Wipe all state and the recording, and turn signature checking off (reset keeps it on)."""
        self._post("/moto-api/reset")
        self.enforce_auth_after(AUTH_OFF)
        self.clear_calls()

    def enforce_auth_after(self, free_calls: int) -> None:
        """Make moto verify SigV4, session tokens and IAM policies after `free_calls` more calls."""
        self._post("/moto-api/reset-auth", str(free_calls).encode(), "text/plain")

    def clear_calls(self) -> None:
        self._post("/moto-api/recorder/reset-recording")

    def calls(self) -> list[str]:
        """Operations received since the last clear, in order (e.g. `AmazonSSM.GetParameter`;
        STS's query-protocol calls as `sts.AssumeRole`)."""
        return [operation for operation, _ in self.signed_calls()]

    def signed_calls(self) -> list[tuple[str, str | None]]:
        """(operation, the access key id that signed it) per call since the last clear, in order."""
        with self._open(self.url + "/moto-api/recorder/download-recording") as r:
            text = r.read().decode()
        operations = []
        for line in text.splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            headers = {name.lower(): value for name, value in (record.get("headers") or {}).items()}
            target = headers.get("x-amz-target") or _query_action(record)
            if target:
                credential = (headers.get("authorization") or "").partition("Credential=")[2].partition("/")[0]
                operations.append((target, credential or None))
        return operations

    def count(self, operation: str | None = None) -> int:
        """How many calls of one operation (or all) moto received since the last clear."""
        calls = self.calls()
        return len(calls) if operation is None else Counter(calls)[operation]

    def client(self, service: str, **credentials: Any) -> Any:
        """A botocore client for seeding and inspecting moto (tests only)."""
        import botocore.config
        import botocore.session

        session = botocore.session.get_session()
        return session.create_client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=credentials.get("access_key", ACCESS_KEY),
            aws_secret_access_key=credentials.get("secret_key", SECRET_KEY),
            aws_session_token=credentials.get("session_token"),
            config=botocore.config.Config(retries={"total_max_attempts": 1}),
            verify=str(self.tls.ca) if self.tls else None,
        )

    def stop(self) -> None:
        stop_process(self.proc, timeout=5)


def _query_action(record: dict[str, Any]) -> str | None:
    """`sts.AssumeRole` for a recorded query-protocol request (STS), else None."""
    import base64
    from urllib.parse import parse_qs

    body = record.get("body") or ""
    try:
        text = base64.b64decode(body).decode() if record.get("body_encoded") else str(body)
    except ValueError:
        return None
    fields = parse_qs(text)
    actions = fields.get("Action")
    if not actions:
        return None
    action = actions[0]
    return ("sts." if (fields.get("Version") or [""])[0] == "2011-06-15" else "query.") + action


class TlsFiles:
    """A server certificate, its key, and the CA that signed it (src/paramsecrets/testing/tls.py makes them)."""

    def __init__(self, ca: Path, cert: Path, key: Path) -> None:
        self.ca, self.cert, self.key = ca, cert, key


def start_moto(workdir: Path, tls: TlsFiles | None = None, host: str = "127.0.0.1") -> MotoServer:
    """Start `moto_server` on a free loopback port with recording on; wait until it answers.

    With `tls`, moto serves HTTPS with that certificate, and `url` is `https://{host}:port`.
    moto binds its port about a second after the port was found free; if it was taken meanwhile,
    moto exits saying so in its log and is started on another (net.on_a_free_port)."""
    return on_a_free_port(lambda port: _start_moto_on(port, workdir, tls, host),
                          lambda _error, port: says_port_taken((workdir / f"moto-{port}.log").read_bytes()))


def _start_moto_on(port: int, workdir: Path, tls: TlsFiles | None, host: str) -> MotoServer:
    recording = workdir / f"moto-recording-{port}.txt"
    env = dict(os.environ, MOTO_ENABLE_RECORDING="True", MOTO_RECORDER_FILEPATH=str(recording))
    moto_bin = Path(sys.executable).with_name("moto_server")
    log = open(workdir / f"moto-{port}.log", "wb")  # noqa: SIM115 - lives as long as the process
    tls_args = ["-c", str(tls.cert), "-k", str(tls.key)] if tls else []
    proc = subprocess.Popen(
        [str(moto_bin), "-H", "127.0.0.1", "-p", str(port), *tls_args], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    server = MotoServer(proc, port, recording, tls, host)
    try:
        if tls:
            wait_until(lambda: _answers(server), timeout=20)
        else:
            wait_for_http(server.url + "/moto-api/", timeout=20, process=proc)
        # The first request per service loads moto's backend (slow); pay it once here.
        server.client("ssm").describe_parameters()
        server.client("secretsmanager").list_secrets()
        server.clear_calls()
    except BaseException:
        server.stop()
        raise
    return server


def wait_until(predicate: Any, timeout: float = 5.0, interval: float = 0.02) -> bool:
    """Poll `predicate` until true or timeout; returns its last truthiness."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def _answers(server: MotoServer) -> bool:
    if server.proc.poll() is not None:
        raise RuntimeError(f"moto_server exited with {server.proc.returncode}")
    try:
        with server._open(server.url + "/moto-api/"):
            return True
    except OSError:
        return False
