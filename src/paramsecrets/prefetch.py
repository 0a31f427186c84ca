"""Start-up prefetch: configured names, paths and secrets fetched in batches, in the background.

Names go through GetParameters (x10), paths (ending in `/`) through GetParametersByPath
(recursive, every page), secrets through BatchGetSecretValue (x20). Parameters are fetched with
decryption, so `withDecryption=true` reads are hits, and so are plain reads of String and
StringList values (decryption changes nothing for them). Every key is claimed as a flight while
its batch runs, so a request arriving meanwhile waits for the batch instead of calling again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from paramsecrets import log
from paramsecrets.config import Settings
from paramsecrets.keys import PathKey
from paramsecrets.metrics import Metrics
from paramsecrets.reader import Reader


async def prefetch(settings: Settings, reader: Reader, metrics: Metrics) -> None:
    started = reader.clock.monotonic()
    names = tuple(name for name in settings.prefetch_parameters if not name.endswith("/"))
    paths = tuple(name for name in settings.prefetch_parameters if name.endswith("/"))
    jobs: list[Awaitable[object]] = []
    if names:
        jobs.append(reader.parameters(names, decrypt=True))
    jobs.extend(reader.path(PathKey(path, recursive=True, decrypt=True)) for path in paths)
    if settings.prefetch_secrets:
        jobs.append(reader.secrets(settings.prefetch_secrets))
    results = await asyncio.gather(*jobs, return_exceptions=True)
    stored = failed = 0
    for result in results:
        if isinstance(result, dict):  # a batch: one outcome per name
            ok = sum(1 for outcome in result.values() if not isinstance(outcome, Exception))
            stored += ok
            failed += len(result) - ok
        elif isinstance(result, Exception):
            failed += 1
            log.warn("prefetch failed: %s", getattr(result, "code", type(result).__name__))
        else:
            stored += 1
    metrics.prefetched += stored
    log.info("prefetched %d values in %.0f ms (%d failed)", stored, (reader.clock.monotonic() - started) * 1000, failed)
