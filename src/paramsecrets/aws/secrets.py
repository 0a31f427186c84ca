"""Secrets Manager operations: GetSecretValue, BatchGetSecretValue (x20, or by filters), DescribeSecret."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from paramsecrets.aws.ssm import chunks

if TYPE_CHECKING:  # the transport imports awscrt: only the clients need it loaded
    from paramsecrets.aws.transport import AwsJsonTransport

BATCH_MAX = 20  # the API's limit for SecretIdList (and MaxResults with filters)
MAX_PAGES = 500  # a filter matching more than 10,000 secrets stops here rather than loop on


class SecretsManager:
    def __init__(self, transport: AwsJsonTransport) -> None:
        self.transport = transport

    async def get_secret_value(self, secret_id: str, version_id: str | None = None,
                               version_stage: str | None = None) -> dict[str, Any]:
        request: dict[str, Any] = {"SecretId": secret_id}
        if version_id is not None:
            request["VersionId"] = version_id
        if version_stage is not None:
            request["VersionStage"] = version_stage
        return await self.transport.call("GetSecretValue", request)

    async def batch_get_secret_value(self, secret_ids: list[str]
                                     ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """All of `secret_ids` in calls of 20 (run concurrently); (values, per-secret errors)."""
        answers = await asyncio.gather(*(self._batch(chunk) for chunk in chunks(secret_ids, BATCH_MAX)))
        values: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for found, failed in answers:
            values.extend(found)
            errors.extend(failed)
        return values, errors

    async def describe_secret(self, secret_id: str) -> dict[str, Any]:
        """The secret's versions, stages and rotation schedule, without its value."""
        return await self.transport.call("DescribeSecret", {"SecretId": secret_id})

    async def batch_get_secret_value_filtered(self, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every value matching `filters` (e.g. tag-key and tag-value), every page."""
        request: dict[str, Any] = {"Filters": filters, "MaxResults": BATCH_MAX}
        values: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            answer = await self.transport.call("BatchGetSecretValue", request)
            values.extend(answer.get("SecretValues") or [])
            token = answer.get("NextToken")
            if not token:
                break
            request["NextToken"] = token
        return values

    async def _batch(self, secret_ids: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        request: dict[str, Any] = {"SecretIdList": secret_ids}
        values: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        while True:
            answer = await self.transport.call("BatchGetSecretValue", request)
            values.extend(answer.get("SecretValues") or [])
            errors.extend(answer.get("Errors") or [])
            token = answer.get("NextToken")
            if not token:
                return values, errors
            request["NextToken"] = token
