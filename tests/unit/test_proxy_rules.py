"""HTTPS_PROXY / HTTP_PROXY / NO_PROXY rules, the CA bundle's resolution, and connection-failure wording."""

from __future__ import annotations

from pathlib import Path

import pytest

from paramsecrets.aws.endpoints import Endpoint
from paramsecrets.aws.proxy import ProxyError, bypassed, parse_proxy_url, proxy_for
from paramsecrets.aws.settings import resolve_aws, resolve_ca_bundle
from paramsecrets.aws.transport import connect_failure, proxy_options
from paramsecrets.config import ConfigError

SSM = Endpoint("https", "ssm.us-east-1.amazonaws.com", 443)
LOCAL = Endpoint("http", "127.0.0.1", 5000)


def test_scheme_picks_the_variable_and_lower_case_wins() -> None:
    env = {"HTTPS_PROXY": "http://upper:3128", "https_proxy": "http://lower:3128", "HTTP_PROXY": "plain:8080"}
    assert proxy_for(SSM, env).host == "lower"  # type: ignore[union-attr]
    assert proxy_for(LOCAL, env).shown == "http://plain:8080 (from HTTP_PROXY)"  # type: ignore[union-attr]
    assert proxy_for(SSM, {"HTTP_PROXY": "http://p:1"}) is None  # an https endpoint ignores HTTP_PROXY
    assert proxy_for(SSM, {}) is None


@pytest.mark.parametrize(("no_proxy", "host", "port", "skip"), [
    ("*", "ssm.us-east-1.amazonaws.com", 443, True),
    ("amazonaws.com", "ssm.us-east-1.amazonaws.com", 443, True),
    (".amazonaws.com", "ssm.us-east-1.amazonaws.com", 443, True),
    ("east-1.amazonaws.com", "ssm.us-east-1.amazonaws.com", 443, False),  # a suffix, not a domain
    ("ssm.us-east-1.amazonaws.com:8443", "ssm.us-east-1.amazonaws.com", 443, False),
    ("ssm.us-east-1.amazonaws.com:443", "ssm.us-east-1.amazonaws.com", 443, True),
    ("10.0.0.0/8, 127.0.0.1", "127.0.0.1", 80, True),
    ("10.0.0.0/8", "10.1.2.3", 443, True),
    ("10.0.0.0/8", "11.1.2.3", 443, False),
    ("::1", "::1", 443, True),
    ("[::1]:443", "::1", 443, True),
    ("", "ssm.us-east-1.amazonaws.com", 443, False),
    ("EXAMPLE.com", "api.example.COM", 443, True),
])
def test_no_proxy(no_proxy: str, host: str, port: int, skip: bool) -> None:
    assert bypassed(host, port, no_proxy) is skip


def test_no_proxy_applies_to_proxy_for() -> None:
    env = {"HTTPS_PROXY": "http://p:3128", "no_proxy": ".amazonaws.com"}
    assert proxy_for(SSM, env) is None


def test_proxy_urls() -> None:
    proxy = parse_proxy_url("HTTPS_PROXY", "http://us%40er:p%3Ass@proxy.internal:3128")
    assert (proxy.host, proxy.port, proxy.username, proxy.password) == ("proxy.internal", 3128, "us@er", "p:ss")
    assert "p:ss" not in repr(proxy) and "us@er" not in proxy.shown
    assert parse_proxy_url("HTTPS_PROXY", "proxy:8080").port == 8080
    assert parse_proxy_url("HTTPS_PROXY", "http://proxy").port == 80
    with pytest.raises(ProxyError, match="not supported"):
        parse_proxy_url("HTTPS_PROXY", "https://proxy:443")
    with pytest.raises(ProxyError, match="is not a proxy URL"):
        parse_proxy_url("HTTPS_PROXY", "socks5://proxy:1080")
    with pytest.raises(ProxyError, match="invalid port"):
        parse_proxy_url("HTTPS_PROXY", "http://proxy:99999")


def test_awscrt_options_tunnel_https_and_forward_http() -> None:
    from awscrt.http import HttpProxyAuthenticationType, HttpProxyConnectionType

    proxy = parse_proxy_url("HTTPS_PROXY", "http://u:pw@p:3128")
    tunnel = proxy_options(proxy, tls=True)
    assert tunnel is not None and tunnel.connection_type == HttpProxyConnectionType.Tunneling
    assert tunnel.auth_type == HttpProxyAuthenticationType.Basic and tunnel.auth_username == "u"
    forward = proxy_options(parse_proxy_url("HTTP_PROXY", "p:3128"), tls=False)
    assert forward is not None and forward.connection_type == HttpProxyConnectionType.Forwarding
    assert forward.auth_type == HttpProxyAuthenticationType.Nothing
    assert proxy_options(None, tls=True) is None


def test_a_bad_proxy_is_a_config_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_aws({"AWS_REGION": "us-east-1", "https_proxy": "ftp://x"})
    assert caught.value.variable == "https_proxy"


def test_ca_bundle_sources(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    config = tmp_path / "config"
    config.write_text(f"[default]\nca_bundle = {bundle}\n[profile other]\nregion = eu-west-1\n")
    assert resolve_ca_bundle({"AWS_CA_BUNDLE": str(bundle)}) == str(bundle)
    assert resolve_ca_bundle({"AWS_CONFIG_FILE": str(config)}) == str(bundle)
    assert resolve_ca_bundle({"AWS_CONFIG_FILE": str(config), "AWS_PROFILE": "other"}) is None
    assert resolve_ca_bundle({"HOME": str(tmp_path)}) is None
    with pytest.raises(ConfigError, match="ca_bundle in the AWS config file names"):
        config.write_text(f"[default]\nca_bundle = {tmp_path / 'gone.pem'}\n")
        resolve_ca_bundle({"AWS_CONFIG_FILE": str(config)})


def test_connect_failures_say_what_to_do() -> None:
    proxy = parse_proxy_url("HTTPS_PROXY", "http://u:pw@p:3128")
    system = connect_failure("AWS_IO_TLS_ERROR_NEGOTIATION_FAILURE", SSM, None, None)
    assert system == ("TLS to ssm.us-east-1.amazonaws.com:443 failed: the TLS handshake failed: the server's "
                      "certificate is not trusted by the system trust store (set AWS_CA_BUNDLE for a private CA), "
                      "has expired, or does not name ssm.us-east-1.amazonaws.com "
                      "(AWS_IO_TLS_ERROR_NEGOTIATION_FAILURE)")
    bundle = connect_failure("AWS_IO_TLS_INVALID_CERTIFICATE_CHAIN", SSM, proxy, "/etc/ca.pem")
    assert "through the proxy http://p:3128 (from HTTPS_PROXY)" in bundle
    assert "the certificate chain is invalid" in bundle and "the CA bundle /etc/ca.pem" in bundle
    assert "did not finish in time" in connect_failure("AWS_IO_TLS_NEGOTIATION_TIMEOUT", SSM, None, None)
    refused = connect_failure("AWS_ERROR_HTTP_PROXY_CONNECT_FAILED", SSM, proxy, None)
    assert refused.startswith("the proxy http://p:3128 (from HTTPS_PROXY) refused or failed to CONNECT")
    assert "pw" not in bundle + refused
    assert connect_failure("AWS_IO_SOCKET_CONNECTION_REFUSED", LOCAL, None, None) == (
        "127.0.0.1:5000 refused the connection: nothing listens there (AWS_IO_SOCKET_CONNECTION_REFUSED)")
