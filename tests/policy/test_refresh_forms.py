"""refreshNow on one form of a parameter refreshes every cached form of it, exactly.

A parameter can be cached under several keys (with and without decryption, by ARN, and inside the
listings of get-many and get-by-path). After a fetch, every other form holding another version is
dropped (paramsecrets.cache.superseded): the next read of it asks AWS again, or, for a String, is
answered by the fresh entry. Forms holding the version just fetched, and forms naming a version,
stay. Counts of upstream calls are exact: nothing is fetched twice that need not be.
"""

from __future__ import annotations

from paramsecrets.cache.keys import ParameterKey, PathKey
from paramsecrets.cache.superseded import path_prefixes
from paramsecrets.testing.stack import Stack
from tests.policy.conftest import BY_PATH, many, param, q, value

NAME = "/app/db/host"


def by_path(path: str, decrypt: bool = False, refresh: bool = False) -> str:
    return BY_PATH + q(path) + ("&withDecryption=true" if decrypt else "") + ("&refreshNow=true" if refresh else "")


def values(answer: object) -> list[str]:
    return [p["Value"] for p in answer.json["Parameters"]]  # type: ignore[attr-defined]


def test_path_prefixes_name_every_listing_that_may_hold_a_name() -> None:
    assert path_prefixes("/a/b/c") == ["/", "/a", "/a/", "/a/b", "/a/b/"]
    assert path_prefixes("plain") == []


async def test_refresh_of_the_plain_form_reaches_the_decrypted_form_of_a_string() -> None:
    """The issue's case: decrypted first, plain as a hit, change, refreshNow on plain."""
    stack = Stack()
    stack.upstream.put_parameter(NAME, "v1")
    assert value(await stack.get(param(NAME, decrypt=True))) == "v1"
    plain = stack.answered_at_once(param(NAME))
    assert (value(plain), plain.cache) == ("v1", "hit")  # one entry serves both forms of a String
    stack.upstream.put_parameter(NAME, "v2")
    refreshed = await stack.get(param(NAME, refresh=True))
    assert (value(refreshed), refreshed.cache) == ("v2", "refresh")
    decrypted = stack.answered_at_once(param(NAME, decrypt=True))  # answered by the fresh plain entry
    assert (value(decrypted), decrypted.cache) == ("v2", "hit")
    assert stack.cache.peek(ParameterKey(NAME, True)) is None
    assert stack.upstream.calls["GetParameter"] == 2


async def test_refresh_of_the_decrypted_form_reaches_the_plain_form() -> None:
    stack = Stack()
    stack.upstream.put_parameter(NAME, "v1")
    await stack.get(param(NAME))
    await stack.get(param(NAME, decrypt=True))  # a hit on the plain entry: no second entry
    stack.upstream.put_parameter(NAME, "v2")
    assert value(await stack.get(param(NAME, decrypt=True, refresh=True))) == "v2"
    assert value(stack.answered_at_once(param(NAME))) == "v2"
    assert stack.upstream.calls["GetParameter"] == 2


async def test_a_secure_string_refreshed_in_one_form_is_fetched_again_in_the_other() -> None:
    """The plain form of a SecureString is its ciphertext, a separate entry: it must not outlive the change."""
    stack = Stack()
    stack.upstream.put_parameter(NAME, "s1", kind="SecureString")
    assert value(await stack.get(param(NAME, decrypt=True))) == "s1"
    assert value(await stack.get(param(NAME))) == "encrypted:1s"
    stack.upstream.put_parameter(NAME, "s2", kind="SecureString")
    assert value(await stack.get(param(NAME, decrypt=True, refresh=True))) == "s2"
    assert stack.cache.peek(ParameterKey(NAME, False)) is None
    again = await stack.get(param(NAME))
    assert (value(again), again.cache) == ("encrypted:2s", "miss")
    assert stack.upstream.calls["GetParameter"] == 4


async def test_entries_made_by_get_many_with_decryption_see_the_refresh() -> None:
    stack = Stack()
    stack.upstream.put_parameter(NAME, "v1")
    stack.upstream.put_parameter("/app/other", "o1")
    assert values(await stack.get(many([NAME, "/app/other"], decrypt=True))) == ["v1", "o1"]
    stack.upstream.put_parameter(NAME, "v2")
    assert value(await stack.get(param(NAME, refresh=True))) == "v2"
    stack.clock.advance(1)
    again = await stack.get(many([NAME, "/app/other"], decrypt=True))
    assert values(again) == ["v2", "o1"]
    assert (stack.upstream.calls["GetParameters"], stack.upstream.calls["GetParameter"]) == (1, 1)
    assert value(stack.answered_at_once(param("/app/other", decrypt=True))) == "o1"  # untouched


async def test_a_path_listing_with_decryption_sees_the_refresh_of_one_of_its_names() -> None:
    stack = Stack()
    stack.upstream.put_parameter(NAME, "v1")
    stack.upstream.put_parameter("/app/db/port", "5432")
    first = await stack.get(by_path("/app/", decrypt=True))
    assert values(first) == ["v1", "5432"]  # sorted by name: /app/db/host, /app/db/port
    stack.upstream.put_parameter(NAME, "v2")
    assert value(await stack.get(param(NAME, refresh=True))) == "v2"
    assert stack.cache.peek(PathKey("/app/", True, True)) is None  # held v1: dropped
    listing = await stack.get(by_path("/app/", decrypt=True))
    assert (values(listing), listing.cache) == (["v2", "5432"], "miss")
    assert value(stack.answered_at_once(param(NAME, decrypt=True))) == "v2"
    assert stack.upstream.calls["GetParametersByPath"] == 2


async def test_a_refreshed_listing_reaches_the_single_forms_of_its_names() -> None:
    stack = Stack()
    stack.upstream.put_parameter(NAME, "v1")
    await stack.get(param(NAME))
    await stack.get(by_path("/app/"))
    stack.upstream.put_parameter(NAME, "v2")
    assert values(await stack.get(by_path("/app/", refresh=True))) == ["v2"]
    assert value(stack.answered_at_once(param(NAME))) == "v2"
    assert value(stack.answered_at_once(param(NAME, decrypt=True))) == "v2"


async def test_forms_holding_the_same_version_and_forms_naming_a_version_stay() -> None:
    stack = Stack()
    stack.upstream.put_parameter(NAME, "v1")
    await stack.get(param(NAME + ":1"))
    await stack.get(by_path("/app/"))
    await stack.get(param(NAME, refresh=True))  # nothing changed: the listing holds the same version
    assert stack.cache.peek(PathKey("/app/", True, False)) is not None
    stack.upstream.put_parameter(NAME, "v2")
    await stack.get(param(NAME, refresh=True))
    kept = stack.answered_at_once(param(NAME + ":1"))  # version 1 is still version 1
    assert (value(kept), kept.cache) == ("v1", "hit")
    assert stack.cache.peek(PathKey("/app/", True, False)) is None


async def test_the_arn_form_sees_a_refresh_by_name() -> None:
    stack = Stack()
    stack.upstream.put_parameter(NAME, "v1")
    first = await stack.get(param(NAME))
    arn = first.json["Parameter"]["ARN"]
    assert value(await stack.get(param(arn))) == "v1"
    stack.upstream.put_parameter(NAME, "v2")
    await stack.get(param(NAME, refresh=True))
    again = await stack.get(param(arn))
    assert (value(again), again.cache) == ("v2", "miss")
