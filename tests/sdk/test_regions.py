"""Issue 22 item 12: per-region state of the SDK forwarder is bounded and expires; region names that
AWS would never use are refused before any upstream call."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

from paramsecrets.api.sdk.regions import MAX_REGIONS, RegionTable, is_aws_region_name
from paramsecrets.testing.moto import ACCESS_KEY, SECRET_KEY, MotoServer
from paramsecrets.testing.server import ServerProcess
from tests.integration.conftest import Seeded

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient  # boto3-stubs[secretsmanager]

MADE_UP = [f"{area}-{direction}-{number}" for area in ("af", "me", "sa", "mx") for direction in ("north", "south")
           for number in range(11, 17)]  # 48 names AWS could open, none real


class Held:
    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-2", "ap-southeast-7", "us-gov-west-1", "cn-north-1",
                                    "us-isob-east-1", "eu-isoe-west-1", "eusc-de-east-1", "il-central-1"])
def test_aws_region_names(region: str) -> None:
    assert is_aws_region_name(region)


@pytest.mark.parametrize("region", ["xx-fake-1", "us-east-01", "us-east-100", "us-east", "aws-global", "us-upper-1",
                                    "us-gov-iso-east-1", "US-EAST-1", "us-east-\uff11", "", "local"])
def test_names_aws_would_never_use(region: str) -> None:
    assert not is_aws_region_name(region)


def test_the_table_is_bounded_per_service_and_keeps_the_home_region() -> None:
    table: RegionTable[Held] = RegionTable("us-east-1", max_regions=3, clock=lambda: 0.0)
    home = table.get("ssm", "us-east-1", lambda: Held("home"))
    made = [table.get("ssm", region, functools.partial(Held, region)) for region in MADE_UP[:4]]
    assert not home.closed and ("ssm", "us-east-1") in table
    assert [held.closed for held in made] == [True, True, False, False]  # least recently used went first
    assert table.get("secretsmanager", "eu-west-1", lambda: Held("sm")).name == "sm"  # per service
    assert len(table) == 4


def test_a_region_unused_for_a_while_is_released() -> None:
    now = [0.0]
    table: RegionTable[Held] = RegionTable("us-east-1", idle_s=100, clock=lambda: now[0])
    home = table.get("ssm", "us-east-1", lambda: Held("home"))
    old = table.get("ssm", "eu-west-1", lambda: Held("old"))
    now[0] = 60.0
    kept = table.get("ssm", "eu-west-2", lambda: Held("kept"))
    now[0] = 130.0
    table.get("ssm", "eu-west-2", lambda: Held("again"))
    assert old.closed and not kept.closed and not home.closed
    assert ("ssm", "eu-west-1") not in table and ("ssm", "us-east-1") in table


def status_of(call: Callable[[], object]) -> tuple[int, str]:
    try:
        call()
    except ClientError as error:
        return error.response["ResponseMetadata"]["HTTPStatusCode"], str(error.response["Error"]["Code"])
    return 200, ""


def test_made_up_regions_no_longer_lock_real_ones_out(moto: MotoServer, seeded: Seeded,
                                                      sdk_server: ServerProcess) -> None:
    def client(region: str) -> SecretsManagerClient:
        session = boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                                        region_name=region)
        return session.client("secretsmanager", endpoint_url=f"http://127.0.0.1:{sdk_server.port}",
                              config=botocore.config.Config(retries={"total_max_attempts": 1}))

    for region in MADE_UP:  # more than MAX_REGIONS: each forwarded to moto (the override serves every region)
        def describe(r: str = region) -> object:
            return client(r).describe_secret(SecretId="prod/db")

        status, code = status_of(describe)
        assert (status, code) != (400, "InvalidSignatureException"), region
    assert len(MADE_UP) > MAX_REGIONS
    answer = client("us-west-2").describe_secret
    assert status_of(lambda: answer(SecretId="prod/db"))[1] != "InvalidSignatureException"
    moto.clear_calls()
    bad = client("xx-fake-1").describe_secret
    assert status_of(lambda: bad(SecretId="prod/db")) == (400, "InvalidSignatureException")
    assert moto.count() == 0
    assert "more than 32 regions" not in sdk_server.output()
