"""Issue 22 item 14: a global AWS_ENDPOINT_URL pointing at paramsecrets sends every service here.

STS used to get a JSON error boto3 could not parse (ResponseParserError), KMS an
UnknownOperationException. Every other service now gets an error in its own protocol (XML for the
query and REST-XML ones, JSON for the JSON ones) whose message names the fix, and the server warns
at start; SSM and Secrets Manager keep working through the same variable.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

from paramsecrets.testing.moto import ACCESS_KEY, REGION, SECRET_KEY, MotoServer
from paramsecrets.testing.net import free_port
from paramsecrets.testing.server import ServerProcess, start_server
from tests.integration.conftest import Seeded
from tests.sdk.conftest import sdk_env

FIX = "AWS_ENDPOINT_URL_SSM and AWS_ENDPOINT_URL_SECRETS_MANAGER"


@pytest.fixture
def global_server(moto: MotoServer, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server whose environment (shared with the function, as in Lambda) has the global variable set to it."""
    port = free_port()
    env = sdk_env(moto, tmp_path, port)
    del env["AWS_ENDPOINT_URL_SSM"], env["AWS_ENDPOINT_URL_SECRETS_MANAGER"]
    env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    server = start_server(env, tmp_path, port=port)
    yield server
    server.stop()


@pytest.fixture
def global_client(global_server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Factory: a boto3 client configured only by the global AWS_ENDPOINT_URL."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{global_server.port}")
    for variable in ("AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_STS"):
        monkeypatch.delenv(variable, raising=False)
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                                    region_name=REGION)
    return lambda service: session.client(service, config=botocore.config.Config(retries={"total_max_attempts": 1}))


def refusal(call: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(("service", "call"), [
    ("sts", lambda c: c.get_caller_identity()),  # the query protocol: XML
    ("kms", lambda c: c.decrypt(CiphertextBlob=b"x")),  # AWS JSON 1.1
    ("dynamodb", lambda c: c.list_tables()),  # AWS JSON 1.0
    ("s3", lambda c: c.list_buckets()),  # REST-XML
    ("lambda", lambda c: c.list_functions()),  # REST-JSON
    ("ec2", lambda c: c.describe_regions()),  # EC2's own query flavour
])
def test_other_services_get_a_parseable_error_naming_the_fix(service: str, call: Any, global_client: Any,
                                                            moto: MotoServer) -> None:
    moto.clear_calls()
    error = refusal(lambda: call(global_client(service)))
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["Error"]["Code"] == "WrongEndpoint", error.response
    assert FIX in error.response["Error"]["Message"]
    assert moto.count() == 0


def test_ssm_and_secrets_manager_still_work_and_the_server_warned(global_client: Any, seeded: Seeded,
                                                                  global_server: ServerProcess) -> None:
    assert global_client("ssm").get_parameter(Name="/app/plain")["Parameter"]["Value"] == "plain-value"
    assert global_client("secretsmanager").get_secret_value(SecretId="rotating")["SecretString"] == "second"
    output = global_server.output()
    assert "WARN AWS_ENDPOINT_URL points at this server" in output and FIX in output
