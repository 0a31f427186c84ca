"""Batch and path routes (README, HTTP API): request order, InvalidParameters / Errors, chunking,
answering partly from cache and fetching only what is missing, each item also cached alone.
"""

from __future__ import annotations

import pytest

from paramsecrets.testing.fault_proxy import FaultProxy
from paramsecrets.testing.moto import MotoServer
from tests.faults.conftest import (
    BY_PATH,
    SECRET,
    Serve,
    many_url,
    metrics,
    param_url,
    parameter_value,
    q,
    recorded,
    secrets_many_url,
)

pytestmark = pytest.mark.timeout(60)


def seed(moto: MotoServer, names: list[str]) -> None:
    ssm = moto.client("ssm")
    for name in names:
        ssm.put_parameter(Name=name, Value="v:" + name, Type="String")


def test_get_many_answers_in_request_order_with_invalid_parameters(moto: MotoServer, proxy: FaultProxy,
                                                                   serve: Serve) -> None:
    seed(moto, ["/b/a", "/b/b", "/b/c"])
    moto.clear_calls()
    server = serve()

    response = server.get(many_url(["/b/c", "/b/missing1", "/b/a", "/b/b", "/b/missing2"]))

    assert (response.status, response.cache) == (200, "miss")
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["Parameters", "InvalidParameters", "ResultMetadata"]
    assert [p["Name"] for p in body["Parameters"]] == ["/b/c", "/b/a", "/b/b"]
    assert [p["Value"] for p in body["Parameters"]] == ["v:/b/c", "v:/b/a", "v:/b/b"]
    assert list(body["Parameters"][0]) == ["ARN", "DataType", "LastModifiedDate", "Name", "Selector",
                                           "SourceResult", "Type", "Value", "Version"]
    assert body["InvalidParameters"] == ["/b/missing1", "/b/missing2"]
    assert body["ResultMetadata"] == {}
    assert moto.count("AmazonSSM.GetParameters") == 1
    # Each found item is cached alone; the invalid ones are remembered as not found for ERROR_TTL.
    for name in ("/b/a", "/b/b", "/b/c"):
        single = server.get(param_url(name))
        assert (single.cache, parameter_value(single)) == ("hit", "v:" + name)
    missing = server.get(param_url("/b/missing1"))
    assert (missing.status, missing.cache) == (404, "hit")  # from memory, no call
    assert moto.count("AmazonSSM.GetParameter") == 0


def test_get_many_fetches_only_what_is_missing(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    names = ["/b/p/a", "/b/p/b", "/b/p/c", "/b/p/d"]
    seed(moto, names)
    moto.clear_calls()
    server = serve()
    for name in names[:2]:
        assert server.get(param_url(name)).cache == "miss"

    response = server.get(many_url(names))

    assert response.status == 200
    assert [p["Value"] for p in response.json()["Parameters"]] == ["v:" + n for n in names]
    assert [body["Names"] for body in recorded(moto, "AmazonSSM.GetParameters")] == [names[2:]]
    assert response.cache == "miss"  # some of it had to be fetched
    again = server.get(many_url(names))
    assert (again.status, again.cache) == (200, "hit")
    assert moto.count("AmazonSSM.GetParameters") == 1
    samples = metrics(server)
    assert samples["paramsecrets_cache_misses_total"] == 2 + 2  # two singles, two batch items
    assert samples["paramsecrets_cache_hits_total"] == 2 + 4


def test_get_many_chunks_by_10_and_caps_at_100(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    names = [f"/b/c/{i:02d}" for i in range(25)]
    seed(moto, names)
    moto.clear_calls()
    server = serve()
    reversed_names = names[::-1]

    response = server.get(many_url(reversed_names))

    assert [p["Name"] for p in response.json()["Parameters"]] == reversed_names
    chunks = [body["Names"] for body in recorded(moto, "AmazonSSM.GetParameters")]
    assert sorted(len(chunk) for chunk in chunks) == [5, 10, 10]
    assert sorted(n for chunk in chunks for n in chunk) == names
    too_many = server.get(many_url([f"/b/x{i}" for i in range(101)]))
    assert (too_many.status, too_many.json()["__type"]) == (400, "BadRequest")
    assert moto.count("AmazonSSM.GetParameters") == 3


def test_get_many_with_decryption(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/b/d/secure", Value="plain-secret", Type="SecureString")
    ssm.put_parameter(Name="/b/d/string", Value="plain", Type="String")
    server = serve()

    decrypted = server.get(many_url(["/b/d/secure", "/b/d/string"], decrypt=True))

    assert [p["Value"] for p in decrypted.json()["Parameters"]] == ["plain-secret", "plain"]
    assert [p["Type"] for p in decrypted.json()["Parameters"]] == ["SecureString", "String"]
    assert parameter_value(server.get(param_url("/b/d/secure", decrypt=True))) == "plain-secret"
    # A SecureString read without decryption is another answer, never served from the decrypted one.
    undecrypted = server.get(param_url("/b/d/secure"))
    assert undecrypted.cache == "miss"
    assert parameter_value(undecrypted) != "plain-secret"


def test_get_many_whole_call_failure_is_the_error(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    seed(moto, ["/b/t/a"])
    server = serve()
    proxy.throttle(0, burst=0, operation="AmazonSSM.GetParameters")

    response = server.get(many_url(["/b/t/a", "/b/t/b"]))

    assert (response.status, response.json()["__type"]) == (429, "ThrottlingException")
    assert proxy.total("AmazonSSM.GetParameters", "throttled") == 3


def test_get_many_with_a_version_selector_and_the_plain_name(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    """`/x:1` and `/x` in one request are two answers: version 1, and the latest (version 2).

    Ten such pairs: moto returns a call's parameters in no fixed order, so one pair alone would
    show a wrong pairing only about half the time."""
    ssm = moto.client("ssm")
    bases = [f"/b/v{i}" for i in range(10)]
    for base in bases:
        ssm.put_parameter(Name=base, Value="one", Type="String")
        ssm.put_parameter(Name=base, Value="two", Type="String", Overwrite=True)
    server = serve()

    response = server.get(many_url([name for base in bases for name in (base + ":1", base)]))

    pairs = [(p["Version"], p["Value"]) for p in response.json()["Parameters"]]
    assert pairs == [(1, "one"), (2, "two")] * len(bases)
    assert {parameter_value(server.get(param_url(base))) for base in bases} == {"two"}


def test_secrets_get_many_in_request_order_with_errors(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    secrets = moto.client("secretsmanager")
    for name in ("b/s1", "b/s2"):
        secrets.create_secret(Name=name, SecretString="sv:" + name)
    moto.clear_calls()
    server = serve()

    response = server.get(secrets_many_url(["b/s2", "b/missing", "b/s1"]))

    assert (response.status, response.cache) == (200, "miss")
    body = response.json()
    assert list(body) == ["SecretValues", "Errors", "ResultMetadata"]
    assert [v["Name"] for v in body["SecretValues"]] == ["b/s2", "b/s1"]
    assert [v["SecretString"] for v in body["SecretValues"]] == ["sv:b/s2", "sv:b/s1"]
    assert list(body["SecretValues"][0]) == ["ARN", "CreatedDate", "Name", "SecretBinary", "SecretString",
                                             "VersionId", "VersionStages"]
    assert len(body["Errors"]) == 1
    error = body["Errors"][0]
    assert list(error) == ["SecretId", "ErrorCode", "Message"]
    assert (error["SecretId"], error["ErrorCode"]) == ("b/missing", "ResourceNotFoundException")
    assert moto.count("secretsmanager.BatchGetSecretValue") == 1
    for path in (SECRET + q("b/s1"), "/v1/b/s2"):
        single = server.get(path)
        assert (single.status, single.cache) == (200, "hit")
    assert moto.count("secretsmanager.GetSecretValue") == 0


def test_secrets_get_many_chunks_by_20_and_uses_the_cache(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    secrets = moto.client("secretsmanager")
    ids = [f"b/c/{i:02d}" for i in range(25)]
    for secret_id in ids:
        secrets.create_secret(Name=secret_id, SecretString="sv:" + secret_id)
    moto.clear_calls()
    server = serve()
    assert server.get("/v1/" + ids[0]).cache == "miss"

    response = server.get(secrets_many_url(ids))

    assert [v["SecretString"] for v in response.json()["SecretValues"]] == ["sv:" + i for i in ids]
    batches = [body["SecretIdList"] for body in recorded(moto, "secretsmanager.BatchGetSecretValue")]
    assert sorted(len(batch) for batch in batches) == [4, 20]
    assert ids[0] not in [i for batch in batches for i in batch]


def test_get_by_path_sorted_recursive_paged_and_cached_per_item(moto: MotoServer, proxy: FaultProxy,
                                                                serve: Serve) -> None:
    names = [f"/b/tree/{i:02d}" for i in range(12)] + [f"/b/tree/sub/{i:02d}" for i in range(9)]
    seed(moto, names[::-1])
    seed(moto, ["/b/treeless", "/b/other/x"])
    moto.clear_calls()
    server = serve()

    response = server.get(BY_PATH + "/b/tree/")

    assert (response.status, response.cache) == (200, "miss")
    body = response.json()
    assert list(body) == ["Parameters", "ResultMetadata"]
    assert [p["Name"] for p in body["Parameters"]] == sorted(names)
    assert all(p["Value"] == "v:" + p["Name"] for p in body["Parameters"])
    pages = moto.count("AmazonSSM.GetParametersByPath")
    assert pages == 3  # 21 parameters, 10 a page
    for name in names:
        assert server.get(param_url(name)).cache == "hit"
    assert server.get(BY_PATH + "/b/tree/").cache == "hit"
    assert server.get(BY_PATH + "/b/tree/&recursive=true").cache == "hit"  # the default, said aloud

    flat = server.get(BY_PATH + "/b/tree/&recursive=false")
    assert flat.cache == "miss"  # another answer, another key
    assert [p["Name"] for p in flat.json()["Parameters"]] == sorted(names[:12])
    assert moto.count("AmazonSSM.GetParameter") == 0


def test_get_by_path_of_nothing_is_an_empty_list(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    server = serve()
    response = server.get(BY_PATH + "/b/none/")
    assert (response.status, response.json()) == (200, {"Parameters": [], "ResultMetadata": {}})


def test_get_many_refresh_now_fetches_everything_again(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    names = ["/b/r/a", "/b/r/b"]
    seed(moto, names)
    moto.clear_calls()
    server = serve()
    assert server.get(many_url(names)).cache == "miss"
    moto.client("ssm").put_parameter(Name="/b/r/a", Value="new", Type="String", Overwrite=True)

    refreshed = server.get(many_url(names) + "&refreshNow=true")

    assert (refreshed.status, refreshed.cache) == (200, "refresh")
    assert [p["Value"] for p in refreshed.json()["Parameters"]] == ["new", "v:/b/r/b"]
    assert [body["Names"] for body in recorded(moto, "AmazonSSM.GetParameters")] == [names, names]
    assert parameter_value(server.get(param_url("/b/r/a"))) == "new"  # stored for the single form too


def test_get_many_accepts_arns_and_repeated_names(moto: MotoServer, proxy: FaultProxy, serve: Serve) -> None:
    seed(moto, ["/b/arn/a", "/b/arn/b"])
    arn = moto.client("ssm").get_parameter(Name="/b/arn/a")["Parameter"]["ARN"]
    server = serve()

    response = server.get(many_url([arn, "/b/arn/b", "/b/arn/b"]))

    body = response.json()
    assert [p["Name"] for p in body["Parameters"]] == ["/b/arn/a", "/b/arn/b"]
    assert body["InvalidParameters"] == []
    assert parameter_value(server.get(param_url(arn))) == "v:/b/arn/a"
