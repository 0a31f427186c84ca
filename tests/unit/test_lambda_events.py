"""The extension's event loop and start-up import, in-process: what a cold start's first invoke waits for.

Lambda (and the RIE) answers an invoke only once every extension has asked for its next event, so the
event thread must turn an INVOKE round at once, even while the import thread is busy.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable

import pytest

from paramsecrets.process import boot
from paramsecrets.process.lambda_ext import ExtensionsApiError, Lifecycle, run_events

INVOKE = (b'{"eventType":"INVOKE","deadlineMs":1700000003000,"requestId":"r1",'
          b'"invokedFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:f","tracing":{}}')
SHUTDOWN = b'{"eventType": "SHUTDOWN", "shutdownReason": "spindown", "deadlineMs": 1700000002000}'


class ScriptedApi:
    """Hands out the scripted events (or raises a scripted error), counting `next` calls."""

    def __init__(self, *events: bytes | Exception) -> None:
        self.events = list(events)
        self.nexts = 0
        self.sent_calls = 0

    def next_event(self, sent: object = None) -> bytes:
        self.nexts += 1
        if callable(sent):
            sent()
            self.sent_calls += 1
        event = self.events.pop(0)
        if isinstance(event, Exception):
            raise event
        return event


def run(api: ScriptedApi) -> tuple[Lifecycle, list[str]]:
    lifecycle = Lifecycle()
    errors: list[str] = []
    run_events(api, lifecycle, errors.append, first_sent=lambda: None)  # type: ignore[arg-type]
    return lifecycle, errors


def test_invokes_are_turned_round_until_shutdown() -> None:
    api = ScriptedApi(INVOKE, INVOKE, INVOKE, SHUTDOWN)
    lifecycle, errors = run(api)
    assert api.nexts == 4
    assert api.sent_calls == 1  # `first_sent` marks only the first `next` (the end of our INIT)
    assert lifecycle.shutdown_reason == "spindown"
    assert errors == []


def test_a_shutdown_that_is_not_json_stops_the_loop_with_a_reason() -> None:
    lifecycle, errors = run(ScriptedApi(INVOKE, b'{"eventType":"SHUTDOWN",'))
    assert lifecycle.shutdown_reason == "ExtensionsApiError"
    assert len(errors) == 1 and errors[0].startswith("leaving the Lambda event loop:")


def test_the_api_going_away_stops_the_loop() -> None:
    lifecycle, errors = run(ScriptedApi(INVOKE, ExtensionsApiError("event/next answered HTTP 500")))
    assert lifecycle.shutdown_reason == "ExtensionsApiError"
    assert errors == ["leaving the Lambda event loop: event/next answered HTTP 500"]


def test_the_start_up_import_hands_the_gil_over_quickly_then_restores_the_interval(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []
    monkeypatch.setattr(boot, "_import_server", lambda: seen.append(sys.getswitchinterval()))
    before = sys.getswitchinterval()
    boot.import_at_low_priority()
    assert seen == [pytest.approx(boot.IMPORT_SWITCH_INTERVAL_S)]
    assert sys.getswitchinterval() == before


def _in_a_thread(work: Callable[[], object]) -> list[object]:
    """Run `work` in a fresh thread (scheduling changes stay there) and return what it gave."""
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(work()))
    thread.start()
    thread.join()
    return out


def test_the_import_thread_runs_only_on_idle_cpu() -> None:
    def lower_and_look() -> tuple[str, int]:
        return boot.lower_this_threads_priority(), os.sched_getscheduler(0)

    assert _in_a_thread(lower_and_look) == [("idle", os.SCHED_IDLE)]
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # only that thread: the server runs as before


def test_where_sched_idle_is_refused_the_import_thread_is_niced(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> None:
        raise PermissionError("not here")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)

    def lower_and_look() -> tuple[str, int]:
        return boot.lower_this_threads_priority(), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    if os.getpriority(os.PRIO_PROCESS, 0) > boot.LOW_PRIORITY:
        pytest.skip("this suite already runs above nice 10")
    assert _in_a_thread(lower_and_look) == [("nice", boot.LOW_PRIORITY)]
