"""Fixtures for the cache-behaviour tests: a real server behind the fault proxy, in front of moto.

```
test --HTTP--> paramsecrets serve --AWS_ENDPOINT_URL--> FaultProxy (in-thread) --> moto_server
```

Two ways to count upstream calls, used for different claims:
- `moto.count(op)`: what actually reached AWS (moto's recording). "N reads, 1 call" claims use it.
- `proxy.total(op, outcome)`: everything the server attempted, including the attempts the proxy
  answered itself (throttled, failed, reset, blackholed). Retry and metrics claims use it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from paramsecrets.testing.fault_proxy import FaultProxy
from paramsecrets.testing.moto import MotoServer
from paramsecrets.testing.server import Response, ServerProcess

# The targets, re-exported for the tests here (and tests/attack, tests/sdk) that import them from this module
# (`__all__` names them, so a type checker sees them as exported too).
from paramsecrets.testing.targets import (
    BY_PATH,
    MANY,
    PARAM,
    SECRET,
    SECRETS_MANY,
    many_url,
    param_url,
    q,
    secrets_many_url,
)

__all__ = ["BY_PATH", "MANY", "PARAM", "SECRET", "SECRETS_MANY", "many_url", "param_url", "q", "secrets_many_url"]

# The `serve` fixture's type, for the tests' signatures.
Serve = Callable[..., ServerProcess]


@pytest.fixture
def proxy(moto: MotoServer) -> Iterator[FaultProxy]:
    """A fresh fault proxy in front of the session's (freshly wiped) moto server."""
    with FaultProxy(moto.url) as fault_proxy:
        yield fault_proxy


@pytest.fixture
def serve(start: Callable[..., ServerProcess], proxy: FaultProxy) -> Callable[..., ServerProcess]:
    """Factory: a real `paramsecrets serve` whose AWS endpoint is the fault proxy.

    In the detailed profile: these tests assert cache behaviour through the real statuses and
    error codes (the AWS profile's opaque 400 is tested in tests/integration/test_errors.py).
    """

    def _serve(wait: bool = True, **env: str) -> ServerProcess:
        # These tests count the proxy's connections: no warm-up connections unless a test asks.
        env.setdefault("PARAMETERS_SECRETS_EXTENSION_WARM_CONNECTIONS", "false")
        env.setdefault("PARAMETERS_SECRETS_EXTENSION_ERROR_MODE", "detailed")
        if os.environ.get("PARAMSECRETS_TEST_SRC"):  # run these tests against another checkout's src/
            env.setdefault("PYTHONPATH", os.environ["PARAMSECRETS_TEST_SRC"])
        return start(wait=wait, AWS_ENDPOINT_URL=proxy.url, **env)

    return _serve


# Moto's recording, with request bodies ---------------------------------------------------------


def recorded(moto: MotoServer, operation: str) -> list[dict[str, Any]]:
    """The JSON bodies of every `operation` request moto received since the last clear."""
    with urllib.request.urlopen(moto.url + "/moto-api/recorder/download-recording", timeout=10) as answer:
        text = answer.read().decode()
    bodies = []
    for line in text.splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        headers = entry.get("headers", {})
        if (headers.get("X-Amz-Target") or headers.get("x-amz-target")) != operation:
            continue
        body = entry.get("body") or ""
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode()
        bodies.append(json.loads(body) if body else {})
    return bodies


# Metrics -------------------------------------------------------------------------------------------

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.e+]+)$")


def metrics(server: ServerProcess) -> dict[str, float]:
    """`GET /metrics` parsed: {'name' or 'name{labels}': value}. Fails on a malformed line."""
    response = server.get("/metrics", token=False)
    assert response.status == 200, response.body
    samples: dict[str, float] = {}
    for line in response.body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match, f"not Prometheus text format: {line!r}"
        samples[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return samples


def upstream_metric(samples: dict[str, float], operation: str, outcome: str) -> float:
    return samples.get(f'paramsecrets_upstream_calls_total{{operation="{operation}",outcome="{outcome}"}}', 0.0)


# Concurrency ---------------------------------------------------------------------------------------


def concurrently(calls: list[Callable[[], Any]], timeout: float = 30) -> list[Any]:
    """Run every call in its own thread, released together by a barrier; results in call order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except Exception as error:  # surfaced to the test as a value it can assert on
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a concurrent request hung"
    return results


class Timeline:
    """Requests sent one after another, each recorded with its send and receive times."""

    def __init__(self) -> None:
        self.events: list[tuple[float, float, Response]] = []

    def get(self, server: ServerProcess, path: str) -> Response:
        sent = time.time()
        response = server.get(path)
        self.events.append((sent, time.time(), response))
        return response


def parameter_value(response: Response) -> str:
    assert response.status == 200, (response.status, response.body)
    value: str = response.json()["Parameter"]["Value"]
    return value
