"""Item 3: one overall deadline per upstream call, the wait for a connection slot included;
item 9: a timed-out attempt prints no awscrt `InvalidStateError: CANCELLED` traceback."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any

import pytest

from paramsecrets.aws.errors import Kind, UpstreamError
from paramsecrets.aws.transport import SSM, AwsJsonTransport, crt_result
from paramsecrets.testing.fault_proxy import FaultProxy
from paramsecrets.testing.server import ServerProcess

CALLS = 6
ATTEMPTS = 3


class Stalled(AwsJsonTransport):
    """A transport whose AWS never answers: every attempt hangs until its timeout."""

    def __init__(self, max_connections: int, timeout_s: float = 0.05) -> None:
        super().__init__(SSM, None, "us-east-1", None, max_connections, timeout_s=timeout_s,  # type: ignore[arg-type]
                         attempts=ATTEMPTS)
        self.sent = 0

    async def _send(self, operation: str, body: bytes) -> dict[str, Any]:
        self.sent += 1
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def test_calls_queued_for_a_slot_give_up_at_their_deadline() -> None:
    """6 calls, 1 slot, AWS stalled: before, every call waited its turn (6 x 3 = 18 attempts, the last
    answer after 18 timeouts); now each call ends at its own deadline of 3 timeouts, queued or not."""
    async def scenario() -> tuple[list[Any], int]:
        transport = Stalled(max_connections=1)
        outcomes = await asyncio.gather(*(transport.call("GetParameter", {}) for _ in range(CALLS)),
                                        return_exceptions=True)
        return outcomes, transport.sent

    outcomes, sent = asyncio.run(scenario())
    assert all(isinstance(outcome, UpstreamError) and outcome.kind is Kind.TIMEOUT for outcome in outcomes)
    # One slot, held a full timeout by each attempt, inside a window of ~3 timeouts: far fewer than 18.
    assert sent < CALLS * ATTEMPTS // 2
    messages = {outcome.message for outcome in outcomes}
    assert any("became free" in message for message in messages)


def test_one_call_still_makes_all_its_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("paramsecrets.aws.transport.random.uniform", lambda low, high: 0.0)  # no pause between attempts

    async def scenario() -> int:
        transport = Stalled(max_connections=4, timeout_s=0.5)
        with pytest.raises(UpstreamError):
            await transport.call("GetParameter", {})
        return transport.sent

    assert asyncio.run(scenario()) == ATTEMPTS


def test_a_cancelled_wait_leaves_the_crt_future_alone() -> None:
    """awscrt completes its own futures; cancelling them made it print InvalidStateError: CANCELLED."""
    async def scenario() -> concurrent.futures.Future[int]:
        future: concurrent.futures.Future[int] = concurrent.futures.Future()
        waiting = asyncio.ensure_future(crt_result(future))
        await asyncio.sleep(0)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        future.set_result(1)  # what awscrt does later; raises InvalidStateError if it was cancelled
        await asyncio.sleep(0)
        return future

    assert asyncio.run(scenario()).result() == 1


def test_a_timed_out_attempt_prints_no_traceback(serve: Callable[..., ServerProcess], proxy: FaultProxy) -> None:
    server = serve(PARAMETERS_SECRETS_EXTENSION_SSM_TIMEOUT_MILLIS="200")
    proxy.blackhole()
    answer = server.get("/systemsmanager/parameters/get?name=/p")
    assert answer.status == 504
    assert server.stop() == 0
    output = server.output()
    assert "InvalidStateError" not in output and "Exception ignored" not in output and "Traceback" not in output


def test_a_stalled_backend_answers_every_queued_request(serve: Callable[..., ServerProcess],
                                                         proxy: FaultProxy) -> None:
    """The issue's case: 12 concurrent refreshNow reads, 1 connection slot, AWS not answering: every
    read gets its 504 at its own deadline instead of queueing for 12 x 3 attempts."""
    server = serve(PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS="1",
                   PARAMETERS_SECRETS_EXTENSION_SSM_TIMEOUT_MILLIS="200")
    proxy.blackhole()
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(
            lambda n: server.get(f"/systemsmanager/parameters/get?name=/p{n}&refreshNow=true"), range(12)))
    assert [answer.status for answer in answers] == [504] * 12
    assert proxy.total(outcome="blackholed") < 12 * 3 // 2
