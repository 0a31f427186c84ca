"""Stale on error: transient upstream failures are hidden behind the last good value, for at most
`MAX_STALENESS` seconds past expiry; not-found, access-denied and validation errors never are, and
`refreshNow` never answers stale.

A read with a stale fallback waits at most 0.5 s for a fetch (3 attempts, full-jitter backoff);
after a transient failure the entry backs off (1 s, doubling, jittered) and reads meanwhile get the
stale value at once, without calling AWS.
"""

from __future__ import annotations

import time

import pytest

from paramsecrets.testing.moto import wait_until
from tests.faults.conftest import (
    BY_PATH,
    SECRET,
    Timeline,
    many_url,
    metrics,
    param_url,
    parameter_value,
    q,
    secrets_many_url,
)

pytestmark = pytest.mark.timeout(60)

TTL = 1
JITTER = 0.1


def expire(server, path: str, timeout: float = 3.0) -> None:
    """Wait until `path` is no longer a fresh hit (refresh ahead off: the entry has expired)."""
    assert wait_until(lambda: server.get(path).cache != "hit", timeout=timeout, interval=0.05)


def test_stale_until_max_staleness_then_the_error(moto, proxy, serve):
    moto.client("ssm").put_parameter(Name="/st/a", Value="good", Type="String")
    moto.clear_calls()
    max_staleness = 1
    server = serve(SSM_PARAMETER_STORE_TTL=str(TTL), PARAMETERS_SECRETS_EXTENSION_MAX_STALENESS=str(max_staleness))
    before = time.time()
    assert server.get(param_url("/st/a")).cache == "miss"
    after = time.time()
    proxy.fail(503, service="AmazonSSM")

    timeline = Timeline()
    errors_in_a_row = 0
    while errors_in_a_row < 3 and time.time() < after + TTL + max_staleness + 5:
        response = timeline.get(server, param_url("/st/a"))
        errors_in_a_row = errors_in_a_row + 1 if response.status != 200 else 0
        time.sleep(0.02)

    kinds = [(r.status, r.cache) for _, _, r in timeline.events]
    # hit... then stale... then errors, in that order and nothing else.
    first_stale = kinds.index((200, "stale"))
    first_error = next(i for i, (status, _) in enumerate(kinds) if status != 200)
    assert set(kinds[:first_stale]) == {(200, "hit")}
    assert set(kinds[first_stale:first_error]) == {(200, "stale")}
    assert all(status == 502 for status, _ in kinds[first_error:])
    for _, _, response in timeline.events[first_error:]:
        assert response.json() == {"__type": "ServiceUnavailable", "message": "Service unavailable"}
    for _, _, response in timeline.events[:first_error]:
        assert parameter_value(response) == "good"
    # Timing: stale starts at expiry (0.9-1.0 TTL) and ends MAX_STALENESS later.
    assert timeline.events[first_stale][0] >= before + TTL * (1 - JITTER) - 0.02
    last_stale_received = timeline.events[first_error - 1][1]
    assert last_stale_received <= after + TTL + max_staleness + 0.1
    assert timeline.events[first_error][1] >= before + TTL * (1 - JITTER) + max_staleness
    assert int(timeline.events[first_error - 1][2].headers["age"]) >= max_staleness
    # What moto saw: only the first fetch; every later attempt was answered by the failing proxy.
    assert moto.count("AmazonSSM.GetParameter") == 1
    assert proxy.total("AmazonSSM.GetParameter", "failed") >= 3
    assert metrics(server)["paramsecrets_cache_stale_served_total"] == first_error - first_stale
    # The backend comes back: a fresh value, fetched.
    proxy.pass_through()
    recovered = server.get(param_url("/st/a"))
    assert (recovered.status, recovered.cache, parameter_value(recovered)) == (200, "miss", "good")


def test_every_transient_fault_is_served_stale(moto, proxy, serve):
    """Throttling after retries, 500, 503, a reset connection and a timeout each give 200 stale."""
    op = "AmazonSSM.GetParameter"
    faults = {
        "throttled": lambda: proxy.throttle(0, burst=0, operation=op),
        "failed-500": lambda: proxy.fail(500, operation=op),
        "failed-503": lambda: proxy.fail(503, operation=op),
        "reset": lambda: proxy.reset_connections(operation=op),
        "blackholed": lambda: proxy.blackhole(operation=op),
    }
    names = {fault: f"/st/t/{fault}" for fault in faults}  # one entry per fault: each starts without backoff
    for name in names.values():
        moto.client("ssm").put_parameter(Name=name, Value="good", Type="String")
    server = serve(SSM_PARAMETER_STORE_TTL=str(TTL), SSM_PARAMETER_STORE_TIMEOUT_MILLIS="250",
                   PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD="false")
    for name in names.values():
        assert server.get(param_url(name)).cache == "miss"
    time.sleep(TTL)  # every entry is now past its TTL (reading them to check would fetch them again)
    for fault, apply in faults.items():
        proxy.pass_through()
        proxy.clear()
        apply()
        started = time.monotonic()
        response = server.get(param_url(names[fault]))
        assert (response.status, response.cache) == (200, "stale"), (fault, response.status, response.body)
        assert parameter_value(response) == "good"
        assert time.monotonic() - started < 1.5  # a stale fallback never waits for every retry
        outcome = fault.partition("-")[0]
        # The fetch was retried in full (in the background once the answer had gone), then given up.
        assert wait_until(lambda o=outcome: proxy.total(op, o) == 3, timeout=5), (fault, proxy.counts())
        # While the entry backs off, reads are answered stale without another call.
        again = server.get(param_url(names[fault]))
        assert (again.status, again.cache) == (200, "stale")
        assert proxy.total(op) == 3, (fault, proxy.counts())
    assert metrics(server)["paramsecrets_cache_stale_served_total"] >= 2 * len(faults)


def stale_answers(moto, proxy, serve, reads: dict[str, str]) -> tuple[dict, float]:
    """Cache every read, fail everything upstream, let the entries expire, read each once more."""
    ssm = moto.client("ssm")
    for name in ("/st/m/a", "/st/m/b"):
        ssm.put_parameter(Name=name, Value="v" + name[-1], Type="String")
    moto.client("secretsmanager").create_secret(Name="st/s", SecretString="sv")
    server = serve(SSM_PARAMETER_STORE_TTL=str(TTL), SECRETS_MANAGER_TTL=str(TTL),
                   PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD="false")
    after = 0.0
    for path in reads.values():
        assert server.get(path).cache == "miss"
        after = time.time()
    proxy.fail(503)  # every operation of both services
    time.sleep(max(0.0, after + TTL - time.time()))  # every entry is now past its TTL
    answers = {route: server.get(path) for route, path in reads.items()}
    assert {route: (r.status, r.cache) for route, r in answers.items()} == dict.fromkeys(reads, (200, "stale")), {
        route: (r.status, r.body[:120]) for route, r in answers.items()}
    return answers, metrics(server)["paramsecrets_cache_stale_served_total"]


def test_path_and_secret_routes_serve_stale(moto, proxy, serve):
    answers, stale = stale_answers(moto, proxy, serve, {"path": BY_PATH + "/st/m/", "secret": SECRET + q("st/s")})
    assert [p["Name"] for p in answers["path"].json()["Parameters"]] == ["/st/m/a", "/st/m/b"]
    assert answers["secret"].json()["SecretString"] == "sv"
    assert stale == 2


def test_batch_routes_serve_stale(moto, proxy, serve):
    answers, stale = stale_answers(moto, proxy, serve, {"many": many_url(["/st/m/a", "/st/m/b"]),
                                                        "secrets-many": secrets_many_url(["st/s"])})
    assert [p["Value"] for p in answers["many"].json()["Parameters"]] == ["va", "vb"]
    assert answers["secrets-many"].json()["SecretValues"][0]["SecretString"] == "sv"
    assert stale == 2 + 1  # get-many counts per item


def test_not_found_denied_and_invalid_are_never_hidden(moto, proxy, serve):
    ssm = moto.client("ssm")
    for name in ("/st/gone", "/st/denied", "/st/invalid"):
        ssm.put_parameter(Name=name, Value="old", Type="String")
    moto.client("secretsmanager").create_secret(Name="st/gone", SecretString="old")
    server = serve(SSM_PARAMETER_STORE_TTL=str(TTL), SECRETS_MANAGER_TTL=str(TTL),
                   PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD="false")
    for path in (param_url("/st/gone"), param_url("/st/denied"), param_url("/st/invalid"), "/v1/st/gone"):
        assert server.get(path).cache == "miss"
    ssm.delete_parameter(Name="/st/gone")
    moto.client("secretsmanager").delete_secret(SecretId="st/gone", ForceDeleteWithoutRecovery=True)
    time.sleep(TTL)  # every entry is now past its TTL (and well inside the 1 h staleness window)

    gone = server.get(param_url("/st/gone"))
    assert (gone.status, gone.json()["__type"]) == (404, "ParameterNotFound")
    gone_secret = server.get("/v1/st/gone")
    assert (gone_secret.status, gone_secret.json()["__type"]) == (404, "ResourceNotFoundException")

    proxy.fail(400, code="AccessDeniedException", message="not allowed", operation="AmazonSSM.GetParameter")
    denied = server.get(param_url("/st/denied"))
    assert (denied.status, denied.json()["__type"]) == (403, "AccessDeniedException")

    proxy.fail(400, code="ValidationException", message="bad", operation="AmazonSSM.GetParameter")
    invalid = server.get(param_url("/st/invalid"))
    assert (invalid.status, invalid.json()["__type"]) == (400, "ValidationException")
    assert metrics(server)["paramsecrets_cache_stale_served_total"] == 0


def test_refresh_now_never_serves_stale(moto, proxy, serve):
    moto.client("ssm").put_parameter(Name="/st/r", Value="good", Type="String")
    server = serve(SSM_PARAMETER_STORE_TTL=str(TTL), PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD="false")
    assert server.get(param_url("/st/r")).cache == "miss"
    proxy.fail(503, service="AmazonSSM")

    fresh = server.get(param_url("/st/r", refresh=True))  # the cached value is still fresh
    assert (fresh.status, fresh.json()["__type"]) == (502, "ServiceUnavailable")
    assert server.get(param_url("/st/r")).cache == "hit"  # the failed refresh did not evict it
    expire(server, param_url("/st/r"))
    expired = server.get(param_url("/st/r", refresh=True))
    assert (expired.status, expired.json()["__type"]) == (502, "ServiceUnavailable")
    assert server.get(param_url("/st/r")).cache == "stale"  # a plain read still may
    batch = server.get(many_url(["/st/r"]) + "&refreshNow=true")
    assert batch.status == 502


def test_stale_off_or_a_zero_window_answers_the_error_at_expiry(moto, proxy, serve):
    moto.client("ssm").put_parameter(Name="/st/off", Value="good", Type="String")
    common = {"SSM_PARAMETER_STORE_TTL": str(TTL), "PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD": "false"}
    off = serve(PARAMETERS_SECRETS_EXTENSION_STALE_ON_ERROR="false", **common)
    zero = serve(PARAMETERS_SECRETS_EXTENSION_MAX_STALENESS="0", **common)
    for server in (off, zero):
        assert server.get(param_url("/st/off")).cache == "miss"
    proxy.throttle(0, burst=0, operation="AmazonSSM.GetParameter")
    for server in (off, zero):
        answers: list = []
        assert wait_until(lambda s=server, a=answers: a.append(s.get(param_url("/st/off"))) or a[-1].status != 200,
                          timeout=3)
        assert {(r.status, r.cache) for r in answers[:-1]} <= {(200, "hit")}
        assert (answers[-1].status, answers[-1].json()["__type"]) == (429, "ThrottlingException")
        assert metrics(server)["paramsecrets_cache_stale_served_total"] == 0


def test_a_deleted_parameter_is_not_resurrected_by_a_later_transient_failure(moto, proxy, serve):
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/st/deleted", Value="old", Type="String")
    server = serve(SSM_PARAMETER_STORE_TTL=str(TTL), PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD="false")
    assert server.get(param_url("/st/deleted")).cache == "miss"
    ssm.delete_parameter(Name="/st/deleted")
    time.sleep(TTL)
    assert server.get(param_url("/st/deleted")).status == 404  # AWS said: gone
    proxy.fail(503, operation="AmazonSSM.GetParameter")
    after = server.get(param_url("/st/deleted"))
    assert after.status == 502, f"served the deleted value: {after.status} {after.cache} {after.body!r}"
