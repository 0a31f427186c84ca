"""Our own upstream calls never loop back to us when the SDK variables point at this server."""

from __future__ import annotations

from paramsecrets.aws.settings import resolve_aws

PORT = 2773


def resolved(**environ: str) -> tuple[str, str, bool]:
    aws = resolve_aws({"AWS_REGION": "eu-west-1", **environ}, own_port=PORT)
    return aws.ssm.url, aws.secrets.url, aws.regional


def test_variables_pointing_at_this_server_are_skipped() -> None:
    for host in ("localhost", "127.0.0.1", "[::1]", "127.0.0.2"):
        assert resolved(AWS_ENDPOINT_URL_SSM=f"http://{host}:{PORT}",
                        AWS_ENDPOINT_URL_SECRETS_MANAGER=f"http://{host}:{PORT}/") == (
            "https://ssm.eu-west-1.amazonaws.com/", "https://secretsmanager.eu-west-1.amazonaws.com/", True)
    assert resolved(AWS_ENDPOINT_URL=f"http://localhost:{PORT}")[2] is True


def test_every_spelling_of_this_server_is_skipped() -> None:
    """Issue 22 item 11: addresses are compared, not spellings."""
    spellings = ("0", "0.0.0.0", "[::]", "[::ffff:127.0.0.1]", "[::FFFF:7f00:1]", "[0:0:0:0:0:0:0:1]", "127.1",
                 "2130706433", "0x7f.0.0.1", "LOCALHOST", "localhost.", "app.localhost", "[::ffff:0.0.0.0]")
    for host in spellings:
        assert resolved(AWS_ENDPOINT_URL_SSM=f"http://{host}:{PORT}",
                        AWS_ENDPOINT_URL_SECRETS_MANAGER=f"http://{host}:{PORT}")[:2] == (
            "https://ssm.eu-west-1.amazonaws.com/", "https://secretsmanager.eu-west-1.amazonaws.com/"), host


def test_the_listen_address_is_us() -> None:
    from paramsecrets.aws.selfloop import is_this_server, of_this_host

    assert of_this_host(b"\x7f\0\0\2") and not of_this_host(b"\xc0\0\2\1")
    assert is_this_server("10.9.8.7", PORT, PORT, "10.9.8.7")
    assert not is_this_server("10.9.8.7", PORT, PORT, "")
    assert not is_this_server("192.0.2.1", PORT, PORT, "0.0.0.0")  # TEST-NET: no host has it
    assert not is_this_server("127.0.0.1", PORT + 1, PORT, "")
    assert not is_this_server("no-such-host.invalid", PORT, PORT, "")


def test_an_explicit_upstream_that_is_this_server_is_refused() -> None:
    import pytest

    from paramsecrets.config import ConfigError

    with pytest.raises(ConfigError, match="is this server itself"):
        resolved(PARAMETERS_SECRETS_EXTENSION_UPSTREAM_URL_SSM=f"http://0:{PORT}")


def test_the_next_variable_in_line_is_used_when_it_is_not_us() -> None:
    ssm, secrets, regional = resolved(AWS_ENDPOINT_URL_SSM=f"http://localhost:{PORT}",
                                      AWS_ENDPOINT_URL="http://127.0.0.1:4566")
    assert (ssm, secrets, regional) == ("http://127.0.0.1:4566/", "http://127.0.0.1:4566/", False)


def test_another_port_or_host_is_not_us() -> None:
    assert resolved(AWS_ENDPOINT_URL_SSM="http://127.0.0.1:4566")[0] == "http://127.0.0.1:4566/"
    assert resolved(AWS_ENDPOINT_URL_SSM=f"http://10.0.0.5:{PORT}")[0] == f"http://10.0.0.5:{PORT}/"
    assert resolve_aws({"AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_SSM": f"http://localhost:{PORT}"}).ssm.url == \
        f"http://localhost:{PORT}/"  # without our port, nothing is skipped


def test_the_explicit_upstream_wins() -> None:
    ssm, secrets, regional = resolved(AWS_ENDPOINT_URL_SSM=f"http://localhost:{PORT}",
                                      PARAMETERS_SECRETS_EXTENSION_UPSTREAM_URL_SSM="http://127.0.0.1:5000",
                                      PARAMETERS_SECRETS_EXTENSION_UPSTREAM_URL_SECRETS_MANAGER="https://sm.example")
    assert (ssm, secrets, regional) == ("http://127.0.0.1:5000/", "https://sm.example/", False)


def test_reads_signed_for_another_region_go_to_that_region() -> None:
    from paramsecrets.api.sdk.forward import Forwarder
    from paramsecrets.cache.store import Cache

    regional = resolve_aws({"AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_SSM": f"http://localhost:{PORT}"}, PORT)
    forwarder = Forwarder(regional, Cache(10, 1 << 20), None, 1)  # type: ignore[arg-type]
    assert forwarder.endpoint("ssm", "eu-west-1").url == "https://ssm.eu-west-1.amazonaws.com/"
    assert forwarder.endpoint("ssm", "us-west-2").url == "https://ssm.us-west-2.amazonaws.com/"
    assert forwarder.endpoint("secretsmanager", "cn-north-1").url == \
        "https://secretsmanager.cn-north-1.amazonaws.com.cn/"
    override = resolve_aws({"AWS_REGION": "eu-west-1",
                            "PARAMETERS_SECRETS_EXTENSION_UPSTREAM_URL_SSM": "http://127.0.0.1:5000"}, PORT)
    forwarder = Forwarder(override, Cache(10, 1 << 20), None, 1)  # type: ignore[arg-type]
    assert forwarder.endpoint("ssm", "us-west-2").url == "http://127.0.0.1:5000/"  # a test server serves all
