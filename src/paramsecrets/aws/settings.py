"""AWS settings from the standard variables, resolved before anything heavy is imported.

Region, endpoints, proxies (HTTPS_PROXY, NO_PROXY) and the CA bundle (AWS_CA_BUNDLE) are checked at
start (a bad value stops the start with a clear message); credentials are awscrt's default chain
and are only needed at the first call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from paramsecrets.aws.endpoints import Endpoint, EndpointError, resolve
from paramsecrets.aws.proxy import Proxy, ProxyError, proxy_for
from paramsecrets.config import ConfigError

SERVICES = (("ssm", "SSM"), ("secretsmanager", "SECRETS_MANAGER"))


class AwsSettings:
    """Region, endpoints, the CA bundle and each endpoint's proxy (a plain class: this runs before
    Lambda's `next`)."""

    __slots__ = ("ca_bundle", "region", "secrets", "secrets_proxy", "ssm", "ssm_proxy")

    def __init__(self, region: str, ssm: Endpoint, secrets: Endpoint, ca_bundle: str | None = None,
                 ssm_proxy: Proxy | None = None, secrets_proxy: Proxy | None = None) -> None:
        self.region = region
        self.ssm = ssm
        self.secrets = secrets
        self.ca_bundle = ca_bundle
        self.ssm_proxy = ssm_proxy
        self.secrets_proxy = secrets_proxy


def profile_value(environ: Mapping[str, str], key: str) -> str | None:
    """A setting of the active profile in ~/.aws/config (AWS_CONFIG_FILE, AWS_PROFILE)."""
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
        if parser.has_option(section, key):
            return parser.get(section, key).strip() or None
    return None


def profile_region(environ: Mapping[str, str]) -> str | None:
    """The region of the active profile in ~/.aws/config."""
    return profile_value(environ, "region")


PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"


def resolve_ca_bundle(environ: Mapping[str, str]) -> str | None:
    """AWS_CA_BUNDLE, else the profile's `ca_bundle`: a PEM file of certificates to trust instead of the
    system store (a private CA, a TLS-inspecting proxy). Checked now, so a wrong path stops the start."""
    variable, path = "AWS_CA_BUNDLE", environ.get("AWS_CA_BUNDLE", "").strip()
    if not path:
        variable, path = "ca_bundle in the AWS config file", profile_value(environ, "ca_bundle") or ""
    if not path:
        return None
    path = os.path.expanduser(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(1 << 20)
    except OSError as error:
        raise ConfigError("AWS_CA_BUNDLE", f"{variable} names {path}, which cannot be read: {error.strerror}") from None
    if PEM_CERTIFICATE not in head:
        raise ConfigError("AWS_CA_BUNDLE", f"{variable} names {path}, which holds no PEM certificate "
                                           "(-----BEGIN CERTIFICATE-----)")
    return path


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
    try:
        ssm_proxy, secrets_proxy = proxy_for(ssm, environ), proxy_for(secrets, environ)
    except ProxyError as error:
        raise ConfigError(str(error).split(" ")[0].rstrip(":"), str(error)) from None
    return AwsSettings(region, ssm, secrets, resolve_ca_bundle(environ), ssm_proxy, secrets_proxy)
