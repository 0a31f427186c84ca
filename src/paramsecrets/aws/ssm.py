"""SSM Parameter Store operations: GetParameter, GetParameters (x10), GetParametersByPath (paged).

A path read is bounded (PathLimits): one `get-by-path?path=/` used to walk every page of the whole
store (1,053 calls over 45 s, 15 MB of memory). Past a limit it fails with a clear error instead.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from paramsecrets.aws.errors import Kind, UpstreamError

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


class PathLimits:
    """How much one path read may take: pages, parameters and time (config.py's MAX_PATH_* options)."""

    __slots__ = ("max_pages", "max_parameters", "timeout_s")

    def __init__(self, max_pages: int = 200, max_parameters: int = 1000, timeout_s: float = 20.0) -> None:
        self.max_pages = max_pages
        self.max_parameters = max_parameters
        self.timeout_s = timeout_s


def too_large(path: str, what: str, variable: str) -> UpstreamError:
    return UpstreamError(Kind.INVALID, "PathTooLarge",
                         f"the path {path} holds more than {what} (PARAMETERS_SECRETS_EXTENSION_{variable}): "
                         "read a narrower path, or raise the limit")


class Ssm:
    def __init__(self, transport: AwsJsonTransport, limits: PathLimits | None = None) -> None:
        self.transport = transport
        self.limits = limits or PathLimits()

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
        """Every page of GetParametersByPath, within the limits: PathTooLarge past the pages or
        parameters allowed, a 504 past the time allowed (the calls already made are not wasted on
        a partial answer: nothing is cached)."""
        limits = self.limits
        try:
            async with asyncio.timeout(limits.timeout_s):
                return await self._pages(path, recursive, decrypt, limits)
        except TimeoutError:
            raise UpstreamError(Kind.TIMEOUT, "GatewayTimeout",
                                f"reading the path {path} did not finish within {limits.timeout_s:g}s "
                                "(PARAMETERS_SECRETS_EXTENSION_PATH_TIMEOUT_MILLIS)") from None

    async def _pages(self, path: str, recursive: bool, decrypt: bool, limits: PathLimits) -> list[dict[str, Any]]:
        request: dict[str, Any] = {"Path": path, "Recursive": recursive, "WithDecryption": decrypt,
                                   "MaxResults": BY_PATH_PAGE}
        found: list[dict[str, Any]] = []
        for _ in range(limits.max_pages):
            answer = await self.transport.call("GetParametersByPath", request)
            found.extend(answer.get("Parameters") or [])
            if len(found) > limits.max_parameters:
                raise too_large(path, f"{limits.max_parameters} parameters", "MAX_PATH_PARAMETERS")
            token = answer.get("NextToken")
            if not token:
                return found
            request["NextToken"] = token
        raise too_large(path, f"{limits.max_pages} pages of parameters", "MAX_PATH_PAGES")
