"""Loads values from AWS into the cache, one upstream call per key however many ask at once.

Single reads, batch reads (GetParameters x10, BatchGetSecretValue x20) and path reads all
store each value under the key a single get would use, so later single gets are hits. Every
load is a flight: a request for a key that a batch or prefetch is already fetching waits for
that fetch instead of calling again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from paramsecrets import log, shapes
from paramsecrets.aws.errors import Kind, UpstreamError, classify
from paramsecrets.aws.ssm import parameter_identity
from paramsecrets.cache import Cache, Entry, Flights, State
from paramsecrets.config import Settings
from paramsecrets.http import responses
from paramsecrets.routes import (
    ParameterRead,
    ParametersRead,
    PathRead,
    SecretRead,
    SecretsRead,
    split_selector,
)

Outcome = Entry | UpstreamError
DEFINITIVE = (Kind.NOT_FOUND, Kind.DENIED)  # answers that end a cached value's life at once


def parameter_key(name: str, decrypt: bool) -> tuple[str, str, bool]:
    return ParameterRead(name, None, decrypt).key


def secret_key(secret_id: str) -> tuple[str, str, None, None]:
    return SecretRead(secret_id, None, None).key


def not_found(code: str, what: str) -> UpstreamError:
    return UpstreamError(Kind.NOT_FOUND, code, f"{what} not found", per_item=True)


class Reader:
    """Cache-aware loading. `upstream` resolves once the AWS clients exist (after start-up)."""

    def __init__(self, settings: Settings, cache: Cache, upstream: asyncio.Future[Any]) -> None:
        self.cache = cache
        self.flights = Flights()
        self.upstream_ready = upstream
        caching = settings.cache_active
        self.ssm_ttl = settings.ssm_ttl if caching else 0
        self.secrets_ttl = settings.secrets_ttl if caching else 0

    async def _upstream(self) -> Any:
        return await asyncio.shield(self.upstream_ready)

    # Single reads -------------------------------------------------------------------------

    async def _load(self, keys: tuple[Hashable, ...], load: Callable[[], Awaitable[Entry]]) -> Entry:
        """One flight for keys[0]; a definitive answer (not found, denied) also drops what we held."""
        try:
            return await self.flights.run(keys[0], load)
        except UpstreamError as error:
            if error.kind in DEFINITIVE:
                for key in keys:
                    self.cache.discard(key)
            raise

    async def parameter(self, read: ParameterRead) -> Entry:
        joined = await self._join_decrypting_read(read.key, read.alternate, read.decrypt, read.refresh)
        if joined is not None:
            return joined
        return await self._load((read.key, read.alternate), lambda: self._fetch_parameter(read))

    async def _join_decrypting_read(self, key: Hashable, alternate: Hashable, decrypt: bool,
                                    refresh: bool) -> Entry | None:
        """A plain read joins a running decrypting fetch (a prefetch) of the same name or path.

        Decryption changes nothing for String and StringList values, so that fetch's entry
        answers the plain read too; only SecureStrings need a fetch of their own.
        """
        if decrypt or refresh:
            return None
        running = self.flights.joining(alternate)
        if running is None:
            return None
        try:
            await asyncio.shield(running)
        except UpstreamError:
            return None
        found = self.cache.lookup(key, time.time(), alternate)
        return found[0] if found is not None else None

    async def _fetch_parameter(self, read: ParameterRead) -> Entry:
        upstream = await self._upstream()
        log.debug("fetching parameter %s", read.name)
        parameter = await upstream.ssm.get_parameter(read.name, read.decrypt)
        return self._store_parameter(read.key, parameter, read.selector)

    def _store_parameter(self, key: Hashable, parameter: dict[str, Any], selector: str | None) -> Entry:
        body = shapes.parameter_body(parameter, selector)
        return self._store(key, body, self.ssm_ttl, variant_free=parameter.get("Type") != "SecureString")

    async def secret(self, read: SecretRead) -> Entry:
        return await self._load((read.key,), lambda: self._fetch_secret(read))

    async def _fetch_secret(self, read: SecretRead) -> Entry:
        upstream = await self._upstream()
        log.debug("fetching secret %s", read.secret_id)
        secret = await upstream.secrets.get_secret_value(read.secret_id, read.version_id, read.version_stage)
        return self._store(read.key, shapes.secret_body(secret), self.secrets_ttl)

    def _store(self, key: Hashable, body: bytes, ttl: float, variant_free: bool = False) -> Entry:
        head = responses.head(200, responses.JSON, len(body))
        entry = self.cache.store(key, head, body, ttl, time.time(), variant_free)
        log.debug("cached %s (%d bytes, ttl %gs)", key, len(body), ttl)
        return entry

    # Path reads -----------------------------------------------------------------------------

    async def path(self, read: PathRead) -> Entry:
        joined = await self._join_decrypting_read(read.key, read.alternate, read.decrypt, read.refresh)
        if joined is not None:
            return joined
        return await self._load((read.key, read.alternate), lambda: self._fetch_path(read))

    async def _fetch_path(self, read: PathRead) -> Entry:
        upstream = await self._upstream()
        log.debug("fetching parameters under %s", read.path)
        found = await upstream.ssm.get_parameters_by_path(read.path, read.recursive, read.decrypt)
        found.sort(key=lambda parameter: parameter.get("Name") or "")
        for parameter in found:
            self._store_parameter(parameter_key(parameter["Name"], read.decrypt), parameter, None)
        body = shapes.parameters_body([shapes.parameter_item(parameter) for parameter in found])
        plain = not any(parameter.get("Type") == "SecureString" for parameter in found)
        return self._store(read.key, body, self.ssm_ttl, variant_free=plain)

    # Batch reads ------------------------------------------------------------------------------

    async def parameters(self, read: ParametersRead) -> dict[str, Outcome]:
        """An Entry or an UpstreamError for every requested name."""
        keys = {name: parameter_key(name, read.decrypt) for name in read.names}
        alternates = {name: parameter_key(name, not read.decrypt) for name in read.names}
        return await self._batch(keys, read.refresh, lambda names, futures: self._fetch_parameters(
            names, read.decrypt, futures), alternates)

    async def secrets(self, read: SecretsRead) -> dict[str, Outcome]:
        """An Entry or an UpstreamError for every requested secret id."""
        keys = {secret_id: secret_key(secret_id) for secret_id in read.secret_ids}
        return await self._batch(keys, read.refresh, self._fetch_secrets)

    async def _batch(self, keys: dict[str, Hashable], refresh: bool, fetch: Any,
                     alternates: dict[str, Hashable] | None = None) -> dict[str, Outcome]:
        """Answer from fresh entries, join running flights, fetch the rest in one batch task."""
        now = time.time()
        alternates = alternates or {}
        outcomes: dict[str, Outcome] = {}
        waits: dict[str, asyncio.Future[Any]] = {}
        missing: list[str] = []
        for name, key in keys.items():
            if not refresh:
                found = self.cache.lookup(key, now, alternates.get(name))
                if found is not None and found[1] is not State.EXPIRED:
                    outcomes[name] = found[0]
                    continue
            running = self.flights.joining(key)
            if running is not None:
                waits[name] = running
            else:
                missing.append(name)
        if missing:
            loop = asyncio.get_running_loop()
            futures = {name: loop.create_future() for name in missing}
            for name, future in futures.items():
                self.flights.claim(keys[name], future)
            task = asyncio.ensure_future(fetch(missing, futures))
            task.add_done_callback(lambda done: _fail_pending(done, futures))
            waits.update(futures)
        for name, future in waits.items():
            try:
                outcomes[name] = await asyncio.shield(future)
            except UpstreamError as error:
                outcomes[name] = error
                if error.kind in DEFINITIVE:
                    self.cache.discard(keys[name])
                    self.cache.discard(alternates.get(name))
        return {name: outcomes[name] for name in keys}

    async def _fetch_parameters(self, names: list[str], decrypt: bool,
                                futures: dict[str, asyncio.Future[Any]]) -> None:
        upstream = await self._upstream()
        log.debug("fetching %d parameters in batches", len(names))
        matched: dict[str, dict[str, Any]] = {}
        for batch, found in await upstream.ssm.get_parameters(names, decrypt):
            matched.update(match_parameters(batch, found))
        for name in names:
            parameter = matched.get(name)
            if parameter is None:
                futures[name].set_exception(not_found("ParameterNotFound", "parameter"))
            else:
                entry = self._store_parameter(parameter_key(name, decrypt), parameter, split_selector(name)[1])
                futures[name].set_result(entry)

    async def _fetch_secrets(self, secret_ids: list[str], futures: dict[str, asyncio.Future[Any]]) -> None:
        upstream = await self._upstream()
        log.debug("fetching %d secrets in batches", len(secret_ids))
        values, errors = await upstream.secrets.batch_get_secret_value(secret_ids)
        failed = {error.get("SecretId"): error for error in errors}
        matched = match_secrets(secret_ids, values)
        for secret_id in secret_ids:
            value = matched.get(secret_id)
            if value is not None:
                entry = self._store(secret_key(secret_id), shapes.secret_body(value), self.secrets_ttl)
                futures[secret_id].set_result(entry)
                continue
            error = failed.get(secret_id) or {}
            code = error.get("ErrorCode") or "ResourceNotFoundException"
            futures[secret_id].set_exception(UpstreamError(
                classify(400, code), code, error.get("Message") or "secret not found", per_item=True))


def _fail_pending(task: asyncio.Future[None], futures: dict[str, asyncio.Future[Any]]) -> None:
    """A batch call that failed as a whole fails every key it was fetching, with its error."""
    if task.cancelled():
        error: BaseException = UpstreamError(Kind.UNAVAILABLE, "ServiceUnavailable", "fetch cancelled")
    else:
        error = task.exception() or UpstreamError(Kind.UNAVAILABLE, "InternalFailure", "batch ended early")
        if not isinstance(error, UpstreamError):
            log.error("batch fetch failed: %s", type(error).__name__)
            error = UpstreamError(Kind.UNAVAILABLE, "InternalFailure", "internal error during a batch fetch")
    for future in futures.values():
        if not future.done():
            future.set_exception(error)


def match_parameters(names: list[str], found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Pair the names of one GetParameters call with its answers (one answer per parameter there)."""
    by_identity = {parameter_identity(str(p.get("Name") or "")): p for p in found}
    by_identity.update({parameter_identity(str(p["ARN"])): p for p in found if p.get("ARN")})
    matched = {}
    for name in names:
        parameter = by_identity.get(parameter_identity(name))
        if parameter is not None:
            matched[name] = parameter
    return matched


def match_secrets(secret_ids: list[str], values: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Pair requested ids (name, ARN, partial ARN without the 6-character suffix) with values."""
    matched: dict[str, dict[str, Any]] = {}
    for secret_id in secret_ids:
        for value in values:
            arn = value.get("ARN") or ""
            if secret_id in (value.get("Name"), arn) or (
                    arn.startswith(secret_id + "-") and len(arn) == len(secret_id) + 7):
                matched[secret_id] = value
                break
    return matched
