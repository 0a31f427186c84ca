"""AWS settings from the standard variables, resolved before anything heavy is imported.

Region, endpoints, proxies (HTTPS_PROXY, NO_PROXY) and the CA bundle (AWS_CA_BUNDLE) are checked at
start (a bad value stops the start with a clear message); credentials are awscrt's default chain
and are only needed at the first call.

Functions point their SDKs at us with AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL_SECRETS_MANAGER
(docs/sdk.md), and we see the same environment: an endpoint that is this server itself (a
loopback host on our own port) is never used for our own calls, or every miss would loop back
to us. PARAMETERS_SECRETS_EXTENSION_UPSTREAM_URL_<SERVICE> names the real upstream explicitly.
"""

from __future__ import annotations

import os
from _collections_abc import Mapping  # cheaper than collections.abc during INIT

from paramsecrets.aws.endpoints import Endpoint, EndpointError, parse_endpoint_url, resolve
from paramsecrets.aws.proxy import Proxy, ProxyError, proxy_for
from paramsecrets.aws.selfloop import is_this_server
from paramsecrets.config import ConfigError

SERVICES = (("ssm", "SSM"), ("secretsmanager", "SECRETS_MANAGER"))
UPSTREAM_URL_ENV = "PARAMETERS_SECRETS_EXTENSION_UPSTREAM_URL_"


class AwsSettings:
    """Region, endpoints, the CA bundle and each endpoint's proxy (a plain class: this runs before
    Lambda's `next`)."""

    __slots__ = ("ca_bundle", "region", "regional", "secrets", "secrets_proxy", "ssm", "ssm_proxy", "sts",
                 "sts_proxy")

    def __init__(self, region: str, ssm: Endpoint, secrets: Endpoint, ca_bundle: str | None = None,
                 ssm_proxy: Proxy | None = None, secrets_proxy: Proxy | None = None,
                 regional: bool = True, sts: Endpoint | None = None, sts_proxy: Proxy | None = None) -> None:
        self.region = region
        self.ssm = ssm
        self.secrets = secrets
        self.ca_bundle = ca_bundle
        self.ssm_proxy = ssm_proxy
        self.secrets_proxy = secrets_proxy
        self.regional = regional  # both are AWS's own regional endpoints (no override in effect)
        # STS, for roleArn reads: the regional endpoint, or AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL.
        self.sts = sts if sts is not None else resolve("sts", "STS", region, {})
        self.sts_proxy = sts_proxy


def _upstream(service: str, suffix: str, region: str, environ: Mapping[str, str], own_port: int | None,
              own_address: str = "") -> Endpoint:
    """Where our own calls to one service go: the explicit upstream, else the usual rules, skipping
    a variable that points back at this server (then the next one, then the regional endpoint)."""
    explicit = environ.get(UPSTREAM_URL_ENV + suffix)
    if explicit:
        endpoint = parse_endpoint_url(UPSTREAM_URL_ENV + suffix, explicit)
        if is_this_server(endpoint.host, endpoint.port, own_port, own_address):
            raise EndpointError(f"{UPSTREAM_URL_ENV + suffix}={explicit!r} is this server itself: it must name "
                                "the real endpoint (or be unset)")
        return endpoint
    remaining = dict(environ)
    for variable in (f"AWS_ENDPOINT_URL_{suffix}", "AWS_ENDPOINT_URL"):
        endpoint = resolve(service, suffix, region, remaining)
        if not is_this_server(endpoint.host, endpoint.port, own_port, own_address):
            return endpoint
        if remaining.pop(variable, None) is not None:
            from paramsecrets import log

            log.info("%s points at this server (the SDK protocol); our own %s calls do not use it",
                     variable, service)
    return resolve(service, suffix, region, remaining)


def profile_value(environ: Mapping[str, str], key: str) -> str | None:
    """A setting of the active profile in ~/.aws/config (AWS_CONFIG_FILE, AWS_PROFILE)."""
    path = os.path.expanduser(environ.get("AWS_CONFIG_FILE")
                              or os.path.join(environ.get("HOME", "~"), ".aws", "config"))
    if not os.path.isfile(path):
        return None  # the usual case under Lambda: no file, and configparser (it imports re) stays unloaded
    import configparser

    profile = environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE") or "default"
    parser = configparser.RawConfigParser()
    try:
        if not parser.read(path):
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


def resolve_aws(environ: Mapping[str, str] | None = None, own_port: int | None = None,
                own_address: str = "") -> AwsSettings:
    """Region and both endpoints, or ConfigError naming the variable to fix.

    `own_port` and `own_address` ("" is loopback) are where this server answers: an endpoint whose
    address reaches them is us (paramsecrets.aws.selfloop).
    """
    environ = os.environ if environ is None else environ
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or profile_region(environ)
    if not region:
        raise ConfigError("AWS_REGION", "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a "
                                        "region in the AWS config profile)")
    try:
        ssm, secrets = (_upstream(service, suffix, region, environ, own_port, own_address)
                        for service, suffix in SERVICES)
        sts = _upstream("sts", "STS", region, environ, own_port, own_address)
    except EndpointError as error:
        variable = str(error).partition("=")[0] or "AWS_ENDPOINT_URL"
        raise ConfigError(variable, str(error)) from None
    _warn_if_global_endpoint_is_us(environ, own_port, own_address)
    try:
        ssm_proxy, secrets_proxy, sts_proxy = (proxy_for(endpoint, environ) for endpoint in (ssm, secrets, sts))
    except ProxyError as error:
        raise ConfigError(str(error).split(" ")[0].rstrip(":"), str(error)) from None
    return AwsSettings(region, ssm, secrets, resolve_ca_bundle(environ), ssm_proxy, secrets_proxy,
                       _regional(region, ssm, secrets), sts, sts_proxy)


GLOBAL_ENDPOINT_WARNING = (
    "AWS_ENDPOINT_URL points at this server: every AWS service the function calls through an SDK comes "
    "here, and only SSM and Secrets Manager are answered (others get a WrongEndpoint error). Set "
    "AWS_ENDPOINT_URL_SSM and AWS_ENDPOINT_URL_SECRETS_MANAGER to this URL instead, and unset AWS_ENDPOINT_URL")


def _warn_if_global_endpoint_is_us(environ: Mapping[str, str], own_port: int | None, own_address: str) -> None:
    url = environ.get("AWS_ENDPOINT_URL")
    if not url or own_port is None or environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").strip().lower() == "true":
        return
    try:
        endpoint = parse_endpoint_url("AWS_ENDPOINT_URL", url)
    except EndpointError:
        return
    if is_this_server(endpoint.host, endpoint.port, own_port, own_address):
        from paramsecrets import log

        log.warn("%s", GLOBAL_ENDPOINT_WARNING)


def _regional(region: str, ssm: Endpoint, secrets: Endpoint) -> bool:
    """Whether both endpoints are AWS's own for `region` (then other regions use theirs too)."""
    try:
        return all(endpoint == resolve(service, suffix, region, {})
                   for endpoint, (service, suffix) in zip((ssm, secrets), SERVICES, strict=True))
    except EndpointError:
        return False
