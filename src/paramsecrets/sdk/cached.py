"""The five reads answered from the cache, in AWS's own response shapes.

They use the entries the GET routes use (same keys, same reader, same single flight, refresh
ahead, back-off and stale fallback); an entry holds AWS's own fields next to the extension's body
(`Entry.wire`, see paramsecrets.sdk.items), so a value fetched through one protocol is a hit for the
other. A request these
cannot answer exactly as AWS would (filters, another region's token) returns None: forwarded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from paramsecrets.aws.errors import UpstreamError
from paramsecrets.cache import Entry, State
from paramsecrets.reader import parameter_key, secret_key
from paramsecrets.routes import ParameterRead, ParametersRead, PathRead, SecretRead, SecretsRead, split_selector
from paramsecrets.sdk import items, wire
from paramsecrets.service import STALE_PATIENCE_S, Service

GET_PARAMETERS_MAX = 10  # AWS's limits, enforced as AWS enforces them
BY_PATH_PAGE_MAX = 10
BATCH_SECRETS_MAX = 20
NEXT_TOKEN_PREFIX = "paramsecrets-page-"
MAX_OFFSET_DIGITS = 6

# (body, cache state, age): what an operation answers with.
Answer = tuple[bytes, bytes, int]
Operation = Callable[[dict[str, Any]], Awaitable[Answer | None]]


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


def page_offset(token: object) -> int | None:
    """Our own NextToken's offset; None for a token we did not issue (forwarded to AWS)."""
    if token is None:
        return 0
    if not isinstance(token, str) or not token.startswith(NEXT_TOKEN_PREFIX):
        return None
    digits = token[len(NEXT_TOKEN_PREFIX):]
    if not digits.isascii() or not digits.isdigit() or len(digits) > MAX_OFFSET_DIGITS:
        return None
    return int(digits)


class CachedReads:
    """GetParameter, GetParameters, GetParametersByPath, GetSecretValue, BatchGetSecretValue."""

    def __init__(self, service: Service) -> None:
        self.service = service  # its cache, reader, metrics and stale rule are the GET routes' own
        self.cache = service.cache
        self.reader = service.reader
        self.metrics = service.metrics
        self.operations: dict[tuple[str, str], Operation] = {
            ("ssm", "GetParameter"): self.get_parameter,
            ("ssm", "GetParameters"): self.get_parameters,
            ("ssm", "GetParametersByPath"): self.get_parameters_by_path,
            ("secretsmanager", "GetSecretValue"): self.get_secret_value,
            ("secretsmanager", "BatchGetSecretValue"): self.batch_get_secret_value,
        }

    def operation(self, service: str, name: str) -> Operation | None:
        return self.operations.get((service, name))

    # One entry, as the GET routes get it -----------------------------------------------------

    async def _entry(self, read: ParameterRead | SecretRead | PathRead) -> tuple[Entry, bytes]:
        """The entry for a single read and how it was found: hit, miss or stale."""
        now = time.time()
        found = self.cache.lookup(read.key, now, read.alternate)
        stale = None
        if found is not None:
            entry, state = found
            if state is not State.EXPIRED and entry.wire:
                if state is State.REFRESH:
                    self.reader.refresh_ahead(entry)
                self.metrics.hits += 1
                return entry, b"hit"
            stale = entry if entry.wire else None
            if stale is not None and self.service.stale_ok and now < entry.retry_after:
                self.metrics.stale += 1
                return stale, b"stale"
        self.metrics.misses += 1
        loading = asyncio.ensure_future(self.reader.load(read))
        loading.add_done_callback(_retrieve)
        try:
            if stale is not None and self.service.stale_ok:
                done, _ = await asyncio.wait((loading,), timeout=STALE_PATIENCE_S)
                if not done:
                    self.metrics.stale += 1
                    return stale, b"stale"
            return await loading, b"miss"
        except UpstreamError as error:
            fallback = self.service._stale_fallback(stale, error, False)
            if fallback is not None:
                return fallback, b"stale"
            raise wire.from_upstream(error) from None

    def _batch_item(self, name: str, outcome: Entry | UpstreamError, key: Any, alternate: Any) -> Entry:
        """A batch outcome that is not per item: the stale value when allowed, else the request fails."""
        if isinstance(outcome, Entry):
            return outcome
        found = self.cache.lookup(key, time.time(), alternate)
        fallback = self.service._stale_fallback(found[0] if found else None, outcome, False)
        if fallback is None or not fallback.wire:
            raise wire.from_upstream(outcome)
        return fallback  # type: ignore[no-any-return]

    @staticmethod
    def _state(entries: list[Entry], started: float, stale: bool) -> tuple[bytes, int]:
        if stale:
            state = b"stale"
        elif any(entry.fetched_at >= started for entry in entries):
            state = b"miss"
        else:
            state = b"hit"
        oldest = min((entry.fetched_at for entry in entries), default=started)
        return state, max(0, int(time.time() - oldest))

    # SSM ---------------------------------------------------------------------------------------

    async def get_parameter(self, doc: dict[str, Any]) -> Answer:
        name = wire.text(doc, "Name", required=True)
        assert name is not None
        read = ParameterRead(name, split_selector(name)[1], wire.flag(doc, "WithDecryption"))
        entry, state = await self._entry(read)
        return items.encode({"Parameter": items.parameter(entry)}), state, entry.age(time.time())

    async def get_parameters(self, doc: dict[str, Any]) -> Answer:
        names = wire.names(doc, "Names", GET_PARAMETERS_MAX)
        decrypt = wire.flag(doc, "WithDecryption")
        started = time.time()
        outcomes = await self.reader.parameters(ParametersRead(names, decrypt))
        entries: list[Entry] = []
        invalid: list[str] = []
        stale = False
        for name, outcome in outcomes.items():
            if isinstance(outcome, UpstreamError) and outcome.per_item:
                invalid.append(name)
                continue
            entry = self._batch_item(name, outcome, parameter_key(name, decrypt), parameter_key(name, not decrypt))
            stale = stale or entry is not outcome
            entries.append(entry)
        self._count(entries, started)
        state, age = self._state(entries, started, stale)
        body = items.encode({"InvalidParameters": invalid,
                             "Parameters": [items.parameter(entry) for entry in entries]})
        return body, state, age

    async def get_parameters_by_path(self, doc: dict[str, Any]) -> Answer | None:
        path = wire.text(doc, "Path", required=True)
        assert path is not None
        offset = page_offset(doc.get("NextToken"))
        if doc.get("ParameterFilters") or offset is None or not path.startswith("/"):
            return None  # AWS answers these exactly; we forward them
        page = wire.integer(doc, "MaxResults", 1, BY_PATH_PAGE_MAX, BY_PATH_PAGE_MAX)
        read = PathRead(path, wire.flag(doc, "Recursive"), wire.flag(doc, "WithDecryption"))
        entry, state = await self._entry(read)
        listing = items.path(entry)
        answer: dict[str, Any] = {"Parameters": listing[offset:offset + page]}
        if offset + page < len(listing):
            answer["NextToken"] = f"{NEXT_TOKEN_PREFIX}{offset + page}"
        return items.encode(answer), state, entry.age(time.time())

    # Secrets Manager ---------------------------------------------------------------------------

    async def get_secret_value(self, doc: dict[str, Any]) -> Answer:
        secret_id = wire.text(doc, "SecretId", required=True)
        assert secret_id is not None
        read = SecretRead(secret_id, wire.text(doc, "VersionId"), wire.text(doc, "VersionStage"))
        entry, state = await self._entry(read)
        return items.encode(items.secret(entry)), state, entry.age(time.time())

    async def batch_get_secret_value(self, doc: dict[str, Any]) -> Answer | None:
        if doc.get("Filters") or doc.get("NextToken") or "SecretIdList" not in doc:
            return None  # listing by filter pages through AWS: forwarded
        ids = wire.names(doc, "SecretIdList", BATCH_SECRETS_MAX)
        if wire.integer(doc, "MaxResults", 1, BATCH_SECRETS_MAX, BATCH_SECRETS_MAX) < len(ids):
            return None  # AWS would page this answer: forwarded
        started = time.time()
        outcomes = await self.reader.secrets(SecretsRead(ids))
        entries: list[Entry] = []
        errors: list[dict[str, str]] = []
        stale = False
        for secret_id, outcome in outcomes.items():
            if isinstance(outcome, UpstreamError) and outcome.per_item:
                errors.append({"SecretId": secret_id, "ErrorCode": outcome.code, "Message": outcome.message})
                continue
            entry = self._batch_item(secret_id, outcome, secret_key(secret_id), None)
            stale = stale or entry is not outcome
            entries.append(entry)
        self._count(entries, started)
        state, age = self._state(entries, started, stale)
        body = items.encode({"Errors": errors, "SecretValues": [items.secret(entry) for entry in entries]})
        return body, state, age

    def _count(self, entries: list[Entry], started: float) -> None:
        for entry in entries:
            if entry.fetched_at >= started:
                self.metrics.misses += 1
            else:
                self.metrics.hits += 1
