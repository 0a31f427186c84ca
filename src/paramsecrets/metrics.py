"""Aggregate counters in Prometheus text format. Never a name of a parameter or secret."""

from __future__ import annotations

from collections import Counter

MAX_ERROR_CODES = 64  # distinct error codes counted by name; the rest as "Other"

COUNTERS = (
    ("hits", "paramsecrets_cache_hits_total", "Reads answered from a fresh cache entry."),
    ("misses", "paramsecrets_cache_misses_total", "Reads that had to wait for an upstream fetch."),
    ("stale", "paramsecrets_cache_stale_served_total",
     "Reads answered with an expired value because the refresh failed transiently."),
    ("refresh_ahead", "paramsecrets_refresh_ahead_total", "Background refreshes of entries near expiry."),
    ("refresh_now", "paramsecrets_refresh_now_total", "Reads with refreshNow=true."),
    ("errors", "paramsecrets_request_errors_total", "Requests answered with an error status."),
    ("too_large", "paramsecrets_cache_too_large_total",
     "Answers served but not cached: larger than the cache's byte bound (CACHE_MAX_BYTES)."),
    ("error_hits", "paramsecrets_cached_error_answers_total",
     "Reads answered with a remembered not-found, denied or invalid error, without a call."),
    ("errors_remembered", "paramsecrets_errors_remembered_total",
     "Definitive errors remembered for the error TTL."),
    ("revalidated", "paramsecrets_secrets_revalidated_total",
     "Due secrets kept because DescribeSecret showed the same version (no GetSecretValue)."),
    ("revalidation_fallbacks", "paramsecrets_revalidation_fallbacks_total",
     "Revalidations that could not ask DescribeSecret and fetched the value instead."),
    ("assume_role", "paramsecrets_assume_role_total", "STS AssumeRole calls for roleArn reads."),
)


class Metrics:
    """Plain integer attributes: incrementing one is the only cost on the hit path."""

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self.stale = 0
        self.refresh_ahead = 0
        self.refresh_now = 0
        self.errors = 0
        self.too_large = 0
        self.error_hits = 0
        self.errors_remembered = 0
        self.revalidated = 0
        self.revalidation_fallbacks = 0
        self.assume_role = 0
        self.prefetched = 0
        self.upstream: Counter[tuple[str, str]] = Counter()
        self.error_codes: Counter[str] = Counter()  # answered errors by code (EMF; never a name)

    def count_error(self, code: str) -> None:
        """One error answer by its code (our names or AWS's: a bounded set, capped all the same)."""
        if code not in self.error_codes and len(self.error_codes) >= MAX_ERROR_CODES:
            code = "Other"
        self.error_codes[code] += 1

    def record_upstream(self, operation: str, outcome: str) -> None:
        """One upstream attempt: outcome is ok, not_found, denied, invalid, throttled, unavailable, timeout."""
        self.upstream[(operation, outcome)] += 1

    def render(self, entries: int, cached_bytes: int) -> bytes:
        lines: list[str] = []
        for attribute, name, help_text in COUNTERS:
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {getattr(self, attribute)}"]
        name = "paramsecrets_upstream_calls_total"
        lines += [f"# HELP {name} Upstream call attempts by operation and outcome.", f"# TYPE {name} counter"]
        for (operation, outcome), count in sorted(self.upstream.items()):
            lines.append(f'{name}{{operation="{operation}",outcome="{outcome}"}} {count}')
        for name, help_text, value in (
            ("paramsecrets_cache_entries", "Entries held in the cache.", entries),
            ("paramsecrets_cache_bytes", "Bytes held in the cache (payloads and overhead).", cached_bytes),
            ("paramsecrets_prefetched_total", "Entries stored by the start-up prefetch.", self.prefetched),
        ):
            kind = "counter" if name.endswith("_total") else "gauge"
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
        return ("\n".join(lines) + "\n").encode()
