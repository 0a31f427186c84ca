"""AWS settings from the standard variables, resolved before anything heavy is imported.

Region and endpoints are checked at start (a bad AWS_ENDPOINT_URL stops the start with a clear
message); credentials are awscrt's default chain and are only needed at the first call.
"""

from __future__ import annotations

import os
from _collections_abc import Mapping  # cheaper than collections.abc during INIT

from paramsecrets.aws.endpoints import Endpoint, EndpointError, resolve
from paramsecrets.config import ConfigError

SERVICES = (("ssm", "SSM"), ("secretsmanager", "SECRETS_MANAGER"))


class AwsSettings:
    """Region and endpoints (a plain class: this runs before Lambda's `next`)."""

    __slots__ = ("region", "secrets", "ssm")

    def __init__(self, region: str, ssm: Endpoint, secrets: Endpoint) -> None:
        self.region = region
        self.ssm = ssm
        self.secrets = secrets


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


def resolve_aws(environ: Mapping[str, str] | None = None) -> AwsSettings:
    """Region and both endpoints, or ConfigError naming the variable to fix."""
    environ = os.environ if environ is None else environ
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or profile_region(environ)
    if not region:
        raise ConfigError("AWS_REGION", "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a "
                                        "region in the AWS config profile)")
    try:
        ssm, secrets = (resolve(service, suffix, region, environ) for service, suffix in SERVICES)
    except EndpointError as error:
        variable = str(error).partition("=")[0] or "AWS_ENDPOINT_URL"
        raise ConfigError(variable, str(error)) from None
    return AwsSettings(region, ssm, secrets)
