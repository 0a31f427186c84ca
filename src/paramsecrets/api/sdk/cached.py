"""The five reads answered from the cache, in AWS's own response shapes.

They use the entries the GET routes use (same keys, same reader, same single flight, refresh
ahead, back-off and stale fallback); an entry holds AWS's own fields next to the extension's body
(`Entry.wire`, see paramsecrets.api.sdk.items), so a value fetched through one protocol is a hit for the
other. A request these
cannot answer exactly as AWS would (filters, another region's token) returns None: forwarded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from paramsecrets.api import profiles, rendering
from paramsecrets.api.sdk import items, wire
from paramsecrets.aws.errors import UpstreamError
from paramsecrets.cache.front import CacheFront
from paramsecrets.cache.keys import Key, ParameterKey, PathKey, SecretKey
from paramsecrets.cache.store import Entry

GET_PARAMETERS_MAX = 10  # AWS's limits, enforced as AWS enforces them
BY_PATH_PAGE_MAX = 10
BATCH_SECRETS_MAX = 20
NEXT_TOKEN_PREFIX = "paramsecrets-page-"
MAX_OFFSET_DIGITS = 6

# (body, cache state, age): what an operation answers with.
Answer = tuple[bytes, bytes, int]
Operation = Callable[[dict[str, Any]], Awaitable[Answer | None]]


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


MAX_MEMO = 256
"""SDK bodies remembered (the parameters an SDK reads repeatedly; a function reads a handful)."""


class CachedReads:
    """GetParameter, GetParameters, GetParametersByPath, GetSecretValue, BatchGetSecretValue."""

    def __init__(self, front: CacheFront) -> None:
        self.front = front  # the GET routes' own read decision: one cache, reader, metrics and stale rule
        self.cache = front.cache
        self.reader = front.reader
        self.metrics = front.metrics
        # GetParameter's SDK body per entry (an entry's body and wire never change): a repeated hit
        # skips two json.loads and a json.dumps. Bounded; an entry replaced by a refresh is rebuilt.
        self._parameter_bodies: dict[Key, tuple[Entry, bytes]] = {}
        self.operations: dict[tuple[str, str], Operation] = {
            ("ssm", "GetParameter"): self.get_parameter,
            ("ssm", "GetParameters"): self.get_parameters,
            ("ssm", "GetParametersByPath"): self.get_parameters_by_path,
            ("secretsmanager", "GetSecretValue"): self.get_secret_value,
            ("secretsmanager", "BatchGetSecretValue"): self.batch_get_secret_value,
        }

    def operation(self, service: str, name: str) -> Operation | None:
        return self.operations.get((service, name))

    def names(self) -> list[str]:
        """The operations answered here, the only ones a client key may call."""
        return [name for _, name in self.operations]

    # One entry, as the GET routes get it -----------------------------------------------------

    async def _entry(self, key: Key) -> tuple[Entry, bytes]:
        """The entry for a single read and how it was found (hit, miss or stale), as the GET routes find it."""
        found = self.front.cached(key, key.alternate, self.front.clock.time(), need_wire=True)
        stale = None
        if found is not None:
            entry, state = found
            if state is not None:
                return entry, state
            stale = entry
        try:
            return await self.front.fetch(key, False, stale)
        except UpstreamError as error:
            raise profiles.sdk_from_upstream(error) from None

    def _batch_item(self, outcome: Entry | UpstreamError, key: Key) -> Entry:
        """A batch outcome that is not per item: the stale value when allowed, else the request fails."""
        if isinstance(outcome, Entry):
            return outcome
        fallback = self.front.batch_item(outcome, key, key.alternate, False)
        if fallback is None or not fallback.wire:
            raise profiles.sdk_from_upstream(outcome)
        return fallback

    def _state(self, entries: list[Entry], started: float, stale: bool) -> tuple[bytes, int]:
        if stale:
            state = rendering.STALE
        elif any(entry.fetched_at >= started for entry in entries):
            state = rendering.MISS
        else:
            state = rendering.HIT
        oldest = min((entry.fetched_at for entry in entries), default=started)
        return state, max(0, int(self.front.clock.time() - oldest))

    def _age(self, entry: Entry) -> int:
        return rendering.age(entry, self.front.clock.time())

    # SSM ---------------------------------------------------------------------------------------

    def parameter_now(self, doc: dict[str, Any]) -> Answer | None:
        """GetParameter answered from the cache without awaiting (a hit or a stale answer), else
        None: get_parameter then fetches. Counts the hit as get_parameter would."""
        try:
            name = wire.text(doc, "Name", required=True)
            decrypt = wire.flag(doc, "WithDecryption")
        except wire.SdkError:
            return None  # get_parameter words the error
        assert name is not None
        key = ParameterKey(name, decrypt)
        found = self.front.cached(key, key.alternate, self.front.clock.time(), need_wire=True)
        if found is None or found[1] is None:
            return None
        return self._parameter_answer(key, found[0], found[1])

    async def get_parameter(self, doc: dict[str, Any]) -> Answer:
        name = wire.text(doc, "Name", required=True)
        assert name is not None
        key = ParameterKey(name, wire.flag(doc, "WithDecryption"))
        entry, state = await self._entry(key)
        return self._parameter_answer(key, entry, state)

    def _parameter_answer(self, key: Key, entry: Entry, state: bytes) -> Answer:
        known = self._parameter_bodies.get(key)
        if known is not None and known[0] is entry:
            return known[1], state, self._age(entry)
        body = items.encode({"Parameter": items.parameter(entry)})
        if len(self._parameter_bodies) >= MAX_MEMO:
            self._parameter_bodies.clear()
        self._parameter_bodies[key] = (entry, body)
        return body, state, self._age(entry)

    async def get_parameters(self, doc: dict[str, Any]) -> Answer:
        names = wire.names(doc, "Names", GET_PARAMETERS_MAX)
        decrypt = wire.flag(doc, "WithDecryption")
        started = self.front.clock.time()
        outcomes = await self.reader.parameters(names, decrypt)
        entries: list[Entry] = []
        invalid: list[str] = []
        stale = False
        for name, outcome in outcomes.items():
            if isinstance(outcome, UpstreamError) and outcome.per_item:
                invalid.append(name)
                continue
            entry = self._batch_item(outcome, ParameterKey(name, decrypt))
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
        entry, state = await self._entry(PathKey(path, wire.flag(doc, "Recursive"), wire.flag(doc, "WithDecryption")))
        listing = items.path(entry)
        answer: dict[str, Any] = {"Parameters": listing[offset:offset + page]}
        if offset + page < len(listing):
            answer["NextToken"] = f"{NEXT_TOKEN_PREFIX}{offset + page}"
        return items.encode(answer), state, self._age(entry)

    # Secrets Manager ---------------------------------------------------------------------------

    async def get_secret_value(self, doc: dict[str, Any]) -> Answer:
        secret_id = wire.text(doc, "SecretId", required=True)
        assert secret_id is not None
        key = SecretKey(secret_id, wire.text(doc, "VersionId"), wire.text(doc, "VersionStage"))
        entry, state = await self._entry(key)
        return items.encode(items.secret(entry)), state, self._age(entry)

    async def batch_get_secret_value(self, doc: dict[str, Any]) -> Answer | None:
        if doc.get("Filters") or doc.get("NextToken") or "SecretIdList" not in doc:
            return None  # listing by filter pages through AWS: forwarded
        ids = wire.names(doc, "SecretIdList", BATCH_SECRETS_MAX)
        if wire.integer(doc, "MaxResults", 1, BATCH_SECRETS_MAX, BATCH_SECRETS_MAX) < len(ids):
            return None  # AWS would page this answer: forwarded
        started = self.front.clock.time()
        outcomes = await self.reader.secrets(ids)
        entries: list[Entry] = []
        errors: list[dict[str, str]] = []
        stale = False
        for secret_id, outcome in outcomes.items():
            if isinstance(outcome, UpstreamError) and outcome.per_item:
                errors.append({"SecretId": secret_id, "ErrorCode": outcome.code, "Message": outcome.message})
                continue
            entry = self._batch_item(outcome, SecretKey(secret_id))
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
