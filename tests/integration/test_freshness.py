"""Freshness and reach end to end: the real server against moto, calls counted by moto's recorder.

Revalidation by version (DescribeSecret, then GetSecretValue only when the version changed),
remembered errors, roleArn reads through STS AssumeRole (moto's STS), and prefetch by tag
(BatchGetSecretValue with filters). No sleeps: a test reads until the TTL has visibly passed
(the answer is no longer a hit), with a generous bound.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import cast

from paramsecrets.testing.moto import ACCESS_KEY, MotoServer, wait_until
from paramsecrets.testing.server import ServerProcess

DESCRIBE = "secretsmanager.DescribeSecret"
GET_SECRET = "secretsmanager.GetSecretValue"
BATCH = "secretsmanager.BatchGetSecretValue"
GET_PARAMETER = "AmazonSSM.GetParameter"
ASSUME = "sts.AssumeRole"
ROLE = "arn:aws:iam::123456789012:role/paramsecrets-reader"
SHORT_TTL = {"SECRETS_MANAGER_TTL": "1", "PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD": "false"}


def read_past_ttl(server: ServerProcess, target: str) -> str | None:
    """Read `target` until an answer is not a hit (the TTL passed and AWS was asked); its state."""
    seen: list[str | None] = []

    def read_is_not_a_hit() -> bool:
        seen.append(server.get(target).cache)
        return seen[-1] != "hit"

    assert wait_until(read_is_not_a_hit, timeout=30)
    return seen[-1]


def test_an_unchanged_secret_past_its_ttl_costs_one_describe_and_no_fetch(
        start: Callable[..., ServerProcess], moto: MotoServer) -> None:
    moto.client("secretsmanager").create_secret(Name="app/db", SecretString="v1")
    server = start(**SHORT_TTL)
    assert server.get("/secretsmanager/get?secretId=app/db").cache == "miss"
    assert wait_until(lambda: moto.count(DESCRIBE) == 1)  # the rotation schedule, learnt after the fetch
    moto.clear_calls()
    assert read_past_ttl(server, "/secretsmanager/get?secretId=app/db") == "miss"
    answer = server.get("/secretsmanager/get?secretId=app/db")
    assert (answer.status, answer.json()["SecretString"]) == (200, "v1")
    assert Counter(moto.calls()) == {DESCRIBE: 1}


def test_a_changed_secret_costs_one_describe_and_one_fetch_and_returns_the_new_value(
        start: Callable[..., ServerProcess], moto: MotoServer) -> None:
    sm = moto.client("secretsmanager")
    sm.create_secret(Name="app/db", SecretString="v1")
    server = start(**SHORT_TTL)
    assert server.get("/v1/app/db").json()["SecretString"] == "v1"
    assert wait_until(lambda: moto.count(DESCRIBE) == 1)
    sm.put_secret_value(SecretId="app/db", SecretString="v2")
    moto.clear_calls()
    assert read_past_ttl(server, "/v1/app/db") == "miss"
    assert server.get("/v1/app/db").json()["SecretString"] == "v2"
    assert Counter(moto.calls()) == {DESCRIBE: 1, GET_SECRET: 1}


def test_describe_denied_falls_back_to_fetching(start: Callable[..., ServerProcess], moto: MotoServer) -> None:
    """With DescribeSecret refused (moto enforcing IAM: the user may only GetSecretValue), reads still work."""
    iam = moto.client("iam")
    sm = moto.client("secretsmanager")
    sm.create_secret(Name="app/db", SecretString="v1")
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="get-only", PolicyDocument=(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue",'
        '"Resource":"*"}]}'))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    moto.enforce_auth_after(0)
    server = start(AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"], **SHORT_TTL)
    assert server.get("/v1/app/db").status == 200
    assert wait_until(lambda: moto.count(DESCRIBE) == 1)
    for _ in range(2):
        read_past_ttl(server, "/v1/app/db")
        assert server.get("/v1/app/db").status == 200
    assert moto.count(DESCRIBE) == 1 and moto.count(GET_SECRET) == 3
    assert server.output().count("DescribeSecret is denied") == 1


def test_two_reads_of_a_missing_name_within_the_error_ttl_cost_one_call(
        server: ServerProcess, moto: MotoServer) -> None:
    first = server.get("/systemsmanager/parameters/get?name=/nope", detailed=True)
    second = server.get("/systemsmanager/parameters/get?name=/nope", detailed=True)
    assert (first.status, first.cache) == (404, None)
    assert (second.status, second.cache, second.headers["x-paramsecrets-error"]) == (404, "hit", "ParameterNotFound")
    assert moto.count(GET_PARAMETER) == 1
    assert "paramsecrets_cached_error_answers_total 1" in server.get("/metrics").body.decode()


def test_role_arn_reads_cost_one_assume_role_and_are_signed_as_the_role(
        start: Callable[..., ServerProcess], moto: MotoServer) -> None:
    moto.client("ssm").put_parameter(Name="/x/p", Value="pv", Type="String")
    moto.client("secretsmanager").create_secret(Name="x/s", SecretString="sv")
    moto.clear_calls()
    server = start(AWS_ENDPOINT_URL_STS=moto.url, PARAMETERS_SECRETS_EXTENSION_REVALIDATE_SECRETS="false")
    for _ in range(5):
        parameter = server.get(f"/systemsmanager/parameters/get?name=/x/p&roleArn={ROLE}")
        assert (parameter.status, parameter.json()["Parameter"]["Value"]) == (200, "pv")
        assert server.get(f"/v1/x/s?roleArn={ROLE}").json()["SecretString"] == "sv"
    assert server.get("/systemsmanager/parameters/get?name=/x/p").cache == "miss"  # its own entry
    calls = moto.signed_calls()
    assert Counter(operation for operation, _ in calls) == {ASSUME: 1, GET_PARAMETER: 2, GET_SECRET: 1}
    signers = {operation: key for operation, key in calls if operation != GET_PARAMETER}
    assert signers[ASSUME] == ACCESS_KEY  # STS is asked with our own credentials...
    secret_signer = cast(str, signers[GET_SECRET])
    assert secret_signer != ACCESS_KEY and secret_signer.startswith("ASIA")  # ...reads as the role
    assert [key for operation, key in calls if operation == GET_PARAMETER] == [signers[GET_SECRET], ACCESS_KEY]


def test_a_malformed_role_arn_is_a_400_without_any_call(server: ServerProcess, moto: MotoServer) -> None:
    answer = server.get("/v1/x?roleArn=arn:aws:iam::1:role/r", detailed=True)
    assert (answer.status, answer.json()["__type"]) == (400, "BadRequest")
    assert "12-digit" in answer.json()["message"]
    assert server.get("/v1/x?roleArn=nonsense").status == 400  # the AWS profile: 400 too
    assert moto.count() == 0


def test_prefetch_by_tag_makes_the_first_reads_hits(start: Callable[..., ServerProcess], moto: MotoServer) -> None:
    sm = moto.client("secretsmanager")
    for n in range(25):  # more than one page of 20
        sm.create_secret(Name=f"pay/s{n}", SecretString=f"v{n}", Tags=[{"Key": "team", "Value": "payments"}])
    sm.create_secret(Name="search/s", SecretString="x", Tags=[{"Key": "team", "Value": "search"}])
    moto.clear_calls()
    server = start(PARAMETERS_SECRETS_EXTENSION_PREFETCH_SECRETS="tag:team=payments")
    assert wait_until(lambda: "prefetched 25 values" in server.output(), timeout=30)
    for n in range(25):
        assert server.get(f"/secretsmanager/get?secretId=pay/s{n}").cache == "hit"
    assert server.get("/secretsmanager/get?secretId=search/s").cache == "miss"
    assert moto.count(BATCH) >= 2 and moto.count(GET_SECRET) == 1
