"""Answers requests: cache hits inline, misses through the reader, errors in the request's profile.

`respond` returns bytes when it can answer at once (a hit, an error, /ping) and a coroutine
when it must wait; the HTTP server writes the first directly and awaits the second. Every
answer is in one profile (profiles.py): the AWS extension's by default, the detailed one when
the process or the request asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, assert_never

from paramsecrets import log
from paramsecrets.api import profiles, rendering, replay
from paramsecrets.api.profiles import Profile
from paramsecrets.api.routes import (
    BATCH,
    SINGLE,
    BatchRead,
    ReadKind,
    Route,
    Router,
    signing_service,
)
from paramsecrets.aws.errors import Kind, UpstreamError
from paramsecrets.cache.front import CacheFront
from paramsecrets.cache.keys import Key
from paramsecrets.cache.policy import HIT
from paramsecrets.cache.reader import Reader
from paramsecrets.cache.store import Cache, Entry
from paramsecrets.clock import WALL_CLOCK, Clock
from paramsecrets.config import Settings
from paramsecrets.errors import AnswerError
from paramsecrets.http import responses
from paramsecrets.http.parser import Request
from paramsecrets.metrics import Metrics

if TYPE_CHECKING:
    from paramsecrets.api.sdk.auth import Verifier

ALLOW_GET = b"Allow: GET\r\n"
REFUSAL_LINES_PER_S = 10  # refused requests logged per second at most; the rest are counted
SIGV4_PREFIX = b"AWS4-"  # an Authorization header of another scheme is not ours to judge: the token rules


def sigv4_authorization(request: Request) -> bool:
    """Whether a GET carries a SigV4 `Authorization` (its headers are kept only then, or with a body)."""
    for name, value in request.headers:
        if name == b"authorization":
            return value.startswith(SIGV4_PREFIX)
    return False


class RefusalLog:
    """Logs refused requests, at most REFUSAL_LINES_PER_S lines a second.

    A client (or an attacker) sending bad requests in a loop must not turn each one into a log
    write; the first refusal of a later second says how many were left out.
    """

    def __init__(self, clock: Callable[[], float] = WALL_CLOCK.time) -> None:
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
                 metrics: Metrics, clock: Clock | None = None) -> None:
        self.router = router
        self.cache = cache
        self.reader = reader
        self.metrics = metrics
        self.clock = clock or cache.clock
        self.profile = profiles.DETAILED if settings.error_mode == "detailed" else profiles.AWS
        self.stale_ok = settings.stale_on_error
        self.front = CacheFront(cache, reader, metrics, self.stale_ok, self.clock)
        # Another protocol on this port may claim a request no route takes (the SDK protocol's
        # foreign-service answers, app.py): None when it is no such request.
        self.unrouted: Callable[[Request], bytes | None] | None = None
        self.verifier: Verifier | None = None  # SigV4 in place of the token on GET routes (app.py)
        self.log_refusal = RefusalLog(self.clock.time)
        self._last_hit: tuple[Request, Entry, Profile] | None = None

    def replay_for(self, request: Request) -> Callable[[], bytes | None] | None:
        """What answers the exact bytes of `request` again (paramsecrets.api.replay), if `respond`
        has just answered it as a keep-alive cache hit that repeats an earlier one within the same
        second (a replay is right for that second at most); None otherwise. The HTTP server asks."""
        last = self._last_hit
        if last is None or last[0] is not request or not request.keep_alive:
            return None
        return replay.make(last[1], last[2], request.token, cache=self.cache, token=self.router.token,
                           metrics=self.metrics, now=self.clock.time)

    def respond(self, request: Request) -> bytes | Coroutine[Any, Any, bytes]:
        """The answer to one request: the profile first (errors need it), then the router, whose
        guard holds the one method check (another protocol on this port, such as the SDKs'
        `POST /`, is dispatched before it: paramsecrets.api.dispatch)."""
        profile = self.profile if request.profile is None else profiles.BY_NAME.get(request.profile)
        if profile is None:
            return self._request_error(AnswerError(
                400, "BadRequest", f"{profiles.HEADER} must be one of: {', '.join(profiles.NAMES)}"),
                request, profiles.DETAILED)
        if request.headers and request.method == b"GET" and self.verifier is not None and sigv4_authorization(request):
            service = signing_service(request.target.partition(b"?")[0])
            if service is not None:
                return self._signed(request, profile, service)
        try:
            route = self.router.route(request, profile.detailed)
        except AnswerError as error:
            if error.status in (404, 405) and self.unrouted is not None:  # no route: another service's call?
                return self.unrouted(request) or self._request_error(error, request, profile)
            return self._request_error(error, request, profile)
        return self._answer(route, request, profile)

    async def _signed(self, request: Request, profile: Profile, service: str) -> bytes:
        """A GET signed with SigV4 in place of the token: a bad signature is refused even when the
        token is also there; a good one stands for the token."""
        from paramsecrets.api.sdk.auth import reason_of
        from paramsecrets.api.sdk.wire import SdkError

        assert self.verifier is not None
        try:
            await self.verifier.verify(request, service)
        except SdkError as error:
            return self._request_error(profiles.signed_get_refusal(error, reason_of(error)), request, profile)
        except UpstreamError as error:  # no AWS credentials to check against (the AWS client failed)
            return self._upstream_error(error, request, profile)
        try:
            route = self.router.route(request, profile.detailed, authenticated=True)
        except AnswerError as error:
            return self._request_error(error, request, profile)
        answer = self._answer(route, request, profile)
        return answer if isinstance(answer, bytes) else await answer

    def _answer(self, route: Route, request: Request, profile: Profile) -> bytes | Coroutine[Any, Any, bytes]:
        """The answer to a routed, authorised request, by the read's kind (routes.ReadKind)."""
        if route.kind is SINGLE:
            stale = None
            if not route.refresh:
                now = self.clock.time()
                found = self.cache.lookup(route.key, now, route.alternate)
                if found is not None:
                    entry = found[0]
                    if found[1] is HIT:  # the hot path
                        self.metrics.hits += 1
                        memo = entry.rendered
                        answer = rendering.hit(entry, now, request.keep_alive, profile)
                        # A repeat within the rendered head's second (its memo reused) may be
                        # replayed (replay_for, just after); a single hit costs no replay.
                        self._last_hit = (request, entry, profile) if entry.rendered is memo else None
                        return answer
                    state = self.front.judge(entry, found[1])
                    if state is rendering.HIT:
                        return rendering.hit(entry, now, request.keep_alive, profile)
                    if state is not None:
                        return rendering.answer(entry, now, state, request.keep_alive, profile)
                    stale = entry
                remembered = self.front.remembered_error(route.key)
                if remembered is not None:  # not found, denied or invalid a moment ago: no call
                    return self._upstream_error(remembered, request, profile)
            return self._single(route.key, route.refresh, request, stale, profile)
        if route.kind is BATCH:
            return self._many(route, request, profile)
        if route.kind is ReadKind.PING:
            return responses.simple(200, responses.TEXT, b"healthy", request.keep_alive)
        if route.kind is ReadKind.METRICS:
            body = self.metrics.render(len(self.cache), self.cache.bytes)
            return responses.simple(200, responses.PROMETHEUS, body, request.keep_alive)
        assert_never(route)  # a new ReadKind must be answered above: mypy says which is missing

    async def _single(self, key: Key, refresh: bool, request: Request, stale: Entry | None,
                      profile: Profile) -> bytes:
        try:
            entry, state = await self.front.fetch(key, refresh, stale, recalled=True)  # _answer asked
        except UpstreamError as error:
            return self._upstream_error(error, request, profile)
        return rendering.answer(entry, self.clock.time(), state, request.keep_alive, profile)

    # Batch reads -------------------------------------------------------------------------------

    async def _many(self, read: BatchRead, request: Request, profile: Profile) -> bytes:
        """Assemble a batch answer; a failure that is not per item fails the request (or goes stale)."""
        started = self.clock.time()
        outcomes = await read.load(self.reader)
        items: list[bytes] = []
        failed: list[tuple[str, UpstreamError]] = []
        state, oldest = rendering.HIT, started
        for name, outcome in outcomes.items():
            if isinstance(outcome, UpstreamError):
                if outcome.per_item:
                    failed.append((name, outcome))
                    continue
                fallback = self.front.batch_item(outcome, *read.key_of(name), read.refresh)
                if fallback is None:
                    return self._upstream_error(outcome, request, profile)
                entry, state = fallback, rendering.STALE
            else:
                entry = outcome
                if entry.fetched_at >= started and state is rendering.HIT:
                    state = rendering.REFRESH if read.refresh else rendering.MISS
            if entry.fetched_at >= started:
                self.metrics.misses += 1
            else:
                self.metrics.hits += 1
            items.append(entry.body)
            oldest = min(oldest, entry.fetched_at)
        body = read.render(items, failed)
        extra = rendering.cache_headers(max(0, int(self.clock.time() - oldest)), state)
        return responses.simple(200, profile.success_type, body, request.keep_alive, extra)

    # Errors ------------------------------------------------------------------------------------

    def _request_error(self, error: AnswerError, request: Request, profile: Profile) -> bytes:
        """A refused request, answered in `profile`; a request with a body is answered and closed."""
        self.metrics.errors += 1
        self.metrics.count_error(error.code)
        # A refused request with a body is answered with `Connection: close`, and the connection
        # closes after it (http/connection.py reads that from the answer's head).
        keep_alive = request.keep_alive and not (error.close or request.has_body)
        status = profiles.answered_status(profile, error.status)
        self.log_refusal("refused request: %s, %s (answered %d)", error.code, log.scrub(error.message)[:300], status)
        extra = ALLOW_GET if error.status == 405 else b""
        return profiles.answer(error, profile, keep_alive, extra, send_body=request.method != b"HEAD")

    def _upstream_error(self, error: UpstreamError, request: Request, profile: Profile) -> bytes:
        """A failed AWS call: logged with its code and message, answered in `profile`."""
        self.metrics.errors += 1
        self.metrics.count_error(error.code)
        answered = profiles.from_upstream(error, log.scrub(error.message))
        status = profiles.answered_status(profile, answered.status)
        if error.cached:  # remembered (paramsecrets.cache.error_cache): logged at info when it was fetched
            log.debug("remembered upstream error %s (answered %d)", error.code, status)
            return profiles.answer(answered, profile, request.keep_alive, cache_state=rendering.HIT)
        level = log.info if error.kind is Kind.NOT_FOUND else log.warn
        level("upstream error %s: %s (answered %d)", error.code, answered.message[:300], status)
        return profiles.answer(answered, profile, request.keep_alive)
