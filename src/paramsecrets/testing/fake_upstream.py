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

Secrets carry versions (AWSCURRENT, AWSPREVIOUS), tags and a rotation schedule
(`rotation(name, next_at)`, `rotate(name, value)`), which DescribeSecret reports. `with_credentials`
gives a view that reads the same data as a role: `by_role[(operation, role)]` counts its calls.

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
from paramsecrets.aws.upstream import Credentials, Item
from paramsecrets.clock import Clock

GET_PARAMETERS_MAX = 10
BATCH_SECRETS_MAX = 20
OPERATIONS = ("GetParameter", "GetParameters", "GetParametersByPath", "GetSecretValue", "BatchGetSecretValue",
              "DescribeSecret", "AssumeRole")
CREDENTIALS_LIFETIME_S = 3600.0  # AssumeRole's default DurationSeconds
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
        self.by_role: Counter[tuple[str, str | None]] = Counter()
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

    async def call(self, operation: str, asked: Any, role: str | None = None) -> None:
        self.calls[operation] += 1
        self.by_role[(operation, role)] += 1
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
    """Parameter Store's reads over a dict of parameters (see paramsecrets.aws.upstream.ParameterStore)."""

    def __init__(self, script: Script, role: str | None = None, parameters: dict[str, Item] | None = None) -> None:
        self.script = script
        self.role = role
        self.parameters: dict[str, Item] = {} if parameters is None else parameters

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
        await self.script.call("GetParameter", name, self.role)
        item = self._answer(name, decrypt)
        if item is None:
            raise error_for(Failure.NOT_FOUND, "GetParameter")
        return item

    async def get_parameters(self, names: list[str], decrypt: bool) -> list[tuple[list[str], list[Item]]]:
        from paramsecrets.aws.ssm import distinct_batches

        async def one(batch: list[str]) -> tuple[list[str], list[Item]]:
            await self.script.call("GetParameters", list(batch), self.role)
            return batch, [item for item in (self._answer(name, decrypt) for name in batch) if item is not None]

        return list(await asyncio.gather(*(one(batch) for batch in distinct_batches(names, GET_PARAMETERS_MAX))))

    async def get_parameters_by_path(self, path: str, recursive: bool, decrypt: bool) -> list[Item]:
        await self.script.call("GetParametersByPath", (path, recursive, decrypt), self.role)
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
    """Secrets Manager's reads over a dict of secrets (see paramsecrets.aws.upstream.SecretStore)."""

    def __init__(self, script: Script, role: str | None = None, shared: FakeSecretStore | None = None) -> None:
        self.script = script
        self.role = role
        self.secrets: dict[str, Item] = {} if shared is None else shared.secrets  # the current versions
        self.previous: dict[str, Item] = {} if shared is None else shared.previous  # AWSPREVIOUS
        self.tags: dict[str, dict[str, str]] = {} if shared is None else shared.tags
        self.next_rotation: dict[str, float] = {} if shared is None else shared.next_rotation

    def put(self, name: str, value: str, tags: dict[str, str] | None = None) -> Item:
        """A new current version (the old one becomes AWSPREVIOUS)."""
        old = self.secrets.get(name)
        serial = (int(old["VersionId"].rsplit("-", 1)[1]) + 1) if old else 1
        item: Item = {
            "Name": name, "SecretString": value, "VersionId": f"version-{serial}", "VersionStages": ["AWSCURRENT"],
            "CreatedDate": self.script.clock.time(),
            "ARN": REGION_ARN.format(service="secretsmanager", resource=f"secret:{name}-AbCdEf"),
        }
        if old is not None:
            self.previous[name] = {**old, "VersionStages": ["AWSPREVIOUS"]}
        self.secrets[name] = item
        if tags is not None:
            self.tags[name] = dict(tags)
        return item

    def rotation(self, name: str, next_at: float | None) -> None:
        """Rotation on, next due at `next_at` (wall clock); None turns it off."""
        if next_at is None:
            self.next_rotation.pop(name, None)
        else:
            self.next_rotation[name] = next_at

    def rotate(self, name: str, value: str, period: float) -> Item:
        """A rotation finishing now: a new current version, the next rotation `period` later."""
        item = self.put(name, value)
        self.next_rotation[name] = self.next_rotation.get(name, self.script.clock.time()) + period
        return item

    def _versions(self, secret_id: str) -> list[Item]:
        for name, item in self.secrets.items():
            if secret_id in (item["Name"], item["ARN"]):
                previous = self.previous.get(name)
                return [dict(item)] + ([dict(previous)] if previous else [])
        return []

    def _find(self, secret_id: str, version_id: str | None = None, version_stage: str | None = None) -> Item | None:
        for item in self._versions(secret_id):
            if version_id is not None and version_id != item["VersionId"]:
                continue
            if version_stage is not None and version_stage not in item["VersionStages"]:
                continue
            if version_id is None and version_stage is None and "AWSCURRENT" not in item["VersionStages"]:
                continue
            return item
        return None

    async def get_secret_value(self, secret_id: str, version_id: str | None = None,
                               version_stage: str | None = None) -> Item:
        await self.script.call("GetSecretValue", (secret_id, version_id, version_stage), self.role)
        item = self._find(secret_id, version_id, version_stage)
        if item is None:
            raise error_for(Failure.NOT_FOUND, "GetSecretValue")
        return item

    async def describe_secret(self, secret_id: str) -> Item:
        await self.script.call("DescribeSecret", secret_id, self.role)
        versions = self._versions(secret_id)
        if not versions:
            raise error_for(Failure.NOT_FOUND, "DescribeSecret")
        current = versions[0]
        answer: Item = {"Name": current["Name"], "ARN": current["ARN"],
                        "VersionIdsToStages": {item["VersionId"]: item["VersionStages"] for item in versions},
                        "RotationEnabled": current["Name"] in self.next_rotation}
        if answer["RotationEnabled"]:
            answer["NextRotationDate"] = self.next_rotation[current["Name"]]
        return answer

    async def batch_get_secret_value_filtered(self, filters: list[Item]) -> list[Item]:
        await self.script.call("BatchGetSecretValue", {"Filters": filters}, self.role)
        wanted = {flt["Key"]: set(flt["Values"]) for flt in filters}
        found = []
        for name, item in self.secrets.items():
            tags = self.tags.get(name, {})
            if "tag-key" in wanted and not wanted["tag-key"] & set(tags):
                continue
            if "tag-value" in wanted and not wanted["tag-value"] & set(tags.values()):
                continue
            found.append(dict(item))
        return found

    async def batch_get_secret_value(self, secret_ids: list[str]) -> tuple[list[Item], list[Item]]:
        async def one(chunk: list[str]) -> tuple[list[Item], list[Item]]:
            await self.script.call("BatchGetSecretValue", list(chunk), self.role)
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


class FakeRoleStore:
    """STS AssumeRole: credentials valid CREDENTIALS_LIFETIME_S from the call, numbered per call."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.issued = 0
        self.lifetime = CREDENTIALS_LIFETIME_S

    async def assume_role(self, role_arn: str, session_name: str) -> Credentials:
        await self.script.call("AssumeRole", (role_arn, session_name))
        self.issued += 1
        return Credentials(f"ASIAFAKE{self.issued:08d}", "fake-secret", f"token-{self.issued}",
                           self.script.clock.time() + self.lifetime)


class FakeUpstream:
    """Both stores on one script (see paramsecrets.aws.upstream.Upstream)."""

    def __init__(self, clock: Clock, role: str | None = None, shared: FakeUpstream | None = None,
                 script: Script | None = None) -> None:
        """`script` replaces the default one (bench/fleet_sim.py's throttling quotas)."""
        self.script: Script = shared.script if shared is not None else script or Script(clock)
        self.role = role
        self.ssm: FakeParameterStore = FakeParameterStore(self.script, role,
                                                          None if shared is None else shared.ssm.parameters)
        self.secrets: FakeSecretStore = FakeSecretStore(self.script, role, None if shared is None else shared.secrets)
        self.sts: FakeRoleStore = FakeRoleStore(self.script) if shared is None else shared.sts
        self.credentials: Credentials | None = None
        self.by_role = self.script.by_role
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

    def put_secret(self, name: str, value: str, tags: dict[str, str] | None = None) -> Item:
        return self.secrets.put(name, value, tags)

    def with_credentials(self, credentials: Credentials) -> FakeUpstream:
        """A view reading the same data as the role these credentials belong to (counted in `by_role`)."""
        serial = int(credentials.session_token.rpartition("-")[2])  # the n-th AssumeRole issued them
        view = FakeUpstream(self.script.clock, str(self.asked["AssumeRole"][serial - 1][0]), shared=self)
        view.credentials = credentials
        return view

    def total(self) -> int:
        """Every call so far, all operations."""
        return sum(self.calls.values())
