"""boto3 through paramsecrets answers what boto3 gets from moto directly: same parsed responses,
dates included, and the same exception classes; repeated reads cost one upstream call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from paramsecrets.testing.moto import MotoServer
from paramsecrets.testing.server import ServerProcess
from tests.integration.conftest import Seeded

Client = Callable[..., Any]


def same(answer: dict[str, Any]) -> dict[str, Any]:
    """A parsed response without its per-call metadata (request id, HTTP headers, retries)."""
    return {key: value for key, value in answer.items() if key != "ResponseMetadata"}


@pytest.mark.parametrize(("name", "decrypt"), [
    ("/app/plain", False), ("/app/plain", True), ("/app/secure", True), ("/app/secure", False),
    ("/app/list", False), ("/app/versioned", False), ("/app/versioned:2", False), ("/app/versioned:Dev", False),
    ("plain-top-level", False), ("/app/html", False),
])
def test_get_parameter_matches_moto(moto: MotoServer, seeded: Seeded, via: Client, name: str, decrypt: bool) -> None:
    direct = moto.client("ssm").get_parameter(Name=name, WithDecryption=decrypt)
    ours = via("ssm").get_parameter(Name=name, WithDecryption=decrypt)
    assert same(ours) == same(direct)
    assert isinstance(ours["Parameter"]["LastModifiedDate"], type(direct["Parameter"]["LastModifiedDate"]))


def test_repeated_reads_make_one_upstream_call(moto: MotoServer, seeded: Seeded, via: Client) -> None:
    ssm, secrets = via("ssm"), via("secretsmanager")
    for _ in range(10):
        assert ssm.get_parameter(Name="/app/plain")["Parameter"]["Value"] == "plain-value"
        assert secrets.get_secret_value(SecretId="prod/db")["Name"] == "prod/db"
    assert moto.count("AmazonSSM.GetParameter") == 1
    assert moto.count("secretsmanager.GetSecretValue") == 1
    answer = ssm.get_parameter(Name="/app/plain")
    assert answer["ResponseMetadata"]["HTTPHeaders"]["x-paramsecrets-cache"] == "hit"
    assert answer["ResponseMetadata"]["RequestId"]


def test_one_entry_serves_both_protocols(moto: MotoServer, seeded: Seeded, sdk_server: ServerProcess,
                                         via: Client) -> None:
    assert sdk_server.get("/systemsmanager/parameters/get?name=/app/plain").status == 200
    assert via("ssm").get_parameter(Name="/app/plain")["Parameter"]["Value"] == "plain-value"
    via("secretsmanager").get_secret_value(SecretId="prod/db")
    assert sdk_server.get("/secretsmanager/get?secretId=prod/db").cache == "hit"
    # Two values fetched (and, in the background, the secret's rotation schedule: DescribeSecret).
    assert len([call for call in moto.calls() if call != "secretsmanager.DescribeSecret"]) == 2


def test_get_parameters_matches_moto(moto: MotoServer, seeded: Seeded, via: Client) -> None:
    names = ["/app/plain", "/app/secure", "/app/versioned:1", "/missing", "/app/versioned:9"]
    for decrypt in (False, True):
        direct = moto.client("ssm").get_parameters(Names=names, WithDecryption=decrypt)
        ours = via("ssm").get_parameters(Names=names, WithDecryption=decrypt)
        for answer in (direct, ours):
            answer["Parameters"].sort(key=lambda parameter: parameter["Name"] + parameter.get("Selector", ""))
            answer["InvalidParameters"].sort()
        assert same(ours) == same(direct)
        assert ours["InvalidParameters"] == ["/app/versioned:9", "/missing"]


@pytest.mark.parametrize("recursive", [True, False])
def test_get_parameters_by_path_paginator_matches_moto(moto: MotoServer, seeded: Seeded, via: Client,
                                                       recursive: bool) -> None:
    ssm = moto.client("ssm")
    for index in range(23):
        ssm.put_parameter(Name=f"/deep/level/p{index:02d}", Value=f"v{index}", Type="String")
    ssm.put_parameter(Name="/deep/top", Value="t", Type="SecureString")
    moto.clear_calls()

    def everything(client: Any) -> tuple[list[dict[str, Any]], int]:
        pages = list(client.get_paginator("get_parameters_by_path").paginate(
            Path="/deep", Recursive=recursive, WithDecryption=True, PaginationConfig={"PageSize": 4}))
        found = [parameter for page in pages for parameter in page["Parameters"]]
        return sorted(found, key=lambda parameter: parameter["Name"]), len(pages)

    direct, _ = everything(ssm)
    ours, pages = everything(via("ssm"))
    assert ours == direct
    assert len(ours) == (24 if recursive else 1)
    assert pages == (6 if recursive else 1)
    moto.clear_calls()
    assert everything(via("ssm"))[0] == direct
    assert moto.count() == 0  # every page of the second listing came from the cache


def test_get_secret_value_matches_moto(moto: MotoServer, seeded: Seeded, via: Client) -> None:
    sm = moto.client("secretsmanager")
    previous = sm.get_secret_value(SecretId="rotating", VersionStage="AWSPREVIOUS")["VersionId"]
    cases: list[dict[str, str]] = [
        {"SecretId": "prod/db"}, {"SecretId": seeded.secret_arn}, {"SecretId": "blob"},
        {"SecretId": "rotating"}, {"SecretId": "rotating", "VersionStage": "AWSPREVIOUS"},
        {"SecretId": "rotating", "VersionId": previous},
        {"SecretId": "prod/db", "VersionId": seeded.secret_version},
    ]
    for case in cases:
        assert same(via("secretsmanager").get_secret_value(**case)) == same(sm.get_secret_value(**case)), case
    assert via("secretsmanager").get_secret_value(SecretId="blob")["SecretBinary"] == seeded.binary


def test_batch_get_secret_value_matches_moto(moto: MotoServer, seeded: Seeded, via: Client) -> None:
    ids = ["prod/db", "blob", "rotating", "nope"]
    direct = moto.client("secretsmanager").batch_get_secret_value(SecretIdList=ids)
    ours = via("secretsmanager").batch_get_secret_value(SecretIdList=ids)
    for answer in (direct, ours):
        answer["SecretValues"].sort(key=lambda value: value["Name"])
    assert same(ours)["SecretValues"] == same(direct)["SecretValues"]
    assert [error["SecretId"] for error in ours["Errors"]] == [error["SecretId"] for error in direct["Errors"]]
    assert [error["ErrorCode"] for error in ours["Errors"]] == [error["ErrorCode"] for error in direct["Errors"]]


def test_not_found_raises_the_same_exception_class(moto: MotoServer, seeded: Seeded, via: Client) -> None:
    cases = [("ssm", "get_parameter", {"Name": "/nope"}),
             ("ssm", "get_parameter", {"Name": "/app/versioned:42"}),
             ("secretsmanager", "get_secret_value", {"SecretId": "nope"})]
    for service, operation, arguments in cases:
        with pytest.raises(ClientError) as direct:
            getattr(moto.client(service), operation)(**arguments)
        client = via(service)
        with pytest.raises(ClientError) as ours:
            getattr(client, operation)(**arguments)
        assert type(ours.value).__name__ == type(direct.value).__name__  # classes are per client
        assert ours.value.response["Error"]["Code"] == direct.value.response["Error"]["Code"]
        status = ours.value.response["ResponseMetadata"]["HTTPStatusCode"]
        assert status == direct.value.response["ResponseMetadata"]["HTTPStatusCode"]
    ssm, secrets = via("ssm"), via("secretsmanager")
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name="/nope")
    with pytest.raises(secrets.exceptions.ResourceNotFoundException):
        secrets.get_secret_value(SecretId="nope")


def test_writes_are_forwarded_and_invalidate(moto: MotoServer, seeded: Seeded, via: Client) -> None:
    ssm = via("ssm")
    assert ssm.get_parameter(Name="/app/plain")["Parameter"]["Value"] == "plain-value"
    assert ssm.get_parameter(Name="/app/plain:1")["Parameter"]["Value"] == "plain-value"
    listed = ssm.get_parameters_by_path(Path="/app")["Parameters"]
    assert {p["Name"]: p["Value"] for p in listed}["/app/plain"] == "plain-value"
    answer = ssm.put_parameter(Name="/app/plain", Value="new-value", Type="String", Overwrite=True)
    assert answer["Version"] == 2
    assert answer["ResponseMetadata"]["HTTPHeaders"]["x-paramsecrets-cache"] == "forwarded"
    assert "AmazonSSM.PutParameter" in moto.calls()
    assert moto.client("ssm").get_parameter(Name="/app/plain")["Parameter"]["Value"] == "new-value"
    assert ssm.get_parameter(Name="/app/plain")["Parameter"]["Value"] == "new-value"
    listed = ssm.get_parameters_by_path(Path="/app")["Parameters"]
    assert {p["Name"]: p["Value"] for p in listed}["/app/plain"] == "new-value"

    secrets = via("secretsmanager")
    assert secrets.get_secret_value(SecretId="rotating")["SecretString"] == "second"
    secrets.put_secret_value(SecretId=seeded.secret_arn.replace("prod/db", "rotating").rpartition("-")[0],
                             SecretString="third")
    assert secrets.get_secret_value(SecretId="rotating")["SecretString"] == "third"


def test_reads_that_are_not_cached_are_forwarded(moto: MotoServer, seeded: Seeded, via: Client) -> None:
    direct = moto.client("ssm").describe_parameters()
    ours = via("ssm").describe_parameters()
    assert same(ours) == same(direct)
    assert sorted(s["Name"] for s in via("secretsmanager").list_secrets()["SecretList"]) == [
        "blob", "prod/db", "rotating"]
    ssm = via("ssm")
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.delete_parameter(Name="/nope")  # AWS's error, relayed unchanged
