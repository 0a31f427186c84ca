"""`POST /` with X-Amz-Target: the AWS SDKs' own requests, verified, then cached or forwarded.

Order, as AWS checks: the operation must exist (X-Amz-Target), the signature must be ours
(sigv4), then the body is read. Reads in our region that the cache answers exactly go to
`cached`; everything else (writes, listings, reads in other regions) to `forward`.

awscrt (sigv4, forward) is imported at the first SDK request, once the AWS clients exist: the
server answers before awscrt is loaded (app.py), and this module must not load it earlier.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from paramsecrets import log
from paramsecrets.aws.settings import AwsSettings
from paramsecrets.http.parser import Request
from paramsecrets.sdk import wire
from paramsecrets.sdk.cached import CachedReads
from paramsecrets.sdk.wire import SdkError
from paramsecrets.service import Service

if TYPE_CHECKING:
    from paramsecrets.sdk.forward import Forwarder

CredentialSource = Callable[[], Awaitable[Any]]  # -> paramsecrets.sdk.sigv4.Credentials
CREDENTIALS_REUSE_S = 1.0  # a rotation is seen at most this much later than awscrt sees it


class SdkProtocol:
    """Answers the SDK protocol for one Service (its cache, reader and metrics)."""

    def __init__(self, service: Service, aws: AwsSettings, upstream_ready: asyncio.Future[Any],
                 max_connections: int, credentials: CredentialSource | None = None) -> None:
        self.aws = aws
        self.cache = service.cache
        self.flights = service.reader.flights
        self.errors = service.reader.errors
        self.metrics = service.metrics
        self.upstream_ready = upstream_ready
        self.max_connections = max_connections
        self.cached = CachedReads(service)
        self.forwarder: Forwarder | None = None  # made at the first forwarded request
        self.credentials = credentials or self._held_credentials
        self._credentials: Any = None
        self._credentials_until = 0.0

    def respond(self, request: Request) -> Coroutine[Any, Any, bytes]:
        return self._respond(request)

    async def _respond(self, request: Request) -> bytes:
        try:
            if request.forwarded:
                raise SdkError("AccessDeniedException", "requests carrying X-Forwarded-For, Forwarded or X-Real-IP "
                               "are refused: paramsecrets is not a proxy for remote callers")
            _, service, operation = wire.target(request)
            from paramsecrets.sdk import sigv4

            region = await sigv4.verify(request, service, await self.credentials())
            doc = wire.document(request.body)
            if region == self.aws.region:
                read = self.cached.operation(service, operation)
                if read is not None:
                    answer = await read(doc)
                    if answer is not None:
                        body, state, age = answer
                        return wire.answer(body, request.keep_alive, state, age)
            if self.forwarder is None:
                from paramsecrets.sdk.forward import Forwarder

                self.forwarder = Forwarder(self.aws, self.cache, self.upstream_ready, self.max_connections,
                                           self.flights, self.errors)
            return await self.forwarder.forward(service, region, operation, request.body, doc, request.keep_alive)
        except SdkError as error:
            self.metrics.errors += 1
            level = log.debug if error.status < 500 else log.warn
            level("SDK request refused: %s (%d)", error.code, error.status)
            return wire.error_answer(error, request.keep_alive)

    async def _held_credentials(self) -> Any:
        """The credentials our own calls are signed with (awscrt's default chain, as the reader uses).

        Reused for CREDENTIALS_REUSE_S: asking awscrt costs a hop to its thread and back per request,
        and the chain itself caches them for far longer.
        """
        now = time.monotonic()
        if self._credentials is not None and now < self._credentials_until:
            return self._credentials
        from awscrt.exceptions import AwsCrtError

        from paramsecrets.aws.transport import crt_result

        upstream = await asyncio.shield(self.upstream_ready)
        try:
            found = await crt_result(upstream.ssm.transport.runtime.credentials.get_credentials())
        except AwsCrtError as error:
            log.warn("no AWS credentials to verify an SDK request against (%s)", error.name)
            raise SdkError("InternalFailure", "paramsecrets holds no AWS credentials to verify requests with",
                           500) from None
        from paramsecrets.sdk.sigv4 import Credentials

        self._credentials = Credentials(found.access_key_id, found.secret_access_key, found.session_token)
        self._credentials_until = now + CREDENTIALS_REUSE_S
        return self._credentials

    def close(self) -> None:
        if self.forwarder is not None:
            self.forwarder.close()
