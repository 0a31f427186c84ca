"""Which cache entries a successful write can change, so a function that writes then reads sees its write.

Over-invalidating costs one extra upstream call; under-invalidating serves an old value for a
TTL. So every form a name can take is matched: a parameter by its identity (with or without the
leading `/`, a selector such as `:3` or `:label`, or its ARN) and every path read covering it;
a secret by its name, its ARN and its partial ARN, in every version and stage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from paramsecrets.aws.ssm import parameter_identity
from paramsecrets.cache.keys import Key, ParameterKey, PathKey, SecretKey

PARAMETER_WRITES = frozenset({"PutParameter", "DeleteParameter", "DeleteParameters", "LabelParameterVersion",
                              "UnlabelParameterVersion"})
SECRET_WRITES = frozenset({"PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage", "RotateSecret",
                           "CancelRotateSecret", "DeleteSecret", "RestoreSecret"})
ARN_SUFFIX = 7  # Secrets Manager appends `-` and 6 random characters to a secret's ARN


def _strings(doc: dict[str, Any], *fields: str) -> list[str]:
    found: list[str] = []
    for field in fields:
        value = doc.get(field)
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list):
            found.extend(item for item in value if isinstance(item, str))
    return found


def secret_names(secret_id: str) -> set[str]:
    """The names a secret id may stand for: a name, or the resource of a full or partial ARN."""
    if not secret_id.startswith("arn:"):
        return {secret_id}
    resource = secret_id.split(":", 6)[-1]
    names = {resource}
    if len(resource) > ARN_SUFFIX and resource[-ARN_SUFFIX] == "-":
        names.add(resource[:-ARN_SUFFIX])
    return names


def doomed_by(service: str, operation: str, doc: dict[str, Any]) -> Callable[[Key], bool] | None:
    """A predicate over cache keys for what this write changes; None when it changes no value."""
    if service == "ssm" and operation in PARAMETER_WRITES:
        identities = {parameter_identity(name) for name in _strings(doc, "Name", "Names")}
        full_names = ["/" + identity for identity in identities]

        def parameter_doomed(key: Key) -> bool:
            if isinstance(key, ParameterKey):
                return parameter_identity(key.name) in identities
            return isinstance(key, PathKey) and any(key.covers(name) for name in full_names)

        return parameter_doomed if identities else None
    if service == "secretsmanager" and operation in SECRET_WRITES:
        names: set[str] = set()
        for secret_id in _strings(doc, "SecretId"):
            names |= secret_names(secret_id)

        def secret_doomed(key: Key) -> bool:
            return isinstance(key, SecretKey) and bool(secret_names(key.secret_id) & names)

        return secret_doomed if names else None
    return None
