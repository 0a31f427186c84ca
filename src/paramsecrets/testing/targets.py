"""Request targets of the GET routes, for tests and benchmarks (names percent-encoded as clients do)."""

from __future__ import annotations

from urllib.parse import quote

PARAM = "/systemsmanager/parameters/get?name="
MANY = "/systemsmanager/parameters/get-many?"
BY_PATH = "/systemsmanager/parameters/get-by-path?path="
SECRET = "/secretsmanager/get?secretId="
SECRETS_MANY = "/secretsmanager/get-many?"


def q(value: str) -> str:
    """Percent-encode a query value (names contain `/`, which is fine, and maybe `:`)."""
    return quote(value, safe="/")


def param_url(name: str, decrypt: bool = False, refresh: bool = False) -> str:
    url = PARAM + q(name)
    if decrypt:
        url += "&withDecryption=true"
    if refresh:
        url += "&refreshNow=true"
    return url


def many_url(names: list[str], decrypt: bool = False, refresh: bool = False) -> str:
    url = MANY + "&".join("name=" + q(name) for name in names)
    return url + ("&withDecryption=true" if decrypt else "") + ("&refreshNow=true" if refresh else "")


def secrets_many_url(ids: list[str]) -> str:
    return SECRETS_MANY + "&".join("secretId=" + q(i) for i in ids)
