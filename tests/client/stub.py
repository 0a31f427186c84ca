"""A scriptable stdlib HTTP server standing in for the real one, for unit tests of the client.

Integration tests use the real `paramsecrets serve`; this stub only exists to drive the client
through answers that are hard to provoke for real (the AWS extension's text/plain bodies, a
server closing a kept connection, slow answers) and to record exactly what the client sent.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Seen:
    """One request as the stub received it."""

    path: str
    headers: dict[str, str]
    client_port: int

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.path).query, keep_blank_values=True)


@dataclass
class Reply:
    """What to answer: status, body, headers; `close` drops the connection after answering
    without saying so (like a server's idle timeout); `gate` holds the answer until the test
    sets it (at most a minute)."""

    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    close: bool = False
    gate: threading.Event | None = None
    headers: dict[str, str] = field(default_factory=dict)


Responder = Callable[[Seen], Reply]
GATE_LIMIT_S = 60.0


class PausingClock:
    """A fake clock for the client's retry window: `sleep` records the pause and moves the time
    on at once; `on_pause(n)` runs at the n-th pause (e.g. to start a server then)."""

    def __init__(self, on_pause: Callable[[int], None] | None = None) -> None:
        self.now = 1000.0
        self.pauses: list[float] = []
        self.on_pause = on_pause

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds
        if self.on_pause is not None:
            self.on_pause(len(self.pauses))

    def install(self, client: object) -> PausingClock:
        """Make `client` (a paramsecrets.client.Client) use this clock for its retry window."""
        client._monotonic = self.monotonic  # type: ignore[attr-defined]
        client._sleep = self.sleep  # type: ignore[attr-defined]
        return self


class StubServer:
    def __init__(self, responder: Responder, port: int = 0) -> None:
        self.responder = responder
        self.seen: list[Seen] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()},
                            self.client_address[1])
                stub.seen.append(seen)
                reply = stub.responder(seen)
                if reply.gate is not None:
                    reply.gate.wait(GATE_LIMIT_S)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)
                if reply.close:
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    def start(self) -> StubServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def connections(self) -> set[int]:
        """Distinct client ports seen: one per TCP connection the client opened."""
        return {seen.client_port for seen in self.seen}


@contextmanager
def stub_server(responder: Responder) -> Iterator[StubServer]:
    server = StubServer(responder).start()
    try:
        yield server
    finally:
        server.stop()


# ---- bodies shaped like the server's (contract §3.2, §3.4) ------------------------------------


def parameter_body(name: str, value: str, selector: str | None = None) -> bytes:
    return json.dumps({"Parameter": {
        "ARN": f"arn:aws:ssm:us-east-1:123456789012:parameter{name}", "DataType": "text",
        "LastModifiedDate": "2022-11-16T08:22:40.362Z", "Name": name, "Selector": selector,
        "SourceResult": None, "Type": "String", "Value": value, "Version": 1},
        "ResultMetadata": {}}).encode()


def secret_body(name: str, string: str | None = None, binary: bytes | None = None) -> bytes:
    return json.dumps({
        "ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf",
        "CreatedDate": "2022-11-16T08:22:40.499Z", "Name": name,
        "SecretBinary": base64.b64encode(binary).decode() if binary is not None else None,
        "SecretString": string, "VersionId": "b1c367b9", "VersionStages": ["AWSCURRENT"],
        "ResultMetadata": {}}).encode()


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"__type": code, "message": message}).encode()
