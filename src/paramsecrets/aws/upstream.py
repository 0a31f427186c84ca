"""What the loader asks of AWS: a parameter store and a secret store, as small typed protocols.

The awscrt clients (paramsecrets.aws.clients.Upstream, with aws.ssm.Ssm and aws.secrets.SecretsManager)
are one implementation; paramsecrets.testing.fake_upstream is another, scripted, for in-process
tests. Items are AWS's own JSON objects (a parameter, a secret value), as dicts.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

Item = dict[str, Any]


class Credentials(NamedTuple):
    """Temporary credentials from STS; `expiration` on the wall clock (epoch seconds)."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: float

    def __repr__(self) -> str:  # never a key in a log line or a traceback
        return f"Credentials(expiration={self.expiration})"


class ParameterStore(Protocol):
    """SSM Parameter Store's reads."""

    async def get_parameter(self, name: str, decrypt: bool) -> Item:
        """GetParameter's `Parameter`; raises UpstreamError."""
        ...

    async def get_parameters(self, names: list[str], decrypt: bool) -> list[tuple[list[str], list[Item]]]:
        """GetParameters for every name, in calls of at most 10: (names asked, parameters found) per call."""
        ...

    async def get_parameters_by_path(self, path: str, recursive: bool, decrypt: bool) -> list[Item]:
        """Every page of GetParametersByPath, in AWS's order."""
        ...


class SecretStore(Protocol):
    """Secrets Manager's reads."""

    async def get_secret_value(self, secret_id: str, version_id: str | None = None,
                               version_stage: str | None = None) -> Item:
        """GetSecretValue's answer; raises UpstreamError."""
        ...

    async def batch_get_secret_value(self, secret_ids: list[str]) -> tuple[list[Item], list[Item]]:
        """BatchGetSecretValue for every id, in calls of at most 20: (values, per-secret errors)."""
        ...

    async def batch_get_secret_value_filtered(self, filters: list[Item]) -> list[Item]:
        """BatchGetSecretValue with `Filters` (e.g. tag-key, tag-value), every page: the values."""
        ...

    async def describe_secret(self, secret_id: str) -> Item:
        """DescribeSecret's answer (VersionIdsToStages, RotationEnabled, NextRotationDate); no value."""
        ...


class RoleStore(Protocol):
    """STS, for reads made as another role."""

    async def assume_role(self, role_arn: str, session_name: str) -> Credentials:
        """AssumeRole's credentials; raises UpstreamError (AWS's own, e.g. AccessDenied)."""
        ...


class Upstream(Protocol):
    """Both stores."""

    @property
    def ssm(self) -> ParameterStore: ...

    @property
    def secrets(self) -> SecretStore: ...

    @property
    def sts(self) -> RoleStore: ...

    def with_credentials(self, credentials: Credentials) -> Upstream:
        """The same stores, signing with `credentials` (a role's) instead of the process's own."""
        ...
