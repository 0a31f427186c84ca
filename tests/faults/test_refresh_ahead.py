"""Refresh ahead and TTL jitter.

TTLs are whole seconds; the cache shortens each TTL by up to 10% (jitter) and a hit after 80% of
the jittered TTL starts one background refresh. Refreshes of parameters are gathered for 20 ms and
made in batches (GetParameters), so a refresh shows up as a GetParameters call.
With `SSM_PARAMETER_STORE_TTL=2` an entry lives 1.8-2.0 s and its refresh window opens 1.44-1.6 s
after the fetch.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from paramsecrets.testing.moto import wait_until
from tests.faults.conftest import (
    BY_PATH,
    concurrently,
    many_url,
    metrics,
    param_url,
    parameter_value,
    secrets_many_url,
)

pytestmark = pytest.mark.timeout(60)

TTL = 2.0
JITTER = 0.1
REFRESH_AT = 0.8


def test_a_hot_key_never_misses_across_several_ttls(moto, proxy, serve):
    """Read continuously for 3 TTLs: one miss at the start, hits ever after, new values picked up.

    TTL 1 s: each entry lives 0.9-1.0 s and its refresh window opens at 0.72-0.8 s."""
    ttl = 1.0
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/ra/hot", Value="v0", Type="String")
    moto.clear_calls()
    server = serve(SSM_PARAMETER_STORE_TTL=str(int(ttl)))

    before = time.time()
    first = server.get(param_url("/ra/hot"))
    after = time.time()
    assert (first.status, first.cache, parameter_value(first)) == (200, "miss", "v0")
    ssm.put_parameter(Name="/ra/hot", Value="v1", Type="String", Overwrite=True)

    calls: list[float] = []  # when the proxy saw each further upstream call
    seen = Counter()
    values: list[tuple[float, str]] = []
    while time.time() < before + 3 * ttl:
        response = server.get(param_url("/ra/hot"))
        seen[(response.status, response.cache)] += 1
        values.append((time.time(), parameter_value(response)))
        assert int(response.headers["age"]) < ttl
        while proxy.total("AmazonSSM.GetParameters") > len(calls):
            calls.append(time.time())
        time.sleep(0.01)

    assert set(seen) == {(200, "hit")}, seen  # never a miss, never stale, never an error
    assert seen[(200, "hit")] > 100
    # The first refresh came in the refresh window of the first entry: after 80% of the shortest
    # jittered TTL, and before the longest one's window opened plus one poll.
    assert calls, "no refresh ahead happened"
    assert before + REFRESH_AT * ttl * (1 - JITTER) <= calls[0] <= after + REFRESH_AT * ttl + 0.3
    # One refresh per entry lifetime: 3 s of lifetimes refreshed after 0.72-0.8 s (plus a poll)
    # make 3-4 refreshes.
    assert moto.count("AmazonSSM.GetParameter") == 1  # the first miss; every refresh is a batch call
    refreshes = moto.count("AmazonSSM.GetParameters")
    assert 3 <= refreshes <= 4, refreshes
    assert metrics(server)["paramsecrets_refresh_ahead_total"] == refreshes
    # The refresh stored the new value: every read after the first refresh completed sees it.
    assert {value for at, value in values if at > calls[0] + 0.05} == {"v1"}


def hot_loop(server, paths: list[str], seconds: float) -> Counter:
    """Read every path in turn, continuously, for `seconds`; count (route, status, cache) answers."""
    seen: Counter = Counter()
    deadline = time.time() + seconds
    while time.time() < deadline:
        for path in paths:
            response = server.get(path)
            seen[(path.split("?")[0], response.status, response.cache)] += 1
        time.sleep(0.01)
    return seen


def test_hot_secret_and_path_reads_never_miss(moto, proxy, serve):
    moto.client("secretsmanager").create_secret(Name="ra/s", SecretString="sv")
    for name in ("/ra/p/a", "/ra/p/b"):
        moto.client("ssm").put_parameter(Name=name, Value="v", Type="String")
    moto.clear_calls()
    server = serve(SSM_PARAMETER_STORE_TTL="1", SECRETS_MANAGER_TTL="1")
    paths = ["/v1/ra/s", BY_PATH + "/ra/p/"]
    assert [server.get(path).cache for path in paths] == ["miss", "miss"]

    seen = hot_loop(server, paths, 2.2)

    assert {(status, cache) for _, status, cache in seen} == {(200, "hit")}, seen
    # Each entry was refreshed about once per 0.72-0.8 s, in the background.
    # the first miss, then refreshes (batched: BatchGetSecretValue)
    assert moto.count("secretsmanager.GetSecretValue") + moto.count("secretsmanager.BatchGetSecretValue") >= 1 + 2
    assert moto.count("AmazonSSM.GetParametersByPath") >= 1 + 2
    assert metrics(server)["paramsecrets_refresh_ahead_total"] >= 4


def test_a_hot_batch_read_never_misses(moto, proxy, serve):
    for name in ("/ra/m/a", "/ra/m/b"):
        moto.client("ssm").put_parameter(Name=name, Value="v", Type="String")
    server = serve(SSM_PARAMETER_STORE_TTL="1", SECRETS_MANAGER_TTL="1")
    moto.client("secretsmanager").create_secret(Name="ra/ms", SecretString="sv")
    paths = [many_url(["/ra/m/a", "/ra/m/b"]), secrets_many_url(["ra/ms"])]
    assert [server.get(path).cache for path in paths] == ["miss", "miss"]

    seen = hot_loop(server, paths, 1.6)

    assert {(status, cache) for _, status, cache in seen} == {(200, "hit")}, seen


def test_many_hits_in_the_window_start_one_refresh(moto, proxy, serve):
    moto.client("ssm").put_parameter(Name="/ra/busy", Value="v", Type="String")
    moto.clear_calls()
    server = serve(SSM_PARAMETER_STORE_TTL=str(int(TTL)))
    assert server.get(param_url("/ra/busy")).cache == "miss"
    # A slow refresh: many hits land in the window while it is in flight.
    proxy.delay(0.15, operation="AmazonSSM.GetParameters")

    def hammer() -> Counter:
        seen: Counter = Counter()
        deadline = time.time() + 2 * TTL
        done_at = None
        while time.time() < deadline:
            response = server.get(param_url("/ra/busy"))
            seen[(response.status, response.cache)] += 1
            if done_at is None and proxy.total("AmazonSSM.GetParameters", "delayed") >= 1 \
                    and moto.count("AmazonSSM.GetParameters") >= 1:
                done_at = time.time()
            if done_at is not None and time.time() > done_at + 0.3:
                break
        return seen

    results = concurrently([hammer] * 8)

    total = sum(results, Counter())
    assert set(total) == {(200, "hit")}, total
    assert total[(200, "hit")] > 50
    assert proxy.total("AmazonSSM.GetParameter") == 1  # the first miss...
    assert proxy.total("AmazonSSM.GetParameters") == 1  # ...and exactly one (batched) refresh
    assert moto.count("AmazonSSM.GetParameter") + moto.count("AmazonSSM.GetParameters") == 2
    assert metrics(server)["paramsecrets_refresh_ahead_total"] == 1


def test_a_failed_refresh_keeps_serving_the_cached_value(moto, proxy, serve):
    """A refresh that fails leaves the entry alone: hits go on until the entry expires."""
    moto.client("ssm").put_parameter(Name="/ra/keep", Value="v", Type="String")
    server = serve(SSM_PARAMETER_STORE_TTL="1", PARAMETERS_SECRETS_EXTENSION_STALE_ON_ERROR="false")
    before = time.time()
    assert server.get(param_url("/ra/keep")).cache == "miss"
    proxy.fail(500, service="AmazonSSM")

    answers = []
    while time.time() < before + 1 * (1 - JITTER) - 0.05:
        answers.append(server.get(param_url("/ra/keep")))
        time.sleep(0.02)

    assert {(r.status, r.cache) for r in answers} == {(200, "hit")}
    assert proxy.total("AmazonSSM.GetParameters", "failed") >= 1  # refreshes were tried and failed
    assert metrics(server)["paramsecrets_refresh_ahead_total"] >= 1


def test_ttl_jitter_spreads_expiry_of_entries_fetched_together(moto, proxy, serve):
    """20 entries stored in the same instant expire at different times within [0.9, 1.0] x TTL.

    Refresh ahead and stale are off, so an entry's expiry shows as its first miss.
    """
    ssm = moto.client("ssm")
    names = [f"/ra/j/{i:02d}" for i in range(20)]
    for name in names:
        ssm.put_parameter(Name=name, Value="v", Type="String")
    server = serve(SSM_PARAMETER_STORE_TTL=str(int(TTL)), PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD="false",
                   PARAMETERS_SECRETS_EXTENSION_STALE_ON_ERROR="false")
    before = time.time()
    batch = server.get(many_url(names[:10]))  # one GetParameters call of 10 names...
    batch2 = server.get(many_url(names[10:]))  # ...and another; each stores its names at once
    after = time.time()
    assert batch.status == batch2.status == 200

    expired: dict[str, float] = {}
    deadline = after + TTL + 1
    while len(expired) < len(names) and time.time() < deadline:
        for name in names:
            if name in expired:
                continue
            response = server.get(param_url(name))
            assert response.status == 200
            if response.cache == "miss":
                expired[name] = time.time()
            else:
                assert response.cache == "hit"

    assert len(expired) == len(names), "some entries never expired"
    times = sorted(expired.values())
    assert times[0] >= before + TTL * (1 - JITTER) - 0.02, times[0] - before  # at most 10% shorter
    assert times[-1] <= after + TTL + 0.15, times[-1] - after  # never longer than the TTL
    assert times[-1] - times[0] >= 0.05, "entries fetched together expired in step: no jitter"


def test_without_refresh_ahead_a_hot_key_misses_at_expiry(moto, proxy, serve):
    """The contrast (the AWS extension's behaviour): the read after expiry waits for AWS."""
    moto.client("ssm").put_parameter(Name="/ra/cold", Value="v", Type="String")
    server = serve(SSM_PARAMETER_STORE_TTL="1", PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD="false")
    assert server.get(param_url("/ra/cold")).cache == "miss"
    states = []
    assert wait_until(lambda: states.append(server.get(param_url("/ra/cold")).cache) or states[-1] == "miss",
                      timeout=3)
    assert set(states[:-1]) <= {"hit"}
    assert metrics(server)["paramsecrets_refresh_ahead_total"] == 0
