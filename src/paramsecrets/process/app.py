"""Assembles the server (`assemble`, the one assembly) and runs it (`App`: start, wait, stop) until
SIGTERM, SIGINT or Lambda's SHUTDOWN.

Called by `boot` once the socket is bound (and, under Lambda, registered): the HTTP server
starts answering first, the AWS clients (awscrt) are built right after, and requests that
need AWS meanwhile wait for them rather than fail.
"""

from __future__ import annotations

import asyncio
import gc
import random
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from paramsecrets import __version__, log
from paramsecrets.api.clientkey import ClientKey
from paramsecrets.api.routes import Router
from paramsecrets.api.service import Service
from paramsecrets.api.tokens import Token
from paramsecrets.aws.errors import Kind, UpstreamError
from paramsecrets.aws.settings import AwsSettings
from paramsecrets.aws.upstream import Upstream
from paramsecrets.cache.policy import TTL_JITTER
from paramsecrets.cache.reader import Reader
from paramsecrets.cache.store import Cache
from paramsecrets.clock import WALL_CLOCK, Clock
from paramsecrets.config import Settings
from paramsecrets.http.server import HttpServer
from paramsecrets.metrics import Metrics
from paramsecrets.process.lambda_ext import Lifecycle

if TYPE_CHECKING:
    from paramsecrets.api.dispatch import Dispatcher
    from paramsecrets.api.sdk.protocol import SdkProtocol
    from paramsecrets.aws.clients import Upstream as AwsUpstream

SHUTDOWN_GRACE_S = 1.0  # Lambda allows 2 s for every extension together
EXEC_FREEZE_DELAY_S = 1.0
"""With an exec wrapper waiting, the start-up collection (~4 ms of CPU) runs this long after its values
are read: the wrapper's answers and the runtime's own start come first."""


def run(settings: Settings, token: Token, aws: AwsSettings, sockets: list[Any],
        lifecycle: Lifecycle | None = None, client_key: ClientKey | None = None) -> int:
    """Serve until told to stop; 0 on a clean stop."""
    return asyncio.run(serve(settings, token, aws, sockets, lifecycle, client_key))


def log_settings(settings: Settings, token: Token, aws: AwsSettings) -> None:
    if not log.enabled("debug"):
        return
    for env, _key, value, source in settings.effective():
        log.debug("%s is %s (%s)", env, value, source)
    log.debug("token from %s; region %s; SSM at %s; Secrets Manager at %s",
              token.source, aws.region, aws.ssm.url, aws.secrets.url)


def build_upstream(aws: AwsSettings, settings: Settings, metrics: Metrics,
                   ready: asyncio.Future[Upstream], lifecycle: Lifecycle | None = None) -> AwsUpstream | None:
    """Build the AWS clients (awscrt: ~70 ms, after we already answer) and resolve `ready`.

    A failure here (awscrt missing or broken, no CA trust store, ...) never stops the server:
    requests that need AWS get a 502 AwsClientUnavailable naming the cause, /ping and /metrics
    keep answering, and the log says what is missing. Under Lambda (`lifecycle`), calls made during
    INIT end before INIT does (init_window.py) and failures to reach AWS name the likely fix.
    """
    try:
        from paramsecrets.aws.clients import Upstream as AwsClients

        window = None
        if lifecycle is not None:
            import os

            from paramsecrets.init_window import for_lambda

            window = for_lambda(os.environ, lifecycle.started, lambda: lifecycle.init_over)
        upstream = AwsClients(aws, settings, metrics.record_upstream, init_window=window,
                              in_lambda=lifecycle is not None)
    except Exception as error:  # anything: the server must outlive it
        reason = f"{type(error).__name__}: {error}"
        log.error("the AWS client could not be built (%s); requests that need AWS will fail with "
                  "AwsClientUnavailable until the server is restarted", reason)
        ready.set_exception(UpstreamError(Kind.UNAVAILABLE, "AwsClientUnavailable",
                                          f"the AWS client could not be built: {reason}"))
        ready.exception()  # retrieved: asyncio must not log it again as never retrieved
        return None
    ready.set_result(upstream)
    log.info("ready to serve traffic")
    return upstream


def emf_reporting(settings: Settings, metrics: Metrics, lifecycle: Lifecycle | None,
                  loop: asyncio.AbstractEventLoop) -> tuple[Any, asyncio.Future[Any]] | None:
    """EMF documents at each INVOKE (Lambda) or every EMF_INTERVAL seconds; (reporter, its task)."""
    if not settings.emf_metrics:
        return None
    from paramsecrets.process.emf import EmfReporter

    reporter = EmfReporter(metrics, settings.emf_namespace)
    if lifecycle is not None:
        def at_invoke() -> None:
            loop.call_soon_threadsafe(reporter.flush)

        lifecycle.on_invoke(at_invoke)
        return reporter, loop.create_future()  # nothing periodic in Lambda: cancelled at the stop

    async def every_interval() -> None:
        while True:
            await asyncio.sleep(settings.emf_interval)
            reporter.flush()

    return reporter, asyncio.ensure_future(every_interval())


@dataclass
class Parts:
    """The answer path, assembled: what the HTTP server is handed (`answering`) and what is behind it."""

    cache: Cache
    reader: Reader
    service: Service
    sdk: SdkProtocol | None
    answering: Service | Dispatcher


def assemble(settings: Settings, token: Token, upstream_ready: asyncio.Future[Upstream], metrics: Metrics, *,
             aws: AwsSettings | None = None, client_key: ClientKey | None = None, clock: Clock = WALL_CLOCK,
             jitter: float = TTL_JITTER, draw: Callable[[], float] = random.random) -> Parts:
    """The one assembly of the answer path (cache -> reader -> service, the SDK protocol and its
    dispatcher), for `serve`, `dev`, the Lambda boot (all through App) and paramsecrets.testing.stack.

    Without `aws` (in-process tests) there is no SigV4 verifier and no SDK protocol. `clock` and
    `jitter` and `draw` (the TTL and back-off jitter) are the tests' seams; production takes the wall clock.
    """
    cache = Cache(settings.cache_size if settings.cache_active else 0, settings.cache_max_bytes,
                  settings.max_staleness if settings.stale_on_error else 0, settings.refresh_ahead,
                  clock=clock, jitter=jitter, draw=draw)
    reader = Reader(settings, cache, upstream_ready, metrics)
    service = Service(settings, Router(token), cache, reader, metrics)
    if aws is None:
        return Parts(cache, reader, service, None, service)
    from paramsecrets.api.sdk.auth import HeldCredentials, Verifier  # awscrt only when a signature is checked

    held = HeldCredentials(upstream_ready)
    service.verifier = Verifier(client_key, settings.accept_aws_credentials, held)
    if not settings.sdk_protocol:
        return Parts(cache, reader, service, None, service)
    from paramsecrets.api.dispatch import Dispatcher
    from paramsecrets.api.sdk.protocol import SdkProtocol  # loads awscrt only at its first request
    from paramsecrets.process.listen import is_loopback

    sdk = SdkProtocol(service.front, service.log_refusal, aws, upstream_ready, settings.max_connections, held,
                      service.verifier, forward_timeout_s=settings.sdk_forward_timeout_millis / 1000,
                      required_token=None if is_loopback(settings.listen_address) else token)
    return Parts(cache, reader, service, sdk, Dispatcher(service, sdk))


def freeze_start_up_objects() -> None:
    """Start-up objects never need scanning again: steadier tail latency."""
    gc.collect()
    gc.freeze()


class App:
    """The server process: `start` answers on the bound sockets, `wait` until SIGTERM, SIGINT or
    Lambda's SHUTDOWN (or `request_stop`), `stop` drains and closes. (uvicorn's Server, in small.)"""

    def __init__(self, settings: Settings, token: Token, aws: AwsSettings, sockets: list[Any],
                 lifecycle: Lifecycle | None = None, client_key: ClientKey | None = None) -> None:
        self.settings, self.token, self.aws, self.sockets = settings, token, aws, sockets
        self.lifecycle, self.client_key = lifecycle, client_key
        self.metrics = Metrics()
        self.why = "signal"
        self._stop: asyncio.Event | None = None
        self.parts: Parts | None = None
        self.server: HttpServer | None = None
        self.upstream: AwsUpstream | None = None
        self._emf: tuple[Any, asyncio.Future[Any]] | None = None
        self._background: list[asyncio.Future[Any]] = []

    def request_stop(self, why: str) -> None:
        self.why = why
        if self._stop is not None:
            self._stop.set()

    async def start(self) -> None:
        """Answer first, then build the AWS clients, warm, prefetch (requests that need AWS meanwhile wait)."""
        settings, lifecycle = self.settings, self.lifecycle
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop, signal.Signals(signum).name)
        if lifecycle is not None:
            def on_shutdown(why: str) -> None:
                loop.call_soon_threadsafe(self.request_stop, f"SHUTDOWN ({why})")

            lifecycle.on_shutdown(on_shutdown)

        upstream_ready: asyncio.Future[Upstream] = loop.create_future()
        self.parts = parts = assemble(settings, self.token, upstream_ready, self.metrics, aws=self.aws,
                                      client_key=self.client_key)
        self.server = HttpServer(parts.answering, settings.max_inbound_connections, log=log)
        await self.server.start([socket.socket(fileno=sock.detach()) for sock in self.sockets])
        ports = " and ".join(str(port) for port in (settings.http_port, *settings.extra_ports))
        log.info("paramsecrets %s serving on port %s", __version__, ports)
        if self.client_key is not None:
            log.info("signed requests accepted with the client key %s%s", self.client_key.access_key,
                     "" if settings.accept_aws_credentials else " only (not with AWS credentials)")
        self._emf = emf_reporting(settings, self.metrics, lifecycle, loop)
        log_settings(settings, self.token, self.aws)

        self.upstream = upstream = build_upstream(self.aws, settings, self.metrics, upstream_ready, lifecycle)
        if upstream is not None:  # no credentials at all: say so now, not at every read
            import os

            from paramsecrets.aws.credential_check import warn_if_missing

            self._background.append(asyncio.ensure_future(warn_if_missing(
                upstream.runtime.credentials, os.environ, lambda message: log.warn("%s", message),
                lambda: log.debug("AWS credentials found by the default chain"))))
        if upstream is not None and settings.warm_connections:  # connections opened now, not on the first miss
            from paramsecrets.process.warm import warm

            self._background.append(asyncio.ensure_future(warm(upstream)))
        exec_reads = None
        if lifecycle is not None and upstream is not None:  # what the exec wrapper will ask for (prefetch.py)
            import os

            from paramsecrets.process.prefetch import ExecReads

            exec_reads = ExecReads.from_environ(os.environ)
        waiting = exec_reads is not None and exec_reads.any()
        if settings.prefetch_parameters or settings.prefetch_secrets or waiting:
            from paramsecrets.process.prefetch import prefetch

            task = asyncio.ensure_future(prefetch(settings, parts.reader, self.metrics, exec_reads=exec_reads))
            self._background.append(task)
            if waiting:  # the runtime waits for these values: collect once it has them and has started
                task.add_done_callback(lambda _: loop.call_later(EXEC_FREEZE_DELAY_S, freeze_start_up_objects))
        if not waiting:
            freeze_start_up_objects()

    async def wait(self) -> None:
        """Until a stop is requested."""
        assert self._stop is not None, "start() first"
        await self._stop.wait()

    async def stop(self) -> int:
        """Stop answering (with a short grace for answers under way), flush, close; 0."""
        started = time.monotonic()
        log.info("stopping (%s)", self.why)
        for task in reversed(self._background):  # prefetch, warm, the credentials check
            task.cancel()
        if self.server is not None:
            await self.server.stop(SHUTDOWN_GRACE_S)
        if self._emf is not None:
            self._emf[1].cancel()
            self._emf[0].flush()  # the last deltas, at SHUTDOWN (or at the stop signal)
        if self.upstream is not None:
            self.upstream.close()
        if self.parts is not None and self.parts.sdk is not None:
            self.parts.sdk.close()
        log.info("stopped in %.0f ms", (time.monotonic() - started) * 1000)
        return 0


async def serve(settings: Settings, token: Token, aws: AwsSettings, sockets: list[Any],
                lifecycle: Lifecycle | None, client_key: ClientKey | None = None) -> int:
    app = App(settings, token, aws, sockets, lifecycle, client_key)
    await app.start()
    await app.wait()
    return await app.stop()
