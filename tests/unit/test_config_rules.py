"""Configuration parsing rules and precedence, in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from paramsecrets import config


def test_defaults() -> None:
    settings = config.load({})
    assert (settings.http_port, settings.cache_size, settings.ssm_ttl, settings.log_level) == (2773, 1000, 300, "info")
    assert settings.cache_active and settings.sources == {}


def test_cache_active_rule() -> None:
    assert not config.load({"PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED": "False"}).cache_active
    assert not config.load({"SSM_PARAMETER_STORE_TTL": "0", "SECRETS_MANAGER_TTL": "0"}).cache_active
    assert config.load({"SSM_PARAMETER_STORE_TTL": "0"}).cache_active


def test_precedence(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text('http_port = 1111\nssm_ttl = 5\nlog_level = "DEBUG"\nprefetch_secrets = "a, b,"\n')
    settings = config.load({"SSM_PARAMETER_STORE_TTL": "7", "PARAMETERS_SECRETS_EXTENSION_CONFIG_FILE": str(file)},
                           flags={"http_port": "2222"})
    assert (settings.http_port, settings.ssm_ttl, settings.log_level) == (2222, 7, "debug")
    assert settings.prefetch_secrets == ("a", "b")
    assert settings.sources["http_port"] == "flag" and settings.sources["ssm_ttl"] == "env"
    assert settings.sources["log_level"] == "file"


@pytest.mark.parametrize(("value", "parsed"), [(" 10 ", 10), ("+5", 5), ("0", 0)])
def test_integers(value: str, parsed: int) -> None:
    assert config.load({"PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE": value}).cache_size == parsed


@pytest.mark.parametrize("value", ["1e3", "\u0661\u0660", "", "10.0", "0x10"])
def test_bad_integers(value: str) -> None:
    with pytest.raises(config.ConfigError) as error:
        config.load({"PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE": value})
    assert error.value.variable == "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE"
    assert "an integer from 0 to 100000" in error.value.message


def test_effective_rows_show_values_as_written() -> None:
    rows = {env: value for env, _, value, _ in config.load({}).effective()}
    assert rows["PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED"] == "true"
    assert rows["PARAMETERS_SECRETS_EXTENSION_TOKEN_ENV"] == ",".join(config.DEFAULT_TOKEN_ENV)


def test_every_problem_is_collected_and_the_first_names_the_variable(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text("ssm_tll = 5\nmax_conections = 2\nwhatever = 1\n")
    with pytest.raises(config.ConfigError) as caught:
        config.load({"PARAMETERS_SECRETS_EXTENSION_CONFIG_FILE": str(file), "SECRETS_MANAGER_TTL": "-3"},
                    flags={"http_port": "x"})
    messages = [problem.message for problem in caught.value.problems]
    assert len(messages) == 5
    assert messages[0].startswith(f"unknown key 'ssm_tll' in config file {file} (did you mean 'ssm_ttl'?)")
    assert "unknown key 'max_conections'" in messages[1] and "(did you mean 'max_connections'?)" in messages[1]
    assert "unknown key 'whatever'" in messages[2] and "did you mean" not in messages[2]
    assert messages[3].startswith("SECRETS_MANAGER_TTL='-3' is invalid")
    assert messages[4].startswith("--port 'x' is invalid")
    assert caught.value.variable == config.CONFIG_FILE_ENV
    assert str(caught.value) == "; ".join(messages)


def test_one_problem_is_raised_as_itself() -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.load({"SECRETS_MANAGER_TTL": "-3"})
    assert caught.value.problems == [caught.value]
    assert caught.value.variable == "SECRETS_MANAGER_TTL"


def test_cloud_extensions_family_options(tmp_path: Path) -> None:
    settings = config.load({"PARAMETERS_SECRETS_EXTENSION_EXTRA_PORTS": "5333, 6000",
                            "PARAMETERS_SECRETS_EXTENSION_EMF_METRICS": "TRUE",
                            "PARAMETERS_SECRETS_EXTENSION_EMF_NAMESPACE": "team/cache"})
    assert settings.extra_ports == (5333, 6000) and settings.emf_metrics and settings.emf_namespace == "team/cache"
    assert (settings.emf_interval, settings.accept_aws_credentials, settings.client_access_key_id) == (60, True, "")
    file = tmp_path / "c.toml"
    file.write_text("extra_ports = [5333]\naccept_aws_credentials = false\n")
    from_file = config.load({config.CONFIG_FILE_ENV: str(file)})
    assert from_file.extra_ports == (5333,) and not from_file.accept_aws_credentials


@pytest.mark.parametrize(("variable", "value"), [
    ("PARAMETERS_SECRETS_EXTENSION_EXTRA_PORTS", "5333,5333"),
    ("PARAMETERS_SECRETS_EXTENSION_EXTRA_PORTS", "0"),
    ("PARAMETERS_SECRETS_EXTENSION_EXTRA_PORTS", "1,2,3,4,5,6,7,8,9"),
    ("PARAMETERS_SECRETS_EXTENSION_EMF_NAMESPACE", "AWS/Lambda"),
    ("PARAMETERS_SECRETS_EXTENSION_EMF_NAMESPACE", "bad\nname"),
    ("PARAMETERS_SECRETS_EXTENSION_EMF_INTERVAL", "0"),
])
def test_cloud_extensions_family_bad_values(variable: str, value: str) -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.load({variable: value})
    assert caught.value.variable == variable


def test_client_secret_is_never_shown() -> None:
    secret = "s" * 5000  # invalid (too long): the error must not quote it either
    with pytest.raises(config.ConfigError) as caught:
        config.load({"PARAMETERS_SECRETS_EXTENSION_CLIENT_SECRET_ACCESS_KEY": secret})
    assert "sss" not in str(caught.value)
    rows = {env: value for env, _, value, _ in
            config.load({"PARAMETERS_SECRETS_EXTENSION_CLIENT_SECRET_ACCESS_KEY": "a-secret-of-20-chars"}).effective()}
    assert rows["PARAMETERS_SECRETS_EXTENSION_CLIENT_SECRET_ACCESS_KEY"] == "<set>"


def test_the_forwarded_call_deadline() -> None:
    assert config.load({}).sdk_forward_timeout_millis == 30_000
    assert config.load({"PARAMETERS_SECRETS_EXTENSION_SDK_FORWARD_TIMEOUT_MILLIS": "1500"}).sdk_forward_timeout_millis \
        == 1500
    for bad in ("0", "99", "600001", "fast"):
        with pytest.raises(config.ConfigError, match="SDK_FORWARD_TIMEOUT_MILLIS"):
            config.load({"PARAMETERS_SECRETS_EXTENSION_SDK_FORWARD_TIMEOUT_MILLIS": bad})


def test_the_path_read_limits() -> None:
    settings = config.load({})
    assert (settings.max_path_pages, settings.max_path_parameters, settings.path_timeout_millis) == (200, 1000, 20_000)
    settings = config.load({"PARAMETERS_SECRETS_EXTENSION_MAX_PATH_PAGES": "5",
                            "PARAMETERS_SECRETS_EXTENSION_MAX_PATH_PARAMETERS": "50",
                            "PARAMETERS_SECRETS_EXTENSION_PATH_TIMEOUT_MILLIS": "1000"})
    assert (settings.max_path_pages, settings.max_path_parameters, settings.path_timeout_millis) == (5, 50, 1000)
    for variable, bad in (("MAX_PATH_PAGES", "0"), ("MAX_PATH_PARAMETERS", "100001"), ("PATH_TIMEOUT_MILLIS", "99")):
        with pytest.raises(config.ConfigError, match=variable):
            config.load({"PARAMETERS_SECRETS_EXTENSION_" + variable: bad})


def test_freshness_and_reach_settings() -> None:
    defaults = config.load({})
    assert (defaults.revalidate_secrets, defaults.max_roles, defaults.error_ttl, defaults.prefetch_jitter_ms) == (
        True, 20, 5, 0)
    settings = config.load({"PARAMETERS_SECRETS_EXTENSION_REVALIDATE_SECRETS": "FALSE",
                            "PARAMETERS_SECRETS_EXTENSION_MAX_ROLES": "3",
                            "PARAMETERS_SECRETS_EXTENSION_ERROR_TTL": "0",
                            "PARAMETERS_SECRETS_EXTENSION_PREFETCH_JITTER_MS": "1500",
                            "PARAMETERS_SECRETS_EXTENSION_PREFETCH_SECRETS": "db,tag:team=pay"})
    assert (settings.revalidate_secrets, settings.max_roles, settings.error_ttl, settings.prefetch_jitter_ms) == (
        False, 3, 0, 1500)
    assert settings.prefetch_secrets == ("db", "tag:team=pay")


@pytest.mark.parametrize(("variable", "value", "accepted"), [
    ("PARAMETERS_SECRETS_EXTENSION_MAX_ROLES", "0", "an integer from 1 to 1000"),
    ("PARAMETERS_SECRETS_EXTENSION_ERROR_TTL", "-1", "an integer from 0 to 86400 seconds"),
    ("PARAMETERS_SECRETS_EXTENSION_PREFETCH_JITTER_MS", "600001", "an integer from 0 to 600000 milliseconds"),
    ("PARAMETERS_SECRETS_EXTENSION_REVALIDATE_SECRETS", "yes", "true or false"),
])
def test_freshness_and_reach_settings_are_bounded(variable: str, value: str, accepted: str) -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.load({variable: value})
    assert caught.value.variable == variable and accepted in caught.value.message
