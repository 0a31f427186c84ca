"""Settings from flags, environment and a TOML file, validated with messages that name the culprit.

Precedence: command-line flag > environment > TOML file > default. Every option is one row of
OPTIONS (its environment variable, TOML key, default and accepted values), so the table in the
README, `config check` and the validation all come from the same place. Standard library only:
this runs before the Lambda extension has finished starting.
"""

from __future__ import annotations

import os
from _collections_abc import Callable, Mapping  # cheaper than collections.abc during INIT

CONFIG_FILE_ENV = "PARAMETERS_SECRETS_EXTENSION_CONFIG_FILE"
LOG_LEVELS = ("debug", "info", "warn", "error", "none")
ERROR_MODES = ("aws", "detailed")  # the answer profiles (profiles.py); aws is the AWS extension's
DEFAULT_TOKEN_ENV = ("AWS_TOKEN", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN")


class ConfigError(Exception):
    """A setting that stops the start; `variable` names it for Lambda's init/error report.

    `problems` holds every problem found in one pass (this one first), so `config check` and a
    failed start list them all instead of one per run; `str()` joins them with "; ".
    """

    def __init__(self, variable: str, message: str, problems: list[ConfigError] | None = None) -> None:
        self.variable = variable
        self.message: str = message
        self.problems: list[ConfigError] = problems or [self]
        super().__init__("; ".join(problem.message for problem in self.problems))


def raise_all(problems: list[ConfigError]) -> None:
    """Nothing if `problems` is empty; else one ConfigError carrying them all."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ConfigError(problems[0].variable, problems[0].message, problems)


Parser = Callable[[object], object]  # no `typing` here: it imports `re` (~5 ms) before `next`


def boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError


def integer(low: int, high: int) -> Parser:
    def parse(value: object) -> int:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, str):
            text = value.strip()
            if not text.lstrip("+-").isdigit() or not text.isascii():
                raise ValueError
            value = int(text)
        if not isinstance(value, int) or not low <= value <= high:
            raise ValueError
        return value

    return parse


def choice(*allowed: str) -> Parser:
    def parse(value: object) -> str:
        if isinstance(value, str) and value.strip().lower() in allowed:
            return value.strip().lower()
        raise ValueError

    return parse


def name_list(value: object) -> tuple[str, ...]:
    """A comma-separated string, or (in TOML) a list of strings."""
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = value
    else:
        raise ValueError
    return tuple(item.strip() for item in items if item.strip())


def ip_address(value: object) -> str:
    """An IPv4 or IPv6 address (brackets allowed), or "" for loopback only. No host names: binding
    happens before anything could resolve them, and a name could resolve to something unexpected."""
    import _socket

    if not isinstance(value, str):
        raise ValueError
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if not text:
        return ""
    for family in (_socket.AF_INET, _socket.AF_INET6):
        try:
            return _socket.inet_ntop(family, _socket.inet_pton(family, text))
        except OSError:
            continue
    raise ValueError


MAX_EXTRA_PORTS = 8


def port_list(value: object) -> tuple[int, ...]:
    """Extra ports: a comma-separated string or a TOML list, each 1-65535, no repeats, at most 8."""
    if isinstance(value, list):
        value = ",".join(str(item) if isinstance(item, int) and not isinstance(item, bool) else "x"
                         for item in value)
    parse = integer(1, 65_535)
    ports = tuple(int(parse(item)) for item in name_list(value))  # type: ignore[call-overload]
    if len(ports) > MAX_EXTRA_PORTS or len(set(ports)) != len(ports):
        raise ValueError
    return ports


def text(value: object) -> str:
    """A string setting (checked where it is used, e.g. the client key); at most 4096 characters."""
    if not isinstance(value, str) or len(value) > 4096:
        raise ValueError
    return value.strip()


def emf_namespace(value: object) -> str:
    """A CloudWatch namespace: 1-255 of letters, digits and `. - _ / # :` or space, not `AWS/...`."""
    if not isinstance(value, str):
        raise ValueError
    name = value.strip()
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_/#: ")
    if not 0 < len(name) <= 255 or not set(name) <= allowed or name.startswith("AWS/"):
        raise ValueError
    return name


def non_empty_name_list(value: object) -> tuple[str, ...]:
    names = name_list(value)
    if not names:
        raise ValueError
    return names


class Option:
    """One setting: its TOML key (also the attribute), environment variable, default, rule.

    Plain classes here, not dataclasses: importing `dataclasses` costs ~14 ms of CPU, and this
    module runs between Lambda's `register` and `next`, on every cold start.
    """

    __slots__ = ("accepted", "default", "env", "key", "parse")

    def __init__(self, key: str, env: str, default: object, parse: Parser, accepted: str) -> None:
        self.key = key
        self.env = env
        self.default = default
        self.parse = parse
        self.accepted = accepted


def _int_option(key: str, env: str, default: int, low: int, high: int, unit: str = "") -> Option:
    return Option(key, env, default, integer(low, high), f"an integer from {low} to {high}{unit}")


_P = "PARAMETERS_SECRETS_EXTENSION_"
OPTIONS: tuple[Option, ...] = (
    Option("cache_enabled", _P + "CACHE_ENABLED", True, boolean, "true or false"),
    _int_option("cache_size", _P + "CACHE_SIZE", 1000, 0, 100_000),
    _int_option("cache_max_bytes", _P + "CACHE_MAX_BYTES", 33_554_432, 65_536, 4_294_967_296),
    _int_option("http_port", _P + "HTTP_PORT", 2773, 1, 65_535),
    Option("listen_address", _P + "LISTEN_ADDRESS", "", ip_address,
           "an IP address such as 0.0.0.0, :: or 10.0.0.5 (empty: 127.0.0.1 and ::1)"),
    _int_option("max_connections", _P + "MAX_CONNECTIONS", 3, 1, 1000),
    _int_option("max_inbound_connections", _P + "MAX_INBOUND_CONNECTIONS", 800, 1, 10_000),
    Option("log_level", _P + "LOG_LEVEL", "info", choice(*LOG_LEVELS), ", ".join(LOG_LEVELS)),
    _int_option("ssm_ttl", "SSM_PARAMETER_STORE_TTL", 300, 0, 86_400, " seconds"),
    _int_option("secrets_ttl", "SECRETS_MANAGER_TTL", 300, 0, 86_400, " seconds"),
    _int_option("ssm_timeout_millis", "SSM_PARAMETER_STORE_TIMEOUT_MILLIS", 0, 0, 600_000),
    _int_option("secrets_timeout_millis", "SECRETS_MANAGER_TIMEOUT_MILLIS", 0, 0, 600_000),
    Option("prefetch_parameters", _P + "PREFETCH_PARAMETERS", (), name_list,
           "a comma-separated list of parameter names or paths ending in /, each optionally |ROLE_ARN"),
    Option("prefetch_secrets", _P + "PREFETCH_SECRETS", (), name_list,
           "a comma-separated list of secret ids or tag:KEY=VALUE filters, each optionally |ROLE_ARN"),
    _int_option("max_path_pages", _P + "MAX_PATH_PAGES", 200, 1, 10_000),
    _int_option("max_path_parameters", _P + "MAX_PATH_PARAMETERS", 1000, 1, 100_000),
    _int_option("path_timeout_millis", _P + "PATH_TIMEOUT_MILLIS", 20_000, 100, 600_000, " milliseconds"),
    _int_option("prefetch_jitter_ms", _P + "PREFETCH_JITTER_MS", 0, 0, 600_000, " milliseconds"),
    Option("revalidate_secrets", _P + "REVALIDATE_SECRETS", True, boolean, "true or false"),
    _int_option("max_roles", _P + "MAX_ROLES", 20, 1, 1000),
    _int_option("error_ttl", _P + "ERROR_TTL", 5, 0, 86_400, " seconds"),
    Option("stale_on_error", _P + "STALE_ON_ERROR", True, boolean, "true or false"),
    _int_option("max_staleness", _P + "MAX_STALENESS", 3600, 0, 604_800, " seconds"),
    Option("refresh_ahead", _P + "REFRESH_AHEAD", True, boolean, "true or false"),
    Option("warm_connections", _P + "WARM_CONNECTIONS", True, boolean, "true or false"),
    Option("error_mode", _P + "ERROR_MODE", "aws", choice(*ERROR_MODES), ", ".join(ERROR_MODES)),
    Option("sdk_protocol", _P + "SDK_PROTOCOL", True, boolean, "true or false"),
    _int_option("sdk_forward_timeout_millis", _P + "SDK_FORWARD_TIMEOUT_MILLIS", 30_000, 100, 600_000,
                " milliseconds"),
    Option("token_env", _P + "TOKEN_ENV", DEFAULT_TOKEN_ENV, non_empty_name_list,
           "a comma-separated list of at least one environment variable name"),
    Option("extra_ports", _P + "EXTRA_PORTS", (), port_list,
           f"a comma-separated list of at most {MAX_EXTRA_PORTS} distinct ports from 1 to 65535 (e.g. 5333)"),
    Option("client_access_key_id", _P + "CLIENT_ACCESS_KEY_ID", "", text,
           "an access key id of 16 to 128 letters and digits, or file:///path"),
    Option("client_secret_access_key", _P + "CLIENT_SECRET_ACCESS_KEY", "", text,
           "a secret of at least 16 characters, or file:///path"),
    Option("accept_aws_credentials", _P + "ACCEPT_AWS_CREDENTIALS", True, boolean, "true or false"),
    Option("emf_metrics", _P + "EMF_METRICS", False, boolean, "true or false"),
    Option("emf_namespace", _P + "EMF_NAMESPACE", "paramsecrets", emf_namespace,
           "a CloudWatch namespace: 1 to 255 letters, digits or . - _ / # : (not AWS/...)"),
    _int_option("emf_interval", _P + "EMF_INTERVAL", 60, 1, 86_400, " seconds"),
)
SECRET_KEYS = frozenset({"client_secret_access_key"})  # shown as <set>, never as their value
OPTIONS_BY_KEY = {option.key: option for option in OPTIONS}
# Command-line flags that override a setting: flag name -> TOML key.
FLAGS = {"--port": "http_port", "--listen": "listen_address", "--log-level": "log_level"}


class Settings:
    """The effective configuration, one attribute per OPTIONS key. `sources` says where each came from."""

    cache_enabled: bool
    cache_size: int
    cache_max_bytes: int
    http_port: int
    listen_address: str
    max_connections: int
    max_inbound_connections: int
    log_level: str
    ssm_ttl: int
    secrets_ttl: int
    ssm_timeout_millis: int
    secrets_timeout_millis: int
    prefetch_parameters: tuple[str, ...]
    prefetch_secrets: tuple[str, ...]
    max_path_pages: int
    max_path_parameters: int
    path_timeout_millis: int
    prefetch_jitter_ms: int
    revalidate_secrets: bool
    max_roles: int
    error_ttl: int
    stale_on_error: bool
    max_staleness: int
    refresh_ahead: bool
    warm_connections: bool
    error_mode: str
    sdk_protocol: bool
    sdk_forward_timeout_millis: int
    token_env: tuple[str, ...]
    extra_ports: tuple[int, ...]
    client_access_key_id: str
    client_secret_access_key: str
    accept_aws_credentials: bool
    emf_metrics: bool
    emf_namespace: str
    emf_interval: int

    def __init__(self, config_file: str | None = None, sources: Mapping[str, str] | None = None,
                 **values: object) -> None:
        unknown = set(values) - set(OPTIONS_BY_KEY)
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        for option in OPTIONS:
            setattr(self, option.key, values.get(option.key, option.default))
        self.config_file = config_file
        self.sources = dict(sources or {})

    @property
    def cache_active(self) -> bool:
        """The AWS extension's rule: off when disabled, sized 0, or both TTLs are 0."""
        return self.cache_enabled and self.cache_size > 0 and (self.ssm_ttl > 0 or self.secrets_ttl > 0)

    def effective(self) -> list[tuple[str, str, str, str]]:
        """(environment variable, key, value as text, source) rows for logs and `config check`."""
        return [(o.env, o.key, shown_value(o.key, getattr(self, o.key)), self.sources.get(o.key, "default"))
                for o in OPTIONS]


def shown_value(key: str, value: object) -> str:
    """A setting for logs and `config check`: a secret is only said to be set, or a file reference."""
    if key in SECRET_KEYS and isinstance(value, str) and value and not value.startswith("file://"):
        return "<set>"
    return show(value)


def show(value: object) -> str:
    """A setting as a user would write it in the environment."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def _invalid(where: str, value: object, option: Option) -> ConfigError:
    if option.key in SECRET_KEYS:  # never quote a secret
        return ConfigError(option.env, f"{where} is invalid: expected {option.accepted}")
    return ConfigError(option.env, f"{where}={value!r} is invalid: expected {option.accepted}")


def _read_toml(path: str) -> dict[str, object]:
    import tomllib

    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise ConfigError(CONFIG_FILE_ENV, f"cannot read config file {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(CONFIG_FILE_ENV, f"config file {path} is not valid TOML: {error}") from None


def load(environ: Mapping[str, str] | None = None, flags: Mapping[str, object] | None = None,
         config_file: str | None = None) -> Settings:
    """Build the effective Settings, or raise ConfigError naming the variable, value and range.

    `flags` maps TOML keys to command-line values (None means not given); `config_file` is
    `--config`, which overrides PARAMETERS_SECRETS_EXTENSION_CONFIG_FILE.
    """
    environ = os.environ if environ is None else environ
    path = config_file or environ.get(CONFIG_FILE_ENV) or None
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    problems: list[ConfigError] = []
    if path:
        document = _read_toml(path)
        for key, value in document.items():
            option = OPTIONS_BY_KEY.get(key)
            if option is None:
                known = ", ".join(OPTIONS_BY_KEY)
                problems.append(ConfigError(CONFIG_FILE_ENV, f"unknown key {key!r} in config file {path}"
                                                             f"{_closest_key(key)}; known keys: {known}"))
                continue
            try:
                values[key] = option.parse(value)
            except ValueError:
                problems.append(_invalid(f"{key} in {path}", value, option))
                continue
            sources[key] = "file"
    for option in OPTIONS:
        raw = environ.get(option.env)
        if raw is None:
            continue
        try:
            values[option.key] = option.parse(raw)
        except ValueError:
            problems.append(_invalid(option.env, raw, option))
            continue
        sources[option.key] = "env"
    for flag, key in FLAGS.items():
        given = (flags or {}).get(key)
        if given is None:
            continue
        option = OPTIONS_BY_KEY[key]
        try:
            values[key] = option.parse(given)
        except ValueError:
            problems.append(ConfigError(option.env, f"{flag} {given!r} is invalid: expected {option.accepted}"))
            continue
        sources[key] = "flag"
    raise_all(problems)
    return Settings(config_file=path, sources=sources, **values)


def _closest_key(key: str) -> str:
    """` (did you mean 'cache_size'?)` for a misspelt key, else nothing (difflib only on this path)."""
    import difflib

    close = difflib.get_close_matches(key.lower(), OPTIONS_BY_KEY, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
