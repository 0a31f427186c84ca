"""`GET /metrics`: Prometheus text format, aggregate counters that match what really happened (the
proxy counts every upstream attempt independently), and never a name, value or token.
"""

from __future__ import annotations

import re

import pytest

from paramsecrets.testing.fault_proxy import FaultProxy
from paramsecrets.testing.moto import MotoServer, wait_until
from tests.faults.conftest import (
    BY_PATH,
    SECRET,
    Serve,
    many_url,
    metrics,
    param_url,
    q,
    secrets_many_url,
    upstream_metric,
)

pytestmark = pytest.mark.timeout(60)

FAMILIES = {
    "paramsecrets_cache_hits_total": "counter",
    "paramsecrets_cache_misses_total": "counter",
    "paramsecrets_cache_stale_served_total": "counter",
    "paramsecrets_refresh_ahead_total": "counter",
    "paramsecrets_upstream_calls_total": "counter",
    "paramsecrets_cache_entries": "gauge",
    "paramsecrets_cache_bytes": "gauge",
}


def test_metrics_is_prometheus_text_and_needs_no_token(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    server = serve()
    response = server.get("/metrics", token=False)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.body.decode()
    assert text.endswith("\n")
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    helps = set(re.findall(r"^# HELP (\S+) \S", text, re.M))
    for family, kind in FAMILIES.items():
        assert types.get(family) == kind, family
        assert family in helps, family
    # Every sample belongs to a family announced before it.
    announced: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            announced.add(line.split()[2])
        elif line and not line.startswith("#"):
            assert re.match(r"^[a-z_]+(\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\})? \d+(\.\d+)?$", line), line
            assert line.split("{")[0].split(" ")[0] in announced, line
    samples = metrics(server)
    assert samples["paramsecrets_cache_hits_total"] == samples["paramsecrets_cache_misses_total"] == 0


def test_counters_match_what_happened(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    ssm = moto.client("ssm")
    for name in ("/m/a", "/m/b", "/m/c"):
        ssm.put_parameter(Name=name, Value="v", Type="String")
    server = serve(SSM_PARAMETER_STORE_TTL="1", PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD="false")

    assert server.get(param_url("/m/a")).cache == "miss"
    assert server.get(param_url("/m/a")).cache == "hit"
    assert server.get(param_url("/m/a")).cache == "hit"
    assert server.get(param_url("/m/missing")).status == 404
    assert server.get(many_url(["/m/a", "/m/b"])).status == 200  # one item hit, one fetched
    proxy.throttle(0, burst=0, operation="AmazonSSM.GetParameter")
    assert server.get(param_url("/m/c")).status == 429
    proxy.fail(503, operation="AmazonSSM.GetParameter")
    assert wait_until(lambda: server.get(param_url("/m/a")).cache == "stale", timeout=4)
    assert server.get(param_url("/m/a", refresh=True)).status == 502

    samples = metrics(server)
    # Every upstream attempt the server made, by operation and outcome, as the proxy saw them.
    assert upstream_metric(samples, "GetParameter", "ok") == proxy.total("AmazonSSM.GetParameter", "forwarded") - 1
    assert upstream_metric(samples, "GetParameter", "not_found") == 1
    assert upstream_metric(samples, "GetParameter", "throttled") == proxy.total("AmazonSSM.GetParameter",
                                                                                 "throttled") == 3
    assert upstream_metric(samples, "GetParameter", "unavailable") == proxy.total("AmazonSSM.GetParameter", "failed")
    assert upstream_metric(samples, "GetParameters", "ok") == proxy.total("AmazonSSM.GetParameters") == 1
    for operation in ("GetParameter", "GetParameters"):
        recorded = sum(v for k, v in samples.items()
                       if k.startswith(f'paramsecrets_upstream_calls_total{{operation="{operation}",'))
        assert recorded == proxy.total("AmazonSSM." + operation), operation
    assert samples["paramsecrets_cache_stale_served_total"] == 1
    assert samples["paramsecrets_refresh_now_total"] == 1
    assert samples["paramsecrets_refresh_ahead_total"] == 0
    # Hits: 2 singles + 1 batch item + the fresh polls before expiry; misses: a, missing, b, c, stale a.
    assert samples["paramsecrets_cache_hits_total"] >= 3
    assert samples["paramsecrets_cache_misses_total"] >= 4


def test_entries_and_bytes_follow_the_cache(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    ssm = moto.client("ssm")
    names = [f"/m/e/{i}" for i in range(5)]
    for name in names:
        ssm.put_parameter(Name=name, Value="x" * 1000, Type="String")
    server = serve(PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE="3")
    before = metrics(server)
    assert (before["paramsecrets_cache_entries"], before["paramsecrets_cache_bytes"]) == (0, 0)

    bodies = 0
    for name in names[:2]:
        bodies += len(server.get(param_url(name)).body)
    two = metrics(server)
    assert two["paramsecrets_cache_entries"] == 2
    assert two["paramsecrets_cache_bytes"] >= bodies
    for name in names[2:]:
        server.get(param_url(name))
    full = metrics(server)
    assert full["paramsecrets_cache_entries"] == 3  # bounded by CACHE_SIZE: the oldest went
    assert 1.5 * two["paramsecrets_cache_bytes"] - 10 <= full["paramsecrets_cache_bytes"] <= 2 * two[
        "paramsecrets_cache_bytes"]
    assert server.get(param_url(names[0])).cache == "miss"  # evicted


def test_metrics_never_carry_a_name_a_value_or_the_token(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/m/leak/db-host", Value="value-db-host-1234", Type="String")
    ssm.put_parameter(Name="/m/leak/key", Value="value-secure-5678", Type="SecureString")
    moto.client("secretsmanager").create_secret(Name="m/leak-secret", SecretString="value-secret-9999")
    server = serve(SSM_PARAMETER_STORE_TTL="1")
    for path in (param_url("/m/leak/db-host"), param_url("/m/leak/key", decrypt=True),
                 SECRET + q("m/leak-secret"), "/v1/m/leak-secret", BY_PATH + "/m/leak/",
                 many_url(["/m/leak/db-host", "/m/leak/nope"]), secrets_many_url(["m/leak-secret", "m/nope"]),
                 param_url("/m/leak/absent"), "/v1/m/absent-secret"):
        server.get(path)
    proxy.fail(503)
    assert wait_until(lambda: server.get(param_url("/m/leak/db-host")).cache == "stale", timeout=4)

    text = server.get("/metrics", token=False).body.decode()
    for secret in ("leak", "db-host", "value-", "absent", "nope", server.token, "/m/", "m/"):
        assert secret not in text, secret
    assert metrics(server)["paramsecrets_cache_stale_served_total"] == 1
