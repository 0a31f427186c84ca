"""Remembered errors: a name that is not found, denied or invalid is not asked again for a while.

A function that keeps asking for a missing parameter would otherwise spend the account's quota
on every request. Only definitive answers are remembered (not found, denied, invalid), for
PARAMETERS_SECRETS_EXTENSION_ERROR_TTL seconds (at most the service's TTL; 0 = never, the AWS
layer's behaviour). Throttling, 5xx, network failures and timeouts never are: stale on error
covers those. `refreshNow` skips a remembered error; an SDK-protocol write that can change the
name drops it (paramsecrets.api.sdk.forward). Kept apart from the cache of values, so the hit path
of values is untouched and an error never takes a value's place.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from paramsecrets.aws.errors import Kind, UpstreamError
from paramsecrets.cache.keys import Key

REMEMBERED_KINDS = frozenset({Kind.NOT_FOUND, Kind.DENIED, Kind.INVALID})
MAX_ERRORS = 1000  # names remembered at once; the oldest go first


def rememberable(error: UpstreamError) -> bool:
    return error.kind in REMEMBERED_KINDS and not error.transient


def replayed(error: UpstreamError) -> UpstreamError:
    """A copy of `error` marked as answered from memory (X-Paramsecrets-Cache: hit)."""
    copy = UpstreamError(error.kind, error.code, error.message, error.per_item)
    copy.upstream_status = error.upstream_status
    copy.cached = True
    return copy


class ErrorCache:
    """Key -> (error, until when); bounded, oldest dropped first."""

    def __init__(self, max_errors: int = MAX_ERRORS) -> None:
        self.max_errors = max_errors
        self._errors: OrderedDict[Key, tuple[UpstreamError, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._errors)

    def remember(self, key: Key, error: UpstreamError, ttl: float, now: float) -> bool:
        """Keep `error` for `key` for `ttl` seconds if it is definitive; whether it was kept."""
        if ttl <= 0 or not rememberable(error):
            return False
        self._errors.pop(key, None)
        self._errors[key] = (error, now + ttl)
        while len(self._errors) > self.max_errors:
            self._errors.popitem(last=False)
        return True

    def recall(self, key: Key, now: float) -> UpstreamError | None:
        """The remembered error for `key` (marked as cached), or None once it has expired."""
        found = self._errors.get(key)
        if found is None:
            return None
        error, until = found
        if now >= until:
            del self._errors[key]
            return None
        return replayed(error)

    def forget(self, key: Key) -> None:
        self._errors.pop(key, None)

    def discard_where(self, doomed: Callable[[Key], bool]) -> int:
        """Drop every remembered error whose key `doomed` accepts (an SDK write); how many."""
        keys = [key for key in self._errors if doomed(key)]
        for key in keys:
            del self._errors[key]
        return len(keys)
