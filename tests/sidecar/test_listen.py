"""The listen-address option: loopback by default, one configured address for container sidecars,
and the token rule for anything beyond loopback. Non-loopback addresses are tried for real in a
private network namespace (tests/sidecar/netns.py), never on this machine's networks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from paramsecrets import config
from paramsecrets.process import listen
from paramsecrets.testing.net import free_port, stop_process, wait_for_http
from paramsecrets.testing.server import run_command
from tests.sidecar import netns

PROBE = Path(__file__).with_name("probe_listen.py")
REPO = Path(__file__).resolve().parents[2]
NETWORK_TOKEN = "sidecar-token-0123456789abcdef"


@pytest.mark.parametrize(("raw", "parsed"), [
    ("0.0.0.0", "0.0.0.0"), ("::", "::"), ("[::1]", "::1"), (" 10.0.0.5 ", "10.0.0.5"), ("", ""),
    ("0:0::0", "::"),
])
def test_addresses_are_ip_literals(raw: str, parsed: str) -> None:
    assert config.ip_address(raw) == parsed


@pytest.mark.parametrize("raw", ["localhost", "1.2.3", "::g", "10.0.0.256", 5])
def test_anything_else_is_refused(raw: object) -> None:
    with pytest.raises(ValueError):
        config.ip_address(raw)


def test_which_addresses_count_as_loopback() -> None:
    assert all(listen.is_loopback(a) for a in ("", "127.0.0.1", "127.0.0.2", "::1"))
    assert not any(listen.is_loopback(a) for a in ("0.0.0.0", "::", "10.0.0.5", "fe80::1"))


@pytest.mark.parametrize(("address", "variable", "value", "complaint"), [
    ("127.0.0.1", "AWS_SESSION_TOKEN", "x", None),
    ("", "AWS_SESSION_TOKEN", "x", None),
    ("0.0.0.0", "AWS_TOKEN", NETWORK_TOKEN, None),
    ("0.0.0.0", "AWS_SESSION_TOKEN", NETWORK_TOKEN, "instead of using AWS_SESSION_TOKEN, which holds an AWS "
                                                    "credential"),
    ("::", "AWS_CONTAINER_AUTHORIZATION_TOKEN", NETWORK_TOKEN, "AWS_CONTAINER_AUTHORIZATION_TOKEN, which holds"),
    ("10.0.0.5", "MY_TOKEN", NETWORK_TOKEN, None),
])
def test_exposure_rule(address: str, variable: str, value: str, complaint: str | None) -> None:
    problem = listen.exposure_problem(address, variable, value)
    if complaint is None:
        assert problem is None
    else:
        assert problem is not None and complaint in problem
        assert "the token is the only guard and travels in clear text" in problem
        assert value not in problem


SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLEsessiontoken0123456789"


@pytest.mark.parametrize(("variable", "environ", "named"), [
    ("AWS_TOKEN", {"AWS_SESSION_TOKEN": SESSION_TOKEN}, "AWS_SESSION_TOKEN"),  # AWS_TOKEN=$AWS_SESSION_TOKEN
    ("AWS_TOKEN", {"AWS_SECRET_ACCESS_KEY": SECRET_KEY}, "AWS_SECRET_ACCESS_KEY"),
    ("AWS_SECRET_ACCESS_KEY", {"AWS_SECRET_ACCESS_KEY": SECRET_KEY}, "AWS_SECRET_ACCESS_KEY"),  # TOKEN_ENV=...
    ("MY_TOKEN", {"AWS_ACCESS_KEY_ID": SECRET_KEY}, "AWS_ACCESS_KEY_ID"),
    ("MY_TOKEN", {"AWS_SECURITY_TOKEN": SECRET_KEY + "\n"}, "AWS_SECURITY_TOKEN"),
])
def test_a_token_whose_value_is_an_aws_credential_is_refused(variable: str, environ: dict[str, str],
                                                             named: str) -> None:
    """Issue 22 item 7: values are compared, not variable names."""
    value = next(iter(environ.values())).strip()
    problem = listen.exposure_problem("0.0.0.0", variable, value, environ)
    assert problem is not None and named in problem and "an AWS credential" in problem
    assert value not in problem
    assert listen.exposure_problem("127.0.0.1", variable, value, environ) is None  # loopback: the AWS rule


def test_the_shared_credentials_file_and_the_container_token_file_count(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = {SECRET_KEY}\n"
                           f"[other]\naws_session_token = {SESSION_TOKEN}\n")
    token_file = tmp_path / "container-token"
    token_file.write_text(NETWORK_TOKEN + "\n")
    environ = {"AWS_SHARED_CREDENTIALS_FILE": str(credentials), "HOME": str(tmp_path)}
    assert "aws_secret_access_key in the AWS shared credentials file" in str(
        listen.exposure_problem("::", "AWS_TOKEN", SECRET_KEY, environ))
    assert listen.exposure_problem("::", "AWS_TOKEN", SESSION_TOKEN, environ) is None  # another profile
    assert "aws_session_token" in str(listen.exposure_problem("::", "AWS_TOKEN", SESSION_TOKEN,
                                                              {**environ, "AWS_PROFILE": "other"}))
    assert "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" in str(listen.exposure_problem(
        "::", "AWS_TOKEN", NETWORK_TOKEN, {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token_file)}))
    assert listen.exposure_problem("::", "AWS_TOKEN", NETWORK_TOKEN, environ) is None


def test_the_setting_has_a_variable_a_key_and_a_flag() -> None:
    assert config.load({"PARAMETERS_SECRETS_EXTENSION_LISTEN_ADDRESS": "::"}).listen_address == "::"
    assert config.load({}, flags={"listen_address": "0.0.0.0"}).sources["listen_address"] == "flag"
    with pytest.raises(config.ConfigError) as caught:
        config.load({"PARAMETERS_SECRETS_EXTENSION_LISTEN_ADDRESS": "my-host"})
    assert "expected an IP address" in str(caught.value)


def serve_env(**extra: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ACCESS_KEY_ID": "AKIATESTTESTTESTTEST", "AWS_SECRET_ACCESS_KEY": "not-a-real-key",
            "PYTHONPATH": str(REPO / "src") + os.pathsep + str(REPO), "PYTHONUNBUFFERED": "1", **extra}


def test_another_loopback_address_needs_no_special_token(tmp_path: Path) -> None:
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "paramsecrets", "serve", "--port", str(port), "--listen",
                             "127.0.0.2"], env=serve_env(AWS_SESSION_TOKEN="a-session-token-0123456789"), stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.2:{port}/ping", timeout=30, process=proc)
    finally:
        assert stop_process(proc) == 0
        log.close()
    assert "beyond loopback" not in (tmp_path / "serve.log").read_text()


def test_a_bad_address_stops_the_start(tmp_path: Path) -> None:
    result = run_command(["serve", "--listen", "localhost", "--port", str(free_port())],
                         serve_env(AWS_TOKEN=NETWORK_TOKEN), tmp_path)
    assert result.returncode == 2
    assert "--listen 'localhost' is invalid: expected an IP address" in result.stderr.decode()


needs_netns = pytest.mark.skipif(netns.unavailable() is not None, reason=str(netns.unavailable()))


def probe(host: str, token: str, *serve_args: str, **env: str) -> dict[str, object]:
    done = netns.run([sys.executable, str(PROBE), host, str(free_port()), token, *serve_args], serve_env(**env))
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


@needs_netns
def test_serves_on_a_network_address_with_an_explicit_token() -> None:
    report = probe(netns.PRIVATE_ADDRESS, NETWORK_TOKEN, "--listen", netns.PRIVATE_ADDRESS, AWS_TOKEN=NETWORK_TOKEN,
                   PARAMETERS_SECRETS_EXTENSION_ERROR_MODE="detailed")  # real statuses: 502, not the opaque 400
    assert report["ping"] == 200 and report["metrics"] == 200
    assert report["no_token"] == 401  # the token still guards every data route
    assert report["with_token"] == 502  # let in; the (absent) AWS endpoint answers nothing
    # Issue 22 item 7: a signed SDK request from the network needs the token too.
    assert report["sdk_no_token"] == 401
    assert report["sdk_with_token"] == 502  # signature verified, then the absent AWS
    assert report["loopback_refused"] is True  # bound to that address only
    assert report["exit"] == 0
    assert f"listening on {netns.PRIVATE_ADDRESS}, beyond loopback" in str(report["output"])
    assert NETWORK_TOKEN not in str(report["output"])


@needs_netns
def test_all_interfaces_dual_stack_from_the_environment() -> None:
    report = probe(netns.PRIVATE_ADDRESS, NETWORK_TOKEN, AWS_TOKEN=NETWORK_TOKEN,
                   PARAMETERS_SECRETS_EXTENSION_LISTEN_ADDRESS="::")
    assert (report["ping"], report["no_token"], report["loopback_refused"]) == (200, 401, False)


@needs_netns
@pytest.mark.parametrize(("env", "complaint"), [
    ({"AWS_SESSION_TOKEN": NETWORK_TOKEN}, "instead of using AWS_SESSION_TOKEN, which holds an AWS credential"),
    ({"AWS_TOKEN": "too-short"}, "tokens must have at least 16"),
    ({"AWS_TOKEN": "wJalrXUtnFEMI-not-a-real-key-0123", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-not-a-real-key-0123"},
     "is the value of AWS_SECRET_ACCESS_KEY, an AWS credential"),
])
def test_refused_on_the_network_without_a_fit_token(env: dict[str, str], complaint: str) -> None:
    report = probe(netns.PRIVATE_ADDRESS, "x", "--listen", "0.0.0.0", **env)
    assert "ping" not in report
    assert report["exit"] == 2
    output = str(report["output"])
    assert complaint in output
