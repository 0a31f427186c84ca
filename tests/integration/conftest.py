"""Seed data shared by the integration tests: one of each kind of value."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import pytest

from paramsecrets.testing.moto import MotoServer


@dataclass
class Seeded:
    """What `seeded` put into moto, for assertions."""

    secret_arn: str
    secret_version: str
    binary: bytes
    json_secret: dict[str, str]


@pytest.fixture
def seeded(moto: MotoServer) -> Seeded:
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/app/plain", Value="plain-value", Type="String")
    ssm.put_parameter(Name="/app/list", Value="a,b,c", Type="StringList")
    ssm.put_parameter(Name="/app/secure", Value="secure-value-42", Type="SecureString")
    ssm.put_parameter(Name="/app/versioned", Value="one", Type="String")
    ssm.put_parameter(Name="/app/versioned", Value="two", Type="String", Overwrite=True)
    ssm.put_parameter(Name="/app/versioned", Value="three", Type="String", Overwrite=True)
    ssm.label_parameter_version(Name="/app/versioned", ParameterVersion=2, Labels=["Dev"])
    ssm.put_parameter(Name="plain-top-level", Value="top", Type="String")
    ssm.put_parameter(Name="/app/html", Value="<b>&'x'</b>", Type="String")
    sm = moto.client("secretsmanager")
    document = {"username": "admin", "password": "pa55-w0rd!"}
    created = sm.create_secret(Name="prod/db", SecretString=json.dumps(document))
    binary = bytes(range(256))
    sm.create_secret(Name="blob", SecretBinary=binary)
    sm.create_secret(Name="rotating", SecretString="first")
    sm.put_secret_value(SecretId="rotating", SecretString="second")
    moto.clear_calls()
    return Seeded(created["ARN"], created["VersionId"], binary, document)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
