"""The AWS extension's JSON bodies, key for key and byte for byte.

Functions parse these bodies and some compare them, so the key order, the `null`s, the date
format (Go's RFC 3339 of the millisecond instant) and Go's escaping of `<`, `>`, `&` are all kept.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from paramsecrets.http.responses import go_json

PARAMETER_KEYS = ("ARN", "DataType", "LastModifiedDate", "Name", "Selector", "SourceResult", "Type",
                  "Value", "Version")
SECRET_KEYS = ("ARN", "CreatedDate", "Name", "SecretBinary", "SecretString", "VersionId", "VersionStages")
DATE_KEYS = frozenset({"LastModifiedDate", "CreatedDate"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

def encode(document: Any) -> bytes:
    """Compact JSON as Go's encoder writes it (one encoder for every body: http/responses.py)."""
    return go_json(document)


def go_time_json(value: Any) -> Any:
    """An AWS epoch-seconds date as the AWS extension prints it: `2022-11-16T08:22:40.36Z`.

    aws-sdk-go-v2 (smithy-go) turns the JSON number into a time at millisecond precision by
    multiplying the float64 by 1000 (rounded to float64) and truncating towards zero; Go's
    `time.Time` JSON encoding then prints RFC 3339 in UTC with the fraction's trailing zeros
    removed, and no fraction at all for a whole second. Python's float product rounds the same
    way, so the instant is the same. Valid for the years Go can hold in int64 nanoseconds
    (1678-2261), which covers every date AWS returns.
    """
    if not isinstance(value, int | float) or isinstance(value, bool):
        return value
    millis = math.trunc(value * 1000.0) if isinstance(value, float) else value * 1000
    seconds, fraction = divmod(millis, 1000)
    moment = _EPOCH + timedelta(seconds=seconds)
    text = f"{moment:%Y-%m-%dT%H:%M:%S}"
    if fraction:
        text += f".{fraction:03d}".rstrip("0")
    return text + "Z"


def _ordered(item: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: go_time_json(item.get(key)) if key in DATE_KEYS else item.get(key) for key in keys}


def parameter_item(parameter: dict[str, Any], selector: str | None = None) -> dict[str, Any]:
    """One parameter in the extension's shape; `selector` fills `Selector` when AWS left it out."""
    item = _ordered(parameter, PARAMETER_KEYS)
    if item["Selector"] is None and selector:
        item["Selector"] = selector
    return item


def parameter_body(parameter: dict[str, Any], selector: str | None = None) -> bytes:
    return encode({"Parameter": parameter_item(parameter, selector), "ResultMetadata": {}})


def secret_item(secret: dict[str, Any]) -> dict[str, Any]:
    return _ordered(secret, SECRET_KEYS)


def secret_body(secret: dict[str, Any]) -> bytes:
    item = secret_item(secret)
    item["ResultMetadata"] = {}
    return encode(item)


def parameters_body(parameters: list[dict[str, Any]]) -> bytes:
    """A path read: items already shaped by `parameter_item` (batch reads use the `_from_items` forms)."""
    return encode({"Parameters": parameters, "ResultMetadata": {}})


# Cached single answers are stored as whole bodies; batch answers are assembled from the items
# inside them without re-encoding. These two pairs of functions own that framing.
_PARAMETER_OPEN = b'{"Parameter":'
_METADATA_CLOSE = b',"ResultMetadata":{}}'


def parameter_item_bytes(body: bytes) -> bytes:
    """The `{...}` item inside a body made by `parameter_body`."""
    return body[len(_PARAMETER_OPEN):-len(_METADATA_CLOSE)]


def secret_item_bytes(body: bytes) -> bytes:
    """The item (without ResultMetadata) of a body made by `secret_body`."""
    return body[:-len(_METADATA_CLOSE)] + b"}"


def parameters_body_from_items(items: list[bytes], invalid: list[str] | None) -> bytes:
    tail = b"" if invalid is None else b',"InvalidParameters":' + encode(invalid)
    return b'{"Parameters":[' + b",".join(items) + b"]" + tail + _METADATA_CLOSE


def secrets_body_from_items(items: list[bytes], errors: list[dict[str, Any]]) -> bytes:
    return b'{"SecretValues":[' + b",".join(items) + b'],"Errors":' + encode(errors) + _METADATA_CLOSE
