"""AWS's own items, rebuilt from a cache entry: AWS's fields (`Entry.wire`) plus the value, which
only the extension's body holds (so a value is stored once, whatever the protocol).

The extension's body is read for its value fields only (`Value`, `SecretString`, `SecretBinary`,
named as AWS names them), so its other choices (key order, nulls, date format) do not matter here.
"""

from __future__ import annotations

import json
from typing import Any

from paramsecrets.cache.store import Entry

SECRET_VALUES = ("SecretString", "SecretBinary")


def encode(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def parameter(entry: Entry) -> dict[str, Any]:
    """The `Parameter` of GetParameter, as AWS sent it."""
    item: dict[str, Any] = json.loads(entry.wire)
    item["Value"] = json.loads(entry.body)["Parameter"]["Value"]
    return item


def secret(entry: Entry) -> dict[str, Any]:
    """GetSecretValue's answer (an item of BatchGetSecretValue), as AWS sent it."""
    item: dict[str, Any] = json.loads(entry.wire)
    stored = json.loads(entry.body)
    for key in SECRET_VALUES:
        if stored.get(key) is not None:
            item[key] = stored[key]
    return item


def path(entry: Entry) -> list[dict[str, Any]]:
    """Every parameter of a GetParametersByPath listing, in AWS's order."""
    values = {stored["Name"]: stored["Value"] for stored in json.loads(entry.body)["Parameters"]}
    items: list[dict[str, Any]] = json.loads(entry.wire)
    for item in items:
        item["Value"] = values[item["Name"]]
    return items
