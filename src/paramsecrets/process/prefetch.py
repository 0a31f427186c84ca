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

Under Lambda the extension also reads what the exec wrapper is about to ask for: an extension
sees the function's environment, so the `PARAMSECRETS_ENV_*`, `PARAMSECRETS_FILES` and
`PARAMSECRETS_PATH` mapping names every value `paramsecrets exec` will read before the runtime
starts. `ExecReads.from_environ` takes the names from it (loosely: the wrapper validates the REF
grammar and reports every mistake), and they are fetched at once, without the jitter, with the
same batch calls the wrapper's own requests make, so those requests join the running fetches or
hit the cache, whichever comes first.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import NamedTuple

from paramsecrets import log
from paramsecrets.cache.keys import PathKey, SecretKey
from paramsecrets.cache.reader import Reader
from paramsecrets.cache.roles import RoleArnError, check_role_arn
from paramsecrets.config import Settings
from paramsecrets.metrics import Metrics

TAG_PREFIX = "tag:"
ROLE_SEPARATOR = "|"  # neither parameter names nor secret names may contain it

EXEC_ENV_PREFIX = "PARAMSECRETS_ENV_"
EXEC_FILES_ENV = "PARAMSECRETS_FILES"
EXEC_PATH_ENV = "PARAMSECRETS_PATH"
EXEC_SOURCES = (("ssm:", "parameters"), ("secretsmanager:", "secrets"))
MAX_EXEC_READS = 1000  # the wrapper's own limit of values for one command
MAX_EXEC_REF_CHARS = 4096


class ExecReads(NamedTuple):
    """What the exec wrapper will read: parameter names (with their selectors), secret ids, paths."""

    parameters: tuple[str, ...]
    secrets: tuple[str, ...]
    paths: tuple[str, ...]

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ExecReads:
        """The names in the mapping variables; a REF that is not `ssm:NAME[#KEY]` or
        `secretsmanager:ID[#KEY]` is left out (the wrapper names it when it fails)."""
        found: dict[str, dict[str, None]] = {"parameters": {}, "secrets": {}}
        refs = [value for name, value in environ.items() if name.startswith(EXEC_ENV_PREFIX)]
        for item in environ.get(EXEC_FILES_ENV, "").split(","):  # PATH=REF: REF starts at the first `=source:`
            starts = [at for at in (item.find("=ssm:"), item.find("=secretsmanager:")) if at >= 0]
            if starts:
                refs.append(item[min(starts) + 1:].strip())
        for ref in refs[:MAX_EXEC_READS]:
            if len(ref) > MAX_EXEC_REF_CHARS:
                continue
            for prefix, kind in EXEC_SOURCES:
                if ref.startswith(prefix):
                    name = ref[len(prefix):].partition("#")[0]
                    if name and not any(ch.isspace() for ch in name):
                        found[kind][name] = None
        paths = {path.strip(): None for path in environ.get(EXEC_PATH_ENV, "").split(",")[:MAX_EXEC_READS]
                 if path.strip().startswith("/") and len(path.strip()) <= MAX_EXEC_REF_CHARS}
        return cls(tuple(found["parameters"]), tuple(found["secrets"]), tuple(paths))

    def any(self) -> bool:
        return bool(self.parameters or self.secrets or self.paths)

    def jobs(self, reader: Reader) -> list[Awaitable[object]]:
        """The batch calls the wrapper's own requests make (get-many decrypted, the secrets batch,
        get-by-path recursive and decrypted), so both share one flight per key."""
        jobs: list[Awaitable[object]] = []
        if self.parameters:
            jobs.append(reader.parameters(self.parameters, decrypt=True))
        if self.secrets:
            jobs.append(reader.secrets(self.secrets))
        jobs.extend(reader.path(PathKey(path, recursive=True, decrypt=True)) for path in self.paths)
        return jobs


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
                   draw: Callable[[], float] = random.random, exec_reads: ExecReads | None = None) -> None:
    started = reader.clock.monotonic()
    exec_jobs = exec_reads.jobs(reader) if exec_reads is not None else []  # started at once: no jitter
    running = asyncio.gather(*exec_jobs, return_exceptions=True) if exec_jobs else None
    if settings.prefetch_parameters or settings.prefetch_secrets:
        await start_jitter(settings, reader, draw)
    results = list(await asyncio.gather(*plan(settings, reader), return_exceptions=True))
    if running is not None:
        results += await running
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
