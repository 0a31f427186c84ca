"""A real paramsecrets server answering the SDK protocol, in front of a real moto.

As in Lambda, the server's own environment has AWS_ENDPOINT_URL_SSM and
AWS_ENDPOINT_URL_SECRETS_MANAGER pointing at itself (the function and the extension share it);
PARAMETERS_SECRETS_EXTENSION_UPSTREAM_URL_* send its own calls to moto. Clients are real SDKs
given only the endpoint variables.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from paramsecrets.testing.moto import ACCESS_KEY, REGION, SECRET_KEY, MotoServer
from paramsecrets.testing.net import free_port
from paramsecrets.testing.server import ServerPool, ServerProcess, base_env, merged_env
from tests.integration.conftest import Seeded, seeded  # noqa: F401 - the shared seed fixture

if TYPE_CHECKING:
    from botocore.config import _RetryDict  # the stubs' (boto3-stubs) type of Config(retries=...)

NO_RETRIES: _RetryDict = {"total_max_attempts": 1}


def sdk_env(moto: MotoServer, home: Path, port: int) -> dict[str, str]:
    """The environment of the server (and of a function beside it) with the SDK variables set."""
    env = base_env(moto.url, home)
    del env["AWS_ENDPOINT_URL"]
    env.update({
        "AWS_ENDPOINT_URL_SSM": f"http://127.0.0.1:{port}",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://127.0.0.1:{port}",
        "PARAMETERS_SECRETS_EXTENSION_UPSTREAM_URL_SSM": moto.url,
        "PARAMETERS_SECRETS_EXTENSION_UPSTREAM_URL_SECRETS_MANAGER": moto.url,
    })
    return env


def function_env(home: Path, endpoint: str | None = None, **extra: str) -> dict[str, str]:
    """What a Lambda function's process sees: credentials, region, and (when given) the endpoint variables."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,  # Lambda sets both
        "AWS_EC2_METADATA_DISABLED": "true", **extra,
    }
    if endpoint is not None:
        env["AWS_ENDPOINT_URL_SSM"] = env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = endpoint
    return env


@pytest.fixture
def start_sdk(moto: MotoServer, tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Factory: start_sdk(**env_overrides) -> a running server whose SDK endpoint variables name itself."""
    pool = ServerPool(tmp_path)

    def _start(drop: tuple[str, ...] = (), **overrides: str) -> ServerProcess:
        port = free_port()
        return pool.start(merged_env(sdk_env(moto, tmp_path, port), overrides, drop), port=port)

    yield _start
    pool.stop_all()


@pytest.fixture
def sdk_server(start_sdk: Callable[..., ServerProcess]) -> ServerProcess:
    return start_sdk()


@pytest.fixture
def via(sdk_server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Factory: via("ssm") -> a boto3 client that reaches paramsecrets through the endpoint variable only."""
    import boto3
    import botocore.config

    url = f"http://127.0.0.1:{sdk_server.port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", url)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)

    def client(service: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY,
               session_token: str | None = None) -> Any:
        # Any: the service is a run-time choice, and the stubs type a client per literal service name.
        session: Any = boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                                             aws_session_token=session_token, region_name=REGION)
        return session.client(service, config=botocore.config.Config(retries=NO_RETRIES))

    return client
