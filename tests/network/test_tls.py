"""Upstream TLS for real: a private CA through AWS_CA_BUNDLE or the AWS config file's ca_bundle,
an HTTP CONNECT proxy (HTTPS_PROXY, NO_PROXY), and a clear refusal of an untrusted certificate."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from paramsecrets.testing.moto import MotoServer, wait_until
from paramsecrets.testing.net import free_port
from paramsecrets.testing.server import ServerProcess, base_env, run_command
from paramsecrets.testing.tinyproxy import Tinyproxy
from tests.network.conftest import Pki

Start = Callable[..., ServerProcess]
PLAIN = "/systemsmanager/parameters/get?name=%2Ftls%2Fplain"
SECRET = "/secretsmanager/get?secretId=tls%2Fsecret"


def moto_target(moto: MotoServer) -> str:
    return f"127.0.0.1:{moto.port}"


def test_private_ca_from_aws_ca_bundle(tls_start: Start, pki: Pki, https_moto: MotoServer) -> None:
    server = tls_start(AWS_CA_BUNDLE=str(pki.ca))
    answer = server.get(PLAIN)
    assert answer.status == 200, answer.body
    assert answer.json()["Parameter"]["Value"] == "over-tls"
    assert server.get(SECRET).json()["SecretString"] == "tls-secret-value"
    assert https_moto.count("AmazonSSM.GetParameter") == 1  # signed and accepted over TLS


def test_private_ca_from_the_aws_config_file(tls_start: Start, pki: Pki, tmp_path: Path) -> None:
    config = tmp_path / "aws-config"
    config.write_text(f"[profile tls]\nregion = us-east-1\nca_bundle = {pki.ca}\n")
    server = tls_start(AWS_CONFIG_FILE=str(config), AWS_PROFILE="tls")
    assert server.get(PLAIN).status == 200


def test_through_an_http_connect_proxy(tls_start: Start, pki: Pki, https_moto: MotoServer,
                                       tinyproxy: Tinyproxy) -> None:
    server = tls_start(AWS_CA_BUNDLE=str(pki.ca), HTTPS_PROXY=tinyproxy.url)
    answer = server.get(PLAIN)
    assert answer.status == 200, answer.body
    assert server.get(SECRET).status == 200
    # Both services' connections were tunnelled with CONNECT (the warm-up's and any the calls opened).
    assert wait_until(lambda: tinyproxy.connects(moto_target(https_moto)) >= 2, timeout=30), tinyproxy.log()
    # Two values (and perhaps, in the background, the secret's rotation schedule: DescribeSecret).
    assert len([call for call in https_moto.calls() if call != "secretsmanager.DescribeSecret"]) == 2


def test_lower_case_https_proxy_and_no_proxy(tls_start: Start, pki: Pki, https_moto: MotoServer,
                                             tinyproxy: Tinyproxy) -> None:
    proxied = tls_start(AWS_CA_BUNDLE=str(pki.ca), https_proxy=tinyproxy.url,
                        PARAMETERS_SECRETS_EXTENSION_WARM_CONNECTIONS="false")
    assert proxied.get(PLAIN).status == 200
    assert tinyproxy.connects(moto_target(https_moto)) == 1
    direct = tls_start(AWS_CA_BUNDLE=str(pki.ca), HTTPS_PROXY=tinyproxy.url, NO_PROXY="example.com, 127.0.0.0/8",
                       PARAMETERS_SECRETS_EXTENSION_WARM_CONNECTIONS="false")
    assert direct.get(SECRET).status == 200
    assert tinyproxy.connects(moto_target(https_moto)) == 1  # NO_PROXY: straight to moto


def test_an_unreachable_proxy_is_named(tls_start: Start, pki: Pki) -> None:
    port = free_port()
    server = tls_start(AWS_CA_BUNDLE=str(pki.ca), HTTPS_PROXY=f"http://user:hunter2@127.0.0.1:{port}")
    answer = server.get(PLAIN, detailed=True)
    assert answer.status == 502
    message = answer.json()["message"]
    assert f"through the proxy http://127.0.0.1:{port} (from HTTPS_PROXY)" in message
    assert "hunter2" not in message and "hunter2" not in server.output()


def test_an_untrusted_certificate_is_refused_with_its_reason(tls_start: Start, pki: Pki,
                                                             https_moto: MotoServer) -> None:
    """s2n reports a certificate failure only after a 10-30 s delay; the warm-up waits it out and
    names the problem in the log, and timed-out requests then carry the reason too."""
    # Secrets Manager elsewhere (nothing listening): only SSM's handshake reaches moto, whose server
    # handshakes one client at a time, so no second handshake waits behind the refused one.
    server = tls_start(AWS_CA_BUNDLE=str(pki.untrusted_ca), SSM_PARAMETER_STORE_TIMEOUT_MILLIS="500",
                       AWS_ENDPOINT_URL_SECRETS_MANAGER=f"http://127.0.0.1:{free_port()}")
    expected = (f"could not open a connection to SSM at start: TLS to {moto_target(https_moto)} failed: the TLS "
                f"handshake failed: the server's certificate is not trusted by the CA bundle {pki.untrusted_ca}")
    assert wait_until(lambda: expected in server.output(), timeout=90), server.output()
    answer = server.get(PLAIN, detailed=True)
    assert answer.status == 504
    assert re.search(r"the last connection attempt failed: TLS to 127\.0\.0\.1:\d+ failed: .*certificate is not "
                     r"trusted", answer.json()["message"]), answer.body
    # Nothing was ever sent over an untrusted connection. (Stop first: moto's server does each TLS
    # handshake on its accept thread, which waits on the refused client's handshake until it closes.)
    assert server.stop() == 0
    assert https_moto.count() == 0


def test_bad_ca_bundle_or_proxy_settings_stop_the_start(pki: Pki, https_moto: MotoServer, tmp_path: Path) -> None:
    env = base_env(https_moto.url, tmp_path)
    serve = ["serve", "--port", str(free_port())]
    missing = run_command(serve, {**env, "AWS_CA_BUNDLE": str(tmp_path / "nope.pem")}, tmp_path)
    assert missing.returncode == 2
    assert f"AWS_CA_BUNDLE names {tmp_path / 'nope.pem'}, which cannot be read" in missing.stderr.decode()
    not_pem = tmp_path / "key.pem"
    not_pem.write_text("not a certificate\n")
    wrong = run_command(serve, {**env, "AWS_CA_BUNDLE": str(not_pem)}, tmp_path)
    assert wrong.returncode == 2 and "which holds no PEM certificate" in wrong.stderr.decode()
    tls_proxy = run_command(serve, {**env, "HTTPS_PROXY": "https://proxy.example:3128"}, tmp_path)
    assert tls_proxy.returncode == 2
    assert "HTTPS_PROXY: a proxy reached over TLS (https://) is not supported" in tls_proxy.stderr.decode()
    check = run_command(["config", "check"], {**env, "AWS_CA_BUNDLE": str(pki.ca),
                                              "HTTPS_PROXY": "http://u:secretpw@proxy.example:3128"}, tmp_path)
    assert check.returncode == 0, check.stderr
    out = check.stdout.decode()
    assert re.search(rf"AWS CA bundle +{re.escape(str(pki.ca))}\n", out), out
    assert re.search(r"SSM proxy +http://proxy.example:3128 \(from HTTPS_PROXY\)\n", out), out
    assert "secretpw" not in out


def test_plain_http_endpoints_use_http_proxy_forwarding(start: Start, moto: MotoServer, tinyproxy: Tinyproxy) -> None:
    """An http:// endpoint (a local emulator) goes through HTTP_PROXY as a forwarded request."""
    moto.client("ssm").put_parameter(Name="/tls/plain", Value="forwarded", Type="String")
    server = start(HTTP_PROXY=tinyproxy.url, PARAMETERS_SECRETS_EXTENSION_WARM_CONNECTIONS="false")
    answer = server.get(PLAIN)
    assert answer.status == 200, answer.body
    assert answer.json()["Parameter"]["Value"] == "forwarded"
    assert wait_until(lambda: f"POST http://127.0.0.1:{moto.port}/" in tinyproxy.log(), timeout=30), tinyproxy.log()


def test_a_proxy_that_refuses_connect_is_named(tls_start: Start, pki: Pki, tmp_path: Path,
                                               tinyproxy: Tinyproxy) -> None:
    refusing = Tinyproxy(tmp_path, connect_ports=(443,))  # moto's port is not 443: CONNECT is refused
    try:
        server = tls_start(AWS_CA_BUNDLE=str(pki.ca), HTTPS_PROXY=refusing.url)
        answer = server.get(PLAIN, detailed=True)
    finally:
        refusing.stop()
    assert answer.status == 502
    assert f"the proxy {refusing.url} (from HTTPS_PROXY) refused or failed to CONNECT to 127.0.0.1:" \
        in answer.json()["message"], answer.body
