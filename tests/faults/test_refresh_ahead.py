"""Refresh ahead, end to end: a hit late in an entry's TTL refreshes it in the background through
the real transport, as a batch call (GetParameters), and later hits carry the new value.

The rules themselves (the 80% window, one refresh per window, gathering into batches of 10 and 20,
back-off after a failed refresh, TTL jitter) are tested exactly, in-process, on the fake clock in
tests/policy/test_refresh_ahead.py. Here: outcomes only, waits poll a condition with a bound.
"""

from __future__ import annotations

import pytest

from paramsecrets.testing.fault_proxy import FaultProxy
from paramsecrets.testing.moto import MotoServer, wait_until
from paramsecrets.testing.server import Response
from tests.faults.conftest import BY_PATH, Serve, metrics, param_url, parameter_value

pytestmark = pytest.mark.timeout(90)

BOUND_S = 30


def test_a_hot_key_is_refreshed_in_the_background_and_picks_up_the_new_value(moto: MotoServer, proxy: FaultProxy,
                                                                             serve: Serve) -> None:
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/ra/hot", Value="v0", Type="String")
    moto.clear_calls()
    server = serve(SSM_PARAMETER_STORE_TTL="2")
    first = server.get(param_url("/ra/hot"))
    assert (first.status, first.cache, parameter_value(first)) == (200, "miss", "v0")
    ssm.put_parameter(Name="/ra/hot", Value="v1", Type="String", Overwrite=True)

    answers: list[Response] = []

    def read_is_the_new_hit() -> bool:
        answers.append(server.get(param_url("/ra/hot")))
        return answers[-1].cache == "hit" and parameter_value(answers[-1]) == "v1"

    assert wait_until(read_is_the_new_hit, timeout=BOUND_S)
    assert {answer.status for answer in answers} == {200}
    assert moto.count("AmazonSSM.GetParameters") >= 1  # the refresh: a batch call
    assert metrics(server)["paramsecrets_refresh_ahead_total"] >= 1


def test_a_hot_path_is_refreshed_through_its_own_call(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/ra/p/a", Value="v0", Type="String")
    moto.clear_calls()
    server = serve(SSM_PARAMETER_STORE_TTL="2")
    assert server.get(BY_PATH + "/ra/p/").cache == "miss"
    ssm.put_parameter(Name="/ra/p/a", Value="v1", Type="String", Overwrite=True)
    answers: list[Response] = []

    def read_is_the_new_hit() -> bool:
        answers.append(server.get(BY_PATH + "/ra/p/"))
        return answers[-1].cache == "hit" and answers[-1].json()["Parameters"][0]["Value"] == "v1"

    assert wait_until(read_is_the_new_hit, timeout=BOUND_S)
    assert moto.count("AmazonSSM.GetParametersByPath") >= 2


def test_without_refresh_ahead_a_hot_key_misses_at_expiry(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    """The contrast (the AWS extension's behaviour): the read after expiry waits for AWS."""
    moto.client("ssm").put_parameter(Name="/ra/cold", Value="v", Type="String")
    server = serve(SSM_PARAMETER_STORE_TTL="1", PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD="false")
    assert server.get(param_url("/ra/cold")).cache == "miss"
    states: list[str | None] = []

    def read_is_a_miss() -> bool:
        states.append(server.get(param_url("/ra/cold")).cache)
        return states[-1] == "miss"

    assert wait_until(read_is_a_miss, timeout=BOUND_S)
    assert set(states[:-1]) <= {"hit"}
    assert metrics(server)["paramsecrets_refresh_ahead_total"] == 0
