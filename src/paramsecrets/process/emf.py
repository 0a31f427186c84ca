"""CloudWatch metrics as Embedded Metric Format (EMF) documents on stdout, the Lambda idiom.

In Lambda an extension's stdout goes to the function's log group, and CloudWatch Logs turns each
EMF line into metrics with no API call (and no credentials, no network, no latency): the way
Powertools Metrics publishes them. We write the counters' deltas since the previous document, at
each INVOKE event and at SHUTDOWN (app.py), or every EMF_INTERVAL seconds outside Lambda.

Dimensions are kept few and bounded: the function's name and the service (ours), plus the
operation and outcome of upstream calls, or the error code. Never a parameter or secret name.
Specification: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from paramsecrets.metrics import Metrics

SERVICE = "paramsecrets"
# Metrics attribute -> metric name (all counts). Attributes another change adds are taken when present.
COUNTS = (
    ("hits", "CacheHits"),
    ("misses", "CacheMisses"),
    ("stale", "StaleAnswers"),
    ("refresh_ahead", "RefreshesAhead"),
    ("refresh_now", "RefreshNow"),
    ("revalidations", "Revalidations"),
    ("errors", "ErrorAnswers"),
    ("prefetched", "Prefetched"),
)
MAX_DIMENSION_VALUE = 1024  # EMF: a dimension value is 1..1024 characters


def _stdout(line: bytes) -> None:
    try:  # noqa: SIM105 - the server outlives a closed stdout
        os.write(1, line)
    except OSError:
        pass


class EmfReporter:
    """Writes the deltas of a Metrics since the last flush as EMF documents, one JSON line each."""

    def __init__(self, metrics: Metrics, namespace: str, environ: Mapping[str, str] | None = None,
                 write: Callable[[bytes], None] = _stdout, clock: Callable[[], float] = time.time) -> None:
        environ = os.environ if environ is None else environ
        self.metrics = metrics
        self.namespace = namespace
        self.write = write
        self.clock = clock
        self.dimensions: dict[str, str] = {"Service": SERVICE}
        function = environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        if function:
            self.dimensions = {"FunctionName": function[:MAX_DIMENSION_VALUE], **self.dimensions}
        self._last: dict[Any, int] = {}

    def _delta(self, key: Any, value: int) -> int:
        previous = self._last.get(key, 0)
        self._last[key] = value
        return value - previous

    def documents(self) -> list[dict[str, Any]]:
        """The documents for what changed since the last call (the cache counters always, zeros
        included, so a quiet period shows as 0 rather than as a gap)."""
        stamp = int(self.clock() * 1000)
        counts = {name: self._delta(attribute, getattr(self.metrics, attribute))
                  for attribute, name in COUNTS if isinstance(getattr(self.metrics, attribute, None), int)}
        documents = [self._document(stamp, {}, counts)]
        for (operation, outcome), total in sorted(self.metrics.upstream.items()):
            delta = self._delta(("upstream", operation, outcome), total)
            if delta:
                documents.append(self._document(stamp, {"Operation": operation, "Outcome": outcome},
                                                {"UpstreamCalls": delta}))
        for code, total in sorted(self.metrics.error_codes.items()):
            delta = self._delta(("error", code), total)
            if delta:
                documents.append(self._document(stamp, {"ErrorCode": code}, {"Errors": delta}))
        return documents

    def _document(self, stamp: int, extra: dict[str, str], values: dict[str, int]) -> dict[str, Any]:
        dimensions = {**self.dimensions, **{key: value[:MAX_DIMENSION_VALUE] for key, value in extra.items()}}
        directive = {"Namespace": self.namespace, "Dimensions": [list(dimensions)],
                     "Metrics": [{"Name": name, "Unit": "Count"} for name in values]}
        return {"_aws": {"Timestamp": stamp, "CloudWatchMetrics": [directive]}, **dimensions, **values}

    def flush(self) -> int:
        """Write the documents (one write, one line each); how many were written."""
        documents = self.documents()
        lines = b"".join(json.dumps(document, separators=(",", ":")).encode() + b"\n" for document in documents)
        self.write(lines)
        return len(documents)
