"""Prefetch, exactly: names, secret ids and `tag:KEY=VALUE` entries (BatchGetSecretValue with
filters, every page), each optionally as a role; the start-up jitter (PREFETCH_JITTER_MS) on the
fake clock, and a read that comes first fetches for itself."""

from __future__ import annotations

import asyncio

from paramsecrets.metrics import Metrics
from paramsecrets.process.prefetch import ExecReads, Tag, parse_entry, parse_tag, prefetch, tag_filters
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


# ---- the exec wrapper's values (Lambda: the extension sees the function's environment) -------


MANY = "/systemsmanager/parameters/get-many?name=%2Fapp%2Fhost&name=%2Fapp%2Fpass&withDecryption=true"


def test_exec_reads_come_from_the_wrappers_mapping_variables() -> None:
    environ = {
        "PARAMSECRETS_ENV_DB_HOST": "ssm:/app/db/host",
        "PARAMSECRETS_ENV_DB_PASS": "ssm:/app/db/pass:3",
        "PARAMSECRETS_ENV_USER": "secretsmanager:prod/db#username",
        "PARAMSECRETS_ENV_PASSWORD": "secretsmanager:prod/db#password",  # the same secret: read once
        "PARAMSECRETS_ENV_BAD": "vault:x",  # no such source: the wrapper reports it, nothing is read
        "PARAMSECRETS_ENV_EMPTY": "ssm:",
        "PARAMSECRETS_ENV_SPACE": "ssm:/a b",
        "PARAMSECRETS_FILES": "/tmp/a=b.pem=secretsmanager:tls/key, /tmp/c=ssm:/app/cfg#k,garbage",
        "PARAMSECRETS_PATH": "/app/prod/, relative/,/app/other",
        "OTHER": "ssm:/not/a/mapping",
    }
    reads = ExecReads.from_environ(environ)
    assert reads.parameters == ("/app/db/host", "/app/db/pass:3", "/app/cfg")
    assert reads.secrets == ("prod/db", "tls/key")
    assert reads.paths == ("/app/prod/", "/app/other")
    assert reads.any()
    assert not ExecReads.from_environ({"PATH": "/usr/bin", "PARAMSECRETS_ENV_X": "x" * 5000}).any()


async def test_exec_reads_are_fetched_at_once_in_the_wrappers_batches() -> None:
    stack = Stack(prefetch_jitter_ms=2000)  # the jitter is for configured prefetch, not for a waiting runtime
    stack.upstream.put_parameter("/app/host", "h")
    stack.upstream.put_parameter("/app/pass", "p", kind="SecureString")
    stack.upstream.put_secret("api", "k")
    stack.upstream.put_secret("db", '{"username": "u"}')
    stack.upstream.put_parameter("/tree/a", "1")
    metrics = Metrics()
    await prefetch(stack.settings, stack.reader, metrics, draw=lambda: 0.5,
                   exec_reads=ExecReads(("/app/host", "/app/pass"), ("api", "db"), ("/tree/",)))
    assert stack.upstream.asked["GetParameters"] == [["/app/host", "/app/pass"]]
    assert stack.upstream.asked["BatchGetSecretValue"] == [["api", "db"]]
    assert stack.upstream.calls["GetParametersByPath"] == 1
    calls = stack.upstream.total()
    # What the wrapper then asks (client.get_parameters / get_secrets / get_parameters_by_path), answered
    # without another call and without waiting on the clock.
    assert [p["Value"] for p in (await stack.get(MANY)).json["Parameters"]] == ["h", "p"]
    secrets = (await stack.get("/secretsmanager/get-many?secretId=api&secretId=db")).json["SecretValues"]
    assert [s["SecretString"] for s in secrets] == ["k", '{"username": "u"}']
    assert stack.answered_at_once(
        "/systemsmanager/parameters/get-by-path?path=%2Ftree%2F&recursive=true&withDecryption=true").cache == "hit"
    assert stack.upstream.total() == calls
    assert metrics.prefetched == 5


async def test_the_wrappers_request_joins_the_running_exec_reads() -> None:
    stack = Stack()
    stack.upstream.put_parameter("/app/host", "h")
    stack.upstream.put_parameter("/app/pass", "p", kind="SecureString")
    gate = stack.upstream.hold("GetParameters")
    running = asyncio.ensure_future(prefetch(stack.settings, stack.reader, Metrics(),
                                             exec_reads=ExecReads(("/app/host", "/app/pass"), (), ())))
    await stack.clock.settle()
    asked = await stack.start(MANY)
    assert not asked.done()  # waiting for the prefetch's batch, not calling again
    gate.open()
    await stack.clock.settle()
    await running
    assert [p["Value"] for p in asked.result().json["Parameters"]] == ["h", "p"]
    assert stack.upstream.calls["GetParameters"] == 1
