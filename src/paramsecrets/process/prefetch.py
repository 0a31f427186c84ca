"""Start-up prefetch: configured names, paths, secrets and tagged secrets fetched in batches, in the background.

Names go through GetParameters (x10), paths (ending in `/`) through GetParametersByPath
(recursive, every page), secrets through BatchGetSecretValue (x20; a single secret through
GetSecretValue, whose quota is 100 times BatchGetSecretValue's), and `tag:KEY=VALUE` entries
through BatchGetSecretValue with the filters tag-key=KEY and tag-value=VALUE (every page; each
secret found is stored under its name). Any entry may end in `|ROLE_ARN`: it is then read as that
role, and so are the cache entries it fills. Parameters are fetched with decryption, so
`withDecryption=true` reads are hits, and so are plain reads of String and StringList values
(decryption changes nothing for them). Every key is claimed as a flight while its batch runs, so
a request arriving meanwhile waits for the batch instead of calling again.

PARAMETERS_SECRETS_EXTENSION_PREFETCH_JITTER_MS delays the start by a random part of that many
milliseconds, so a fleet started at once does not prefetch at once; a read that comes first
fetches for itself, as without prefetch.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from paramsecrets import log
from paramsecrets.cache.keys import PathKey, SecretKey
from paramsecrets.cache.reader import Reader
from paramsecrets.cache.roles import RoleArnError, check_role_arn
from paramsecrets.config import Settings
from paramsecrets.metrics import Metrics

TAG_PREFIX = "tag:"
ROLE_SEPARATOR = "|"  # neither parameter names nor secret names may contain it


class Entry(NamedTuple):
    """One configured prefetch entry: what, and as which role."""

    what: str
    role: str | None


class Tag(NamedTuple):
    key: str
    value: str


def parse_entry(text: str) -> Entry:
    """`name`, `/path/`, `tag:K=V`, each optionally `|arn:...:role/R`; RoleArnError for a bad role."""
    what, separator, role = text.partition(ROLE_SEPARATOR)
    return Entry(what.strip(), check_role_arn(role.strip()) if separator else None)


def parse_tag(what: str) -> Tag | None:
    """`tag:KEY=VALUE` -> Tag; None for a plain secret id."""
    if not what.startswith(TAG_PREFIX):
        return None
    key, equals, value = what[len(TAG_PREFIX):].partition("=")
    if not key or not equals:
        raise ValueError(f"a tag entry is tag:KEY=VALUE, not {what[:100]!r}")
    return Tag(key, value)


def tag_filters(tag: Tag) -> list[dict[str, object]]:
    """BatchGetSecretValue's filters for one tag (AWS matches the key and the value among the tags)."""
    return [{"Key": "tag-key", "Values": [tag.key]}, {"Key": "tag-value", "Values": [tag.value]}]


def _grouped(entries: tuple[str, ...], kind: str) -> dict[str | None, list[str]]:
    """Entries by role; a malformed one is logged and left out (prefetch never stops the server)."""
    grouped: dict[str | None, list[str]] = {}
    for text in entries:
        try:
            entry = parse_entry(text)
        except RoleArnError as error:
            log.warn("prefetch %s entry skipped: %s", kind, error)
            continue
        if entry.what:
            grouped.setdefault(entry.role, []).append(entry.what)
    return grouped


def plan(settings: Settings, reader: Reader) -> list[Awaitable[object]]:
    """The prefetch jobs: one batch per role for names and for secret ids, one per path and per tag."""
    jobs: list[Awaitable[object]] = []
    for role, whats in _grouped(settings.prefetch_parameters, "parameter").items():
        names = tuple(name for name in whats if not name.endswith("/"))
        if names:
            jobs.append(reader.parameters(names, decrypt=True, role=role))
        jobs.extend(reader.path(PathKey(path, recursive=True, decrypt=True, role=role))
                    for path in whats if path.endswith("/"))
    for role, whats in _grouped(settings.prefetch_secrets, "secret").items():
        ids: list[str] = []
        for what in whats:
            try:
                tag = parse_tag(what)
            except ValueError as error:
                log.warn("prefetch secret entry skipped: %s", error)
                continue
            if tag is None:
                ids.append(what)
            else:
                jobs.append(reader.secrets_by_filters(tag_filters(tag), role))
        if len(ids) == 1:  # one secret: GetSecretValue (10,000/s), not BatchGetSecretValue (100/s)
            jobs.append(reader.load(SecretKey(ids[0], role=role)))
        elif ids:
            jobs.append(reader.secrets(tuple(ids), role=role))
    return jobs


async def start_jitter(settings: Settings, reader: Reader, draw: Callable[[], float] = random.random) -> None:
    """Wait a random part of PREFETCH_JITTER_MS on the reader's clock (nothing when it is 0)."""
    delay = settings.prefetch_jitter_ms / 1000 * draw()
    if delay <= 0:
        return
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake() -> None:
        if not done.done():
            done.set_result(None)

    reader.clock.call_later(delay, wake)
    await done


async def prefetch(settings: Settings, reader: Reader, metrics: Metrics,
                   draw: Callable[[], float] = random.random) -> None:
    await start_jitter(settings, reader, draw)
    started = reader.clock.monotonic()
    results = await asyncio.gather(*plan(settings, reader), return_exceptions=True)
    stored = failed = 0
    for result in results:
        if isinstance(result, dict):  # a batch: one outcome per name
            ok = sum(1 for outcome in result.values() if not isinstance(outcome, Exception))
            stored += ok
            failed += len(result) - ok
        elif isinstance(result, int):  # secrets found by tag
            stored += result
        elif isinstance(result, Exception):
            failed += 1
            log.warn("prefetch failed: %s", getattr(result, "code", type(result).__name__))
        else:
            stored += 1
    metrics.prefetched += stored
    log.info("prefetched %d values in %.0f ms (%d failed)", stored, (reader.clock.monotonic() - started) * 1000, failed)
