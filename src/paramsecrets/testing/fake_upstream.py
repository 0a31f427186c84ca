"""A scripted, in-process parameter store and secret store, on a fake clock.

In the spirit of httpcore's mock backend: the test says what AWS holds, how it fails and how long
it takes, then counts what was asked.

    upstream = FakeUpstream(clock)
    upstream.put_parameter("/app/db", "v1")
    upstream.fail("GetParameter", Failure.THROTTLED, times=2)   # the next two calls are throttled
    gate = upstream.hold("GetParameters")                       # calls wait until gate.open()
    upstream.latency("GetSecretValue", 0.8)                      # on the fake clock
    ...
    assert upstream.calls["GetParameter"] == 3

Each call is counted when it starts, then waits for its gate, then for its latency, then fails
if a failure is scripted for it. GetParameters and BatchGetSecretValue are split into calls of 10
and 20 as AWS's limits require, each counted as one call.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from enum import Enum
from typing import Any

from paramsecrets.aws.errors import Kind, UpstreamError
from paramsecrets.clock import Clock
from paramsecrets.upstream import Item

GET_PARAMETERS_MAX = 10
BATCH_SECRETS_MAX = 20
OPERATIONS = ("GetParameter", "GetParameters", "GetParametersByPath", "GetSecretValue", "BatchGetSecretValue")
REGION_ARN = "arn:aws:{service}:us-east-1:123456789012:{resource}"


class Failure(Enum):
    """How a call fails, as the transport reports each."""

    THROTTLED = "throttled"
    SERVER_ERROR = "5xx"
    NETWORK = "network"
    TIMEOUT = "timeout"
    NOT_FOUND = "not found"
    DENIED = "denied"


def error_for(failure: Failure, operation: str) -> UpstreamError:
    """The UpstreamError the awscrt transport raises for this kind of failure."""
    if failure is Failure.THROTTLED:
        return UpstreamError(Kind.THROTTLED, "ThrottlingException", "Rate exceeded")
    if failure is Failure.SERVER_ERROR:
        return UpstreamError(Kind.UNAVAILABLE, "ServiceUnavailable", "Service Unavailable")
    if failure is Failure.NETWORK:
        return UpstreamError(Kind.UNAVAILABLE, "BadGateway", "could not reach AWS: connection reset")
    if failure is Failure.TIMEOUT:
        return UpstreamError(Kind.TIMEOUT, "GatewayTimeout", f"{operation} did not answer in time")
    if failure is Failure.NOT_FOUND:
        code = "ResourceNotFoundException" if "Secret" in operation else "ParameterNotFound"
        return UpstreamError(Kind.NOT_FOUND, code, "not found")
    return UpstreamError(Kind.DENIED, "AccessDeniedException", "not authorized")


class Gate:
    """Holds calls open until `open()`; `waiting` says how many are held."""

    def __init__(self) -> None:
        self._opened = asyncio.Event()
        self.waiting = 0

    def open(self) -> None:
        self._opened.set()

    async def passage(self) -> None:
        self.waiting += 1
        try:
            await self._opened.wait()
        finally:
            self.waiting -= 1


async def sleep_on(clock: Clock, seconds: float) -> None:
    """Wait `seconds` of `clock`'s time (a fake clock fires it when advanced)."""
    if seconds <= 0:
        return
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake() -> None:
        if not done.done():
            done.set_result(None)

    clock.call_later(seconds, wake)
    await done


class Script:
    """Failures, gates, latency and counts, per operation."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.calls: Counter[str] = Counter()
        self.asked: dict[str, list[Any]] = {operation: [] for operation in OPERATIONS}
        self.log: list[tuple[float, str, Any]] = []  # (clock time, operation, what was asked) per call
        self._failures: dict[str, list[Failure]] = {}
        self._gates: dict[str, Gate] = {}
        self._latency: dict[str, float] = {}

    def fail(self, operation: str, failure: Failure, times: int = 1) -> None:
        """The next `times` calls of `operation` fail this way (after any already scripted)."""
        self._failures.setdefault(_known(operation), []).extend([failure] * times)

    def fail_always(self, operation: str, failure: Failure) -> None:
        self.fail(operation, failure, times=1_000_000)

    def recover(self, operation: str | None = None) -> None:
        """Forget the scripted failures (of one operation, or all)."""
        if operation is None:
            self._failures.clear()
        else:
            self._failures.pop(_known(operation), None)

    def hold(self, operation: str) -> Gate:
        """Calls of `operation` wait until the returned gate opens (once opened, it stays open)."""
        gate = Gate()
        self._gates[_known(operation)] = gate
        return gate

    def latency(self, operation: str, seconds: float) -> None:
        """Calls of `operation` take `seconds` on the fake clock."""
        self._latency[_known(operation)] = seconds

    async def call(self, operation: str, asked: Any) -> None:
        self.calls[operation] += 1
        self.asked[operation].append(asked)
        self.log.append((self.clock.time(), operation, asked))
        gate = self._gates.get(operation)
        if gate is not None:
            await gate.passage()
        await sleep_on(self.clock, self._latency.get(operation, 0.0))
        failures = self._failures.get(operation)
        if failures:
            raise error_for(failures.pop(0), operation)


def _known(operation: str) -> str:
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; one of {', '.join(OPERATIONS)}")
    return operation


def _base(name: str) -> str:
    """A parameter's name without its selector (`/a:3` -> `/a`); names are stored with their `/`."""
    if name.startswith("arn:"):
        name = "/" + name.split(":", 5)[-1].partition("/")[2]
    name = name.partition(":")[0]
    return name if name.startswith("/") else "/" + name


class FakeParameterStore:
    """Parameter Store's reads over a dict of parameters (see paramsecrets.upstream.ParameterStore)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.parameters: dict[str, Item] = {}

    def put(self, name: str, value: str, kind: str = "String") -> Item:
        old = self.parameters.get(name)
        item: Item = {
            "Name": name, "Type": kind, "Value": value, "Version": (old["Version"] + 1) if old else 1,
            "LastModifiedDate": self.script.clock.time(), "DataType": "text",
            "ARN": REGION_ARN.format(service="ssm", resource="parameter" + name),
        }
        self.parameters[name] = item
        return item

    def _answer(self, name: str, decrypt: bool) -> Item | None:
        stored = self.parameters.get(_base(name))
        if stored is None:
            return None
        item = dict(stored)
        if item["Type"] == "SecureString" and not decrypt:
            item["Value"] = "encrypted:" + item["Value"][::-1]
        if name != item["Name"] and ":" in name.removeprefix("arn:"):
            item["Selector"] = ":" + name.rsplit(":", 1)[1]
        return item

    async def get_parameter(self, name: str, decrypt: bool) -> Item:
        await self.script.call("GetParameter", name)
        item = self._answer(name, decrypt)
        if item is None:
            raise error_for(Failure.NOT_FOUND, "GetParameter")
        return item

    async def get_parameters(self, names: list[str], decrypt: bool) -> list[tuple[list[str], list[Item]]]:
        from paramsecrets.aws.ssm import distinct_batches

        async def one(batch: list[str]) -> tuple[list[str], list[Item]]:
            await self.script.call("GetParameters", list(batch))
            return batch, [item for item in (self._answer(name, decrypt) for name in batch) if item is not None]

        return list(await asyncio.gather(*(one(batch) for batch in distinct_batches(names, GET_PARAMETERS_MAX))))

    async def get_parameters_by_path(self, path: str, recursive: bool, decrypt: bool) -> list[Item]:
        await self.script.call("GetParametersByPath", (path, recursive, decrypt))
        prefix = path if path.endswith("/") else path + "/"
        found = []
        for name in self.parameters:
            rest = name[len(prefix):] if name.startswith(prefix) else None
            if rest and (recursive or "/" not in rest):
                item = self._answer(name, decrypt)
                assert item is not None
                found.append(item)
        return found


class FakeSecretStore:
    """Secrets Manager's reads over a dict of secrets (see paramsecrets.upstream.SecretStore)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.secrets: dict[str, Item] = {}

    def put(self, name: str, value: str) -> Item:
        old = self.secrets.get(name)
        serial = (int(old["VersionId"].rsplit("-", 1)[1]) + 1) if old else 1
        item: Item = {
            "Name": name, "SecretString": value, "VersionId": f"version-{serial}", "VersionStages": ["AWSCURRENT"],
            "CreatedDate": self.script.clock.time(),
            "ARN": REGION_ARN.format(service="secretsmanager", resource=f"secret:{name}-AbCdEf"),
        }
        self.secrets[name] = item
        return item

    def _find(self, secret_id: str) -> Item | None:
        for item in self.secrets.values():
            if secret_id in (item["Name"], item["ARN"]):
                return dict(item)
        return None

    async def get_secret_value(self, secret_id: str, version_id: str | None = None,
                               version_stage: str | None = None) -> Item:
        await self.script.call("GetSecretValue", (secret_id, version_id, version_stage))
        item = self._find(secret_id)
        if item is None or (version_id is not None and version_id != item["VersionId"]) or (
                version_stage is not None and version_stage not in item["VersionStages"]):
            raise error_for(Failure.NOT_FOUND, "GetSecretValue")
        return item

    async def batch_get_secret_value(self, secret_ids: list[str]) -> tuple[list[Item], list[Item]]:
        async def one(chunk: list[str]) -> tuple[list[Item], list[Item]]:
            await self.script.call("BatchGetSecretValue", list(chunk))
            values: list[Item] = []
            errors: list[Item] = []
            for secret_id in chunk:
                item = self._find(secret_id)
                if item is None:
                    errors.append({"SecretId": secret_id, "ErrorCode": "ResourceNotFoundException",
                                   "Message": "Secrets Manager can't find the specified secret."})
                else:
                    values.append(item)
            return values, errors

        chunks = [secret_ids[start:start + BATCH_SECRETS_MAX] for start in range(0, len(secret_ids), BATCH_SECRETS_MAX)]
        values: list[Item] = []
        errors: list[Item] = []
        for found, failed in await asyncio.gather(*(one(chunk) for chunk in chunks)):
            values.extend(found)
            errors.extend(failed)
        return values, errors


class FakeUpstream:
    """Both stores on one script (see paramsecrets.upstream.Upstream)."""

    def __init__(self, clock: Clock) -> None:
        self.script = Script(clock)
        self.ssm = FakeParameterStore(self.script)
        self.secrets = FakeSecretStore(self.script)
        self.calls = self.script.calls
        self.asked = self.script.asked
        self.log = self.script.log
        self.fail = self.script.fail
        self.fail_always = self.script.fail_always
        self.recover = self.script.recover
        self.hold = self.script.hold
        self.latency = self.script.latency

    def put_parameter(self, name: str, value: str, kind: str = "String") -> Item:
        return self.ssm.put(name, value, kind)

    def put_secret(self, name: str, value: str) -> Item:
        return self.secrets.put(name, value)

    def total(self) -> int:
        """Every call so far, all operations."""
        return sum(self.calls.values())
