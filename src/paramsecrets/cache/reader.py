"""Loads values from AWS into the cache, one upstream call per key however many ask at once.

A load is flight -> fetch -> shape -> store, with no HTTP in it: a key (paramsecrets.cache.keys)
names what to fetch; the upstream (paramsecrets.aws.upstream) fetches it; shapes.py gives the body
the GET routes send; the cache keeps it with AWS's own fields beside it. Single reads, batch
reads (GetParameters x10, BatchGetSecretValue x20) and path reads all store each value under the
key a single get would use, so later single gets are hits. Every load is a flight: a request for
a key that a batch or prefetch is already fetching waits for that fetch instead of calling again.
Which batch names need a call, and refresh-ahead coalescing, are paramsecrets.cache.batching's.

A due secret is revalidated by version (paramsecrets.cache.revalidation) before it is fetched again; a
definitive error is remembered for the error TTL (paramsecrets.cache.error_cache); a key with a role is
read with that role's credentials (paramsecrets.cache.roles).
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any, assert_never

from paramsecrets import log
from paramsecrets.aws.errors import Kind, UpstreamError, classify
from paramsecrets.aws.ssm import parameter_identity
from paramsecrets.aws.upstream import Item, Upstream
from paramsecrets.cache import batching, policy, revalidation, shapes
from paramsecrets.cache.batching import BACKING_OFF, Outcome, RefreshCoalescer
from paramsecrets.cache.error_cache import ErrorCache
from paramsecrets.cache.keys import Key, ParameterKey, PathKey, RefreshGroup, SecretKey, split_selector
from paramsecrets.cache.roles import RoleSessions
from paramsecrets.cache.store import Cache, Entry, Flights
from paramsecrets.cache.superseded import drop_superseded
from paramsecrets.clock import Clock
from paramsecrets.config import Settings
from paramsecrets.metrics import Metrics

__all__ = ["BACKING_OFF", "Outcome", "Reader"]

DEFINITIVE = (Kind.NOT_FOUND, Kind.DENIED)  # answers that end a cached value's life at once
VALUE_KEYS = frozenset({"Value", "SecretString", "SecretBinary"})  # held once, in the extension's body


def aws_fields(item: Item) -> Item:
    return {key: value for key, value in item.items() if key not in VALUE_KEYS}


def aws_item(item: Item) -> bytes:
    """What AWS sent for one parameter or secret (epoch dates kept exactly), without its value.

    The SDK protocol rebuilds AWS's own item from this and the value in the extension's body
    (paramsecrets.api.sdk.items), so a value is never stored twice.
    """
    return json.dumps(aws_fields(item), separators=(",", ":")).encode()


def aws_items(items: list[Item]) -> bytes:
    """A path's parameters in AWS's order, as `aws_item` keeps each."""
    return json.dumps([aws_fields(item) for item in items], separators=(",", ":")).encode()


def not_found(code: str, what: str) -> UpstreamError:
    return UpstreamError(Kind.NOT_FOUND, code, f"{what} not found", per_item=True)


BatchFetch = Callable[[list[str], dict[str, asyncio.Future[Entry]]], Awaitable[None]]


class Reader:
    """Cache-aware loading. `upstream` resolves once the AWS clients exist (after start-up)."""

    def __init__(self, settings: Settings, cache: Cache, upstream: asyncio.Future[Upstream],
                 metrics: Metrics | None = None, clock: Clock | None = None) -> None:
        self.cache = cache
        self.clock = clock or cache.clock
        self.metrics = metrics or Metrics()
        self.flights = Flights()
        self.upstream_ready = upstream
        caching = settings.cache_active
        self.ssm_ttl = settings.ssm_ttl if caching else 0
        self.secrets_ttl = settings.secrets_ttl if caching else 0
        self.coalescer = RefreshCoalescer(self.clock, self._refresh_group)
        self._background: set[asyncio.Future[Any]] = set()
        self.revalidate = settings.revalidate_secrets and self.secrets_ttl > 0
        self.describe_denied: set[str | None] = set()  # roles (None: our own) refused DescribeSecret
        self.errors = ErrorCache()
        self.ssm_error_ttl = policy.error_ttl(settings.error_ttl, self.ssm_ttl)
        self.secrets_error_ttl = policy.error_ttl(settings.error_ttl, self.secrets_ttl)
        self.roles = RoleSessions(self._base_upstream, self.clock, settings.max_roles, self._count_assume)

    async def _base_upstream(self) -> Upstream:
        return await asyncio.shield(self.upstream_ready)

    async def _upstream(self, role: str | None = None) -> Upstream:
        """The clients for a read: the process's own, or a role's (STS credentials, reused)."""
        if role is None:
            return await asyncio.shield(self.upstream_ready)
        return await self.roles.upstream(role)

    def _count_assume(self) -> None:
        self.metrics.assume_role += 1

    def load(self, key: Key, refresh: bool = False, revalidate: bool | None = None,
             recall: bool = True) -> Awaitable[Entry]:
        """Fetch one key through its flight (a single get or a path).

        `refresh` skips a remembered error and the waits on other fetches (refreshNow, refresh
        ahead); `revalidate` (default: not `refresh`) lets a held secret be revalidated by version
        instead of fetched: refreshNow always fetches the value. `recall=False`: the caller has
        just asked for a remembered error itself (the cache front), so it is not asked twice.
        """
        if isinstance(key, ParameterKey):
            return self.parameter(key, refresh, recall)
        if isinstance(key, SecretKey):
            return self.secret(key, refresh, not refresh if revalidate is None else revalidate, recall)
        if isinstance(key, PathKey):
            return self.path(key, refresh, recall)
        assert_never(key)  # a new key type names its loader here: mypy says when one is missing

    def error_ttl(self, key: Key) -> float:
        return self.secrets_error_ttl if isinstance(key, SecretKey) else self.ssm_error_ttl

    def remembered_error(self, key: Key) -> UpstreamError | None:
        """A definitive error remembered for `key` within the error TTL (counted as an error hit)."""
        if not self.errors:
            return None
        error = self.errors.recall(key, self.clock.time())
        if error is not None:
            self.metrics.error_hits += 1
        return error

    def note_failure(self, error: UpstreamError, *keys: Key | None) -> None:
        """Remember a failure on what we hold for these keys: definitive drops it (and is remembered
        for the error TTL), transient backs off."""
        now = self.clock.time()
        if (keys and keys[0] is not None and not error.cached
                and self.errors.remember(keys[0], error, self.error_ttl(keys[0]), now)):
            self.metrics.errors_remembered += 1
        for key in keys:
            if key is None:
                continue
            if error.kind in DEFINITIVE:
                self.cache.discard(key)
            elif error.transient:
                entry = self.cache.peek(key)
                if entry is not None:
                    self.cache.note_failure(entry, now)
                    log.warn("fetch failed with %s; the cached value is kept (stale once expired), next "
                             "attempt in %.1f s", error.code, entry.retry_after - now)

    # Refresh ahead --------------------------------------------------------------------------

    def refresh_ahead(self, entry: Entry) -> None:
        """Refresh an entry in the last 20% of its TTL, in the background: parameters and current
        secrets gathered into batches (paramsecrets.cache.batching.RefreshCoalescer), the rest one by one."""
        entry.refreshing = True
        self.metrics.refresh_ahead += 1
        key = entry.key
        group = key.refresh_group
        if isinstance(key, ParameterKey) and group is not None:
            self.coalescer.add(group, key.name)
        elif isinstance(key, SecretKey) and group is not None:
            self.coalescer.add(group, key.secret_id)
        else:
            self._spawn(self._refresh_one(key))

    def _refresh_group(self, group: RefreshGroup, names: tuple[str, ...]) -> None:
        if group is RefreshGroup.SECRETS:
            self._spawn(self.secrets(names, refresh=True, revalidate=True))
        else:
            self._spawn(self.parameters(names, decrypt=group is RefreshGroup.DECRYPTED_PARAMETERS, refresh=True))

    async def _refresh_one(self, key: Key) -> None:
        try:
            await self.load(key, refresh=True, revalidate=True)
        except UpstreamError as error:  # noted (and logged) on the entry by _load
            log.debug("refresh ahead failed with %s", error.code)

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # Single reads -------------------------------------------------------------------------

    async def _load(self, key: Key, alternate: Key | None, load: Callable[[], Awaitable[Entry]],
                    refresh: bool = False, recall: bool = True) -> Entry:
        """One flight for `key`; its failure is noted once on what we hold (see `note_failure`),
        by the flight itself: twenty requests waiting on one failed fetch are one failure. A
        remembered error answers at once (unless `refresh`, or the caller asked already)."""
        if recall and not refresh:
            remembered = self.remembered_error(key)
            if remembered is not None:
                raise remembered

        async def load_and_note() -> Entry:
            try:
                return await load()
            except UpstreamError as error:
                self.note_failure(error, key, alternate)
                raise

        return await self.flights.run(key, load_and_note)

    async def parameter(self, key: ParameterKey, refresh: bool = False, recall: bool = True) -> Entry:
        if not refresh and self.flights.running:  # nothing in flight: nothing to join (the usual miss)
            joined = await self._answer_from_running(key, key.alternate, key.decrypt, refresh, key.plain_name)
            if joined is not None:
                return joined
        return await self._load(key, key.alternate, lambda: self._fetch_parameter(key), refresh, recall)

    async def _answer_from_running(self, key: Key, alternate: Key, decrypt: bool, refresh: bool,
                                   name: str | None = None) -> Entry | None:
        """Wait for running fetches that may answer this read too, instead of calling AWS again.

        A decrypting fetch (a prefetch) of the same name or path answers a plain read of a String
        or StringList (decryption changes nothing for them); a path fetch covering `name` stores
        it on its own. Afterwards the cache says whether they did: only then is a fetch needed.
        """
        if refresh:
            return None
        running = [future for held, future in self.flights.items()
                   if (held == alternate and not decrypt)
                   or (name is not None and isinstance(held, PathKey) and held.role == key.role
                       and held.covers(name))]
        if not running:
            return None
        await asyncio.wait(running)
        found = self.cache.lookup(key, self.clock.time(), alternate)
        return found[0] if found is not None and found[1].answers else None

    async def _fetch_parameter(self, key: ParameterKey) -> Entry:
        upstream = await self._upstream(key.role)
        log.debug("fetching parameter %s", key.name)
        parameter = await upstream.ssm.get_parameter(key.name, key.decrypt)
        selector = key.selector
        if selector is None:  # a version or label names another value than the parameter's forms
            drop_superseded(self.cache, [parameter], keep=key)
        return self._store_parameter(key, parameter, selector)

    def _store_parameter(self, key: ParameterKey, parameter: Item, selector: str | None) -> Entry:
        """`selector`: the key's (`key.selector`), which the caller has at hand."""
        body = shapes.parameter_body(parameter, selector)
        return self._store(key, body, self.ssm_ttl, variant_free=parameter.get("Type") != "SecureString",
                           wire=aws_item(parameter))

    async def secret(self, key: SecretKey, refresh: bool = False, revalidate: bool = True,
                     recall: bool = True) -> Entry:
        return await self._load(key, None, lambda: self._fetch_secret(key, revalidate), refresh, recall)

    async def _fetch_secret(self, key: SecretKey, revalidate: bool) -> Entry:
        upstream = await self._upstream(key.role)
        held = self.cache.peek(key) if revalidate and self.revalidate else None
        described = None
        if held is not None and held.version_id is not None:
            if key.version_id is not None:  # a pinned version never changes: extend, no call
                self.metrics.revalidated += 1
                return self._extend_secret(held, None)
            described = await self._describe(upstream, key)
            if described is not None and revalidation.resolved_version(key, described) == held.version_id:
                self.metrics.revalidated += 1
                return self._extend_secret(held, described)
        log.debug("fetching secret %s", key.secret_id)
        secret = await upstream.secrets.get_secret_value(key.secret_id, key.version_id, key.version_stage)
        entry = self._store_secret(key, secret, described)
        if described is None and self.revalidate and key.version_id is None and key.role not in self.describe_denied:
            self._spawn(self._learn_rotation(upstream, key, entry))
        return entry

    def _store_secret(self, key: SecretKey, secret: Item, described: Item | None) -> Entry:
        """A fetched value, its TTL cut to the secret's next rotation when DescribeSecret told us it."""
        rotation = revalidation.next_rotation(described) if described is not None else None
        now = self.clock.time()
        ttl = self._secret_ttl(now, rotation, 0)
        entry = self._store(key, shapes.secret_body(secret), ttl, wire=aws_item(secret))
        version = secret.get("VersionId")
        entry.version_id = version if isinstance(version, str) else None
        entry.next_rotation = rotation
        return entry

    def _secret_ttl(self, now: float, rotation: float | None, polls: int) -> float:
        """The secrets TTL, cut by the rotation schedule (a jitter draw only when there is one)."""
        if rotation is None:
            return self.secrets_ttl
        return policy.secret_ttl(self.secrets_ttl, now, rotation, polls, self.cache.draw())

    def _extend_secret(self, held: Entry, described: Item | None) -> Entry:
        """The version has not changed: the same bytes, a new TTL (short while a rotation is due)."""
        now = self.clock.time()
        rotation = revalidation.next_rotation(described) if described is not None else None
        past_due = rotation is not None and now >= rotation + policy.ROTATION_GRACE_S
        polls = held.rotation_polls if past_due else 0
        ttl = self._secret_ttl(now, rotation, polls)
        entry = self.cache.store(held.key, held.body, ttl, now, held.variant_free, held.wire)
        entry.version_id = held.version_id
        entry.next_rotation = rotation
        entry.rotation_polls = polls + 1 if past_due else 0
        log.debug("secret unchanged; kept for %gs more", ttl)
        return entry

    async def _describe(self, upstream: Upstream, key: SecretKey) -> Item | None:
        """DescribeSecret, or None when it fails: then the value is fetched instead (a read never
        fails because of revalidation). Denied: GetSecretValue alone from now on, for that role."""
        if key.role in self.describe_denied:
            return None
        try:
            return await upstream.secrets.describe_secret(key.secret_id)
        except UpstreamError as error:
            self.metrics.revalidation_fallbacks += 1
            if error.kind is Kind.DENIED:
                self.describe_denied.add(key.role)
                log.warn("DescribeSecret is denied (%s): secrets are fetched again with GetSecretValue when due, "
                         "instead of revalidated by version; grant secretsmanager:DescribeSecret to save calls",
                         error.code)
            else:
                log.debug("DescribeSecret failed with %s; fetching the value instead", error.code)
            return None

    async def _learn_rotation(self, upstream: Upstream, key: SecretKey, entry: Entry) -> None:
        """After a fetch: ask DescribeSecret in the background whether rotation ends the entry sooner."""
        described = await self._describe(upstream, key)
        if described is None or self.cache.peek(key) is not entry:
            return
        rotation = revalidation.next_rotation(described)
        if rotation is None or revalidation.resolved_version(key, described) != entry.version_id:
            return
        entry.next_rotation = rotation
        now = self.clock.time()
        self.cache.shorten(entry, now + self._secret_ttl(now, rotation, 0))

    def _store(self, key: Key, body: bytes, ttl: float, variant_free: bool = False, *, wire: bytes) -> Entry:
        entry = self.cache.store(key, body, ttl, self.clock.time(), variant_free, wire)
        if self.cache.too_large(entry, ttl):
            self._note_too_large(key, entry.size)
        else:
            log.debug("cached %s (%d bytes, ttl %gs)", key, len(body), ttl)
        return entry

    def _note_too_large(self, key: Key, size: int) -> None:
        """Served but never cached: every read of it calls AWS. Counted; logged at the 1st, 2nd,
        4th, 8th... time, so a hot oversized value cannot flood the log (never the value)."""
        self.metrics.too_large += 1
        count = self.metrics.too_large
        if count & (count - 1) == 0:
            log.warn("%s is %d bytes with its overhead, more than PARAMETERS_SECRETS_EXTENSION_CACHE_MAX_BYTES "
                     "(%d): served but not cached, so every read of it calls AWS (%d such answers so far)",
                     _what(key), size, self.cache.max_bytes, count)

    # Path reads -----------------------------------------------------------------------------

    async def path(self, key: PathKey, refresh: bool = False, recall: bool = True) -> Entry:
        if not refresh and self.flights.running:
            joined = await self._answer_from_running(key, key.alternate, key.decrypt, refresh)
            if joined is not None:
                return joined
        return await self._load(key, key.alternate, lambda: self._fetch_path(key), refresh, recall)

    async def _fetch_path(self, key: PathKey) -> Entry:
        upstream = await self._upstream(key.role)
        log.debug("fetching parameters under %s", key.path)
        found = await upstream.ssm.get_parameters_by_path(key.path, key.recursive, key.decrypt)
        wire = aws_items(found)  # in AWS's order, before the extension's sort by name
        drop_superseded(self.cache, found, keep=key)
        found.sort(key=lambda parameter: parameter.get("Name") or "")
        for parameter in found:
            # a listing's names are plain: no selector
            self._store_parameter(ParameterKey(parameter["Name"], key.decrypt, key.role), parameter, None)
        body = shapes.parameters_body([shapes.parameter_item(parameter) for parameter in found])
        plain = not any(parameter.get("Type") == "SecureString" for parameter in found)
        return self._store(key, body, self.ssm_ttl, variant_free=plain, wire=wire)

    # Batch reads ------------------------------------------------------------------------------

    async def parameters(self, names: tuple[str, ...], decrypt: bool, refresh: bool = False,
                         role: str | None = None) -> dict[str, Outcome]:
        """An Entry or an UpstreamError for every requested name."""
        keys: dict[str, Key] = {name: ParameterKey(name, decrypt, role) for name in names}
        alternates: dict[str, Key] = {name: ParameterKey(name, not decrypt, role) for name in names}
        return await self._batch(keys, alternates, refresh, lambda missing, futures: self._fetch_parameters(
            missing, decrypt, futures, role))

    async def secrets(self, secret_ids: tuple[str, ...], refresh: bool = False, role: str | None = None,
                      revalidate: bool | None = None) -> dict[str, Outcome]:
        """An Entry or an UpstreamError for every requested secret id (`revalidate`: see `load`)."""
        keys: dict[str, Key] = {secret_id: SecretKey(secret_id, role=role) for secret_id in secret_ids}
        by_version = (not refresh if revalidate is None else revalidate) and self.revalidate
        return await self._batch(keys, {}, refresh, lambda missing, futures: self._fetch_secrets(
            missing, futures, role, by_version))

    async def _batch(self, keys: dict[str, Key], alternates: dict[str, Key], refresh: bool,
                     fetch: BatchFetch) -> dict[str, Outcome]:
        """Answer from remembered errors and fresh entries, wait for running fetches, fetch the rest
        in one batch task."""
        asked = list(keys)
        outcomes: dict[str, Outcome] = {}
        if not refresh and self.errors:
            for name, key in keys.items():
                remembered = self.remembered_error(key)
                if remembered is not None:
                    remembered.per_item = True
                    outcomes[name] = remembered
            if outcomes:
                keys = {name: key for name, key in keys.items() if name not in outcomes}
        planned = batching.plan(keys, alternates, self.cache, self.flights, self.clock.time(), refresh)
        for entry in planned.refresh_ahead:
            self.refresh_ahead(entry)
        outcomes.update(planned.answered)
        missing = planned.missing
        if planned.joined:  # a decrypting fetch (a prefetch) of a String answers the plain read too
            await asyncio.wait(set(planned.joined.values()))
            answered, still_missing = batching.answered_after_join(
                keys, alternates, list(planned.joined), self.cache, self.clock.time())
            outcomes.update(answered)
            missing = missing + still_missing
        waits = dict(planned.waiting)
        if missing:
            loop = asyncio.get_running_loop()
            futures: dict[str, asyncio.Future[Entry]] = {name: loop.create_future() for name in missing}
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
        return {name: outcomes[name] for name in asked}

    def _note_outcome(self, key: Key, alternate: Key | None, fetched: asyncio.Future[Entry]) -> None:
        """A batch fetch of one key ended: note its failure once, whoever was waiting for it."""
        if fetched.cancelled():
            return
        error = fetched.exception()
        if isinstance(error, UpstreamError):
            self.note_failure(error, key, alternate)

    async def _fetch_parameters(self, names: list[str], decrypt: bool,
                                futures: dict[str, asyncio.Future[Entry]], role: str | None = None) -> None:
        upstream = await self._upstream(role)
        log.debug("fetching %d parameters in batches", len(names))
        matched: dict[str, Item] = {}
        for batch, found in await upstream.ssm.get_parameters(names, decrypt):
            matched.update(match_parameters(batch, found))
        drop_superseded(self.cache, [item for name, item in matched.items() if split_selector(name)[1] is None])
        for name in names:
            parameter = matched.get(name)
            if parameter is None:
                futures[name].set_exception(not_found("ParameterNotFound", "parameter"))
            else:
                futures[name].set_result(self._store_parameter(ParameterKey(name, decrypt, role), parameter,
                                                               split_selector(name)[1]))

    async def _fetch_secrets(self, secret_ids: list[str], futures: dict[str, asyncio.Future[Entry]],
                             role: str | None = None, by_version: bool = False) -> None:
        """BatchGetSecretValue for the ids; with `by_version`, held ones are revalidated first
        (DescribeSecret each, concurrently) and only the changed ones are in the batch."""
        upstream = await self._upstream(role)
        described: dict[str, Item | None] = {}
        if by_version:
            secret_ids, described = await self._revalidate_batch(upstream, secret_ids, futures, role)
            if not secret_ids:
                return
        log.debug("fetching %d secrets in batches", len(secret_ids))
        values, errors = await upstream.secrets.batch_get_secret_value(secret_ids)
        failed = {error.get("SecretId"): error for error in errors}
        matched = match_secrets(secret_ids, values)
        for secret_id in secret_ids:
            value = matched.get(secret_id)
            if value is not None:
                futures[secret_id].set_result(self._store_secret(SecretKey(secret_id, role=role), value,
                                                                 described.get(secret_id)))
                continue
            error = failed.get(secret_id) or {}
            code = error.get("ErrorCode") or "ResourceNotFoundException"
            futures[secret_id].set_exception(UpstreamError(
                classify(400, code), code, error.get("Message") or "secret not found", per_item=True))


    async def secrets_by_filters(self, filters: list[Item], role: str | None = None) -> int:
        """BatchGetSecretValue with filters (prefetch by tag), every page; each secret stored under
        its name (as `GET /secretsmanager/get?secretId=NAME` reads it). How many were stored."""
        upstream = await self._upstream(role)
        values = await upstream.secrets.batch_get_secret_value_filtered(filters)
        for value in values:
            name = value.get("Name")
            if isinstance(name, str) and name:
                self._store_secret(SecretKey(name, role=role), value, None)
        log.debug("fetched %d secrets by filter", len(values))
        return len(values)

    async def _revalidate_batch(self, upstream: Upstream, secret_ids: list[str],
                                futures: dict[str, asyncio.Future[Entry]], role: str | None
                                ) -> tuple[list[str], dict[str, Item | None]]:
        """Extend the held secrets whose version is unchanged; (the ids still to fetch, the answers)."""
        held = {secret_id: self.cache.peek(SecretKey(secret_id, role=role)) for secret_id in secret_ids}
        asked = [secret_id for secret_id, entry in held.items() if entry is not None and entry.version_id]
        answers = await asyncio.gather(*(self._describe(upstream, SecretKey(secret_id, role=role))
                                         for secret_id in asked))
        described = dict(zip(asked, answers, strict=True))
        remaining = []
        for secret_id in secret_ids:
            entry, answer = held[secret_id], described.get(secret_id)
            if (entry is not None and answer is not None
                    and revalidation.resolved_version(SecretKey(secret_id), answer) == entry.version_id):
                self.metrics.revalidated += 1
                futures[secret_id].set_result(self._extend_secret(entry, answer))
            else:
                remaining.append(secret_id)
        return remaining, described


def _what(key: Key) -> str:
    """A key in a log line: what it names, never a value."""
    if isinstance(key, ParameterKey):
        return f"parameter {key.name}"
    if isinstance(key, SecretKey):
        return f"secret {key.secret_id}"
    return f"the listing of {key.path}"


def _fail_pending(task: asyncio.Future[None], futures: dict[str, asyncio.Future[Entry]]) -> None:
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


def match_parameters(names: list[str], found: list[Item]) -> dict[str, Item]:
    """Pair the names of one GetParameters call with its answers (one answer per parameter there)."""
    by_identity = {parameter_identity(str(p.get("Name") or "")): p for p in found}
    by_identity.update({parameter_identity(str(p["ARN"])): p for p in found if p.get("ARN")})
    matched = {}
    for name in names:
        parameter = by_identity.get(parameter_identity(name))
        if parameter is not None:
            matched[name] = parameter
    return matched


def match_secrets(secret_ids: list[str], values: list[Item]) -> dict[str, Item]:
    """Pair requested ids (name, ARN, partial ARN without the 6-character suffix) with values."""
    matched: dict[str, Item] = {}
    for secret_id in secret_ids:
        for value in values:
            arn = value.get("ARN") or ""
            if secret_id in (value.get("Name"), arn) or (
                    arn.startswith(secret_id + "-") and len(arn) == len(secret_id) + 7):
                matched[secret_id] = value
                break
    return matched
