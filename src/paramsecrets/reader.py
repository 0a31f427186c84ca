"""Loads values from AWS into the cache, one upstream call per key however many ask at once.

Single reads, batch reads (GetParameters x10, BatchGetSecretValue x20) and path reads all
store each value under the key a single get would use, so later single gets are hits. Every
load is a flight: a request for a key that a batch or prefetch is already fetching waits for
that fetch instead of calling again.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from paramsecrets import log, shapes
from paramsecrets.aws.errors import Kind, UpstreamError, classify
from paramsecrets.aws.ssm import parameter_identity
from paramsecrets.cache import Cache, Entry, Flights, State
from paramsecrets.config import Settings
from paramsecrets.http import responses
from paramsecrets.metrics import Metrics
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
REFRESH_GATHER_S = 0.02  # refresh-ahead hits gathered this long, then refreshed in batches
# An expired value whose last refresh failed is not fetched again before its retry time.
BACKING_OFF = UpstreamError(Kind.UNAVAILABLE, "ServiceUnavailable", "backing off after a failed refresh")


def covers(key: Hashable, name: str) -> bool:
    """Whether `key` is a path read whose answer includes the parameter `name`."""
    if not isinstance(key, tuple) or key[0] != "path":
        return False
    prefix = key[1] if key[1].endswith("/") else key[1] + "/"
    return name.startswith(prefix) and (key[2] or "/" not in name[len(prefix):])


def read_for_key(key: Any, refresh: bool = True) -> ParameterRead | SecretRead | PathRead:
    """The read that fetches what `key` holds."""
    if key[0] == "parameter":
        return ParameterRead(key[1], split_selector(key[1])[1], key[2], refresh)
    if key[0] == "secret":
        return SecretRead(key[1], key[2], key[3], refresh)
    return PathRead(key[1], key[2], key[3], refresh)


def parameter_key(name: str, decrypt: bool) -> tuple[str, str, bool]:
    return ParameterRead(name, None, decrypt).key


def secret_key(secret_id: str) -> tuple[str, str, None, None]:
    return SecretRead(secret_id, None, None).key


VALUE_KEYS = frozenset({"Value", "SecretString", "SecretBinary"})  # held once, in the extension's body


def aws_fields(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key not in VALUE_KEYS}


def aws_item(item: dict[str, Any]) -> bytes:
    """What AWS sent for one parameter or secret (epoch dates kept exactly), without its value.

    The SDK protocol rebuilds AWS's own item from this and the value in the extension's body
    (paramsecrets.sdk.items), so a value is never stored twice.
    """
    return json.dumps(aws_fields(item), separators=(",", ":")).encode()


def aws_items(items: list[dict[str, Any]]) -> bytes:
    """A path's parameters in AWS's order, as `aws_item` keeps each."""
    return json.dumps([aws_fields(item) for item in items], separators=(",", ":")).encode()


def not_found(code: str, what: str) -> UpstreamError:
    return UpstreamError(Kind.NOT_FOUND, code, f"{what} not found", per_item=True)


class Reader:
    """Cache-aware loading. `upstream` resolves once the AWS clients exist (after start-up)."""

    def __init__(self, settings: Settings, cache: Cache, upstream: asyncio.Future[Any],
                 metrics: Metrics | None = None) -> None:
        self.cache = cache
        self.metrics = metrics or Metrics()
        self.flights = Flights()
        self.upstream_ready = upstream
        caching = settings.cache_active
        self.ssm_ttl = settings.ssm_ttl if caching else 0
        self.secrets_ttl = settings.secrets_ttl if caching else 0
        self._loaders: dict[type, Callable[[Any], Awaitable[Entry]]] = {
            ParameterRead: self.parameter, SecretRead: self.secret, PathRead: self.path,
        }
        self._queued: dict[tuple[Any, ...], dict[str, None]] = {}  # refresh-ahead batches being gathered
        self._background: set[asyncio.Future[Any]] = set()

    async def _upstream(self) -> Any:
        return await asyncio.shield(self.upstream_ready)

    def load(self, read: ParameterRead | SecretRead | PathRead) -> Awaitable[Entry]:
        """Fetch one read through its flight (a single get or a path)."""
        return self._loaders[type(read)](read)

    def _note_failure(self, error: UpstreamError, *keys: Hashable) -> None:
        """Remember a failure on what we hold for these keys: definitive drops it, transient backs off."""
        now = time.time()
        for key in keys:
            if key is None:
                continue
            if error.kind in DEFINITIVE:
                self.cache.discard(key)
            elif error.transient:
                entry = self.cache.peek(key)
                if entry is not None:
                    entry.note_failure(now)
                    log.warn("fetch failed with %s; the cached value is kept (stale once expired), next "
                             "attempt in %.1f s", error.code, entry.retry_after - now)

    # Refresh ahead --------------------------------------------------------------------------

    def refresh_ahead(self, entry: Entry) -> None:
        """Refresh an entry in the last 20% of its TTL, in the background.

        Parameters and plain secrets are gathered for a few milliseconds and refreshed together
        (GetParameters x10, BatchGetSecretValue x20): a function reading its 20 parameters makes
        2 calls per TTL, not 20, which is what keeps a fleet under the account's quota.
        """
        entry.refreshing = True
        self.metrics.refresh_ahead += 1
        key: Any = entry.key
        if key[0] == "parameter":
            group: tuple[Any, ...] | None = ("parameter", key[2])
        elif key[0] == "secret" and key[2] is None and key[3] is None:
            group = ("secret",)
        else:
            group = None
        if group is None:
            self._spawn(self._refresh_one(read_for_key(key)))
            return
        queued = self._queued.setdefault(group, {})
        if not queued:
            asyncio.get_running_loop().call_later(REFRESH_GATHER_S, self._flush_refresh, group)
        queued[key[1]] = None

    def _flush_refresh(self, group: tuple[Any, ...]) -> None:
        names = tuple(self._queued.pop(group, {}))
        if not names:
            return
        if group[0] == "parameter":
            self._spawn(self.parameters(ParametersRead(names, decrypt=group[1], refresh=True)))
        else:
            self._spawn(self.secrets(SecretsRead(names, refresh=True)))

    async def _refresh_one(self, read: ParameterRead | SecretRead | PathRead) -> None:
        try:
            await self.load(read)
        except UpstreamError as error:  # noted (and logged) on the entry by _load
            log.debug("refresh ahead failed with %s", error.code)

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # Single reads -------------------------------------------------------------------------

    async def _load(self, keys: tuple[Hashable, ...], load: Callable[[], Awaitable[Entry]]) -> Entry:
        """One flight for keys[0]; its failure is noted once on what we hold (see `_note_failure`),
        by the flight itself: twenty requests waiting on one failed fetch are one failure."""
        async def load_and_note() -> Entry:
            try:
                return await load()
            except UpstreamError as error:
                self._note_failure(error, *keys)
                raise

        return await self.flights.run(keys[0], load_and_note)

    async def parameter(self, read: ParameterRead) -> Entry:
        covering = read.name if read.selector is None and not read.name.startswith("arn:") else None
        joined = await self._answer_from_running(read.key, read.alternate, read.decrypt, read.refresh, covering)
        if joined is not None:
            return joined
        return await self._load((read.key, read.alternate), lambda: self._fetch_parameter(read))

    async def _answer_from_running(self, key: Hashable, alternate: Hashable, decrypt: bool, refresh: bool,
                                   name: str | None = None) -> Entry | None:
        """Wait for running fetches that may answer this read too, instead of calling AWS again.

        A decrypting fetch (a prefetch) of the same name or path answers a plain read of a String
        or StringList (decryption changes nothing for them); a path fetch covering `name` stores
        it on its own. Afterwards the cache says whether they did: only then is a fetch needed.
        """
        if refresh:
            return None
        running = [future for held, future in self.flights.items()
                   if (held == alternate and not decrypt) or (name is not None and covers(held, name))]
        if not running:
            return None
        await asyncio.wait(running)
        found = self.cache.lookup(key, time.time(), alternate)
        return found[0] if found is not None and found[1] is not State.EXPIRED else None

    async def _fetch_parameter(self, read: ParameterRead) -> Entry:
        upstream = await self._upstream()
        log.debug("fetching parameter %s", read.name)
        parameter = await upstream.ssm.get_parameter(read.name, read.decrypt)
        return self._store_parameter(read.key, parameter, read.selector)

    def _store_parameter(self, key: Hashable, parameter: dict[str, Any], selector: str | None) -> Entry:
        body = shapes.parameter_body(parameter, selector)
        return self._store(key, body, self.ssm_ttl, variant_free=parameter.get("Type") != "SecureString",
                           wire=aws_item(parameter))

    async def secret(self, read: SecretRead) -> Entry:
        return await self._load((read.key,), lambda: self._fetch_secret(read))

    async def _fetch_secret(self, read: SecretRead) -> Entry:
        upstream = await self._upstream()
        log.debug("fetching secret %s", read.secret_id)
        secret = await upstream.secrets.get_secret_value(read.secret_id, read.version_id, read.version_stage)
        return self._store(read.key, shapes.secret_body(secret), self.secrets_ttl, wire=aws_item(secret))

    def _store(self, key: Hashable, body: bytes, ttl: float, variant_free: bool = False, *, wire: bytes) -> Entry:
        head = responses.status_head(200, len(body))
        entry = self.cache.store(key, head, body, ttl, time.time(), variant_free, wire)
        log.debug("cached %s (%d bytes, ttl %gs)", key, len(body), ttl)
        return entry

    # Path reads -----------------------------------------------------------------------------

    async def path(self, read: PathRead) -> Entry:
        joined = await self._answer_from_running(read.key, read.alternate, read.decrypt, read.refresh)
        if joined is not None:
            return joined
        return await self._load((read.key, read.alternate), lambda: self._fetch_path(read))

    async def _fetch_path(self, read: PathRead) -> Entry:
        upstream = await self._upstream()
        log.debug("fetching parameters under %s", read.path)
        found = await upstream.ssm.get_parameters_by_path(read.path, read.recursive, read.decrypt)
        wire = aws_items(found)  # in AWS's order, before the extension's sort by name
        found.sort(key=lambda parameter: parameter.get("Name") or "")
        for parameter in found:
            self._store_parameter(parameter_key(parameter["Name"], read.decrypt), parameter, None)
        body = shapes.parameters_body([shapes.parameter_item(parameter) for parameter in found])
        plain = not any(parameter.get("Type") == "SecureString" for parameter in found)
        return self._store(read.key, body, self.ssm_ttl, variant_free=plain, wire=wire)

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
        """Answer from fresh entries, wait for running fetches, fetch the rest in one batch task."""
        alternates = alternates or {}
        outcomes: dict[str, Outcome] = {}
        waits: dict[str, asyncio.Future[Any]] = {}
        joined: dict[str, asyncio.Future[Any]] = {}  # another running fetch may answer these (see below)
        missing: list[str] = []
        now = time.time()
        for name, key in keys.items():
            alternate = alternates.get(name)
            if not refresh:
                found = self.cache.lookup(key, now, alternate)
                if found is not None and found[1] is not State.EXPIRED:
                    if found[1] is State.REFRESH:
                        self.refresh_ahead(found[0])
                    outcomes[name] = found[0]
                    continue
                if found is not None and now < found[0].retry_after:
                    outcomes[name] = BACKING_OFF  # the caller answers with the stale value
                    continue
            running = self.flights.joining(key)
            alternate_running = self.flights.joining(alternate) if alternate is not None and not refresh else None
            if running is not None:
                waits[name] = running
            elif alternate_running is not None:
                joined[name] = alternate_running
            else:
                missing.append(name)
        if joined:  # a decrypting fetch (a prefetch) of a String answers the plain read too
            await asyncio.wait(set(joined.values()))
            now = time.time()
            for name in joined:
                found = self.cache.lookup(keys[name], now, alternates[name])
                if found is not None and found[1] is not State.EXPIRED:
                    outcomes[name] = found[0]
                else:
                    missing.append(name)
        if missing:
            loop = asyncio.get_running_loop()
            futures = {name: loop.create_future() for name in missing}
            for name, future in futures.items():
                self.flights.claim(keys[name], future)
                future.add_done_callback(functools.partial(self._note_outcome, keys[name], alternates.get(name)))
            task = asyncio.ensure_future(fetch(missing, futures))
            task.add_done_callback(lambda done: _fail_pending(done, futures))
            waits.update(futures)
        for name, future in waits.items():
            try:
                outcomes[name] = await asyncio.shield(future)
            except UpstreamError as error:
                outcomes[name] = error  # noted once, by the fetch (see `_note_outcome`)
        return {name: outcomes[name] for name in keys}

    def _note_outcome(self, key: Hashable, alternate: Hashable, fetched: asyncio.Future[Any]) -> None:
        """A batch fetch of one key ended: note its failure once, whoever was waiting for it."""
        if not fetched.cancelled() and isinstance(fetched.exception(), UpstreamError):
            self._note_failure(fetched.exception(), key, alternate)  # type: ignore[arg-type]

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
                entry = self._store(secret_key(secret_id), shapes.secret_body(value), self.secrets_ttl,
                                    wire=aws_item(value))
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
