"""Stale on error, end to end: the real server and awscrt transport, the fault proxy, moto.

These assert outcomes (statuses, cache states, values, call counts) for the faults only the real
transport produces (throttling after retries, 5xx, a reset connection, a read timeout) and the real
error codes. Every rule's timing (windows, back-off, patience) is tested exactly, in-process, in
tests/policy/test_stale.py. Waits here poll a condition with a generous bound.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from paramsecrets.testing.fault_proxy import FaultProxy
from paramsecrets.testing.moto import MotoServer, wait_until
from paramsecrets.testing.server import Response, ServerProcess
from tests.faults.conftest import (
    BY_PATH,
    SECRET,
    Serve,
    many_url,
    metrics,
    param_url,
    parameter_value,
    q,
    secrets_many_url,
)

pytestmark = pytest.mark.timeout(90)

TTL = 1
BOUND_S = 30  # generous: a condition polled on a busy machine


def first_answer_after_expiry(server: ServerProcess, path: str) -> Response:
    """Read `path` until it is no longer a fresh hit (refresh ahead off); that answer."""
    answers: list[Response] = []

    def read_is_not_a_hit() -> bool:
        answers.append(server.get(path))
        return answers[-1].cache != "hit"

    assert wait_until(read_is_not_a_hit, timeout=BOUND_S)
    assert all(answer.cache == "hit" for answer in answers[:-1])
    return answers[-1]


def test_hit_then_stale_then_the_error_once_the_window_closes(moto: MotoServer, proxy: FaultProxy,
                                                              serve: Serve) -> None:
    moto.client("ssm").put_parameter(Name="/st/a", Value="good", Type="String")
    moto.clear_calls()
    server = serve(SSM_PARAMETER_STORE_TTL=str(TTL), PARAMETERS_SECRETS_EXTENSION_MAX_STALENESS="1",
                   PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD="false")
    assert server.get(param_url("/st/a")).cache == "miss"
    proxy.fail(503, service="AmazonSSM")

    answers: list[Response] = []

    def read_is_not_ok() -> bool:
        answers.append(server.get(param_url("/st/a")))
        return answers[-1].status != 200

    assert wait_until(read_is_not_ok, timeout=BOUND_S)
    kinds = [(r.status, r.cache) for r in answers]
    first_stale = kinds.index((200, "stale"))
    assert set(kinds[:first_stale]) == {(200, "hit")}
    assert set(kinds[first_stale:-1]) == {(200, "stale")}
    assert answers[-1].status == 502
    assert answers[-1].json() == {"__type": "ServiceUnavailable", "message": "Service unavailable"}
    assert {parameter_value(r) for r in answers[:-1]} == {"good"}
    assert moto.count("AmazonSSM.GetParameter") == 1  # every later attempt met the failing proxy
    assert metrics(server)["paramsecrets_cache_stale_served_total"] == len(answers) - 1 - first_stale
    proxy.pass_through()
    recovered = server.get(param_url("/st/a"))
    assert (recovered.status, recovered.cache, parameter_value(recovered)) == (200, "miss", "good")


def test_every_transient_fault_is_served_stale(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    """Throttling after retries, 500, 503, a reset connection and a timeout each give 200 stale;
    the fetch is retried (3 attempts, or as many as its one deadline allows when each attempt
    times out), then the entry backs off without another call."""
    op = "AmazonSSM.GetParameter"
    faults: dict[str, Callable[[], object]] = {
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
    for fault, apply in faults.items():
        proxy.pass_through()
        proxy.clear()
        apply()
        response = first_answer_after_expiry(server, param_url(names[fault]))
        assert (response.status, response.cache) == (200, "stale"), (fault, response.status, response.body)
        assert parameter_value(response) == "good"
        # The fetch goes on in the background until it gives up, which the server logs once.
        def failures_logged(f: str = fault) -> bool:
            return server.output().count("fetch failed with") == list(faults).index(f) + 1

        assert wait_until(failures_logged, timeout=BOUND_S), (fault, proxy.counts())
        outcome = fault.partition("-")[0]
        attempts = proxy.total(op, outcome)
        assert attempts == proxy.total(op) and (attempts == 3 or (outcome == "blackholed" and attempts >= 2)), (
            fault, proxy.counts())
        again = server.get(param_url(names[fault]))
        assert (again.status, again.cache) == (200, "stale")
        assert proxy.total(op) == attempts, (fault, proxy.counts())
    assert metrics(server)["paramsecrets_cache_stale_served_total"] >= 2 * len(faults)


def test_every_route_serves_stale(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    ssm = moto.client("ssm")
    for name in ("/st/m/a", "/st/m/b"):
        ssm.put_parameter(Name=name, Value="v" + name[-1], Type="String")
    moto.client("secretsmanager").create_secret(Name="st/s", SecretString="sv")
    server = serve(SSM_PARAMETER_STORE_TTL=str(TTL), SECRETS_MANAGER_TTL=str(TTL),
                   PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD="false")
    reads = {"path": BY_PATH + "/st/m/", "secret": SECRET + q("st/s"), "many": many_url(["/st/m/a", "/st/m/b"]),
             "secrets-many": secrets_many_url(["st/s"])}
    for path in reads.values():
        assert server.get(path).status == 200  # cached (batch reads share entries with the single ones)
    proxy.fail(503)  # every operation of both services
    answers = {route: first_answer_after_expiry(server, path) for route, path in reads.items()}
    assert {route: (r.status, r.cache) for route, r in answers.items()} == dict.fromkeys(reads, (200, "stale")), {
        route: (r.status, r.body[:120]) for route, r in answers.items()}
    assert [p["Name"] for p in answers["path"].json()["Parameters"]] == ["/st/m/a", "/st/m/b"]
    assert answers["secret"].json()["SecretString"] == "sv"
    assert [p["Value"] for p in answers["many"].json()["Parameters"]] == ["va", "vb"]
    assert answers["secrets-many"].json()["SecretValues"][0]["SecretString"] == "sv"


def test_not_found_denied_and_invalid_are_never_hidden(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
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

    gone = first_answer_after_expiry(server, param_url("/st/gone"))
    assert (gone.status, gone.json()["__type"]) == (404, "ParameterNotFound")
    gone_secret = first_answer_after_expiry(server, "/v1/st/gone")
    assert (gone_secret.status, gone_secret.json()["__type"]) == (404, "ResourceNotFoundException")

    proxy.fail(400, code="AccessDeniedException", message="not allowed", operation="AmazonSSM.GetParameter")
    denied = first_answer_after_expiry(server, param_url("/st/denied"))
    assert (denied.status, denied.json()["__type"]) == (403, "AccessDeniedException")

    proxy.fail(400, code="ValidationException", message="bad", operation="AmazonSSM.GetParameter")
    invalid = first_answer_after_expiry(server, param_url("/st/invalid"))
    assert (invalid.status, invalid.json()["__type"]) == (400, "ValidationException")
    assert metrics(server)["paramsecrets_cache_stale_served_total"] == 0
