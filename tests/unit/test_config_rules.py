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
