"""`POST /` with X-Amz-Target: the AWS SDKs' own requests, verified, then cached or forwarded.

Also on Cloud Extensions' paths, `POST /parameterstore` (Parameter Store only) and
`POST /secretsmanager` (Secrets Manager only), whose refusals follow Cloud Extensions' documented
shapes: an unsigned or badly signed request is `400 AccessDeniedException` with a
`cloudextensions-error-reason` header, and an operation of the other service is a
`ValidationException`.

Order, as AWS checks: the operation must exist (X-Amz-Target), the signature must be one we
accept (sdk/auth.py: the client key, or the AWS credentials we hold), then the body is read.
Reads in our region that the cache answers exactly go to `cached`; everything else (writes,
listings, reads in other regions) to `forward`. A request signed with the client key may only
read: the key has no AWS power, so nothing it signs is forwarded as a write.

awscrt (sigv4, forward) is imported at the first SDK request, once the AWS clients exist: the
server answers before awscrt is loaded (app.py), and this module must not load it earlier.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from paramsecrets import log
from paramsecrets.api import profiles
from paramsecrets.api.sdk import auth, foreign, wire
from paramsecrets.api.sdk.auth import CredentialSource, HeldCredentials, Verifier
from paramsecrets.api.sdk.cached import CachedReads
from paramsecrets.api.sdk.wire import SdkError
from paramsecrets.api.tokens import Token
from paramsecrets.aws.settings import AwsSettings
from paramsecrets.cache.front import CacheFront
from paramsecrets.http.parser import FORWARDING_NAMES, Request

if TYPE_CHECKING:
    from paramsecrets.api.sdk.forward import Forwarder

# Cloud Extensions' paths and the one service each serves.
CLOUD_EXTENSIONS_PATHS = {b"/parameterstore": "ssm", b"/secretsmanager": "secretsmanager",
                          b"/parameterstore/": "ssm", b"/secretsmanager/": "secretsmanager"}
NO_OPERATION = "No operation matches the request"


NETWORK_TOKEN_MESSAGE = ("paramsecrets listens beyond loopback: every request, the SDK protocol's included, must "
                         "carry the X-Aws-Parameters-Secrets-Token header or be signed with the client key "
                         "(docs/sidecar.md)")
"""Beyond loopback a signature made with AWS credentials is not enough: whoever can reach the port
over the network may hold credentials the sidecar also accepts. The token (constant-time) or a
signature made with the client key, which is handed out for exactly this, is required."""


class SdkProtocol:
    """Answers the SDK protocol from the GET routes' own read decision (`front`: one cache, reader
    and metrics); `log_refusal` is the GET routes' rate-limited refusal log."""

    def __init__(self, front: CacheFront, log_refusal: Callable[..., None], aws: AwsSettings,
                 upstream_ready: asyncio.Future[Any],
                 max_connections: int, credentials: CredentialSource | None = None,
                 verifier: Verifier | None = None, forward_timeout_s: float | None = None,
                 required_token: Token | None = None) -> None:
        self.aws = aws
        self.required_token = required_token  # beyond loopback: the extension's token on this route too
        self.forward_timeout_s = forward_timeout_s
        self.cache = front.cache
        self.flights = front.reader.flights
        self.errors = front.reader.errors
        self.metrics = front.metrics
        self.log_refusal = log_refusal
        self.upstream_ready = upstream_ready
        self.max_connections = max_connections
        self.cached = CachedReads(front)
        self.forwarder: Forwarder | None = None  # made at the first forwarded request
        self.credentials = credentials or HeldCredentials(upstream_ready)
        self.verifier = verifier or Verifier(None, True, self.credentials)

    def respond(self, request: Request) -> bytes | Coroutine[Any, Any, bytes]:
        answer = self._hit_now(request)
        return answer if answer is not None else self._respond(request)

    def _hit_now(self, request: Request) -> bytes | None:
        """A cached GetParameter answered inline, as a GET hit is (no task, one event-loop turn),
        when everything it needs is at hand: our credentials already held, a signature the fast
        path proves ours, an entry that answers now. Anything else, refusals included, goes the
        awaited way, which words every error."""
        held = self.credentials
        if (request.forwarded or self.required_token is not None or not self.verifier.accept_aws
                or not isinstance(held, HeldCredentials)):
            return None  # beyond loopback, a client key alone, or credentials given by a test: awaited
        credentials = held.current()
        if credentials is None:
            return None
        try:
            _, service, operation = wire.target(request)
        except SdkError:
            return None
        if operation != "GetParameter" or service != "ssm":
            return None
        from paramsecrets.api.sdk import sigv4  # loaded already: the credentials above came with it

        if sigv4.verified_now(request, service, credentials) != self.aws.region:
            return None
        try:
            doc = wire.document(request.body)
        except SdkError:
            return None
        answer = self.cached.parameter_now(doc)
        if answer is None:
            return None
        body, state, age = answer
        return wire.answer(body, request.keep_alive, state, age)

    def foreign(self, request: Request) -> bytes | None:
        """The answer to another AWS service's REST call (S3, Lambda, ...) that a global
        AWS_ENDPOINT_URL sent here, in that service's protocol; None when it is no such call."""
        if self.required_token is not None and not self.required_token.matches(request.token):
            return None
        service_wanted = foreign.foreign_service(request)
        if service_wanted is None:
            return None
        self.metrics.errors += 1
        log.info("refused a %s request: only SSM and Secrets Manager are answered here (is AWS_ENDPOINT_URL set "
                 "to paramsecrets?)", service_wanted)
        return foreign.answer(request, service_wanted)

    async def _respond(self, request: Request) -> bytes:
        only = CLOUD_EXTENSIONS_PATHS.get(request.target)  # the one service a Cloud Extensions path serves
        try:
            token_missing = self.required_token is not None and not self.required_token.matches(request.token)
            # a global AWS_ENDPOINT_URL sent another service here
            other_service = None if token_missing else self.foreign(request)
            if other_service is not None:
                return other_service
            if request.forwarded:
                raise SdkError("AccessDeniedException", f"requests carrying {FORWARDING_NAMES} are refused: "
                               "paramsecrets is not a proxy for remote callers")
            try:
                _, service, operation = wire.target(request)
            except SdkError as error:
                if only is None:
                    raise
                raise SdkError("ValidationException", f"{NO_OPERATION}: {error.message}") from None
            if only is not None and service != only:
                raise SdkError("ValidationException", f"{NO_OPERATION}: {request.target.decode()} serves {only} only")
            region, by_client_key = await self._verify(request, service, only is not None)
            if token_missing and not by_client_key:
                raise SdkError("AccessDeniedException", NETWORK_TOKEN_MESSAGE, 401)
            read = self.cached.operation(service, operation)
            if by_client_key and read is None:
                reads = ", ".join(self.cached.names())
                raise SdkError("AccessDeniedException", f"the client key may only read ({reads}); {operation} "
                               "needs AWS credentials")
            doc = wire.document(request.body)
            if region == self.aws.region and read is not None:
                answer = await read(doc)
                if answer is not None:
                    body, state, age = answer
                    return wire.answer(body, request.keep_alive, state, age)
            if self.forwarder is None:
                from paramsecrets.api.sdk.forward import Forwarder

                self.forwarder = Forwarder(self.aws, self.cache, self.upstream_ready, self.max_connections,
                                           self.flights, timeout_s=self.forward_timeout_s,
                                           errors=self.errors)
            return await self.forwarder.forward(service, region, operation, request.body, doc, request.keep_alive)
        except SdkError as error:
            self.metrics.errors += 1
            self.metrics.count_error(error.code)
            if error.status < 500:  # at info, as the GET routes' refusals, and as rate-limited
                self.log_refusal("SDK request refused: %s, %s (answered %d)", error.code,
                                 log.scrub(error.detail)[:300], error.status)
            else:
                log.warn("SDK request failed: %s, %s (answered %d)", error.code, log.scrub(error.detail)[:300],
                         error.status)
            return profiles.sdk_error(error, request.keep_alive, only is not None)

    async def _verify(self, request: Request, service: str, cloud_extensions: bool) -> tuple[str, bool]:
        """(region, signed with the client key); a refusal names its reason, and on Cloud
        Extensions' paths is its `400 AccessDeniedException`."""
        try:
            return await self.verifier.verify(request, service)
        except SdkError as error:
            if error.status >= 500:
                raise
            error.reason = auth.reason_of(error)
            if cloud_extensions:
                raise SdkError("AccessDeniedException", error.message, 400, error.reason) from None
            raise

    def close(self) -> None:
        if self.forwarder is not None:
            self.forwarder.close()
