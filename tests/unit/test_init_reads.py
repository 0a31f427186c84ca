"""Reads during Lambda's INIT end before INIT does, and every failure to reach AWS says what failed
(issue 22, item 2). In process: the INIT window on a fake clock, the transport with its connection
step replaced (blackholed, refused, DNS, connected but silent), no credentials needed. Outcomes and
attempt counts are asserted, never durations.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

import pytest

from paramsecrets.aws import transport as transport_module
from paramsecrets.aws.endpoints import Endpoint
from paramsecrets.aws.errors import Kind, UpstreamError, network_error
from paramsecrets.aws.transport import SSM, AwsJsonTransport, connect_failure, lambda_network_hint
from paramsecrets.init_window import InitWindow, for_lambda

ENDPOINT = Endpoint("https", "ssm.us-east-1.amazonaws.com", 443)
HINT = lambda_network_hint(SSM, "us-east-1")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------- the window, on a fake clock


def test_the_window_counts_down_from_the_start_less_the_margin() -> None:
    clock = FakeClock()
    over = [False]
    window = InitWindow(started=100.0, is_over=lambda: over[0], clock=clock)
    assert window.remaining() == 9.0  # 10 s of INIT, 1 s kept for the function to hear why
    clock.now = 106.5
    assert window.remaining() == 2.5
    clock.now = 112.0
    assert window.remaining() == 0.0
    over[0] = True  # the first event came: INIT is over, no bound any more
    assert window.remaining() is None


@pytest.mark.parametrize(("init_type", "bounded"), [
    (None, True), ("on-demand", True), ("provisioned-concurrency", False), ("snap-start", False),
])
def test_only_on_demand_init_has_the_ten_second_bound(init_type: str | None, bounded: bool) -> None:
    environ = {} if init_type is None else {"AWS_LAMBDA_INITIALIZATION_TYPE": init_type}
    window = for_lambda(environ, 0.0, lambda: False, FakeClock())
    assert (window is not None) is bounded


# ---------------------------------------------------------------- the transport, connection step faked


class NeverCompletes:
    """An HTTP stream AWS never answers: its completion future never resolves."""

    def __init__(self) -> None:
        self.completion_future: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def activate(self) -> None:
        pass


class SilentConnection:
    """A connection that was made, and on which nothing ever comes back."""

    def request(self, *_: Any) -> NeverCompletes:
        return NeverCompletes()

    def close(self) -> None:
        pass

    def is_open(self) -> bool:
        return True


class Faked(AwsJsonTransport):
    """The real transport's policy (deadline, attempts, stages, messages) with the network replaced.

    `failure` is what connecting does: "blackhole" (the attempt's short connect, if any, times out
    as awscrt's would, otherwise it hangs), an awscrt error name, or "connected" (a silent peer).
    """

    def __init__(self, failure: str, window: InitWindow | None = None, hint: str | None = None,
                 timeout_s: float = 3.0) -> None:
        super().__init__(SSM, ENDPOINT, "us-east-1", None, 4, timeout_s=timeout_s,  # type: ignore[arg-type]
                         init_window=window, network_hint=hint)
        self.failure = failure
        self.connects = 0

    async def _signed_request(self, operation: str, body: bytes) -> Any:
        return object()

    async def _connect(self) -> Any:
        self.connects += 1
        state = transport_module._ATTEMPT.get()
        if self.failure == "connected":
            return SilentConnection()
        if self.failure == "blackhole":
            if state is not None and state.connect_s is not None:
                await asyncio.sleep(state.connect_s)
                name = "AWS_IO_SOCKET_TIMEOUT"
            else:
                await asyncio.Event().wait()
                raise AssertionError("unreachable")
        else:
            name = self.failure
        detail = connect_failure(name, ENDPOINT, None, None)
        if name in transport_module.NETWORK_PATH_FAILURES and self.network_hint:
            detail = f"{detail}; {self.network_hint}"
        raise network_error(detail)


def _call(transport: Faked) -> UpstreamError:
    async def scenario() -> UpstreamError:
        with pytest.raises(UpstreamError) as caught:
            await transport.call("GetParameter", {"Name": "/p"})
        return caught.value

    return asyncio.run(scenario())


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("paramsecrets.aws.transport.random.uniform", lambda low, high: 0.0)


def _window(limit_s: float, first_connect_s: float = 0.05, min_attempt_s: float = 1.0) -> InitWindow:
    import time

    return InitWindow(time.monotonic(), lambda: False, limit_s=limit_s, margin_s=0.0,
                      first_connect_s=first_connect_s, min_attempt_s=min_attempt_s)


def test_in_init_a_blackholed_aws_costs_what_is_left_of_init_and_says_so() -> None:
    """Before: 3 attempts of 3 s each (9 s of a 10 s INIT), then `SSM did not answer within 3s`.
    Now: the first connect gives up early, one retry fits in what is left, and none after it."""
    transport = Faked("blackhole", _window(limit_s=2.0), HINT)
    error = _call(transport)
    assert transport.connects == 2
    assert error.kind is Kind.TIMEOUT
    assert error.message.startswith("could not connect to SSM at ssm.us-east-1.amazonaws.com:443 within ")
    assert "no answer (or no TLS handshake" in error.message
    assert "did not answer within" not in error.message
    assert error.message.endswith(HINT)
    assert "com.amazonaws.us-east-1.ssm" in HINT and "NAT gateway" in HINT


def test_in_init_no_retry_starts_that_could_not_finish() -> None:
    transport = Faked("blackhole", _window(limit_s=0.5, first_connect_s=0.05, min_attempt_s=1.0))
    error = _call(transport)
    assert transport.connects == 1
    assert "the connection to ssm.us-east-1.amazonaws.com:443 timed out" in error.message


def test_in_init_with_no_time_left_nothing_is_attempted() -> None:
    clock = FakeClock()
    window = InitWindow(started=clock.now - 9.5, is_over=lambda: False, clock=clock)
    transport = Faked("blackhole", window)
    error = _call(transport)
    assert transport.connects == 0
    assert error.kind is Kind.TIMEOUT and "no time left in Lambda's INIT phase" in error.message


def test_after_init_the_usual_three_attempts() -> None:
    window = InitWindow(0.0, lambda: True)  # INIT is over
    transport = Faked("AWS_IO_SOCKET_CONNECTION_REFUSED", window, HINT)
    error = _call(transport)
    assert transport.connects == 3
    assert error.kind is Kind.UNAVAILABLE and error.code == "BadGateway"
    assert error.message == ("could not reach AWS: ssm.us-east-1.amazonaws.com:443 refused the connection: "
                             "nothing listens there (AWS_IO_SOCKET_CONNECTION_REFUSED)")


@pytest.mark.parametrize(("name", "says"), [
    ("AWS_IO_DNS_INVALID_NAME", "DNS could not resolve ssm.us-east-1.amazonaws.com"),
    ("AWS_IO_DNS_QUERY_FAILED", "DNS could not resolve ssm.us-east-1.amazonaws.com"),
    ("AWS_IO_SOCKET_NO_ROUTE_TO_HOST", "ssm.us-east-1.amazonaws.com:443 is unreachable"),
    ("AWS_IO_SOCKET_NETWORK_DOWN", "ssm.us-east-1.amazonaws.com:443 is unreachable"),
    ("AWS_IO_SOCKET_TIMEOUT", "the connection to ssm.us-east-1.amazonaws.com:443 timed out"),
])
def test_each_network_failure_is_named_with_the_lambda_fix(name: str, says: str) -> None:
    error = _call(Faked(name, None, HINT))
    assert says in error.message and name in error.message
    assert error.message.endswith(HINT)


def test_a_refusal_or_a_tls_failure_is_no_vpc_problem() -> None:
    for name in ("AWS_IO_SOCKET_CONNECTION_REFUSED", "AWS_IO_TLS_ERROR_NEGOTIATION_FAILURE"):
        assert HINT not in _call(Faked(name, None, HINT)).message


def test_outside_lambda_no_hint() -> None:
    assert "VPC" not in _call(Faked("AWS_IO_DNS_INVALID_NAME")).message


def test_connected_but_silent_is_no_answer_not_a_connection_failure() -> None:
    transport = Faked("connected", None, HINT, timeout_s=0.05)
    error = _call(transport)
    assert error.kind is Kind.TIMEOUT
    assert error.message.startswith("SSM at ssm.us-east-1.amazonaws.com:443 accepted the connection but did not "
                                    "answer within ")
    assert HINT not in error.message  # a connection was made: the network has a way to AWS
    assert transport.connects == 3  # three attempts, each on a fresh connection (a timed-out one is closed)


def test_init_is_over_at_the_first_event() -> None:
    from paramsecrets.process.lambda_ext import Lifecycle, run_events

    seen: list[bool] = []
    lifecycle = Lifecycle(started=1.0)

    class Api:
        events = [b'{"eventType":"INVOKE"}', b'{"eventType":"SHUTDOWN","shutdownReason":"spindown"}']

        def next_event(self, sent: Any = None) -> bytes:
            seen.append(lifecycle.init_over)
            return self.events.pop(0)

    run_events(Api(), lifecycle, lambda message: None)  # type: ignore[arg-type]
    assert seen == [False, True] and lifecycle.init_over
