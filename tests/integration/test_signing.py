"""Requests are really signed: moto verifies SigV4, the session token and IAM policies."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from paramsecrets.testing.moto import MotoServer
from paramsecrets.testing.server import ServerProcess

ALLOW_READS = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParameters"], "Resource": "*"}]}


@pytest.fixture
def assumed_role(moto: MotoServer) -> Iterator[dict[str, Any]]:
    """Temporary credentials (with a session token) of a role that may read parameters only."""
    moto.client("ssm").put_parameter(Name="/signed/value", Value="only-with-a-good-signature", Type="String")
    moto.client("secretsmanager").create_secret(Name="forbidden", SecretString="nope")
    moto.enforce_auth_after(6)  # the set-up calls below are free; everything after is checked
    iam = moto.client("iam")
    iam.create_user(UserName="deployer")
    key = iam.create_access_key(UserName="deployer")["AccessKey"]
    iam.put_user_policy(UserName="deployer", PolicyName="assume", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    role = iam.create_role(RoleName="function-role", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))["Role"]
    iam.put_role_policy(RoleName="function-role", PolicyName="reads", PolicyDocument=json.dumps(ALLOW_READS))
    sts = moto.client("sts", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    credentials = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="paramsecrets-test")["Credentials"]
    moto.clear_calls()
    yield credentials
    moto.reset()


def start_as(start: Callable[..., ServerProcess], credentials: dict[str, Any], **changes: str) -> ServerProcess:
    values = {"AWS_ACCESS_KEY_ID": credentials["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
              "AWS_SESSION_TOKEN": credentials["SessionToken"]}
    return start(**{**values, **changes})


def test_signed_with_assumed_role_credentials(start: Callable[..., ServerProcess], assumed_role: dict[str, Any],
                                              moto: MotoServer) -> None:
    server = start_as(start, assumed_role)
    answer = server.get("/systemsmanager/parameters/get?name=/signed/value")
    assert answer.status == 200, answer.body
    assert answer.json()["Parameter"]["Value"] == "only-with-a-good-signature"
    assert moto.count("AmazonSSM.GetParameter") == 1


def test_policy_denial_is_403(start: Callable[..., ServerProcess], assumed_role: dict[str, Any]) -> None:
    server = start_as(start, assumed_role)
    answer = server.get("/secretsmanager/get?secretId=forbidden", detailed=True)
    assert answer.status == 403
    assert answer.json()["__type"] in ("AccessDenied", "AccessDeniedException")


@pytest.mark.parametrize("change", [{"AWS_SECRET_ACCESS_KEY": "not-the-secret"},
                                    {"AWS_SESSION_TOKEN": "not-the-session-token"}])
def test_bad_credentials_are_403(start: Callable[..., ServerProcess], assumed_role: dict[str, Any],
                                 change: dict[str, str]) -> None:
    server = start_as(start, assumed_role, **change)
    answer = server.get("/systemsmanager/parameters/get?name=/signed/value", detailed=True)
    assert answer.status == 403
    assert answer.json()["__type"] in ("SignatureDoesNotMatch", "InvalidClientTokenId", "AccessDenied")
    assert "only-with-a-good-signature" not in answer.body.decode()
