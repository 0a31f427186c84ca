"""Prefetch, exactly: names, secret ids and `tag:KEY=VALUE` entries (BatchGetSecretValue with
filters, every page), each optionally as a role; the start-up jitter (PREFETCH_JITTER_MS) on the
fake clock, and a read that comes first fetches for itself."""

from __future__ import annotations

import asyncio

from paramsecrets.metrics import Metrics
from paramsecrets.process.prefetch import Tag, parse_entry, parse_tag, prefetch, tag_filters
from paramsecrets.testing.stack import Stack
from tests.policy.conftest import param

ROLE = "arn:aws:iam::111122223333:role/reader"


def test_entries_are_parsed() -> None:
    assert parse_entry("prod/db") == ("prod/db", None)
    assert parse_entry(f"tag:team=payments|{ROLE}") == ("tag:team=payments", ROLE)
    assert parse_tag("tag:team=pay=ments") == ("team", "pay=ments")
    assert parse_tag("db") is None
    assert tag_filters(Tag("a", "b")) == [
        {"Key": "tag-key", "Values": ["a"]}, {"Key": "tag-value", "Values": ["b"]}]


async def test_prefetch_by_tag_makes_the_first_reads_hits() -> None:
    stack = Stack(prefetch_secrets=("tag:team=payments", "plain"))
    stack.upstream.put_secret("pay/db", "1", tags={"team": "payments"})
    stack.upstream.put_secret("pay/api", "2", tags={"team": "payments", "env": "prod"})
    stack.upstream.put_secret("other", "3", tags={"team": "search"})
    stack.upstream.put_secret("plain", "4")
    metrics = Metrics()
    await prefetch(stack.settings, stack.reader, metrics)
    assert stack.upstream.asked["BatchGetSecretValue"] == [{"Filters": tag_filters(Tag("team", "payments"))}]
    assert stack.upstream.asked["GetSecretValue"] == [("plain", None, None)]  # one id: the single call
    for name in ("pay/db", "pay/api", "plain"):
        assert stack.answered_at_once(f"/v1/{name}").cache == "hit"
    assert (await stack.get("/v1/other")).cache == "miss"
    assert metrics.prefetched == 3


async def test_prefetch_entries_as_a_role() -> None:
    stack = Stack(prefetch_parameters=(f"/a|{ROLE}", "/b"), prefetch_secrets=(f"s|{ROLE}",))
    stack.upstream.put_parameter("/a", "av")
    stack.upstream.put_parameter("/b", "bv")
    stack.upstream.put_secret("s", "sv")
    await prefetch(stack.settings, stack.reader, Metrics())
    assert stack.answered_at_once(param("/a") + "&roleArn=" + ROLE).cache == "hit"
    assert stack.answered_at_once(param("/b")).cache == "hit"
    assert stack.answered_at_once(f"/v1/s?roleArn={ROLE}").cache == "hit"
    assert stack.upstream.by_role[("GetParameters", ROLE)] == 1
    assert stack.upstream.by_role[("GetSecretValue", ROLE)] == 1
    assert stack.upstream.calls["AssumeRole"] == 1


async def test_a_malformed_role_in_an_entry_skips_that_entry_only() -> None:
    stack = Stack(prefetch_parameters=("/a|arn:aws:iam::1:role/x", "/b"))
    stack.upstream.put_parameter("/a", "av")
    stack.upstream.put_parameter("/b", "bv")
    await prefetch(stack.settings, stack.reader, Metrics())
    assert stack.upstream.asked["GetParameters"] == [["/b"]]


async def test_start_up_jitter_delays_prefetch_and_a_first_read_fetches_for_itself() -> None:
    stack = Stack(prefetch_secrets=("db", "other"), prefetch_jitter_ms=2000)
    stack.upstream.put_secret("db", "v")
    stack.upstream.put_secret("other", "o")
    running = asyncio.ensure_future(prefetch(stack.settings, stack.reader, Metrics(), draw=lambda: 0.5))
    await stack.clock.run(0.5)
    assert stack.upstream.total() == 0  # waiting: 0.5 x 2000 ms = 1 s
    assert (await stack.get("/v1/db")).cache == "miss"  # a read that comes first fetches for itself
    await stack.clock.run(0.49)
    assert stack.upstream.calls["BatchGetSecretValue"] == 0
    await stack.clock.run(0.01)
    await running
    assert [(round(at - stack.clock.now, 6), operation) for at, operation, _ in stack.upstream.log
            if operation != "DescribeSecret"] == [(-0.5, "GetSecretValue"), (0.0, "BatchGetSecretValue")]
    assert stack.upstream.asked["BatchGetSecretValue"] == [["other"]]  # db is cached already
