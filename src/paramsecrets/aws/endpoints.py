"""Where each service lives: overrides from the environment, else partition rules.

Kept as data (from the published endpoint rules) so a reader can check any host at a glance.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

# (region pattern, DNS suffix), first match wins; "aws" is the fallback.
PARTITIONS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("aws-cn", re.compile(r"^cn-\w+-\d+$"), "amazonaws.com.cn"),
    ("aws-us-gov", re.compile(r"^us-gov-\w+-\d+$"), "amazonaws.com"),
    ("aws-iso", re.compile(r"^us-iso-\w+-\d+$"), "c2s.ic.gov"),
    ("aws-iso-b", re.compile(r"^us-isob-\w+-\d+$"), "sc2s.sgov.gov"),
    ("aws-iso-e", re.compile(r"^eu-isoe-\w+-\d+$"), "cloud.adc-e.uk"),
    ("aws-iso-f", re.compile(r"^us-isof-\w+-\d+$"), "csp.hci.ic.gov"),
    ("aws-eusc", re.compile(r"^eusc-de-\w+-\d+$"), "amazonaws.eu"),
)
DEFAULT_PARTITION = ("aws", "amazonaws.com")

# FIPS hosts that break the `{service}-fips.{region}` rule.
FIPS_EXCEPTIONS = {("ssm", "aws-us-gov"): "ssm.{region}.{suffix}"}

REGION_SHAPE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


@dataclass(frozen=True)
class Endpoint:
    """A resolved service endpoint."""

    scheme: str
    host: str
    port: int
    path: str = "/"

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    @property
    def host_header(self) -> str:
        default = 443 if self.tls else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host_header}{self.path}"


class EndpointError(ValueError):
    """A configured endpoint URL or region we cannot use."""


def partition_of(region: str) -> tuple[str, str]:
    """(partition name, DNS suffix) for a region."""
    for name, pattern, suffix in PARTITIONS:
        if pattern.match(region):
            return name, suffix
    return DEFAULT_PARTITION


def parse_endpoint_url(variable: str, url: str) -> Endpoint:
    """Turn an `AWS_ENDPOINT_URL*` value into an Endpoint, naming the variable on error."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError(f"{variable}={url!r} is not a valid endpoint URL (expected http(s)://host[:port])")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise EndpointError(f"{variable}={url!r} has an invalid port") from None
    return Endpoint(parts.scheme, parts.hostname, port, parts.path or "/")


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def resolve(service_id: str, env_suffix: str, region: str, environ: Mapping[str, str]) -> Endpoint:
    """Endpoint for a service: `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, then the rules."""
    if not _truthy(environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")):
        for variable in (f"AWS_ENDPOINT_URL_{env_suffix}", "AWS_ENDPOINT_URL"):
            if environ.get(variable):
                return parse_endpoint_url(variable, environ[variable])
    if not REGION_SHAPE.match(region):
        raise EndpointError(f"AWS_REGION={region!r} is not a valid region name (e.g. us-east-1)")
    partition, suffix = partition_of(region)
    if _truthy(environ.get("AWS_USE_FIPS_ENDPOINT")):
        pattern = FIPS_EXCEPTIONS.get((service_id, partition), "{service}-fips.{region}.{suffix}")
    else:
        pattern = "{service}.{region}.{suffix}"
    return Endpoint("https", pattern.format(service=service_id, region=region, suffix=suffix), 443)
