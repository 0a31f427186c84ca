"""Every operation we do not cache goes to the real endpoint, re-signed with our credentials.

AWS's answer comes back unchanged: status, body, content type, request id and error type. A
successful write then invalidates the cache entries it can change (paramsecrets.api.sdk.invalidation).
Nothing is retried here: the SDK that sent the request retries as it would against AWS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from paramsecrets import log
from paramsecrets.api import profiles
from paramsecrets.api.sdk import wire
from paramsecrets.api.sdk.invalidation import doomed_by
from paramsecrets.api.sdk.regions import RegionTable, is_aws_region_name
from paramsecrets.api.sdk.wire import SdkError
from paramsecrets.aws.endpoints import Endpoint, resolve
from paramsecrets.aws.errors import UpstreamError
from paramsecrets.aws.settings import SERVICES, AwsSettings
from paramsecrets.aws.transport import SECRETS_MANAGER, SSM, AwsJsonTransport, ServiceSpec
from paramsecrets.cache.error_cache import ErrorCache
from paramsecrets.cache.keys import Key
from paramsecrets.cache.store import Cache, Flights
from paramsecrets.http import responses

FORWARD_TIMEOUT_S = 30.0  # the default: writes such as RotateSecret take longer than a cached read's 3 s budget
PASSED_HEADERS = ("x-amzn-requestid", "x-amzn-errortype", "x-amzn-query-error")
SPECS = {"ssm": SSM, "secretsmanager": SECRETS_MANAGER}
ENV_SUFFIX = dict(SERVICES)


class Forwarder:
    """One transport per (service, region), used through `relay` (raw answers, no retries), sharing
    the reader's awscrt runtime."""

    def __init__(self, aws: AwsSettings, cache: Cache, upstream_ready: asyncio.Future[Any],
                 max_connections: int, flights: Flights | None = None, *,
                 timeout_s: float | None = None, errors: ErrorCache | None = None) -> None:
        self.aws = aws
        self.timeout_s = timeout_s or FORWARD_TIMEOUT_S  # per forwarded request, the wait for a connection included
        self.cache = cache
        self.errors = errors  # the reader's remembered errors: a write may create what was not found
        self.flights = flights or Flights()  # the reader's: fetches that may store a pre-write value
        self.upstream_ready = upstream_ready
        self.max_connections = max_connections
        self._transports: RegionTable[AwsJsonTransport] = RegionTable(aws.region if aws is not None else "")

    def endpoint(self, service: str, region: str) -> Endpoint:
        """Our own endpoint for our region; for another region AWS's regional endpoint, unless an
        override (a test server, a private endpoint) is in effect, which then serves every region."""
        home = self.aws.ssm if service == "ssm" else self.aws.secrets
        if region == self.aws.region or not self.aws.regional:
            return home
        return resolve(service, ENV_SUFFIX[service], region, {})

    async def _transport(self, service: str, region: str) -> AwsJsonTransport:
        if region != self._transports.home and not is_aws_region_name(region):
            raise SdkError("InvalidSignatureException", "Credential should be scoped to a valid region.")
        upstream = await asyncio.shield(self.upstream_ready)
        spec: ServiceSpec = SPECS[service]
        return self._transports.get(service, region, lambda: AwsJsonTransport(
            spec, self.endpoint(service, region), region, upstream.ssm.transport.runtime, self.max_connections,
            self.timeout_s))

    async def forward(self, service: str, region: str, operation: str, body: bytes, doc: dict[str, Any],
                      keep_alive: bool) -> bytes:
        transport = await self._transport(service, region)
        try:
            exchange = await transport.relay(operation, body)
        except UpstreamError as error:
            log.warn("forwarding %s failed: %s", operation, error.code)
            return profiles.sdk_error(profiles.sdk_from_upstream(error), keep_alive)
        if 200 <= exchange.status < 300:
            self.invalidate(service, operation, doc)
        data = b"".join(exchange.body)
        content_type = (exchange.header("content-type") or wire.AMZ_JSON.decode()).encode("latin-1")
        extra = b"".join(b"%s: %s\r\n" % (name.encode("latin-1"), value.encode("latin-1"))
                         for name, value in exchange.headers if name.lower() in PASSED_HEADERS)
        return responses.simple(exchange.status, content_type, data, keep_alive, extra + b"X-Paramsecrets-Cache: "
                                b"forwarded\r\n")

    def invalidate(self, service: str, operation: str, doc: dict[str, Any]) -> None:
        found = doomed_by(service, operation, doc)
        if found is None:
            return
        doomed: Callable[[Key], bool] = found
        dropped = self.cache.discard_where(doomed)
        if self.errors is not None:
            dropped += self.errors.discard_where(doomed)
        log.debug("%s succeeded: %d cache entries invalidated", operation, dropped)
        # A fetch already running may have read the value from before the write: what it stores is
        # dropped too when it ends (one more fetch at worst, never an old value for a TTL).
        for key, running in self.flights.items():
            if doomed(key):
                running.add_done_callback(lambda _: self.cache.discard_where(doomed))

    def close(self) -> None:
        for transport in self._transports.values():
            transport.close()
