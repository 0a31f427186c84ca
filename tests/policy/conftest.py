"""In-process policy tests: the real Service, Reader and Cache on a FakeClock and a FakeUpstream.

Nothing here sleeps or measures time: the clock moves only when a test says so, so every
assertion is exact (which answer, which state, how many calls, at what fake time).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any
from urllib.parse import quote

import pytest

from paramsecrets.cache import Entry
from paramsecrets.keys import Key, ParameterKey
from paramsecrets.testing.clock import START
from paramsecrets.testing.stack import Stack

PARAM = "/systemsmanager/parameters/get?name="
MANY = "/systemsmanager/parameters/get-many?"
BY_PATH = "/systemsmanager/parameters/get-by-path?path="
SECRET = "/secretsmanager/get?secretId="
SECRETS_MANY = "/secretsmanager/get-many?"
T0 = START  # the fake clock's start: every test's first fetch happens here


def q(value: str) -> str:
    return quote(value, safe="/")


def param(name: str, decrypt: bool = False, refresh: bool = False) -> str:
    url = PARAM + q(name)
    if decrypt:
        url += "&withDecryption=true"
    if refresh:
        url += "&refreshNow=true"
    return url


def many(names: list[str], decrypt: bool = False, refresh: bool = False) -> str:
    url = MANY + "&".join("name=" + q(name) for name in names)
    return url + ("&withDecryption=true" if decrypt else "") + ("&refreshNow=true" if refresh else "")


def secrets_many(ids: list[str]) -> str:
    return SECRETS_MANY + "&".join("secretId=" + q(i) for i in ids)


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
