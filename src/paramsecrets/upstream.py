"""What the loader asks of AWS: a parameter store and a secret store, as small typed protocols.

The awscrt clients (paramsecrets.aws.clients.Upstream, with aws.ssm.Ssm and aws.secrets.SecretsManager)
are one implementation; paramsecrets.testing.fake_upstream is another, scripted, for in-process
tests. Items are AWS's own JSON objects (a parameter, a secret value), as dicts.
"""

from __future__ import annotations

from typing import Any, Protocol

Item = dict[str, Any]


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


class Upstream(Protocol):
    """Both stores."""

    @property
    def ssm(self) -> ParameterStore: ...

    @property
    def secrets(self) -> SecretStore: ...
