"""Prefetch at start: names through GetParameters (x10), paths through GetParametersByPath (every
page, recursive), secrets through BatchGetSecretValue (x20); in the background; a request for a key
being prefetched waits for that fetch; afterwards the usual request forms are hits.
"""

from __future__ import annotations

from typing import Any

import pytest

from paramsecrets.testing.fault_proxy import FaultProxy
from paramsecrets.testing.moto import MotoServer, wait_until
from paramsecrets.testing.server import ServerProcess
from tests.faults.conftest import (
    BY_PATH,
    SECRET,
    Serve,
    concurrently,
    many_url,
    metrics,
    param_url,
    parameter_value,
    q,
    recorded,
)

pytestmark = pytest.mark.timeout(60)

PREFETCH_PARAMETERS = "PARAMETERS_SECRETS_EXTENSION_PREFETCH_PARAMETERS"
PREFETCH_SECRETS = "PARAMETERS_SECRETS_EXTENSION_PREFETCH_SECRETS"


def prefetched(server: ServerProcess) -> bool:
    """The prefetch has finished (its counter is set once, at the end)."""
    return metrics(server)["paramsecrets_prefetched_total"] > 0


def pages_needed(ssm: Any, path: str) -> int:
    request: dict[str, Any] = {"Path": path, "Recursive": True, "MaxResults": 10}
    pages = 0
    while True:
        pages += 1
        answer = ssm.get_parameters_by_path(**request)
        if not answer.get("NextToken"):
            return pages
        request["NextToken"] = answer["NextToken"]


def test_prefetch_makes_the_minimum_calls_and_every_later_read_is_a_hit(moto: MotoServer, proxy: FaultProxy,
                                                                        serve: Serve) -> None:
    ssm = moto.client("ssm")
    names = [f"/pf/n/{i:02d}" for i in range(25)]
    for name in names:
        ssm.put_parameter(Name=name, Value="value of " + name, Type="String")
    # 30 parameters under one path, some nested (the path prefetch is recursive).
    path_names = [f"/pf/path/{i:02d}" for i in range(20)] + [f"/pf/path/deep/er/{i:02d}" for i in range(10)]
    for name in path_names:
        ssm.put_parameter(Name=name, Value="value of " + name, Type="String")
    ssm.put_parameter(Name="/pf/elsewhere", Value="x", Type="String")
    secrets = moto.client("secretsmanager")
    secret_ids = [f"pf/secret-{i:02d}" for i in range(25)]
    for secret_id in secret_ids:
        secrets.create_secret(Name=secret_id, SecretString="secret of " + secret_id)
    # The fewest pages any client needs here: moto, like AWS, may end with an empty page.
    direct_pages = pages_needed(ssm, "/pf/path/")
    assert direct_pages in (3, 4)
    moto.clear_calls()

    server = serve(**{PREFETCH_PARAMETERS: ",".join([*names, "/pf/path/"]), PREFETCH_SECRETS: ",".join(secret_ids)})
    assert wait_until(lambda: prefetched(server), timeout=10)

    # The minimum: ceil(25/10) GetParameters, ceil(30/10) pages, ceil(25/20) BatchGetSecretValue.
    get_parameters = recorded(moto, "AmazonSSM.GetParameters")
    assert sorted(len(body["Names"]) for body in get_parameters) == [5, 10, 10]
    assert sorted(n for body in get_parameters for n in body["Names"]) == names
    assert all(body["WithDecryption"] for body in get_parameters)
    pages = recorded(moto, "AmazonSSM.GetParametersByPath")
    assert len(pages) == direct_pages
    assert all(page["Path"] == "/pf/path/" and page["Recursive"] for page in pages)
    batches = recorded(moto, "secretsmanager.BatchGetSecretValue")
    assert sorted(len(body["SecretIdList"]) for body in batches) == [5, 20]
    upstream_calls = moto.count()
    assert upstream_calls == 3 + direct_pages + 2

    # Every usual single read is now a hit: plain, with decryption, both secret routes.
    for name in names + path_names:
        for decrypt in (False, True):
            response = server.get(param_url(name, decrypt=decrypt))
            assert (response.status, response.cache) == (200, "hit"), (name, decrypt, response.body)
            assert parameter_value(response) == "value of " + name
    for secret_id in secret_ids:
        for path in (SECRET + q(secret_id), "/v1/" + secret_id):
            response = server.get(path)
            assert (response.status, response.cache) == (200, "hit"), (path, response.body)
            assert response.json()["SecretString"] == "secret of " + secret_id
    # ...and so are the batch forms of the same keys.
    by_path = server.get(BY_PATH + "/pf/path/")
    assert (by_path.status, by_path.cache) == (200, "hit")
    assert [p["Name"] for p in by_path.json()["Parameters"]] == sorted(path_names)
    many = server.get(many_url(names))
    assert (many.status, many.cache) == (200, "hit")
    assert moto.count() == upstream_calls  # not one more call


def test_prefetch_runs_in_the_background(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    """The server answers at once, even while the prefetch is stuck upstream."""
    moto.client("ssm").put_parameter(Name="/pf/other", Value="o", Type="String")
    proxy.blackhole(operation="AmazonSSM.GetParameters")
    server = serve(**{PREFETCH_PARAMETERS: "/pf/stuck"}, SSM_PARAMETER_STORE_TIMEOUT_MILLIS="5000")
    assert wait_until(lambda: proxy.total("AmazonSSM.GetParameters", "blackholed") == 1)
    assert server.get("/ping", token=False).status == 200
    other = server.get(param_url("/pf/other"))
    assert (other.status, parameter_value(other)) == (200, "o")


def test_single_reads_for_keys_being_prefetched_wait_for_the_prefetch(moto: MotoServer, proxy: FaultProxy,
                                                                      serve: Serve) -> None:
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/pf/w/a", Value="va", Type="String")
    ssm.put_parameter(Name="/pf/w/b", Value="vb", Type="SecureString")
    moto.client("secretsmanager").create_secret(Name="pf/w/s", SecretString="vs")
    moto.clear_calls()
    proxy.delay(0.8, operation="AmazonSSM.GetParameters")
    proxy.delay(0.8, operation="secretsmanager.GetSecretValue")  # one secret: GetSecretValue, not a batch
    server = serve(**{PREFETCH_PARAMETERS: "/pf/w/a,/pf/w/b", PREFETCH_SECRETS: "pf/w/s"})
    assert wait_until(lambda: proxy.total("AmazonSSM.GetParameters", "delayed") == 1
                      and proxy.total("secretsmanager.GetSecretValue", "delayed") == 1)

    plain, decrypted, secret, v1 = concurrently([
        lambda: server.get(param_url("/pf/w/a")),
        lambda: server.get(param_url("/pf/w/b", decrypt=True)),
        lambda: server.get(SECRET + q("pf/w/s")),
        lambda: server.get("/v1/pf/w/s"),
    ])

    assert parameter_value(plain) == "va"
    assert parameter_value(decrypted) == "vb"
    assert secret.json()["SecretString"] == v1.json()["SecretString"] == "vs"
    assert moto.count("AmazonSSM.GetParameter") == 0
    assert moto.count("secretsmanager.GetSecretValue") == 1  # the prefetch's own
    assert moto.count("AmazonSSM.GetParameters") == 1
    assert moto.count("secretsmanager.BatchGetSecretValue") == 0


def test_a_batch_read_of_names_being_prefetched_waits_for_the_prefetch(moto: MotoServer, proxy: FaultProxy,
                                                                       serve: Serve) -> None:
    ssm = moto.client("ssm")
    for name in ("/pf/m/a", "/pf/m/b"):
        ssm.put_parameter(Name=name, Value="v" + name[-1], Type="String")
    moto.clear_calls()
    proxy.delay(0.8, operation="AmazonSSM.GetParameters")
    server = serve(**{PREFETCH_PARAMETERS: "/pf/m/a,/pf/m/b"})
    assert wait_until(lambda: proxy.total("AmazonSSM.GetParameters", "delayed") == 1)

    response = server.get(many_url(["/pf/m/a", "/pf/m/b"]))

    assert [p["Value"] for p in response.json()["Parameters"]] == ["va", "vb"]
    assert moto.count("AmazonSSM.GetParameters") == 1


def test_a_read_under_a_path_being_prefetched_waits_for_the_prefetch(moto: MotoServer, proxy: FaultProxy,
                                                                     serve: Serve) -> None:
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/pf/p/a", Value="va", Type="String")
    moto.clear_calls()
    proxy.delay(0.8, operation="AmazonSSM.GetParametersByPath")
    server = serve(**{PREFETCH_PARAMETERS: "/pf/p/"})
    assert wait_until(lambda: proxy.total("AmazonSSM.GetParametersByPath", "delayed") == 1)

    response = server.get(param_url("/pf/p/a"))

    assert parameter_value(response) == "va"
    assert moto.count("AmazonSSM.GetParameter") == 0


def test_a_failed_prefetch_leaves_reads_working(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    """Throttled through every attempt: nothing is cached, reads fetch on demand; one missing name
    does not spoil the others."""
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/pf/f/a", Value="va", Type="String")
    ssm.put_parameter(Name="/pf/g/a", Value="ga", Type="String")
    proxy.throttle(0, burst=0, operation="AmazonSSM.GetParametersByPath")
    server = serve(**{PREFETCH_PARAMETERS: "/pf/f/,/pf/g/a,/pf/g/missing"})
    assert wait_until(lambda: prefetched(server), timeout=10)
    assert proxy.total("AmazonSSM.GetParametersByPath", "throttled") == 3
    output = server.output()
    assert "prefetched 1 values" in output and "ThrottlingException" in output, output
    proxy.pass_through()

    assert server.get(param_url("/pf/g/a")).cache == "hit"
    missing = server.get(param_url("/pf/g/missing"))
    assert (missing.status, missing.json()["__type"]) == (404, "ParameterNotFound")
    after_failure = server.get(param_url("/pf/f/a"))
    assert (after_failure.status, after_failure.cache, parameter_value(after_failure)) == (200, "miss", "va")
