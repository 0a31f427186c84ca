"""Rotation-aware expiry, exactly: an entry never outlives NextRotationDate + ROTATION_GRACE_S;
past that instant, while the version stays the same, it is revalidated 5, 10, 20, 30, 30... s
apart (shortened by up to 20% of jitter), for up to ROTATION_WATCH_S; a new version brings back
the normal TTL. With the default TTL, a reader sees the rotated value within a minute."""

from __future__ import annotations

import itertools

from paramsecrets.cache import policy
from paramsecrets.cache.keys import SecretKey
from paramsecrets.cache.policy import (
    ROTATION_GRACE_S,
    ROTATION_POLL_CAP_S,
    ROTATION_WATCH_S,
    rotation_poll_delay,
    secret_ttl,
)
from paramsecrets.testing.stack import Stack
from tests.policy.conftest import T0, entry

DAY = 86_400.0


def test_secret_ttl_rules_on_numbers() -> None:
    assert secret_ttl(300, 1000, None, 0, 0.0) == 300  # rotation off
    assert secret_ttl(300, 1000, 1100, 0, 0.0) == 100 + ROTATION_GRACE_S  # cut to the rotation
    assert secret_ttl(300, 1000, 5000, 0, 0.0) == 300  # the rotation is further than the TTL
    assert [secret_ttl(300, 1200, 1100, polls, 0.0) for polls in range(5)] == [5, 10, 20, 30, 30]
    assert secret_ttl(300, 1200, 1100, 0, 0.5) == 5 * (1 - policy.ROTATION_POLL_JITTER * 0.5)
    assert secret_ttl(3, 1200, 1100, 3, 0.0) == 3  # never longer than the TTL
    late = 1100 + ROTATION_GRACE_S + ROTATION_WATCH_S
    assert secret_ttl(300, late, 1100, 40, 0.0) == 300  # a rotation that never came: back to the TTL
    assert secret_ttl(0, 1000, 1100, 0, 0.0) == 0  # not cached stays not cached
    assert rotation_poll_delay(10, 0.999) >= ROTATION_POLL_CAP_S * (1 - policy.ROTATION_POLL_JITTER)


async def test_the_rotation_timeline() -> None:
    stack = Stack(secrets_ttl=300, refresh_ahead=False)
    stack.upstream.put_secret("db", "v1")
    stack.upstream.secrets.rotation("db", T0 + 100)
    assert (await stack.get("/v1/db")).cache == "miss"
    await stack.clock.settle()  # DescribeSecret in the background: the entry ends at the rotation
    assert entry(stack, SecretKey("db")).expires_at == T0 + 100 + ROTATION_GRACE_S
    expiries = []
    for at in (105, 110, 120):  # the rotation is late: polls 5, 10, 20 s apart
        stack.clock.advance_to(T0 + at)
        assert (await stack.get("/v1/db")).json["SecretString"] == "v1"
        expiries.append(entry(stack, SecretKey("db")).expires_at - T0)
    assert expiries == [110, 120, 140]
    stack.clock.advance_to(T0 + 130)
    stack.upstream.secrets.rotate("db", "v2", DAY)  # the rotation finishes at +130
    assert stack.answered_at_once("/v1/db").json["SecretString"] == "v1"  # until +140: the old value
    stack.clock.advance_to(T0 + 140)
    answer = await stack.get("/v1/db")
    assert (answer.cache, answer.json["SecretString"]) == ("miss", "v2")
    assert entry(stack, SecretKey("db")).expires_at == T0 + 140 + 300  # the normal TTL again
    assert stack.upstream.calls["GetSecretValue"] == 2
    assert stack.upstream.calls["DescribeSecret"] == 1 + 4


async def test_a_rotation_that_never_comes_is_watched_for_a_bounded_time() -> None:
    stack = Stack(secrets_ttl=300, refresh_ahead=False)
    stack.upstream.put_secret("db", "v1")
    stack.upstream.secrets.rotation("db", T0 + 100)
    await stack.get("/v1/db")
    await stack.clock.settle()
    gaps = []
    while True:
        expires = entry(stack, SecretKey("db")).expires_at
        stack.clock.advance_to(expires)
        await stack.get("/v1/db")
        gap = entry(stack, SecretKey("db")).expires_at - expires
        gaps.append(gap)
        if gap == 300:
            break
    assert gaps[:5] == [5, 10, 20, 30, 30] and set(gaps[3:-1]) == {30}
    watched = expires - (T0 + 100 + ROTATION_GRACE_S)  # when the normal TTL came back
    assert ROTATION_WATCH_S <= watched < ROTATION_WATCH_S + ROTATION_POLL_CAP_S
    assert stack.upstream.calls["GetSecretValue"] == 1


async def test_poll_times_carry_jitter_from_the_draw() -> None:
    draws = itertools.cycle([0.5])
    stack = Stack(secrets_ttl=300, refresh_ahead=False, draw=lambda: next(draws))
    stack.upstream.put_secret("db", "v1")
    stack.upstream.secrets.rotation("db", T0 + 100)
    await stack.get("/v1/db")
    await stack.clock.settle()
    stack.clock.advance_to(T0 + 105)
    await stack.get("/v1/db")
    assert entry(stack, SecretKey("db")).expires_at == T0 + 105 + 5 * (1 - policy.ROTATION_POLL_JITTER * 0.5)


async def test_a_hot_reader_sees_a_rotated_value_within_a_minute_with_the_default_ttl() -> None:
    for finishes_after in (0, 7, 45, 200, 299):
        stack = Stack()  # the defaults: TTL 300 s, refresh ahead, revalidation
        stack.upstream.put_secret("db", "v1")
        stack.upstream.secrets.rotation("db", T0 + 1000)
        assert (await stack.get("/v1/db")).cache == "miss"
        rotated_at = T0 + 1000 + finishes_after
        seen_at = None
        now = T0
        while seen_at is None:
            await stack.clock.run(1.0)
            now += 1.0
            if now >= rotated_at and stack.upstream.secrets.secrets["db"]["SecretString"] == "v1":
                stack.upstream.secrets.rotate("db", "v2", DAY)
            answered = stack.respond("/v1/db")  # a read at a due instant waits for one DescribeSecret
            body = answered if isinstance(answered, bytes) else await answered
            if b'"SecretString":"v2"' in body:
                seen_at = now
        assert seen_at - rotated_at <= 60, (finishes_after, seen_at - rotated_at)
