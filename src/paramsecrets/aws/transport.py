"""Signed AWS JSON 1.1 calls over a small pool of keep-alive connections, on awscrt.

awscrt is AWS's own C runtime: SigV4 signing, the default credentials chain (environment,
profile, container, instance metadata) and an HTTP/TLS client, for ~100 ms and ~10 MiB of import
(botocore costs ~350 ms and ~40 MiB; docs/performance.md has the figures). Its callbacks run on
its own event-loop thread; results cross into asyncio through `crt_result`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from awscrt.auth import AwsCredentialsProvider, AwsSigningConfig, aws_sign_request
from awscrt.exceptions import AwsCrtError
from awscrt.http import HttpClientConnection, HttpHeaders, HttpRequest
from awscrt.io import (
    ClientBootstrap,
    ClientTlsContext,
    DefaultHostResolver,
    EventLoopGroup,
    SocketOptions,
    TlsContextOptions,
)

from paramsecrets import __version__
from paramsecrets.aws.endpoints import Endpoint
from paramsecrets.aws.errors import Kind, UpstreamError, from_response, network_error, timeout_error

USER_AGENT = f"paramsecrets/{__version__}"
CONTENT_TYPE = "application/x-amz-json-1.1"
ATTEMPTS = 3
BACKOFF_BASE_S = 0.1
BACKOFF_CAP_S = 2.0
DEFAULT_TIMEOUT_S = 3.0

T = TypeVar("T")

# Outcome label for the metrics of one attempt.
OutcomeRecorder = Callable[[str, str], None]


@dataclass(frozen=True)
class ServiceSpec:
    """What distinguishes one AWS JSON service from another, for our purposes."""

    title: str
    signing_name: str
    target_prefix: str


SSM = ServiceSpec("SSM", "ssm", "AmazonSSM")
SECRETS_MANAGER = ServiceSpec("Secrets Manager", "secretsmanager", "secretsmanager")


async def crt_result(future: concurrent.futures.Future[T]) -> T:
    """Await an awscrt future without ever cancelling it.

    `asyncio.wrap_future` cancels the awscrt future when the waiter is cancelled (a timeout);
    awscrt then completes it anyway and prints `InvalidStateError: CANCELLED` for every
    timed-out attempt. Here the waiter alone is cancelled; a late result is dropped.
    """
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[T] = loop.create_future()

    def settle(done: concurrent.futures.Future[T]) -> None:
        if waiter.done():
            return
        if done.cancelled():
            waiter.cancel()
            return
        error = done.exception()
        if error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(done.result())

    def completed(done: concurrent.futures.Future[T]) -> None:  # on awscrt's thread
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, done)

    future.add_done_callback(completed)
    return await waiter


class CrtRuntime:
    """The process-wide awscrt pieces: one event-loop thread, a resolver, credentials, TLS."""

    def __init__(self) -> None:
        event_loops = EventLoopGroup(1)
        resolver = DefaultHostResolver(event_loops)
        self.bootstrap = ClientBootstrap(event_loops, resolver)
        self.credentials = AwsCredentialsProvider.new_default_chain(self.bootstrap)
        self._tls: ClientTlsContext | None = None
        self.socket_options = SocketOptions()
        self.socket_options.connect_timeout_ms = 3000

    @property
    def tls(self) -> ClientTlsContext:
        if self._tls is None:
            self._tls = ClientTlsContext(TlsContextOptions())
        return self._tls


class _Exchange:
    """Collects one response; filled on awscrt's thread, read on ours after completion."""

    __slots__ = ("body", "headers", "status")

    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.body: list[bytes] = []

    def on_response(self, http_stream: Any, status_code: int, headers: list[tuple[str, str]],
                    **_: Any) -> None:
        self.status = status_code
        self.headers = headers

    def on_body(self, http_stream: Any, chunk: bytes, **_: Any) -> None:
        self.body.append(bytes(chunk))

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


class AwsJsonTransport:
    """One service endpoint: signing, a pool bounded by MAX_CONNECTIONS, timeouts, retries."""

    def __init__(self, spec: ServiceSpec, endpoint: Endpoint, region: str, runtime: CrtRuntime,
                 max_connections: int, timeout_s: float = DEFAULT_TIMEOUT_S,
                 record: OutcomeRecorder | None = None, attempts: int = ATTEMPTS) -> None:
        self.spec = spec
        self.endpoint = endpoint
        self.region = region
        self.runtime = runtime
        self.timeout_s = timeout_s
        self.attempts = attempts
        self._record = record or (lambda operation, outcome: None)
        self._slots = asyncio.Semaphore(max_connections)
        self._max_connections = max_connections
        self._idle: list[HttpClientConnection] = []

    async def call(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Call `operation` with retries (full jitter) on throttling, 5xx, network errors, timeouts.

        The whole call has one deadline, `attempts x timeout`: waiting for a connection slot,
        every attempt and the pauses between them all come out of it, so a stalled AWS costs a
        request at most that long however many requests are queued for the slots.
        """
        body = json.dumps(payload, separators=(",", ":")).encode()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s * self.attempts
        for attempt in range(1, self.attempts + 1):
            try:
                result = await self._attempt(operation, body, deadline)
            except UpstreamError as error:
                self._record(operation, error.kind.name.lower())
                pause = random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))
                if not error.transient or attempt == self.attempts or loop.time() + pause >= deadline:
                    raise
                await asyncio.sleep(pause)
            else:
                self._record(operation, "ok")
                return result
        raise AssertionError("unreachable")

    async def _attempt(self, operation: str, body: bytes, deadline: float) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        overall = self.timeout_s * self.attempts
        try:
            async with asyncio.timeout_at(deadline):
                await self._slots.acquire()
        except TimeoutError:
            raise UpstreamError(Kind.TIMEOUT, "GatewayTimeout",
                                f"no connection to {self.spec.title} became free within {overall:g}s "
                                f"(MAX_CONNECTIONS={self._max_connections} are all busy)") from None
        try:
            limit = min(self.timeout_s, deadline - loop.time())
            try:
                return await asyncio.wait_for(self._send(operation, body), limit)
            except TimeoutError:
                raise timeout_error(self.spec.title, self.timeout_s) from None
        finally:
            self._slots.release()

    async def _send(self, operation: str, body: bytes) -> dict[str, Any]:
        request = await self._signed_request(operation, body)
        connection = await self._checkout()
        exchange = _Exchange()
        try:
            try:
                stream = connection.request(request, exchange.on_response, exchange.on_body)
            except AwsCrtError:
                # A pooled connection the peer closed meanwhile: one fresh connection, no new attempt.
                connection.close()
                connection = await self._connect()
                stream = connection.request(request, exchange.on_response, exchange.on_body)
            stream.activate()
            await crt_result(stream.completion_future)
        except AwsCrtError as error:
            connection.close()
            raise network_error(error.name) from None
        except BaseException:
            connection.close()  # cancelled (timeout): the stream is abandoned with its connection
            raise
        self._checkin(connection)
        data = b"".join(exchange.body)
        if 200 <= exchange.status < 300:
            try:
                return json.loads(data) if data else {}
            except ValueError:
                raise UpstreamError(Kind.UNAVAILABLE, "BadGateway",
                                    f"{self.spec.title} answered with a body that is not JSON") from None
        raise from_response(exchange.status, exchange.header("x-amzn-errortype"), data)

    async def _signed_request(self, operation: str, body: bytes) -> HttpRequest:
        headers = HttpHeaders([
            ("Host", self.endpoint.host_header),
            ("Content-Type", CONTENT_TYPE),
            ("X-Amz-Target", f"{self.spec.target_prefix}.{operation}"),
            ("Content-Length", str(len(body))),
            ("User-Agent", USER_AGENT),
        ])
        request = HttpRequest("POST", self.endpoint.path, headers, io.BytesIO(body))
        config = AwsSigningConfig(credentials_provider=self.runtime.credentials, region=self.region,
                                  service=self.spec.signing_name)
        try:
            await crt_result(aws_sign_request(request, config))
        except AwsCrtError as error:
            raise UpstreamError(Kind.DENIED, "CredentialsUnavailable",
                                f"no usable AWS credentials to sign with ({error.name})") from None
        request.body_stream = io.BytesIO(body)  # signing read the stream to hash it
        return request

    async def _checkout(self) -> HttpClientConnection:
        while self._idle:
            connection = self._idle.pop()
            if connection.is_open():
                return connection
        return await self._connect()

    async def _connect(self) -> HttpClientConnection:
        tls_options = None
        if self.endpoint.tls:
            tls_options = self.runtime.tls.new_connection_options()
            tls_options.set_server_name(self.endpoint.host)
        try:
            future = HttpClientConnection.new(
                host_name=self.endpoint.host, port=self.endpoint.port, bootstrap=self.runtime.bootstrap,
                socket_options=self.runtime.socket_options, tls_connection_options=tls_options,
            )
            return await crt_result(future)
        except AwsCrtError as error:
            raise network_error(error.name) from None

    def _checkin(self, connection: HttpClientConnection) -> None:
        if connection.is_open():
            self._idle.append(connection)

    def close(self) -> None:
        """Close idle connections (shutdown)."""
        while self._idle:
            self._idle.pop().close()
