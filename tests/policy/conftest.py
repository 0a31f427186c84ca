"""In-process policy tests: the real Service, Reader and Cache on a FakeClock and a FakeUpstream.

Nothing here sleeps or measures time: the clock moves only when a test says so, so every
assertion is exact (which answer, which state, how many calls, at what fake time).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

from paramsecrets.cache.keys import Key, ParameterKey
from paramsecrets.cache.store import Entry
from paramsecrets.testing.clock import START
from paramsecrets.testing.stack import Stack
from paramsecrets.testing.targets import BY_PATH, SECRET, many_url, param_url, q, secrets_many_url

__all__ = ["BY_PATH", "SECRET", "T0", "entry", "many", "param", "q", "secrets_many", "value"]

T0 = START  # the fake clock's start: every test's first fetch happens here
param = param_url
many = many_url
secrets_many = secrets_many_url


def value(answer: object) -> str:
    body = answer.json  # type: ignore[attr-defined]
    return str(body["Parameter"]["Value"])


def entry(stack: Stack, key: Key | str) -> Entry:
    """The cache entry for `key` (a parameter name: read without decryption)."""
    found = stack.cache.peek(ParameterKey(key, False) if isinstance(key, str) else key)
    assert found is not None, key
    return found


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: Any) -> bool | None:
    """Run `async def` tests on a fresh event loop (no plugin needed: nothing here waits on I/O)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**arguments))
    return True
