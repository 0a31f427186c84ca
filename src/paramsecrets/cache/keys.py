"""Cache keys: one small named type per thing we cache (a parameter, a secret, a path listing).

A key is everything that changes the answer. Each knows its alternate (the same read with the
other decryption flag, which gives the same answer for a String), the refresh group it can be
refreshed with (GetParameters x10, BatchGetSecretValue x20), and, for a path, which parameter
names its listing covers. The routes (routes.py) and the SDK protocol produce them; the cache and
the loader use them without knowing HTTP. They are named tuples: hashing one is as cheap as a
tuple's, which the cached-hit path relies on.

Every key ends with `role`: the IAM role ARN the read is made as (STS AssumeRole, paramsecrets.cache.roles),
or None for the process's own credentials. Any route may pass one; the same name read as two
roles is two entries. Keys with a role are refreshed one by one (no refresh group): a batch call
is made with one set of credentials.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple


class RefreshGroup(Enum):
    """Keys refreshed together in one batch call."""

    PARAMETERS = "parameters"  # GetParameters without decryption
    DECRYPTED_PARAMETERS = "decrypted parameters"  # GetParameters with decryption
    SECRETS = "secrets"  # BatchGetSecretValue (current versions only)


def split_selector(name: str) -> tuple[str, str | None]:
    """`/a:3` -> ('/a', ':3'); ARNs too. Parameter names cannot contain ':' themselves."""
    if name.startswith("arn:"):
        parts = name.split(":", 5)
        if len(parts) == 6:
            resource, colon, selector = parts[5].partition(":")
            base = ":".join([*parts[:5], resource])
            return (base, ":" + selector) if colon else (name, None)
        return name, None
    base, colon, selector = name.partition(":")
    return (base, ":" + selector) if colon else (name, None)


class ParameterKey(NamedTuple):
    """GetParameter of `name` (selector included, as GetParameter receives it)."""

    name: str
    decrypt: bool
    role: str | None = None

    @property
    def alternate(self) -> ParameterKey:
        return ParameterKey(self.name, not self.decrypt, self.role)

    @property
    def selector(self) -> str | None:
        return split_selector(self.name)[1]

    @property
    def refresh_group(self) -> RefreshGroup | None:
        if self.role is not None:
            return None
        return RefreshGroup.DECRYPTED_PARAMETERS if self.decrypt else RefreshGroup.PARAMETERS

    @property
    def plain_name(self) -> str | None:
        """The parameter name a path listing would hold this under (None for ARNs and selectors)."""
        return self.name if self.selector is None and not self.name.startswith("arn:") else None


class SecretKey(NamedTuple):
    """GetSecretValue of one secret, version and stage."""

    secret_id: str
    version_id: str | None = None
    version_stage: str | None = None
    role: str | None = None

    @property
    def alternate(self) -> None:
        return None  # a secret has one form

    @property
    def refresh_group(self) -> RefreshGroup | None:
        current = self.version_id is None and self.version_stage is None
        return RefreshGroup.SECRETS if current and self.role is None else None


class PathKey(NamedTuple):
    """GetParametersByPath of `path`, every page."""

    path: str
    recursive: bool
    decrypt: bool
    role: str | None = None

    @property
    def alternate(self) -> PathKey:
        return PathKey(self.path, self.recursive, not self.decrypt, self.role)

    @property
    def refresh_group(self) -> None:
        return None  # one call per path

    def covers(self, name: str) -> bool:
        """Whether this listing includes the parameter `name`."""
        prefix = self.path if self.path.endswith("/") else self.path + "/"
        return name.startswith(prefix) and (self.recursive or "/" not in name[len(prefix):])


Key = ParameterKey | SecretKey | PathKey
