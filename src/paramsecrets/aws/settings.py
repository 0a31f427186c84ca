"""AWS settings from the standard variables, resolved before anything heavy is imported.

Region and endpoints are checked at start (a bad AWS_ENDPOINT_URL stops the start with a clear
message); credentials are awscrt's default chain and are only needed at the first call.

Functions point their SDKs at us with AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL_SECRETS_MANAGER
(docs/sdk.md), and we see the same environment: an endpoint that is this server itself (a
loopback host on our own port) is never used for our own calls, or every miss would loop back
to us. PARAMETERS_SECRETS_EXTENSION_UPSTREAM_URL_<SERVICE> names the real upstream explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from paramsecrets.aws.endpoints import Endpoint, EndpointError, parse_endpoint_url, resolve
from paramsecrets.config import ConfigError

SERVICES = (("ssm", "SSM"), ("secretsmanager", "SECRETS_MANAGER"))
UPSTREAM_URL_ENV = "PARAMETERS_SECRETS_EXTENSION_UPSTREAM_URL_"
LOOPBACK_HOSTS = frozenset({"localhost", "::1", "0:0:0:0:0:0:0:1", "0.0.0.0", "::"})


class AwsSettings:
    """Region and endpoints (a plain class: this runs before Lambda's `next`)."""

    __slots__ = ("region", "regional", "secrets", "ssm")

    def __init__(self, region: str, ssm: Endpoint, secrets: Endpoint, regional: bool = True) -> None:
        self.region = region
        self.ssm = ssm
        self.secrets = secrets
        self.regional = regional  # both are AWS's own regional endpoints (no override in effect)


def is_loopback(host: str) -> bool:
    """`localhost`, 127.0.0.0/8, ::1 (and the any-addresses, which reach us too)."""
    return host.lower() in LOOPBACK_HOSTS or host.startswith("127.")


def _upstream(service: str, suffix: str, region: str, environ: Mapping[str, str], own_port: int | None) -> Endpoint:
    """Where our own calls to one service go: the explicit upstream, else the usual rules, skipping
    a variable that points back at this server (then the next one, then the regional endpoint)."""
    explicit = environ.get(UPSTREAM_URL_ENV + suffix)
    if explicit:
        return parse_endpoint_url(UPSTREAM_URL_ENV + suffix, explicit)
    remaining = dict(environ)
    for variable in (f"AWS_ENDPOINT_URL_{suffix}", "AWS_ENDPOINT_URL"):
        endpoint = resolve(service, suffix, region, remaining)
        if own_port is None or endpoint.port != own_port or not is_loopback(endpoint.host):
            return endpoint
        if remaining.pop(variable, None) is not None:
            from paramsecrets import log

            log.info("%s points at this server (the SDK protocol); our own %s calls do not use it",
                     variable, service)
    return resolve(service, suffix, region, remaining)


def profile_region(environ: Mapping[str, str]) -> str | None:
    """The region of the active profile in ~/.aws/config (AWS_CONFIG_FILE, AWS_PROFILE)."""
    import configparser

    path = environ.get("AWS_CONFIG_FILE") or os.path.join(environ.get("HOME", "~"), ".aws", "config")
    profile = environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE") or "default"
    parser = configparser.RawConfigParser()
    try:
        if not parser.read(os.path.expanduser(path)):
            return None
    except configparser.Error:
        return None
    for section in (profile, f"profile {profile}"):
        if parser.has_option(section, "region"):
            return parser.get(section, "region").strip() or None
    return None


def resolve_aws(environ: Mapping[str, str] | None = None, own_port: int | None = None) -> AwsSettings:
    """Region and both endpoints, or ConfigError naming the variable to fix.

    `own_port` is the port this server answers on: endpoints on it at a loopback host are us.
    """
    environ = os.environ if environ is None else environ
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or profile_region(environ)
    if not region:
        raise ConfigError("AWS_REGION", "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a "
                                        "region in the AWS config profile)")
    try:
        ssm, secrets = (_upstream(service, suffix, region, environ, own_port) for service, suffix in SERVICES)
    except EndpointError as error:
        variable = str(error).partition("=")[0] or "AWS_ENDPOINT_URL"
        raise ConfigError(variable, str(error)) from None
    return AwsSettings(region, ssm, secrets, _regional(region, ssm, secrets))


def _regional(region: str, ssm: Endpoint, secrets: Endpoint) -> bool:
    """Whether both endpoints are AWS's own for `region` (then other regions use theirs too)."""
    try:
        return all(endpoint == resolve(service, suffix, region, {})
                   for endpoint, (service, suffix) in zip((ssm, secrets), SERVICES, strict=True))
    except EndpointError:
        return False
