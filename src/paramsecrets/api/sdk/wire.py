"""AWS JSON 1.1 as the SDKs speak it: the target header, request documents, answers and errors.

Every refusal is an `SdkError` with AWS's own error code, so each SDK raises the exception it
raises against AWS (`ParameterNotFound`, `InvalidSignatureException`, ...); api/profiles.py
renders it (`sdk_error`) and maps AWS failures into it (`sdk_from_upstream`).
"""

from __future__ import annotations

import json
import os
from typing import Any

from paramsecrets.errors import AnswerError
from paramsecrets.http import responses
from paramsecrets.http.parser import Request

AMZ_JSON = b"application/x-amz-json-1.1"
# X-Amz-Target prefix -> the service's signing name (also the credential scope's service).
TARGET_PREFIXES = {"AmazonSSM": "ssm", "secretsmanager": "secretsmanager"}
MAX_TARGET = 128
MAX_NAME = 2048  # SSM names and ARNs, secret names and ARNs: AWS's own limits are lower


class SdkError(AnswerError):
    """A refusal in AWS's shape: status, `__type` code and message (never a value or a token).

    `reason` names why an authentication refusal was made (Cloud Extensions' reason header);
    `detail` is for our log only, when AWS's message would mislead the reader of the log (AWS says
    "The security token included in the request is invalid." for a wrong access key id too).
    """

    def __init__(self, code: str, message: str, status: int = 400, reason: str | None = None,
                 detail: str | None = None) -> None:
        super().__init__(status, code, message, reason=reason, detail=detail)
        self.args = (f"{code}: {message}",)


def validation(message: str) -> SdkError:
    return SdkError("ValidationException", message)


def header(request: Request, name: bytes) -> bytes | None:
    """The first value of a header (lower-case name), without surrounding blanks."""
    for key, value in request.headers:
        if key == name:
            return value.strip(b" \t")
    return None


def target(request: Request) -> tuple[str, str, str]:
    """(target prefix, signing service, operation) from X-Amz-Target, e.g. `AmazonSSM.GetParameter`."""
    raw = header(request, b"x-amz-target")
    if not raw:
        raise SdkError("UnknownOperationException", "the X-Amz-Target header is required")
    text = raw[:MAX_TARGET].decode("ascii", "replace")
    prefix, dot, operation = text.partition(".")
    service = TARGET_PREFIXES.get(prefix)
    if service is None or not dot or not operation.isalnum() or len(raw) > MAX_TARGET:
        raise SdkError("UnknownOperationException", f"unknown operation {text!r}")
    return prefix, service, operation


def document(body: bytes) -> dict[str, Any]:
    """The request's JSON object (an empty body is `{}`, as AWS takes it)."""
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        raise SdkError("SerializationException", "the request body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise SdkError("SerializationException", "the request body must be a JSON object")
    return parsed


def text(doc: dict[str, Any], field: str, required: bool = False) -> str | None:
    value = doc.get(field)
    if value is None:
        if required:
            raise validation(f"1 validation error detected: Value null at '{field}' failed to satisfy "
                             "constraint: Member must not be null")
        return None
    if not isinstance(value, str):
        raise SdkError("SerializationException", f"'{field}' must be a string")
    if not value or len(value) > MAX_NAME:
        raise validation(f"1 validation error detected: Value at '{field}' failed to satisfy constraint: "
                         f"Member must have length between 1 and {MAX_NAME}")
    return value


def flag(doc: dict[str, Any], field: str) -> bool:
    value = doc.get(field, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise SdkError("SerializationException", f"'{field}' must be true or false")
    return value


def integer(doc: dict[str, Any], field: str, low: int, high: int, default: int) -> int:
    value = doc.get(field)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise SdkError("SerializationException", f"'{field}' must be an integer")
    if not low <= value <= high:
        raise validation(f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
                         f"constraint: Member must have value between {low} and {high}")
    return value


def names(doc: dict[str, Any], field: str, most: int) -> tuple[str, ...]:
    """A list of 1..`most` names, duplicates dropped (AWS answers each once)."""
    value = doc.get(field)
    if not isinstance(value, list) or not value:
        raise validation(f"1 validation error detected: Value at '{field}' failed to satisfy constraint: "
                         "Member must have length greater than or equal to 1")
    if len(value) > most:
        raise validation(f"1 validation error detected: Value at '{field}' failed to satisfy constraint: "
                         f"Member must have length less than or equal to {most}")
    for item in value:
        if not isinstance(item, str) or not item or len(item) > MAX_NAME:
            raise validation(f"1 validation error detected: an item of '{field}' failed to satisfy "
                             f"constraint: Member must be a string of 1 to {MAX_NAME} characters")
    return tuple(dict.fromkeys(value))


def request_id() -> bytes:
    """A fresh x-amzn-RequestId (a random UUID, as AWS's look)."""
    raw = os.urandom(16).hex()
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-{raw[16:20]}-{raw[20:]}".encode()


def answer(body: bytes, keep_alive: bool, cache_state: bytes, age: int = 0) -> bytes:
    """A 200 with AWS's content type and request id; our cache state and age ride along as headers."""
    extra = b"x-amzn-RequestId: %s\r\nAge: %d\r\nX-Paramsecrets-Cache: %s\r\n" % (request_id(), age, cache_state)
    return responses.simple(200, AMZ_JSON, body, keep_alive, extra)
