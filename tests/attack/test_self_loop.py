"""Issue 22 item 11: spellings of this server's own address as an endpoint never make it call itself.

`http://[::ffff:127.0.0.1]:PORT` or `http://0:PORT` in AWS_ENDPOINT_URL_SSM made the server send its
own calls to itself (a 504 after 9 s per miss). Now they are recognised by address and skipped: the
next variable in line (here AWS_ENDPOINT_URL, moto) serves the read.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from paramsecrets.testing.moto import MotoServer
from paramsecrets.testing.net import free_port
from paramsecrets.testing.server import start_server
from paramsecrets.testing.targets import PARAM, SECRET


@pytest.mark.parametrize("host", ["[::ffff:127.0.0.1]", "0", "127.1", "2130706433"])
def test_our_own_address_in_any_spelling_is_skipped(host: str, moto: MotoServer, aws_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    ssm, sm = moto.client("ssm"), moto.client("secretsmanager")
    ssm.put_parameter(Name="/loop/p", Value="loop-value", Type="String")
    sm.create_secret(Name="loop-s", SecretString="loop-secret")
    moto.clear_calls()
    port = free_port()
    env = {**aws_env, "AWS_ENDPOINT_URL_SSM": f"http://{host}:{port}",
           "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://{host}:{port}/"}
    server = start_server(env, tmp_path, port=port)
    try:
        assert server.get(PARAM + "/loop/p").json()["Parameter"]["Value"] == "loop-value"
        assert server.get(SECRET + "loop-s").json()["SecretString"] == "loop-secret"
        assert (moto.count("AmazonSSM.GetParameter"), moto.count("secretsmanager.GetSecretValue")) == (1, 1)
    finally:
        server.stop()
    assert "points at this server" in server.output()
