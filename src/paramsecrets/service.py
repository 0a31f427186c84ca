"""Answers requests: cache hits inline, misses through the reader, errors in the request's profile.

`respond` returns bytes when it can answer at once (a hit, an error, /ping) and a coroutine
when it must wait; the HTTP server writes the first directly and awaits the second. Every
answer is in one profile (profiles.py): the AWS extension's by default, the detailed one when
the process or the request asks for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

from paramsecrets import log, profiles, shapes
from paramsecrets.aws.errors import Kind, UpstreamError
from paramsecrets.cache import Cache, Entry, State
from paramsecrets.config import Settings
from paramsecrets.http import responses
from paramsecrets.http.parser import Request
from paramsecrets.metrics import Metrics
from paramsecrets.profiles import Profile
from paramsecrets.reader import Outcome, Reader, parameter_key, secret_key
from paramsecrets.routes import (
    METRICS,
    PING,
    ParameterRead,
    ParametersRead,
    PathRead,
    RequestError,
    Router,
    SecretRead,
)

CLOSE = b"Connection: close\r\n"
ALLOW_GET = b"Allow: GET\r\n"
SINGLE_READS = frozenset({ParameterRead, SecretRead, PathRead})
STALE_PATIENCE_S = 0.5  # a read that has a stale fallback waits at most this long for a fetch
REFUSAL_LINES_PER_S = 10  # refused requests logged per second at most; the rest are counted


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a background fetch's outcome as seen (nobody may be waiting for it any more)."""
    if not task.cancelled():
        task.exception()


def render(entry: Entry, now: float, state: bytes, keep_alive: bool, profile: Profile) -> bytes:
    """A cached answer with its per-request headers, as one buffer."""
    return b"%s%s%sAge: %d\r\nX-Paramsecrets-Cache: %s\r\n%s\r\n%s" % (
        entry.head, profile.type_line, responses.date_line(now), entry.age(now), state,
        b"" if keep_alive else CLOSE, entry.body)


def render_hit(entry: Entry, now: float, keep_alive: bool, profile: Profile) -> bytes:
    """The hot path: a keep-alive hit reuses its headers while neither `Date` nor `Age` changes.

    Both change once a second (on different boundaries): the head is kept with the interval of
    wall-clock time it is right for, so a hit costs one comparison and one concatenation.
    """
    if not keep_alive:
        return render(entry, now, b"hit", False, profile)
    if entry.hit_profile is profile and entry.hit_from <= now < entry.hit_until:
        return entry.hit_head + entry.body
    second = int(now)
    age = entry.age(now)
    entry.hit_head = b"%s%s%sAge: %d\r\nX-Paramsecrets-Cache: hit\r\n\r\n" % (
        entry.head, profile.type_line, responses.date_line(now), age)
    entry.hit_profile = profile
    age_from = entry.fetched_at + age
    entry.hit_from = max(second, age_from) if age_from <= now else second
    entry.hit_until = min(second + 1, age_from + 1)
    return entry.hit_head + entry.body


class RefusalLog:
    """Logs refused requests, at most REFUSAL_LINES_PER_S lines a second.

    A client (or an attacker) sending bad requests in a loop must not turn each one into a log
    write; the first refusal of a later second says how many were left out.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.second = -1
        self.logged = 0
        self.skipped = 0

    def __call__(self, message: str, *args: object) -> None:
        second = int(self.clock())
        if second != self.second:
            if self.skipped:
                log.info("%d more refused requests were not logged", self.skipped)
            self.second, self.logged, self.skipped = second, 0, 0
        if self.logged >= REFUSAL_LINES_PER_S:
            self.skipped += 1
            return
        self.logged += 1
        log.info(message, *args)


class Service:
    """The application behind the HTTP server."""

    def __init__(self, settings: Settings, router: Router, cache: Cache, reader: Reader,
                 metrics: Metrics) -> None:
        self.router = router
        self.cache = cache
        self.reader = reader
        self.metrics = metrics
        self.profile = profiles.DETAILED if settings.error_mode == "detailed" else profiles.AWS
        self.stale_ok = settings.stale_on_error
        self.sdk: Any = None  # paramsecrets.sdk.protocol.SdkProtocol when the SDK protocol is on (app.py)
        self.log_refusal = RefusalLog()

    def respond(self, request: Request) -> bytes | Coroutine[Any, Any, bytes]:
        """The answer to one request: the profile first (errors need it), then the router, whose
        guard holds the one method check (another protocol on this port, such as the SDKs'
        `POST /`, is dispatched before it)."""
        if request.method == b"POST" and request.target == b"/" and self.sdk is not None:
            return self.sdk.respond(request)  # an AWS SDK's own call (docs/sdk.md)
        profile = self.profile if request.profile is None else profiles.BY_NAME.get(request.profile)
        if profile is None:
            return self._request_error(RequestError(
                400, "BadRequest", f"{profiles.HEADER} must be one of: {', '.join(profiles.NAMES)}"),
                request, profiles.DETAILED)
        try:
            route = self.router.route(request, profile.detailed)
        except RequestError as error:
            return self._request_error(error, request, profile)
        kind = type(route)
        if kind in SINGLE_READS:
            entry = None
            if not route.refresh:  # type: ignore[union-attr]
                now = time.time()
                found = self.cache.lookup(route.key, now, route.alternate)  # type: ignore[union-attr]
                if found is not None:
                    entry, state = found
                    if state is not State.EXPIRED:
                        if state is State.REFRESH:
                            self.reader.refresh_ahead(entry)
                        self.metrics.hits += 1
                        return render_hit(entry, now, request.keep_alive, profile)
                    if self.stale_ok and now < entry.retry_after:  # backing off after a failure
                        self.metrics.stale += 1
                        return render(entry, now, b"stale", request.keep_alive, profile)
            return self._load(route, request, entry, profile)
        if route is PING:
            return responses.simple(200, responses.TEXT, b"healthy", request.keep_alive)
        if route is METRICS:
            body = self.metrics.render(len(self.cache), self.cache.bytes)
            return responses.simple(200, responses.PROMETHEUS, body, request.keep_alive)
        if kind is ParametersRead:
            decrypt = route.decrypt  # type: ignore[union-attr]
            return self._many(request, profile, self.reader.parameters(route),  # type: ignore[arg-type]
                              route.refresh,  # type: ignore[union-attr]
                              lambda name: (parameter_key(name, decrypt), parameter_key(name, not decrypt)),
                              self._parameters_body)
        return self._many(request, profile, self.reader.secrets(route),  # type: ignore[arg-type]
                          route.refresh,  # type: ignore[union-attr]
                          lambda name: (secret_key(name), None), self._secrets_body)

    # Single and path reads ---------------------------------------------------------------------

    async def _load(self, route: Any, request: Request, stale: Entry | None, profile: Profile) -> bytes:
        if route.refresh:
            self.metrics.refresh_now += 1
        else:
            self.metrics.misses += 1
        loading = asyncio.ensure_future(self.reader.load(route))
        loading.add_done_callback(_retrieve)
        try:
            if stale is not None and self.stale_ok:
                # With a last good value in hand, wait only so long: the fetch (and its retries) goes
                # on in the background and updates the cache when it succeeds.
                done, _ = await asyncio.wait((loading,), timeout=STALE_PATIENCE_S)
                if not done:
                    self.metrics.stale += 1
                    return render(stale, time.time(), b"stale", request.keep_alive, profile)
            entry = await loading
        except UpstreamError as error:
            fallback = self._stale_fallback(stale, error, route.refresh)
            if fallback is not None:
                return render(fallback, time.time(), b"stale", request.keep_alive, profile)
            return self._upstream_error(error, request, profile)
        return render(entry, time.time(), b"refresh" if route.refresh else b"miss", request.keep_alive, profile)

    def _stale_fallback(self, stale: Entry | None, error: UpstreamError, refresh: bool) -> Entry | None:
        """The last good value, when the failure is transient and staleness is allowed."""
        if stale is None or refresh or not self.stale_ok or not error.transient:
            return None
        if time.time() >= stale.expires_at + self.cache.max_staleness:
            return None
        self.metrics.stale += 1  # logged once per failed fetch (reader), not once per answer
        return stale

    # Batch reads -------------------------------------------------------------------------------

    async def _many(self, request: Request, profile: Profile, loading: Coroutine[Any, Any, dict[str, Outcome]],
                    refresh: bool, key_of: Callable[[str], Any],
                    body_of: Callable[[list[bytes], list[tuple[str, UpstreamError]]], bytes]) -> bytes:
        """Assemble a batch answer; a failure that is not per item fails the request (or goes stale)."""
        started = time.time()
        outcomes = await loading
        items: list[bytes] = []
        failed: list[tuple[str, UpstreamError]] = []
        state, oldest = b"hit", started
        for name, outcome in outcomes.items():
            if isinstance(outcome, UpstreamError):
                if outcome.per_item:
                    failed.append((name, outcome))
                    continue
                key, alternate = key_of(name)
                lookup = None if refresh else self.cache.lookup(key, time.time(), alternate)
                outcome = self._stale_fallback(lookup[0] if lookup else None, outcome, refresh)  # type: ignore[assignment]
                if outcome is None:
                    return self._upstream_error(outcomes[name], request, profile)  # type: ignore[arg-type]
                state = b"stale"
            elif outcome.fetched_at >= started and state == b"hit":
                state = b"refresh" if refresh else b"miss"
            if outcome.fetched_at >= started:
                self.metrics.misses += 1
            else:
                self.metrics.hits += 1
            items.append(outcome.body)  # type: ignore[union-attr]
            oldest = min(oldest, outcome.fetched_at)  # type: ignore[union-attr]
        body = body_of(items, failed)
        extra = b"Age: %d\r\nX-Paramsecrets-Cache: %s\r\n" % (max(0, int(time.time() - oldest)), state)
        return responses.simple(200, profile.success_type, body, request.keep_alive, extra)

    @staticmethod
    def _parameters_body(bodies: list[bytes], failed: list[tuple[str, UpstreamError]]) -> bytes:
        items = [shapes.parameter_item_bytes(body) for body in bodies]
        return shapes.parameters_body_from_items(items, [name for name, _ in failed])

    @staticmethod
    def _secrets_body(bodies: list[bytes], failed: list[tuple[str, UpstreamError]]) -> bytes:
        items = [shapes.secret_item_bytes(body) for body in bodies]
        errors = [{"SecretId": name, "ErrorCode": error.code, "Message": error.message} for name, error in failed]
        return shapes.secrets_body_from_items(items, errors)

    # Errors ------------------------------------------------------------------------------------

    def _request_error(self, error: RequestError, request: Request, profile: Profile) -> bytes:
        """A refused request, answered in `profile`; a request with a body is answered and closed."""
        self.metrics.errors += 1
        # A refused request with a body is answered with `Connection: close`, and the connection
        # closes after it (http/connection.py reads that from the answer's head).
        keep_alive = request.keep_alive and not (error.close or request.has_body)
        status = profiles.answered_status(profile, error.status)
        self.log_refusal("refused request: %s, %s (answered %d)", error.code, log.scrub(error.message)[:300], status)
        extra = ALLOW_GET if error.status == 405 else b""
        return profiles.error(profile, error.status, error.code, error.message, keep_alive, extra,
                              send_body=request.method != b"HEAD")

    def _upstream_error(self, error: UpstreamError, request: Request, profile: Profile) -> bytes:
        """A failed AWS call: logged with its code and message, answered in `profile`."""
        self.metrics.errors += 1
        status = profiles.answered_status(profile, error.status)
        level = log.info if error.kind is Kind.NOT_FOUND else log.warn
        message = log.scrub(error.message)
        level("upstream error %s: %s (answered %d)", error.code, message[:300], status)
        return profiles.error(profile, error.status, error.code, message, request.keep_alive)
