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
import contextvars
import io
import json
import os
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from awscrt.auth import AwsCredentialsProvider, AwsSigningConfig, aws_sign_request
from awscrt.exceptions import AwsCrtError
from awscrt.http import (
    HttpClientConnection,
    HttpHeaders,
    HttpProxyAuthenticationType,
    HttpProxyConnectionType,
    HttpProxyOptions,
    HttpRequest,
)
from awscrt.io import (
    ClientBootstrap,
    ClientTlsContext,
    DefaultHostResolver,
    EventLoopGroup,
    SocketOptions,
    TlsContextOptions,
)

from paramsecrets import __version__, log
from paramsecrets.aws import trust
from paramsecrets.aws.endpoints import Endpoint
from paramsecrets.aws.errors import Kind, UpstreamError, from_response, network_error, timeout_error
from paramsecrets.aws.proxy import Proxy

if TYPE_CHECKING:
    from paramsecrets.init_window import InitWindow

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


def has_environment_keys(environ: Mapping[str, str]) -> bool:
    """Both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set and not empty: the default chain's
    environment provider answers, and none of the providers after it is ever asked."""
    return bool(environ.get("AWS_ACCESS_KEY_ID", "").strip() and environ.get("AWS_SECRET_ACCESS_KEY", "").strip())


class CrtRuntime:
    """The process-wide awscrt pieces: one event-loop thread, a resolver, credentials, TLS.

    `ca_bundle` (AWS_CA_BUNDLE) replaces the system trust store, as in the AWS CLI and SDKs.
    """

    def __init__(self, ca_bundle: str | None = None, environ: Mapping[str, str] | None = None) -> None:
        event_loops = EventLoopGroup(1)
        resolver = DefaultHostResolver(event_loops)
        self.bootstrap = ClientBootstrap(event_loops, resolver)
        self.ca_bundle = ca_bundle
        self.ca_file: str | None = None
        """The layer's CA bundle when the host has no trust store (see trust.py), else None."""
        if has_environment_keys(os.environ if environ is None else environ):
            # What the default chain would answer (the environment is its first provider), without
            # building the chain: ~12 ms of CPU (its own TLS context for STS, ECS and IMDS) that
            # every Lambda start would spend, since Lambda puts the function's role in these variables.
            self.credentials = AwsCredentialsProvider.new_environment()
        else:
            self.credentials = self._default_chain()
        self._tls: ClientTlsContext | None = None
        self.socket_options = SocketOptions()
        self.socket_options.connect_timeout_ms = 3000

    def _default_chain(self) -> AwsCredentialsProvider:
        """awscrt's default chain, or where the host has no CA trust store (a bare root), the
        environment and the shared files with the layer's CA bundle for TLS."""
        try:
            return AwsCredentialsProvider.new_default_chain(self.bootstrap)
        except RuntimeError as error:
            self.ca_file = trust.bundled_ca_file()
            if not trust.is_missing_trust_store(error) or self.ca_file is None:
                raise
            log.warn("no CA trust store on this host: AWS calls trust the layer's CA bundle, and credentials "
                     "come from the environment or the shared config files only")
            return trust.credentials_without_tls()

    @property
    def tls(self) -> ClientTlsContext:
        """Built at the first TLS connection. Where the host has no CA trust store (a bare root)
        and AWS_CA_BUNDLE names none, the layer's own bundle is trusted instead."""
        if self._tls is None:
            ca_path = self.ca_bundle or self.ca_file  # AWS_CA_BUNDLE first, else the layer's own
            try:
                self._tls = tls_context(ca_path)
            except RuntimeError as error:
                bundled = trust.bundled_ca_file()
                if ca_path or bundled is None or not trust.is_missing_trust_store(error):
                    raise
                log.warn("no CA trust store on this host: AWS calls trust the layer's CA bundle")
                self.ca_file = bundled
                self._tls = tls_context(bundled)
        return self._tls


def tls_context(ca_path: str | None) -> ClientTlsContext:
    """A client TLS context trusting `ca_path`, or the system's trust store when None."""
    options = TlsContextOptions()
    if ca_path:
        options.override_default_trust_store_from_path(ca_filepath=ca_path)
    return ClientTlsContext(options)


class Exchange:
    """One raw response (status, headers, body chunks); filled on awscrt's thread, read on ours
    after completion."""

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


class AttemptState:
    """How far one attempt got (signing, connecting, waiting for the answer), so that a timeout
    names what did not happen; and its connection timeout, when shorter than the runtime's."""

    __slots__ = ("connect_s", "stage")

    def __init__(self, connect_s: float | None = None) -> None:
        self.connect_s = connect_s
        self.stage = ""


_ATTEMPT: contextvars.ContextVar[AttemptState | None] = contextvars.ContextVar("paramsecrets_attempt", default=None)
SIGNING, CONNECTING, WAITING = "signing", "connecting", "waiting"


def _seconds(value: float) -> str:
    """3 -> "3s", 0.8734 -> "0.87s"."""
    return f"{round(value, 2):g}s"


class AwsJsonTransport:
    """One service endpoint: signing, a pool bounded by MAX_CONNECTIONS, timeouts, retries.

    `init_window` (Lambda's INIT, see init_window.py) bounds calls made during INIT; `network_hint`
    (in Lambda: the VPC endpoint or NAT a function needs) is added to failures to reach AWS at all.
    """

    def __init__(self, spec: ServiceSpec, endpoint: Endpoint, region: str, runtime: CrtRuntime,
                 max_connections: int, timeout_s: float = DEFAULT_TIMEOUT_S,
                 record: OutcomeRecorder | None = None, attempts: int = ATTEMPTS,
                 proxy: Proxy | None = None, init_window: InitWindow | None = None,
                 network_hint: str | None = None, credentials: AwsCredentialsProvider | None = None) -> None:
        self.spec = spec
        self.init_window = init_window
        self.network_hint = network_hint
        # A role's static credentials (paramsecrets.cache.roles), or None for the process's default chain.
        self.credentials = credentials
        self.proxy = proxy
        self.endpoint = endpoint
        self.region = region
        self.runtime = runtime
        self.timeout_s = timeout_s
        self.attempts = attempts
        self._record = record or (lambda operation, outcome: None)
        self._slots = asyncio.Semaphore(max_connections)
        self._max_connections = max_connections
        self._idle: list[HttpClientConnection] = []
        self._closed = False
        # Why the last connection attempt failed (None after a success). TLS certificate failures
        # are reported by awscrt only after s2n's 10-30 s "blinding" delay, long after a request's
        # timeout: a timed-out request then says what the warm-up (or an earlier attempt) found.
        self.last_connect_failure: str | None = None
        self._last_failure_name = ""

    async def call(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Call `operation` with retries (full jitter) on throttling, 5xx, network errors, timeouts.

        The whole call has one deadline, `attempts x timeout`: waiting for a connection slot,
        every attempt and the pauses between them all come out of it, so a stalled AWS costs a
        request at most that long however many requests are queued for the slots.
        """
        body = self.encode(operation, payload)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s * self.attempts
        init_left = self.init_window.remaining() if self.init_window is not None else None
        retry_room = 0.0
        if init_left is not None:  # during Lambda's INIT: end before it does
            if init_left <= 0:
                self._record(operation, Kind.TIMEOUT.name.lower())
                raise UpstreamError(Kind.TIMEOUT, "GatewayTimeout",
                                    f"no time left in Lambda's INIT phase for a call to {self.spec.title}")
            deadline = min(deadline, loop.time() + init_left)
            retry_room = self.init_window.min_attempt_s  # type: ignore[union-attr]
        for attempt in range(1, self.attempts + 1):
            connect_s = None
            if init_left is not None and attempt == 1:
                connect_s = self.init_window.first_connect_s  # type: ignore[union-attr]
            try:
                result = await self._attempt(operation, body, deadline, connect_s, init_left is not None)
            except UpstreamError as error:
                self._record(operation, error.kind.name.lower())
                pause = random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))
                if not error.transient or attempt == self.attempts or loop.time() + pause + retry_room >= deadline:
                    raise
                await asyncio.sleep(pause)
            else:
                self._record(operation, "ok")
                return result
        raise AssertionError("unreachable")

    async def _attempt(self, operation: str, body: bytes, deadline: float,
                       connect_s: float | None = None, in_init: bool = False) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        overall = deadline - loop.time()
        try:
            async with asyncio.timeout_at(deadline):
                await self._slots.acquire()
        except TimeoutError:
            raise UpstreamError(Kind.TIMEOUT, "GatewayTimeout",
                                f"no connection to {self.spec.title} became free within {_seconds(overall)} "
                                f"(MAX_CONNECTIONS={self._max_connections} are all busy)") from None
        state = AttemptState(connect_s)
        token = _ATTEMPT.set(state)  # wait_for's task copies this context: it reports its stage here
        try:
            limit = min(self.timeout_s, deadline - loop.time())
            try:
                return await asyncio.wait_for(self._send(operation, body), limit)
            except TimeoutError:
                # The configured timeout, as set; during INIT the bound actually applied.
                raise self._timed_out(state, limit if in_init else self.timeout_s) from None
        finally:
            _ATTEMPT.reset(token)
            self._slots.release()

    def _timed_out(self, state: AttemptState, limit: float) -> UpstreamError:
        """The timeout of one attempt, named by how far it got."""
        target = f"{self.endpoint.host}:{self.endpoint.port}" if state.stage in (CONNECTING, WAITING) else ""
        if state.stage == CONNECTING:
            via = f" through the proxy {self.proxy.shown}" if self.proxy else ""
            message = (f"could not connect to {self.spec.title} at {target}{via} within {_seconds(limit)}: no "
                       "answer (or no TLS handshake)")
            if self.last_connect_failure and self._last_failure_name not in CONNECT_TIMEOUTS:  # new news only
                message += f"; the last connection attempt failed: {self.last_connect_failure}"
            return UpstreamError(Kind.TIMEOUT, "GatewayTimeout", self._with_hint(message))
        if state.stage == SIGNING:
            return UpstreamError(Kind.TIMEOUT, "GatewayTimeout",
                                 f"getting AWS credentials to sign a call to {self.spec.title} took longer "
                                 f"than {_seconds(limit)}")
        if state.stage == WAITING:
            return UpstreamError(Kind.TIMEOUT, "GatewayTimeout", f"{self.spec.title} at {target} accepted the "
                                 f"connection but did not answer within {_seconds(limit)}")
        return timeout_error(self.spec.title, limit)

    def _with_hint(self, message: str) -> str:
        return f"{message}; {self.network_hint}" if self.network_hint else message

    async def relay(self, operation: str, body: bytes) -> Exchange:
        """One signed exchange, AWS's raw answer returned unparsed and never retried (the SDK
        forwarder: the SDK that sent the request retries as it would against AWS).

        One deadline, `timeout_s`, covers the wait for a connection slot and the exchange, as in
        `call`: with AWS stalled, requests queued for the slots get their 504 at their own deadline
        instead of one timeout after another. A request that gets a slot with less than half of its
        time left is not sent at all: a write that reached AWS too late to be answered in time would
        be done, yet reported to the SDK as failed (and retried).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                await self._slots.acquire()
        except TimeoutError:
            raise self._no_slot(operation) from None
        try:
            left = deadline - loop.time()
            if left < self.timeout_s / 2:
                raise self._no_slot(operation)
            try:
                return await asyncio.wait_for(self._exchange(operation, body), left)
            except TimeoutError:
                raise timeout_error(self.spec.title, self.timeout_s) from None
        finally:
            self._slots.release()

    def _no_slot(self, operation: str) -> UpstreamError:
        return UpstreamError(Kind.TIMEOUT, "GatewayTimeout",
                             f"{operation} was not sent: no connection to {self.spec.title} became free in time "
                             f"(MAX_CONNECTIONS={self._max_connections} are all busy; deadline {self.timeout_s:g}s)")

    def encode(self, operation: str, payload: dict[str, Any]) -> bytes:
        """The request body (AWS JSON 1.1 here; STS's query protocol in aws/sts.py)."""
        return json.dumps(payload, separators=(",", ":")).encode()

    def headers(self, operation: str, body: bytes) -> list[tuple[str, str]]:
        """The protocol's own headers, beside Host, Content-Length and User-Agent."""
        return [("Content-Type", CONTENT_TYPE), ("X-Amz-Target", f"{self.spec.target_prefix}.{operation}")]

    def decode(self, operation: str, data: bytes) -> dict[str, Any]:
        """A successful answer's body as a dict."""
        try:
            return json.loads(data) if data else {}
        except ValueError:
            raise UpstreamError(Kind.UNAVAILABLE, "BadGateway",
                                f"{self.spec.title} answered with a body that is not JSON") from None

    async def _send(self, operation: str, body: bytes) -> dict[str, Any]:
        exchange = await self._exchange(operation, body)
        data = b"".join(exchange.body)
        if 200 <= exchange.status < 300:
            return self.decode(operation, data)
        raise from_response(exchange.status, exchange.header("x-amzn-errortype"), data)

    async def _exchange(self, operation: str, body: bytes) -> Exchange:
        """Sign, send on a pooled connection (a fresh one if the pooled one was closed), collect the
        answer; the connection goes back to the pool only after a complete exchange."""
        state = _ATTEMPT.get()
        if state is not None:
            state.stage = SIGNING
        request = await self._signed_request(operation, body)
        if state is not None:
            state.stage = CONNECTING
        connection = await self._checkout()
        if state is not None:
            state.stage = WAITING
        exchange = Exchange()
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
        return exchange

    async def _signed_request(self, operation: str, body: bytes) -> HttpRequest:
        headers = HttpHeaders([
            ("Host", self.endpoint.host_header),
            *self.headers(operation, body),
            ("Content-Length", str(len(body))),
            ("User-Agent", USER_AGENT),
        ])
        request = HttpRequest("POST", self.endpoint.path, headers, io.BytesIO(body))
        config = AwsSigningConfig(credentials_provider=self.credentials or self.runtime.credentials, region=self.region,
                                  service=self.spec.signing_name)
        try:
            await crt_result(aws_sign_request(request, config))
        except AwsCrtError as error:
            raise UpstreamError(Kind.DENIED, "CredentialsUnavailable",
                                f"no usable AWS credentials to sign with ({error.name}); `paramsecrets config "
                                "check` shows where the credentials chain looked") from None
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
            try:
                context = self.runtime.tls
            except RuntimeError as error:  # no trust store anywhere, an unreadable AWS_CA_BUNDLE, ...
                self.last_connect_failure = f"the AWS client could not be built: RuntimeError: {error}"
                raise UpstreamError(Kind.UNAVAILABLE, "AwsClientUnavailable", self.last_connect_failure) from None
            tls_options = context.new_connection_options()
            tls_options.set_server_name(self.endpoint.host)
        socket_options = self.runtime.socket_options
        state = _ATTEMPT.get()
        if state is not None and state.connect_s is not None:  # a short first connect, during INIT
            socket_options = SocketOptions()
            socket_options.connect_timeout_ms = max(1, int(state.connect_s * 1000))
        try:
            future = HttpClientConnection.new(
                host_name=self.endpoint.host, port=self.endpoint.port, bootstrap=self.runtime.bootstrap,
                socket_options=socket_options, tls_connection_options=tls_options,
                proxy_options=proxy_options(self.proxy, self.endpoint.tls),
            )
            connection = await crt_result(future)
        except AwsCrtError as error:
            self.last_connect_failure = connect_failure(error.name, self.endpoint, self.proxy,
                                                        self.runtime.ca_bundle)
            self._last_failure_name = error.name
            detail = self.last_connect_failure
            if error.name in NETWORK_PATH_FAILURES:
                detail = self._with_hint(detail)
            raise network_error(detail) from None
        self.last_connect_failure = None
        return connection

    async def warm(self) -> str | None:
        """Open one connection (DNS, TCP, TLS; through the proxy if any) and keep it idle in the pool,
        so the first miss costs one round trip. Returns why it failed, or None. Not bounded by the
        request timeout: it runs in the background, and waiting out a TLS failure is how its reason
        (kept in `last_connect_failure`) is learnt."""
        try:
            connection = await self._connect()
        except UpstreamError:
            return self.last_connect_failure
        self._checkin(connection)
        return None

    def _checkin(self, connection: HttpClientConnection) -> None:
        if self._closed:  # released while this exchange ran (a region the SDK forwarder let go)
            connection.close()
        elif connection.is_open():
            self._idle.append(connection)

    def close(self) -> None:
        """Close idle connections, and those in use as their exchanges end (shutdown, release)."""
        self._closed = True
        while self._idle:
            self._idle.pop().close()


def proxy_options(proxy: Proxy | None, tls: bool) -> HttpProxyOptions | None:
    """awscrt's options for `proxy`: a CONNECT tunnel for HTTPS endpoints (the proxy never sees the
    signed request), plain forwarding for http:// endpoints."""
    if proxy is None:
        return None
    basic = proxy.username is not None
    return HttpProxyOptions(
        proxy.host, proxy.port,
        auth_type=HttpProxyAuthenticationType.Basic if basic else HttpProxyAuthenticationType.Nothing,
        auth_username=proxy.username if basic else None, auth_password=(proxy.password or "") if basic else None,
        connection_type=HttpProxyConnectionType.Tunneling if tls else HttpProxyConnectionType.Forwarding,
    )


# awscrt error names that mean the peer's certificate was refused, and what each says.
CERTIFICATE_FAILURES = {
    "AWS_IO_TLS_ERROR_NEGOTIATION_FAILURE": "the TLS handshake failed",
    "AWS_IO_TLS_INVALID_CERTIFICATE_CHAIN": "the certificate chain is invalid",
    "AWS_IO_TLS_ERROR_DEFAULT_TRUST_STORE_NOT_FOUND": "no trust store was found to check the certificate with",
}
PROXY_FAILURES = ("AWS_ERROR_HTTP_PROXY_CONNECT_FAILED", "AWS_ERROR_HTTP_PROXY_STRATEGY_TOKEN_RETRY_REQUIRED",
                  "AWS_ERROR_HTTP_PROXY_STRATEGY_NTLM_CHALLENGE_TOKEN_MISSING")
DNS_FAILURES = ("AWS_IO_DNS_QUERY_FAILED", "AWS_IO_DNS_INVALID_NAME", "AWS_IO_DNS_NO_ADDRESS_FOR_HOST",
                "AWS_IO_DNS_HOST_REMOVED_FROM_CACHE")
UNREACHABLE_FAILURES = ("AWS_IO_SOCKET_NO_ROUTE_TO_HOST", "AWS_IO_SOCKET_NETWORK_DOWN")
CONNECT_TIMEOUTS = ("AWS_IO_SOCKET_TIMEOUT",)
NETWORK_PATH_FAILURES = frozenset((*DNS_FAILURES, *UNREACHABLE_FAILURES, *CONNECT_TIMEOUTS))
"""Failures that say the network has no way to AWS (in Lambda: a VPC with no endpoint or NAT)."""


def lambda_network_hint(spec: ServiceSpec, region: str) -> str:
    """What a Lambda function that cannot reach `spec` most likely lacks."""
    return (f"in Lambda, a function in a VPC needs an interface VPC endpoint "
            f"(com.amazonaws.{region}.{spec.signing_name}) or a NAT gateway to reach {spec.title}")


def connect_failure(name: str, endpoint: Endpoint, proxy: Proxy | None, ca_bundle: str | None) -> str:
    """Why a connection to `endpoint` failed, in words a user can act on (never a credential)."""
    target = f"{endpoint.host}:{endpoint.port}"
    via = f" through the proxy {proxy.shown}" if proxy else ""
    if name in CERTIFICATE_FAILURES:
        trust = (f"the CA bundle {ca_bundle}" if ca_bundle
                 else "the system trust store (set AWS_CA_BUNDLE for a private CA)")
        return (f"TLS to {target}{via} failed: {CERTIFICATE_FAILURES[name]}: the server's certificate is not "
                f"trusted by {trust}, has expired, or does not name {endpoint.host} ({name})")
    if name == "AWS_IO_TLS_NEGOTIATION_TIMEOUT":
        return f"the TLS handshake with {target}{via} did not finish in time ({name})"
    if name in PROXY_FAILURES:
        return f"the proxy {proxy.shown if proxy else ''} refused or failed to CONNECT to {target} ({name})"
    if name in DNS_FAILURES:
        return f"DNS could not resolve {endpoint.host}{via} ({name})"
    if name == "AWS_IO_SOCKET_CONNECTION_REFUSED":
        return f"{target}{via} refused the connection: nothing listens there ({name})"
    if name in UNREACHABLE_FAILURES:
        return f"{target}{via} is unreachable: the network has no route to it ({name})"
    if name in CONNECT_TIMEOUTS:
        return f"the connection to {target}{via} timed out: nothing answered ({name})"
    return f"{name} connecting to {target}{via}"
