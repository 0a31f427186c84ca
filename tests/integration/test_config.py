"""Configuration from flags, environment and TOML, and the token sources (README: The token, Configuration)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from paramsecrets.testing.moto import wait_until
from paramsecrets.testing.net import free_port
from paramsecrets.testing.server import TOKEN, TOKEN_HEADER, ServerProcess, run_command, start_server
from tests.integration.conftest import Seeded

PLAIN = "/systemsmanager/parameters/get?name=/app/plain"


@pytest.mark.parametrize(("variable", "value", "accepted"), [
    ("PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", "yes", "true or false"),
    ("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "abc", "an integer from 0 to 100000"),
    ("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "100001", "an integer from 0 to 100000"),
    ("PARAMETERS_SECRETS_EXTENSION_CACHE_MAX_BYTES", "1024", "an integer from 65536 to 4294967296"),
    ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "70000", "an integer from 1 to 65535"),
    ("PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS", "0", "an integer from 1 to 1000"),
    ("PARAMETERS_SECRETS_EXTENSION_MAX_INBOUND_CONNECTIONS", "-5", "an integer from 1 to 10000"),
    ("PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL", "verbose", "debug, info, warn, error, none"),
    ("SSM_PARAMETER_STORE_TTL", "86401", "an integer from 0 to 86400 seconds"),
    ("SECRETS_MANAGER_TTL", "5m", "an integer from 0 to 86400 seconds"),
    ("SSM_PARAMETER_STORE_TIMEOUT_MILLIS", "600001", "an integer from 0 to 600000"),
    ("SECRETS_MANAGER_TIMEOUT_MILLIS", "1.5", "an integer from 0 to 600000"),
    ("PARAMETERS_SECRETS_EXTENSION_STALE_ON_ERROR", "1", "true or false"),
    ("PARAMETERS_SECRETS_EXTENSION_MAX_STALENESS", "604801", "an integer from 0 to 604800 seconds"),
    ("PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD", "on", "true or false"),
    ("PARAMETERS_SECRETS_EXTENSION_ERROR_MODE", "quiet", "aws, detailed"),
    ("PARAMETERS_SECRETS_EXTENSION_TOKEN_ENV", " , ", "at least one environment variable name"),
    ("AWS_ENDPOINT_URL", "ftp://nowhere", "not a valid endpoint URL"),
    ("AWS_ENDPOINT_URL_SSM", "http://", "not a valid endpoint URL"),
])
def test_invalid_values_stop_the_start(aws_env: dict[str, str], tmp_path: Path, variable: str, value: str,
                                       accepted: str) -> None:
    result = run_command(["serve", "--port", str(free_port())], {**aws_env, variable: value}, tmp_path)
    message = result.stderr.decode()
    assert result.returncode == 2, message
    assert variable in message and accepted in message
    if variable.startswith("PARAMETERS") or variable.endswith("TTL") or variable.endswith("MILLIS"):
        assert repr(value) in message


def test_bad_flags(aws_env: dict[str, str], tmp_path: Path) -> None:
    result = run_command(["serve", "--port", "http"], aws_env, tmp_path)
    assert result.returncode == 2 and "--port 'http' is invalid" in result.stderr.decode()
    result = run_command(["serve", "--bogus"], aws_env, tmp_path)
    assert result.returncode == 2 and "unknown option '--bogus'" in result.stderr.decode()


def test_no_region_refuses_to_start(aws_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in aws_env.items() if k != "AWS_REGION"}
    result = run_command(["serve", "--port", str(free_port())], env, tmp_path)
    assert result.returncode == 2 and "AWS_REGION" in result.stderr.decode()


def test_no_token_refuses_to_start(aws_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in aws_env.items() if k != "AWS_TOKEN"}
    result = run_command(["serve", "--port", str(free_port())], env, tmp_path)
    message = result.stderr.decode()
    assert result.returncode == 2
    assert "no token" in message and "AWS_SESSION_TOKEN" in message


def test_port_in_use(aws_env: dict[str, str], tmp_path: Path, server: ServerProcess) -> None:
    result = run_command(["serve", "--port", str(server.port)], aws_env, tmp_path)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{server.port}" in result.stderr.decode()


def test_a_busy_port_is_said_once_and_hides_no_other_problem(aws_env: dict[str, str], tmp_path: Path,
                                                             server: ServerProcess) -> None:
    env = {k: v for k, v in aws_env.items() if k not in ("AWS_TOKEN", "AWS_REGION")}
    result = run_command(["serve", "--port", str(server.port)], {**env, "SSM_PARAMETER_STORE_TTL": "-1"}, tmp_path)
    stderr, stdout = result.stderr.decode(), result.stdout.decode()
    assert result.returncode == 2
    assert stderr.count(f"cannot listen on 127.0.0.1:{server.port}") == 1 and stdout == ""  # once, not twice
    assert "SSM_PARAMETER_STORE_TTL" in stderr  # an invalid setting: still said
    settings_ok = run_command(["serve", "--port", str(server.port)], env, tmp_path).stderr.decode()
    assert "cannot listen on" in settings_ok and "no token" in settings_ok and "AWS_REGION" in settings_ok


def test_toml_file_and_precedence(start: Callable[..., ServerProcess], tmp_path: Path, seeded: Seeded) -> None:
    config = tmp_path / "paramsecrets.toml"
    config.write_text('ssm_ttl = 0\nlog_level = "debug"\nprefetch_parameters = ["/app/plain", "/app/list"]\n')
    # File says ssm_ttl 0 (no caching) but the environment says 300: the environment wins.
    server = start(args=("--config", str(config), "--log-level", "warn"), SSM_PARAMETER_STORE_TTL="300")
    assert server.get(PLAIN).status == 200
    assert server.get(PLAIN).cache == "hit"
    assert "DEBUG" not in server.output()  # the flag (warn) beat the file (debug)


def test_toml_unknown_key_and_bad_value(aws_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("cache_sise = 10\n")
    result = run_command(["serve", "--port", str(free_port()), "--config", str(config)], aws_env, tmp_path)
    assert result.returncode == 2
    assert "unknown key 'cache_sise'" in result.stderr.decode() and "cache_size" in result.stderr.decode()
    config.write_text("cache_size = true\n")
    result = run_command(["serve", "--port", str(free_port())],
                         {**aws_env, "PARAMETERS_SECRETS_EXTENSION_CONFIG_FILE": str(config)}, tmp_path)
    assert result.returncode == 2 and "cache_size" in result.stderr.decode() and "0 to 100000" in result.stderr.decode()
    config.write_text("cache_size = [\n")
    result = run_command(["serve", "--port", str(free_port()), "--config", str(config)], aws_env, tmp_path)
    assert result.returncode == 2 and "not valid TOML" in result.stderr.decode()
    result = run_command(["serve", "--port", str(free_port()), "--config", str(tmp_path / "missing.toml")], aws_env,
                         tmp_path)
    assert result.returncode == 2 and "cannot read config file" in result.stderr.decode()


def test_config_check_prints_effective_values_without_the_token(aws_env: dict[str, str], tmp_path: Path) -> None:
    env = {**aws_env, "SECRETS_MANAGER_TTL": "60", "AWS_SESSION_TOKEN": "session-token-value-xyz"}
    result = run_command(["config", "check", "--port", "9999"], env, tmp_path)  # not bound: a check only
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert "SECRETS_MANAGER_TTL" in out and "60  (env)" in out
    assert "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT" in out and "9999  (flag)" in out
    assert "SSM_PARAMETER_STORE_TTL" in out and "300  (default)" in out
    assert "from AWS_TOKEN (value hidden)" in out
    assert TOKEN not in out and "session-token-value-xyz" not in out
    bad = run_command(["config", "check"], {**aws_env, "SSM_PARAMETER_STORE_TTL": "-1"}, tmp_path)
    assert bad.returncode == 2 and "SSM_PARAMETER_STORE_TTL" in bad.stderr.decode()


def test_token_order_and_custom_list(start: Callable[..., ServerProcess], seeded: Seeded) -> None:
    server = start(drop=("AWS_TOKEN",), AWS_SESSION_TOKEN="from-session-token-1",
                   AWS_CONTAINER_AUTHORIZATION_TOKEN="container-token-c-1")
    assert server.get(PLAIN, headers={TOKEN_HEADER: "from-session-token-1"}, token=False).status == 200
    assert server.get(PLAIN, headers={TOKEN_HEADER: "container-token-c-1"}, token=False).status == 401
    custom = start(PARAMETERS_SECRETS_EXTENSION_TOKEN_ENV="MY_TOKEN", MY_TOKEN="mine-token-01234567")
    assert custom.get(PLAIN, headers={TOKEN_HEADER: "mine-token-01234567"}, token=False).status == 200
    assert custom.get(PLAIN).status == 401  # AWS_TOKEN is no longer consulted


def test_snapstart_style_container_token(start: Callable[..., ServerProcess], seeded: Seeded) -> None:
    server = start(drop=("AWS_TOKEN",), AWS_CONTAINER_AUTHORIZATION_TOKEN="restored-token-0123")
    assert server.get(PLAIN, headers={TOKEN_HEADER: "restored-token-0123"}, token=False).status == 200


def test_token_from_file_is_reread_when_it_changes(aws_env: dict[str, str], tmp_path: Path, seeded: Seeded) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first-token-0123456\n")
    env = {**aws_env, "AWS_TOKEN": f"file://{token_file}"}
    server = start_server(env, tmp_path)
    try:
        assert server.get(PLAIN, headers={TOKEN_HEADER: "first-token-0123456"}, token=False).status == 200
        # A different size, so the change is seen even within one file-timestamp tick.
        token_file.write_text("second-token-012345")
        assert wait_until(lambda: server.get(PLAIN, headers={TOKEN_HEADER: "second-token-012345"},
                                             token=False).status == 200, timeout=30)
        assert server.get(PLAIN, headers={TOKEN_HEADER: "first-token-0123456"}, token=False).status == 401
        assert "first-token-0123456" not in server.output() and "second-token-012345" not in server.output()
    finally:
        server.stop()


def test_unreadable_token_file_refuses_to_start(aws_env: dict[str, str], tmp_path: Path) -> None:
    result = run_command(["serve", "--port", str(free_port())], {**aws_env, "AWS_TOKEN": f"file://{tmp_path}/none"},
                         tmp_path)
    assert result.returncode == 2 and "cannot be read" in result.stderr.decode()


def test_config_check_lists_every_problem_in_one_run(aws_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "typos.toml"
    config.write_text('cache_sise = 10\nlog_level = "loud"\nssm_ttl = 60\n')
    env = {k: v for k, v in aws_env.items() if k not in ("AWS_TOKEN", "AWS_REGION")}
    env.update(SECRETS_MANAGER_TTL="forever", HOME=str(tmp_path))
    result = run_command(["config", "check", "--config", str(config), "--port", "0"], env, tmp_path)
    assert result.returncode == 2
    assert result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert all(line.startswith("paramsecrets: configuration error: ") for line in lines), lines
    text = "\n".join(lines)
    assert f"unknown key 'cache_sise' in config file {config} (did you mean 'cache_size'?)" in text
    assert "log_level in" in text and "'loud' is invalid" in text
    assert "SECRETS_MANAGER_TTL='forever' is invalid" in text
    assert "--port '0' is invalid" in text
    assert "no token" in text
    assert "no AWS region" in text
    assert len(lines) == 6


def test_config_check_help_describes_the_command(aws_env: dict[str, str], tmp_path: Path) -> None:
    result = run_command(["config", "check", "--help"], aws_env, tmp_path)
    out = result.stdout.decode()
    assert result.returncode == 0
    assert "exactly as `paramsecrets serve` would" in out and "--config FILE" in out and "Exit 0" in out
