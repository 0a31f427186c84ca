"""SSM Parameter Store operations: GetParameter, GetParameters (x10), GetParametersByPath (paged)."""

from __future__ import annotations

import asyncio
from typing import Any

from paramsecrets.aws.transport import AwsJsonTransport

GET_PARAMETERS_MAX = 10  # the API's limit per call
BY_PATH_PAGE = 10  # the API's MaxResults limit


def chunks(items: tuple[str, ...] | list[str], size: int) -> list[list[str]]:
    return [list(items[start:start + size]) for start in range(0, len(items), size)]


class Ssm:
    def __init__(self, transport: AwsJsonTransport) -> None:
        self.transport = transport

    async def get_parameter(self, name: str, decrypt: bool) -> dict[str, Any]:
        answer = await self.transport.call("GetParameter", {"Name": name, "WithDecryption": decrypt})
        return answer["Parameter"]

    async def get_parameters(self, names: list[str], decrypt: bool) -> tuple[list[dict[str, Any]], list[str]]:
        """All of `names` in calls of 10 (run concurrently); (found parameters, invalid names)."""
        answers = await asyncio.gather(*(
            self.transport.call("GetParameters", {"Names": chunk, "WithDecryption": decrypt})
            for chunk in chunks(names, GET_PARAMETERS_MAX)
        ))
        found: list[dict[str, Any]] = []
        invalid: list[str] = []
        for answer in answers:
            found.extend(answer.get("Parameters") or [])
            invalid.extend(answer.get("InvalidParameters") or [])
        return found, invalid

    async def get_parameters_by_path(self, path: str, recursive: bool, decrypt: bool) -> list[dict[str, Any]]:
        """Every page of GetParametersByPath."""
        request: dict[str, Any] = {"Path": path, "Recursive": recursive, "WithDecryption": decrypt,
                                   "MaxResults": BY_PATH_PAGE}
        found: list[dict[str, Any]] = []
        while True:
            answer = await self.transport.call("GetParametersByPath", request)
            found.extend(answer.get("Parameters") or [])
            token = answer.get("NextToken")
            if not token:
                return found
            request["NextToken"] = token
