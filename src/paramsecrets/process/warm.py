"""Warm start: one connection per AWS service, opened right after the server starts.

Under Lambda this runs while the function's INIT runs (after `register`), so the first miss costs
one round trip instead of DNS + TCP + TLS (+ the proxy's CONNECT). Failures are logged once with
their reason (a certificate problem is named here first: see transport.last_connect_failure) and
otherwise ignored: the first request connects again and reports its own error.
"""

from __future__ import annotations

import time
from typing import Any

from paramsecrets import log


async def warm(upstream: Any) -> None:
    """Open and pool the connections; log what happened (never a credential)."""
    started = time.monotonic()
    results = await upstream.warm()
    for service, failure in results.items():
        if failure:
            log.warn("could not open a connection to %s at start: %s", service, failure)
    opened = [service for service, failure in results.items() if failure is None]
    if opened:
        log.debug("opened a connection to %s in %.0f ms", " and ".join(opened), (time.monotonic() - started) * 1000)
