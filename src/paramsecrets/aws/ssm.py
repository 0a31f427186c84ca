"""SSM Parameter Store operations: GetParameter, GetParameters (x10), GetParametersByPath (paged)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the transport imports awscrt: only the clients need it loaded
    from paramsecrets.aws.transport import AwsJsonTransport

GET_PARAMETERS_MAX = 10  # the API's limit per call
BY_PATH_PAGE = 10  # the API's MaxResults limit


def chunks(items: tuple[str, ...] | list[str], size: int) -> list[list[str]]:
    return [list(items[start:start + size]) for start in range(0, len(items), size)]


def parameter_identity(name: str) -> str:
    """What a name refers to, ignoring its selector and form: `/a`, `a`, `/a:3` and its ARN agree."""
    if name.startswith("arn:"):
        name = name.split(":", 5)[-1].partition("/")[2] if name.count(":") >= 5 else name
    return name.partition(":")[0].lstrip("/")


def distinct_batches(names: list[str], size: int) -> list[list[str]]:
    """Batches of at most `size` names in which no parameter appears twice (first fit)."""
    batches: list[tuple[list[str], set[str]]] = []
    for name in names:
        identity = parameter_identity(name)
        for batch, seen in batches:
            if len(batch) < size and identity not in seen:
                batch.append(name)
                seen.add(identity)
                break
        else:
            batches.append(([name], {identity}))
    return [batch for batch, _ in batches]


class Ssm:
    def __init__(self, transport: AwsJsonTransport) -> None:
        self.transport = transport

    async def get_parameter(self, name: str, decrypt: bool) -> dict[str, Any]:
        answer = await self.transport.call("GetParameter", {"Name": name, "WithDecryption": decrypt})
        parameter: dict[str, Any] = answer["Parameter"]
        return parameter

    async def get_parameters(self, names: list[str], decrypt: bool) -> list[tuple[list[str], list[dict[str, Any]]]]:
        """All of `names` in calls of up to 10, run concurrently: (names asked, parameters found) per call.

        No call asks for one parameter twice (`/a` and `/a:1`, or a name and its ARN), so each
        answer pairs with its name without guessing, whatever order or fields AWS returns.
        """
        calls = distinct_batches(names, GET_PARAMETERS_MAX)
        answers = await asyncio.gather(*(
            self.transport.call("GetParameters", {"Names": batch, "WithDecryption": decrypt}) for batch in calls
        ))
        return [(batch, answer.get("Parameters") or []) for batch, answer in zip(calls, answers, strict=True)]

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
