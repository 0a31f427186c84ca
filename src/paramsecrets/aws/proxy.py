"""Which HTTP proxy, if any, carries the calls to one AWS endpoint: HTTPS_PROXY / HTTP_PROXY and NO_PROXY.

The rules are the ones curl, botocore and the AWS SDKs share: `https://` endpoints use `HTTPS_PROXY`
(or `https_proxy`), `http://` endpoints `HTTP_PROXY` (or `http_proxy`); the lower-case name wins
when both are set, as in curl. `NO_PROXY` (or `no_proxy`) is a comma-separated list of `*`, host
names (matching the host and its subdomains, with or without a leading dot), IP addresses and
CIDR blocks, each optionally with `:port`. HTTPS goes through the proxy with CONNECT, so the proxy
sees only the host name, never the signed request. Standard library only: this runs at start.
"""

from __future__ import annotations

from _collections_abc import Mapping  # cheaper than collections.abc before Lambda's next (no collections)

from paramsecrets.aws.endpoints import Endpoint


class ProxyError(ValueError):
    """A proxy variable we cannot use; the message names it."""


class Proxy:
    """An HTTP proxy: host, port and optional basic-auth credentials (never shown in logs)."""

    __slots__ = ("host", "password", "port", "username", "variable")

    def __init__(self, variable: str, host: str, port: int, username: str | None = None,
                 password: str | None = None) -> None:
        self.variable = variable
        self.host = host
        self.port = port
        self.username = username
        self.password = password

    def __repr__(self) -> str:
        return f"Proxy({self.shown!r})"

    @property
    def shown(self) -> str:
        """`http://proxy.internal:3128` (from HTTPS_PROXY), credentials left out."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port} (from {self.variable})"


def _first(environ: Mapping[str, str], *names: str) -> tuple[str, str] | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return name, value
    return None


def parse_proxy_url(variable: str, value: str) -> Proxy:
    """`http://[user:pass@]host[:port]` or `host:port`; ProxyError naming the variable otherwise."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(value if "://" in value else f"http://{value}")
    if parts.scheme == "https":
        raise ProxyError(f"{variable}: a proxy reached over TLS (https://) is not supported; "
                         "use http://host:port (HTTPS to AWS still goes through it encrypted, with CONNECT)")
    if parts.scheme != "http" or not parts.hostname:
        raise ProxyError(f"{variable} is not a proxy URL (expected http://host:port)")
    try:
        port = parts.port or 80
    except ValueError:
        raise ProxyError(f"{variable} has an invalid port") from None
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return Proxy(variable, parts.hostname, port, username, password)


def _ip(text: str) -> object | None:
    import ipaddress

    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def bypassed(host: str, port: int, no_proxy: str) -> bool:
    """True when `NO_PROXY` says `host:port` is reached directly."""
    import ipaddress

    host = host.lower().strip("[]")
    host_ip = _ip(host)
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        entry_port = None
        if entry.startswith("["):  # [::1]:443
            address, _, rest = entry[1:].partition("]")
            entry, entry_port = address, rest.lstrip(":") or None
        elif entry.count(":") == 1:
            entry, entry_port = entry.split(":")
        if entry_port is not None and entry_port != str(port):
            continue
        if host_ip is not None and "/" in entry:
            try:
                if host_ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        if host_ip is not None and _ip(entry) is not None:
            if _ip(entry) == host_ip:
                return True
            continue
        domain = entry.lstrip(".")
        if host == domain or host.endswith("." + domain):
            return True
    return False


def proxy_for(endpoint: Endpoint, environ: Mapping[str, str]) -> Proxy | None:
    """The proxy for calls to `endpoint`, or None for a direct connection."""
    names = ("https_proxy", "HTTPS_PROXY") if endpoint.tls else ("http_proxy", "HTTP_PROXY")
    found = _first(environ, *names)
    if found is None:
        return None
    no_proxy = _first(environ, "no_proxy", "NO_PROXY")
    if no_proxy is not None and bypassed(endpoint.host, endpoint.port, no_proxy[1]):
        return None
    return parse_proxy_url(*found)
