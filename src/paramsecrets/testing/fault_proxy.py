"""A fault-injecting HTTP/1.1 proxy that sits between paramsecrets and a moto server.

Why it exists: moto answers every call promptly and never throttles, so on its own it cannot show how
our server behaves when AWS misbehaves (throttling shared by a fleet, 5xx, slow answers, dropped
connections). This proxy forwards requests to moto untouched and, when told to, answers in their place
with the failure AWS would produce.

Point the code under test at it with ``AWS_ENDPOINT_URL=<proxy url>``. Requests are forwarded byte for
byte (method, target, every header including ``Host``, body), so SigV4 signatures stay valid. Faults are
chosen per operation (the ``X-Amz-Target`` value, e.g. ``AmazonSSM.GetParameter``), per service (the part
before the dot: ``AmazonSSM``, ``secretsmanager``) or for everything; the most specific rule wins.

Standard library only, so a benchmark can run it as a process with any interpreter::

    python -m paramsecrets.testing.fault_proxy --upstream http://127.0.0.1:5000 --port 0 --throttle-ssm 40

The first line it prints is its URL. It is then driven over HTTP on the same port under ``/__proxy/``
(``GET /__proxy/counts``, ``POST /__proxy/mode`` and friends, see ``_control``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http
import itertools
import json
import signal
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["MODES", "NO_TARGET", "OUTCOMES", "FaultProxy", "main"]

MODES = ("pass", "throttle", "fail", "delay", "reset", "blackhole")
"""Every mode ``set_mode`` accepts."""

OUTCOMES = ("forwarded", "delayed", "throttled", "failed", "reset", "blackholed", "upstream_error")
"""What can happen to one request; each request is counted under exactly one of these."""

NO_TARGET = "-"
"""Counts key for requests that carry no ``X-Amz-Target`` header."""

CONTROL_PREFIX = "/__proxy/"

# Codes AWS JSON services send with these statuses; botocore retries on the status alone.
_FAIL_DEFAULTS: dict[int, tuple[str, str]] = {
    500: ("InternalServerError", "Internal server error"),
    502: ("BadGateway", "Bad gateway"),
    503: ("ServiceUnavailable", "Service unavailable"),
    504: ("GatewayTimeout", "Gateway timeout"),
}

_ALLOWED_PARAMS: dict[str, frozenset[str]] = {
    "pass": frozenset(),
    "throttle": frozenset({"rate_per_s", "burst"}),
    "fail": frozenset({"status", "code", "message"}),
    "delay": frozenset({"seconds"}),
    "reset": frozenset(),
    "blackhole": frozenset(),
}

# Headers that describe one hop, not the message; rewritten on the way back to the client.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"transfer-encoding",
        b"content-length",
        b"te",
        b"trailer",
        b"upgrade",
    }
)

_HEAD_LIMIT = 256 * 1024  # request/response head size we accept (botocore heads are ~1 KiB)
_LINGER_RST = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST instead of FIN


class _BadRequest(Exception):
    """The client sent something that is not HTTP/1.x; answer 400 and close."""


class _UpstreamError(Exception):
    """The upstream could not be reached or sent something unusable."""


@dataclass
class _Rule:
    """One configured fault: mode, its parameters, how many more requests it applies to."""

    mode: str
    params: dict[str, Any]
    times: int | None
    tokens: float = 0.0
    stamp: float = field(default_factory=time.monotonic)

    def take_token(self, now: float) -> bool:
        """Token bucket: refill at ``rate_per_s`` up to ``burst``, spend one per request."""
        rate = self.params["rate_per_s"]
        burst = self.params["burst"]
        self.tokens = min(float(burst), self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def describe(self) -> dict[str, Any]:
        return {"mode": self.mode, "times": self.times, **self.params}


@dataclass
class _Request:
    method: str
    target: str
    version: str
    headers: dict[str, str]  # lower-cased names; last one wins (only used to route, never forwarded)
    raw: bytes  # the request exactly as received: head and body
    keep_alive: bool


def _validate(mode: str, params: dict[str, Any]) -> dict[str, Any]:
    """Check and complete one mode's parameters, so a typo fails loudly instead of doing nothing."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    unknown = set(params) - _ALLOWED_PARAMS[mode]
    if unknown:
        raise ValueError(f"mode {mode!r} takes no parameter {', '.join(sorted(unknown))}")
    out = dict(params)
    if mode == "throttle":
        if "rate_per_s" not in out:
            raise ValueError("throttle needs rate_per_s")
        rate = float(out["rate_per_s"])
        if rate < 0:
            raise ValueError("rate_per_s must be >= 0")
        burst = out.get("burst")
        burst = max(1, int(-(-rate // 1))) if burst is None else int(burst)
        if burst < 0:
            raise ValueError("burst must be >= 0")
        out["rate_per_s"], out["burst"] = rate, burst
    elif mode == "fail":
        status = int(out.get("status", 500))
        if not 400 <= status <= 599:
            raise ValueError("fail status must be 4xx or 5xx")
        default_code, default_message = _FAIL_DEFAULTS.get(status, (None, None))
        code = out.get("code") or default_code
        if code is None:
            raise ValueError(f"fail status {status} needs an explicit code")
        out["status"], out["code"] = status, str(code)
        out["message"] = str(out.get("message") or default_message or code)
    elif mode == "delay":
        if "seconds" not in out:
            raise ValueError("delay needs seconds")
        seconds = float(out["seconds"])
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        out["seconds"] = seconds
    return out


def _status_line(status: int) -> str:
    """``HTTP/1.1 <status> <reason>``; a status without a standard reason (499, 599) gets none."""
    try:
        return f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n"
    except ValueError:
        return f"HTTP/1.1 {status} \r\n"


def _json_error(status: int, code: str, message: str, keep_alive: bool, request_id: str) -> bytes:
    """An AWS JSON 1.1 error response, as SSM and Secrets Manager shape theirs, in one buffer."""
    body = json.dumps({"__type": code, "message": message}, separators=(",", ":")).encode()
    headers = [
        "Content-Type: application/x-amz-json-1.1",
        f"x-amzn-RequestId: {request_id}",
        f"x-amzn-ErrorType: {code}",
    ]
    return _response(status, headers, body, keep_alive)


def _plain_json(status: int, payload: Any, keep_alive: bool) -> bytes:
    """A control API response."""
    body = json.dumps(payload, sort_keys=True).encode()
    return _response(status, ["Content-Type: application/json"], body, keep_alive)


def _response(status: int, headers: list[str], body: bytes, keep_alive: bool) -> bytes:
    """A whole response in one buffer (one write: no Nagle stall between head and body)."""
    lines = [*headers, f"Content-Length: {len(body)}"]
    if not keep_alive:
        lines.append("Connection: close")
    return (_status_line(status) + "".join(line + "\r\n" for line in lines) + "\r\n").encode("latin-1") + body


def _tokens(value: str | None) -> set[str]:
    return {t.strip().lower() for t in value.split(",")} if value else set()


async def _read_chunked_raw(reader: asyncio.StreamReader) -> bytes:
    """Read a chunked body and return it still chunked, exactly as sent (for forwarding)."""
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        parts.append(size_line)
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise _BadRequest("bad chunk size") from exc
        if size == 0:
            while True:  # trailers, then the empty line
                line = await reader.readuntil(b"\r\n")
                parts.append(line)
                if line == b"\r\n":
                    return b"".join(parts)
        parts.append(await reader.readexactly(size + 2))


async def _read_chunked_decoded(reader: asyncio.StreamReader) -> bytes:
    """Read a chunked body and return the payload (responses are re-sent with Content-Length)."""
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise _UpstreamError("bad chunk size from upstream") from exc
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return b"".join(parts)
        parts.append((await reader.readexactly(size + 2))[:-2])


class FaultProxy:
    """HTTP/1.1 forwarding proxy with per-service / per-operation fault injection.

    Runs its own asyncio loop in a daemon thread so synchronous tests (botocore, subprocesses) can use
    it; every public method is thread-safe. Use as a context manager or call ``start()``/``stop()``.
    """

    def __init__(self, upstream_url: str, host: str = "127.0.0.1", port: int = 0) -> None:
        parts = urlsplit(upstream_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, got {upstream_url!r}")
        self.upstream_url = upstream_url
        self._up_host = parts.hostname
        self._up_port = parts.port or 80
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._op_rules: dict[str, _Rule] = {}
        self._service_rules: dict[str, _Rule] = {}
        self._default_rule: _Rule | None = None
        self._counts: dict[str, dict[str, int]] = {}
        self._connections = 0
        self._request_ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._upstreams: set[asyncio.StreamWriter] = set()
        self._start_error: BaseException | None = None

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """Base URL of the proxy (valid after ``start()``)."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        """Bind (port 0 picks a free one), start serving in a daemon thread, return the URL."""
        if self._thread is not None:
            raise RuntimeError("proxy already started")
        ready = threading.Event()
        self._start_error = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="fault-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        if self._start_error is not None or not ready.is_set():
            self._thread.join(5)
            self._thread = None
            raise RuntimeError("fault proxy failed to start") from self._start_error
        return self.url

    def stop(self) -> None:
        """Close the listener and every client and upstream connection; wait for the thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        with contextlib.suppress(RuntimeError):  # loop already closed
            loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._thread = None

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, self.host, self.port, limit=_HEAD_LIMIT, backlog=1024)
            )
            self.port = self._server.sockets[0].getsockname()[1]
        except BaseException as exc:  # reported to start()'s caller
            self._start_error = exc
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._shutdown())
            loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for writer in list(self._upstreams):
            writer.transport.abort()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()

    # ----------------------------------------------------------------- configuration

    def set_mode(
        self,
        mode: str,
        service: str | None = None,
        operation: str | None = None,
        *,
        times: int | None = None,
        **params: Any,
    ) -> None:
        """Set the fault for an operation, a service, or (neither given) every request.

        The most specific rule wins: operation, then service, then the catch-all, else ``pass``.
        ``times=N`` applies the rule to the next N matching requests only, then removes it (the next
        broader rule applies again). Setting a rule replaces the one at the same scope and, for
        ``throttle``, starts a full bucket.
        """
        checked = _validate(mode, params)
        if times is not None and int(times) < 1:
            raise ValueError("times must be >= 1")
        if operation is not None and service is not None and operation.partition(".")[0] != service:
            raise ValueError(f"operation {operation!r} is not in service {service!r}")
        rule = _Rule(mode, checked, None if times is None else int(times))
        if mode == "throttle":
            rule.tokens = float(checked["burst"])
        with self._lock:
            if operation is not None:
                self._op_rules[operation] = rule
            elif service is not None:
                self._service_rules[service] = rule
            else:
                self._default_rule = rule

    def throttle(
        self,
        rate_per_s: float,
        burst: int | None = None,
        *,
        service: str | None = None,
        operation: str | None = None,
        times: int | None = None,
    ) -> None:
        """Token bucket shared by every client: beyond ``rate_per_s`` (after ``burst``, default the
        rate) answer 400 ``ThrottlingException`` without forwarding, as SSM does over its quota."""
        self.set_mode("throttle", service, operation, times=times, rate_per_s=rate_per_s, burst=burst)

    def fail(
        self,
        status: int = 500,
        *,
        service: str | None = None,
        operation: str | None = None,
        times: int | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer ``status`` with an AWS JSON error (500 ``InternalServerError``, 503
        ``ServiceUnavailable``; other statuses need ``code``) without forwarding."""
        self.set_mode("fail", service, operation, times=times, status=status, code=code, message=message)

    def delay(
        self,
        seconds: float,
        *,
        service: str | None = None,
        operation: str | None = None,
        times: int | None = None,
    ) -> None:
        """Hold each request ``seconds`` before forwarding it (to push a client past its timeout)."""
        self.set_mode("delay", service, operation, times=times, seconds=seconds)

    def reset_connections(
        self, *, service: str | None = None, operation: str | None = None, times: int | None = None
    ) -> None:
        """Read the request, then drop the client connection with a TCP RST, answering nothing."""
        self.set_mode("reset", service, operation, times=times)

    def blackhole(self, *, service: str | None = None, operation: str | None = None, times: int | None = None) -> None:
        """Read the request and never answer; the connection stays open until the client gives up."""
        self.set_mode("blackhole", service, operation, times=times)

    def pass_through(self) -> None:
        """Remove every rule: all requests are forwarded untouched again."""
        with self._lock:
            self._op_rules.clear()
            self._service_rules.clear()
            self._default_rule = None

    def rules(self) -> dict[str, Any]:
        """The rules in force, for debugging and ``GET /__proxy/modes``."""
        with self._lock:
            return {
                "operations": {k: r.describe() for k, r in self._op_rules.items()},
                "services": {k: r.describe() for k, r in self._service_rules.items()},
                "default": self._default_rule.describe() if self._default_rule else None,
            }

    # ----------------------------------------------------------------- counting

    def counts(self) -> dict[str, dict[str, int]]:
        """``{operation: {outcome: n}}``; requests without ``X-Amz-Target`` count under ``NO_TARGET``."""
        with self._lock:
            return {op: dict(by_outcome) for op, by_outcome in self._counts.items()}

    def total(self, op: str | None = None, outcome: str | None = None) -> int:
        """Number of requests seen, optionally for one operation (``AmazonSSM.GetParameter``) or one
        service (a name without a dot, ``AmazonSSM``), and optionally with one outcome."""
        with self._lock:
            n = 0
            for key, by_outcome in self._counts.items():
                if op is not None:
                    if "." in op and key != op:
                        continue
                    if "." not in op and key.partition(".")[0] != op:
                        continue
                n += by_outcome.get(outcome, 0) if outcome is not None else sum(by_outcome.values())
            return n

    def clear(self) -> None:
        """Forget all counts (rules stay)."""
        with self._lock:
            self._counts.clear()

    @property
    def connections(self) -> int:
        """Client connections accepted so far: shows whether clients reuse connections."""
        with self._lock:
            return self._connections

    def _record(self, op: str, outcome: str) -> None:
        with self._lock:
            by_outcome = self._counts.setdefault(op, {})
            by_outcome[outcome] = by_outcome.get(outcome, 0) + 1

    def _decide(self, op: str | None) -> tuple[str, dict[str, Any]]:
        """Pick the fault for one request, spending its ``times`` and throttle token."""
        with self._lock:
            rule: _Rule | None = None
            table: dict[str, _Rule] | None = None
            key = ""
            if op is not None:
                if op in self._op_rules:
                    rule, table, key = self._op_rules[op], self._op_rules, op
                else:
                    service = op.partition(".")[0]
                    if service in self._service_rules:
                        rule, table, key = self._service_rules[service], self._service_rules, service
            if rule is None:
                rule = self._default_rule
            if rule is None:
                return "pass", {}
            if rule.times is not None:
                rule.times -= 1
                if rule.times <= 0:
                    if table is not None:
                        del table[key]
                    else:
                        self._default_rule = None
            if rule.mode == "throttle":
                return ("pass", {}) if rule.take_token(time.monotonic()) else ("throttle", rule.params)
            return rule.mode, rule.params

    # ----------------------------------------------------------------- serving

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One client connection: serve requests one after another while the client keeps it alive."""
        with self._lock:
            self._connections += 1
        self._writers.add(writer)
        try:
            while True:
                try:
                    request = await self._read_request(reader, writer)
                except _BadRequest as exc:
                    writer.write(_json_error(400, "BadRequest", str(exc), False, self._request_id()))
                    await writer.drain()
                    break
                except asyncio.LimitOverrunError:
                    writer.write(_json_error(431, "RequestTooLarge", "head too large", False, "-"))
                    await writer.drain()
                    break
                if request is None or not await self._serve(request, reader, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass  # the client went away; nothing to answer
        except asyncio.CancelledError:
            # stop(): end quietly. Python 3.11's stream server logs a traceback for a handler task
            # that finishes cancelled, so this one returns normally instead.
            pass
        finally:
            self._writers.discard(writer)
            if not writer.transport.is_closing():
                writer.close()

    async def _read_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> _Request | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                raise _BadRequest("truncated request head") from exc
            return None  # clean close between requests
        lines = head[:-4].split(b"\r\n")
        try:
            method, target, version = lines[0].decode("latin-1").split(" ")
        except ValueError as exc:
            raise _BadRequest("bad request line") from exc
        if not version.startswith("HTTP/1."):
            raise _BadRequest("only HTTP/1.x is supported")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip():
                raise _BadRequest("bad header line")
            headers[name.decode("latin-1").lower()] = value.strip().decode("latin-1")
        if "100-continue" in _tokens(headers.get("expect")):
            # Answer the interim response ourselves so the client sends its body now; the upstream's
            # own "100 Continue" is skipped when reading its answer.
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in _tokens(headers.get("transfer-encoding")):
            body = await _read_chunked_raw(reader)
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError as exc:
                raise _BadRequest("bad Content-Length") from exc
            if length < 0:
                raise _BadRequest("bad Content-Length")
            body = await reader.readexactly(length) if length else b""
        else:
            body = b""
        connection = _tokens(headers.get("connection"))
        keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
        return _Request(method, target, version, headers, head + body, keep_alive)

    def _request_id(self) -> str:
        return f"faultproxy-{next(self._request_ids)}"

    async def _serve(self, request: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request according to its rule; return whether the connection stays open."""
        if request.target.startswith(CONTROL_PREFIX):
            writer.write(self._control(request))
            await writer.drain()
            return request.keep_alive
        op = request.headers.get("x-amz-target") or None
        key = op or NO_TARGET
        mode, params = self._decide(op)
        keep = request.keep_alive
        if mode == "throttle":
            self._record(key, "throttled")
            writer.write(_json_error(400, "ThrottlingException", "Rate exceeded", keep, self._request_id()))
            await writer.drain()
            return keep
        if mode == "fail":
            self._record(key, "failed")
            writer.write(_json_error(params["status"], params["code"], params["message"], keep, self._request_id()))
            await writer.drain()
            return keep
        if mode == "reset":
            self._record(key, "reset")
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
            writer.transport.abort()
            return False
        if mode == "blackhole":
            self._record(key, "blackholed")
            while await reader.read(65536):  # swallow anything else until the client gives up
                pass
            return False
        if mode == "delay":
            # Counted now, not after the forward: a test sees the fault even while the client waits.
            self._record(key, "delayed")
            await asyncio.sleep(params["seconds"])
        try:
            response = await self._forward(request)
        except (_UpstreamError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            if mode == "pass":
                self._record(key, "upstream_error")
            writer.write(_json_error(502, "BadGateway", f"upstream: {exc!r}", keep, self._request_id()))
            await writer.drain()
            return keep
        if mode == "pass":
            self._record(key, "forwarded")
        status_line, header_lines, body = response
        out = [b"HTTP/1.1 " + status_line.split(b" ", 1)[1]]  # always speak 1.1 to the client
        for line in header_lines:
            if line.partition(b":")[0].strip().lower() not in _HOP_BY_HOP:
                out.append(line)
        out.append(b"Content-Length: %d" % len(body))
        if not keep:
            out.append(b"Connection: close")
        writer.write(b"\r\n".join(out) + b"\r\n\r\n" + body)  # one write: no Nagle stalls
        await writer.drain()
        return keep

    # ----------------------------------------------------------------- upstream

    async def _forward(self, request: _Request) -> tuple[bytes, list[bytes], bytes]:
        """Send the raw request upstream on a fresh connection; return status line, header lines and
        decoded body. Fresh because moto closes every connection anyway, and a connection per request
        can never hand a request to an upstream that is closing an idle one."""
        try:
            reader, writer = await asyncio.open_connection(self._up_host, self._up_port, limit=_HEAD_LIMIT)
        except OSError as exc:
            raise _UpstreamError(f"cannot connect to {self.upstream_url}: {exc}") from exc
        self._upstreams.add(writer)
        try:
            return await self._exchange(reader, writer, request)
        finally:
            self._upstreams.discard(writer)
            writer.transport.abort()  # response fully read (or failed): nothing left to say

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: _Request
    ) -> tuple[bytes, list[bytes], bytes]:
        writer.write(request.raw)
        await writer.drain()
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head[:-4].split(b"\r\n")
            status_line = lines[0]
            try:
                status = int(status_line.split(b" ")[1])
            except (IndexError, ValueError) as exc:
                raise _UpstreamError(f"bad status line {status_line[:80]!r}") from exc
            if 100 <= status < 200:
                continue  # interim response (100 Continue): the real one follows
            break
        header_lines = lines[1:]
        fields: dict[bytes, bytes] = {}
        for line in header_lines:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        if request.method == "HEAD" or status in (204, 304):
            body = b""
        elif b"chunked" in fields.get(b"transfer-encoding", b"").lower():
            body = await _read_chunked_decoded(reader)
        elif b"content-length" in fields:
            try:
                body = await reader.readexactly(int(fields[b"content-length"]))
            except ValueError as exc:
                raise _UpstreamError("bad Content-Length from upstream") from exc
        else:
            body = await reader.read()  # delimited by the upstream closing the connection
        return status_line, header_lines, body

    # ----------------------------------------------------------------- control API

    def _control(self, request: _Request) -> bytes:
        """Serve ``/__proxy/`` so another process (a benchmark) can drive the proxy.

        ``GET counts`` -> ``{op: {outcome: n}}``; ``GET modes`` -> the rules; ``POST mode`` with a JSON
        object ``{"mode": ..., "service"?, "operation"?, "times"?, <mode params>}``; ``POST pass_through``
        removes every rule; ``POST clear`` forgets counts.
        """
        path = request.target.split("?", 1)[0][len(CONTROL_PREFIX) :]
        keep = request.keep_alive
        route = (request.method, path)
        if route == ("GET", "counts"):
            return _plain_json(200, self.counts(), keep)
        if route == ("GET", "modes"):
            return _plain_json(200, self.rules(), keep)
        if route == ("POST", "pass_through"):
            self.pass_through()
            return _plain_json(200, {"ok": True}, keep)
        if route == ("POST", "clear"):
            self.clear()
            return _plain_json(200, {"ok": True}, keep)
        if route == ("POST", "mode"):
            body = request.raw.split(b"\r\n\r\n", 1)[1]
            try:
                spec = json.loads(body or b"null")
                if not isinstance(spec, dict) or "mode" not in spec:
                    raise ValueError('body must be a JSON object with "mode"')
                spec = dict(spec)
                self.set_mode(
                    spec.pop("mode"),
                    spec.pop("service", None),
                    spec.pop("operation", None),
                    times=spec.pop("times", None),
                    **spec,
                )
            except (ValueError, TypeError) as exc:
                return _plain_json(400, {"__type": "BadRequest", "message": str(exc)}, keep)
            return _plain_json(200, {"ok": True, "rules": self.rules()}, keep)
        return _plain_json(404, {"__type": "NotFound", "message": f"no control route {route}"}, keep)


def main(argv: list[str] | None = None) -> int:
    """Run the proxy as a process until SIGTERM/SIGINT; print its URL as the first stdout line."""
    parser = argparse.ArgumentParser(description="Fault-injecting HTTP proxy in front of moto.")
    parser.add_argument("--upstream", required=True, help="upstream base URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    parser.add_argument("--throttle-ssm", type=float, metavar="RATE", help="throttle AmazonSSM to RATE/s")
    parser.add_argument(
        "--throttle-secretsmanager", type=float, metavar="RATE", help="throttle secretsmanager to RATE/s"
    )
    parser.add_argument("--burst", type=int, default=None, help="bucket size for --throttle-* (default RATE)")
    args = parser.parse_args(argv)

    proxy = FaultProxy(args.upstream, host=args.host, port=args.port)
    if args.throttle_ssm is not None:
        proxy.throttle(args.throttle_ssm, args.burst, service="AmazonSSM")
    if args.throttle_secretsmanager is not None:
        proxy.throttle(args.throttle_secretsmanager, args.burst, service="secretsmanager")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(proxy.start(), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
