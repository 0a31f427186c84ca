"""Where each service lives: overrides from the environment, else partition rules.

Kept as data (from the published endpoint rules) so a reader can check any host at a glance.
"""

from __future__ import annotations

from _collections_abc import Mapping  # cheaper than collections.abc during INIT

# (region prefix, partition, DNS suffix), longest prefix first; "aws" is the fallback. Prefixes,
# not regular expressions: this runs before Lambda's `next`, where importing `re` costs ~5 ms.
PARTITIONS: tuple[tuple[str, str, str], ...] = (
    ("us-isob-", "aws-iso-b", "sc2s.sgov.gov"),
    ("us-isof-", "aws-iso-f", "csp.hci.ic.gov"),
    ("us-iso-", "aws-iso", "c2s.ic.gov"),
    ("eu-isoe-", "aws-iso-e", "cloud.adc-e.uk"),
    ("us-gov-", "aws-us-gov", "amazonaws.com"),
    ("eusc-de-", "aws-eusc", "amazonaws.eu"),
    ("cn-", "aws-cn", "amazonaws.com.cn"),
)
DEFAULT_PARTITION = ("aws", "amazonaws.com")

# FIPS hosts that break the `{service}-fips.{region}` rule.
FIPS_EXCEPTIONS = {("ssm", "aws-us-gov"): "ssm.{region}.{suffix}"}


def valid_region(region: str) -> bool:
    """`us-east-1`, `cn-north-1`, `us-gov-west-1`: letters, then words, then a number."""
    parts = region.split("-")
    return (len(parts) >= 3 and len(parts[0]) == 2 and parts[-1].isdigit() and parts[-1].isascii()
            and all(part.isalpha() and part.isascii() and part.islower() for part in parts[:-1]))


class Endpoint:
    """A resolved service endpoint."""

    __slots__ = ("host", "path", "port", "scheme")

    def __init__(self, scheme: str, host: str, port: int, path: str = "/") -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Endpoint) and self.url == other.url

    def __hash__(self) -> int:
        return hash(self.url)

    def __repr__(self) -> str:
        return f"Endpoint({self.url!r})"

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
    for prefix, name, suffix in PARTITIONS:
        if region.startswith(prefix):
            return name, suffix
    return DEFAULT_PARTITION


def parse_endpoint_url(variable: str, url: str) -> Endpoint:
    """Turn an `AWS_ENDPOINT_URL*` value into an Endpoint, naming the variable on error.

    By hand, reading it as `urllib.parse.urlsplit` does (a test holds the two together): importing
    urllib.parse costs ~3 ms of CPU before Lambda's `next`, and the SDK protocol's own setting,
    `AWS_ENDPOINT_URL=http://localhost:2773`, brings every such function here.
    """
    text = url.strip()
    scheme, separator, rest = text.partition("://")
    scheme = scheme.lower()
    authority = rest.partition("#")[0].partition("?")[0]
    authority, slash, path = authority.partition("/")
    host, port_text = _host_and_port(authority.rpartition("@")[2])
    if not separator or scheme not in ("http", "https") or not host:
        raise EndpointError(f"{variable}={url!r} is not a valid endpoint URL (expected http(s)://host[:port])")
    digits = port_text.lstrip("0")  # bounded before it is converted
    if port_text and not (port_text.isdigit() and port_text.isascii() and len(digits) <= 5
                          and int(digits or 0) <= 65535):
        raise EndpointError(f"{variable}={url!r} has an invalid port")
    port = int(digits or 0) or (443 if scheme == "https" else 80)
    return Endpoint(scheme, host.lower(), port, slash + path or "/")


def _host_and_port(host_port: str) -> tuple[str, str]:
    """("host", "port") of `host:port` or `[v6]:port`; ("", "") when a bracketed host is no IPv6 address."""
    if not host_port.startswith("["):
        host, _, port = host_port.partition(":")
        return host, port
    host, bracket, after = host_port[1:].partition("]")
    import _socket

    try:
        _socket.inet_pton(_socket.AF_INET6, host)
    except (OSError, ValueError):
        return "", ""
    return (host, after.partition(":")[2]) if bracket else ("", "")


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def resolve(service_id: str, env_suffix: str, region: str, environ: Mapping[str, str]) -> Endpoint:
    """Endpoint for a service: `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, then the rules."""
    if not _truthy(environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")):
        for variable in (f"AWS_ENDPOINT_URL_{env_suffix}", "AWS_ENDPOINT_URL"):
            if environ.get(variable):
                return parse_endpoint_url(variable, environ[variable])
    if not valid_region(region):
        raise EndpointError(f"AWS_REGION={region!r} is not a valid region name (e.g. us-east-1)")
    partition, suffix = partition_of(region)
    if _truthy(environ.get("AWS_USE_FIPS_ENDPOINT")):
        pattern = FIPS_EXCEPTIONS.get((service_id, partition), "{service}-fips.{region}.{suffix}")
    else:
        pattern = "{service}.{region}.{suffix}"
    return Endpoint("https", pattern.format(service=service_id, region=region, suffix=suffix), 443)
