"""Issue 22 item 6: forwarded SDK operations have one deadline, the wait for a connection included.

With the backend stalled, 12 forwarded DescribeSecret calls over 3 connections used to be answered
504 one timeout after another (30, 60, 90 and 120 s). Now each has one deadline from its arrival:
the 3 that got a connection are sent and time out; the 9 queued behind them reach a free connection
with (almost) none of their deadline left and are answered 504 without being sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import botocore.config
from botocore.exceptions import ClientError

from paramsecrets.testing.fault_proxy import FaultProxy
from paramsecrets.testing.moto import ACCESS_KEY, REGION, SECRET_KEY
from paramsecrets.testing.server import ServerProcess
from tests.faults.conftest import concurrently

CALLS = 12
CONNECTIONS = 3
# Generous against a slow start of the 12 threads: a queued call is sent only if it arrived more
# than half this deadline after the first 3 (which never happens within one barrier release).
DEADLINE_MS = 4000


def describe_status(client: Any) -> tuple[int, str]:
    try:
        client.describe_secret(SecretId="prod/db")
    except ClientError as error:
        return error.response["ResponseMetadata"]["HTTPStatusCode"], str(error.response["Error"]["Code"])
    return 200, ""


def test_queued_forwarded_calls_share_no_timeout(start_sdk: Callable[..., ServerProcess], proxy: FaultProxy) -> None:
    server = start_sdk(PARAMETERS_SECRETS_EXTENSION_UPSTREAM_URL_SSM=proxy.url,
                       PARAMETERS_SECRETS_EXTENSION_UPSTREAM_URL_SECRETS_MANAGER=proxy.url,
                       PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS=str(CONNECTIONS),
                       PARAMETERS_SECRETS_EXTENSION_WARM_CONNECTIONS="false",
                       PARAMETERS_SECRETS_EXTENSION_SDK_FORWARD_TIMEOUT_MILLIS=str(DEADLINE_MS))
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                                    region_name=REGION)
    config = botocore.config.Config(retries={"total_max_attempts": 1}, read_timeout=120,
                                    max_pool_connections=CALLS)
    client = session.client("secretsmanager", endpoint_url=f"http://127.0.0.1:{server.port}", config=config)
    proxy.blackhole()
    answers = concurrently([lambda: describe_status(client) for _ in range(CALLS)], timeout=120)
    assert answers == [(504, "GatewayTimeout")] * CALLS
    # Before: all 12 were sent, each after the previous one on its connection had timed out.
    assert proxy.total(outcome="blackholed") == CONNECTIONS
