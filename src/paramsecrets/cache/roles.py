"""Reads made as another IAM role (`roleArn`): its ARN checked, its STS credentials held and renewed.

A read that names `roleArn` is made with credentials from STS `AssumeRole` on that role. They are
reused for every read as that role until REFRESH_BEFORE_S before they expire: from then on a read
still uses them and starts one renewal in the background; only a read after EXPIRY_MARGIN_S
before expiry (nobody read as that role for the whole window) waits for new ones. At most
`max_roles` roles are held, the least recently used dropped first (its connections closed).
What AWS answers to a denied AssumeRole is the read's error, as for any other call.

The ARN is checked before anything is asked of AWS: a malformed one is a 400 naming the problem.
"""

from __future__ import annotations

import asyncio
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from paramsecrets import log
from paramsecrets.aws.upstream import Credentials, Upstream
from paramsecrets.clock import Clock
from paramsecrets.errors import AnswerError

MAX_ROLE_ARN = 2048  # IAM's limit for a role ARN
MAX_ROLE_NAME = 64
MAX_ROLE_PATH = 512
PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc")
NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-")
REFRESH_BEFORE_S = 300.0  # renew in the background from 5 minutes before expiry...
EXPIRY_MARGIN_S = 60.0  # ...and never sign with credentials that expire within a minute
SESSION_NAME = f"paramsecrets-{os.getpid()}"  # what CloudTrail shows for reads made as the role


class RoleArnError(AnswerError, ValueError):
    """A `roleArn` that is not an IAM role ARN; the message names what is wrong (never AWS's call).
    Answered as any refused query is: 400 BadRequest."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "BadRequest", message)


def check_role_arn(arn: str) -> str:
    """`arn` if it is an IAM role ARN (`arn:aws:iam::123456789012:role/path/name`), else RoleArnError."""
    if len(arn) > MAX_ROLE_ARN:
        raise RoleArnError(f"roleArn is longer than {MAX_ROLE_ARN} characters")
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise RoleArnError("roleArn must look like arn:aws:iam::123456789012:role/NAME")
    _, partition, service, region, account, resource = parts
    if partition not in PARTITIONS:
        raise RoleArnError(f"roleArn has an unknown partition {partition[:30]!r}; one of {', '.join(PARTITIONS)}")
    if service != "iam":
        raise RoleArnError(f"roleArn must name an IAM role (service 'iam', not {service[:30]!r})")
    if region:
        raise RoleArnError("roleArn must not name a region (IAM ARNs have an empty region field)")
    if len(account) != 12 or not account.isascii() or not account.isdigit():
        raise RoleArnError("roleArn must carry a 12-digit account id")
    kind, slash, rest = resource.partition("/")
    if kind != "role" or not slash:
        raise RoleArnError(f"roleArn must name a role (role/NAME), not {kind[:30]!r}")
    path, _, name = rest.rpartition("/")
    if not name or len(name) > MAX_ROLE_NAME or not set(name) <= NAME_CHARACTERS:
        raise RoleArnError(f"roleArn's role name must be 1 to {MAX_ROLE_NAME} of letters, digits and _+=,.@-")
    if len(path) + 2 > MAX_ROLE_PATH or any(not ("!" <= c <= "~") for c in path):
        raise RoleArnError("roleArn's role path holds characters IAM does not allow")
    return arn


class RoleSession:
    """One role's credentials and the clients that sign with them."""

    __slots__ = ("credentials", "renewing", "upstream")

    def __init__(self, credentials: Credentials, upstream: Upstream) -> None:
        self.credentials = credentials
        self.upstream = upstream
        self.renewing: asyncio.Future[RoleSession] | None = None


def renewal_due(credentials: Credentials, now: float) -> bool:
    """Whether a read at `now` should start renewing (the renewal window has opened)."""
    return now >= credentials.expiration - REFRESH_BEFORE_S


def usable(credentials: Credentials, now: float) -> bool:
    """Whether a read at `now` may still sign with these credentials."""
    return now < credentials.expiration - EXPIRY_MARGIN_S


class RoleSessions:
    """The roles reads are made as: one AssumeRole per role per credentials lifetime, LRU-bounded.

    `base` is the process's own upstream: its `sts` assumes roles, its `with_credentials` builds
    the clients for one role.
    """

    def __init__(self, base: Callable[[], Awaitable[Upstream]], clock: Clock, max_roles: int,
                 on_assume: Callable[[], None] | None = None) -> None:
        self.base = base
        self.clock = clock
        self.max_roles = max_roles
        self.on_assume = on_assume or (lambda: None)
        self._sessions: OrderedDict[str, RoleSession] = OrderedDict()
        self._assuming: dict[str, asyncio.Future[RoleSession]] = {}
        self._background: set[asyncio.Future[Any]] = set()

    def __len__(self) -> int:
        return len(self._sessions)

    def held(self) -> list[str]:
        """The roles held, least recently used first (tests, metrics)."""
        return list(self._sessions)

    async def upstream(self, role: str) -> Upstream:
        """The clients to read as `role` with; raises UpstreamError when AssumeRole fails."""
        now = self.clock.time()
        session = self._sessions.get(role)
        if session is not None and usable(session.credentials, now):
            self._sessions.move_to_end(role)
            if renewal_due(session.credentials, now) and session.renewing is None:
                session.renewing = self._assume(role)
                session.renewing.add_done_callback(lambda done: _clear_renewing(session, done))
            return session.upstream
        return (await asyncio.shield(self._assume(role))).upstream

    def _assume(self, role: str) -> asyncio.Future[RoleSession]:
        """One AssumeRole for `role` at a time (single flight); its session replaces the old one."""
        running = self._assuming.get(role)
        if running is not None:
            return running
        future = asyncio.ensure_future(self._assume_now(role))
        self._assuming[role] = future
        future.add_done_callback(lambda done: self._assuming.pop(role, None))
        return future

    async def _assume_now(self, role: str) -> RoleSession:
        base = await self.base()
        self.on_assume()
        credentials = await base.sts.assume_role(role, SESSION_NAME)
        log.debug("assumed a role; its credentials expire in %.0f s", credentials.expiration - self.clock.time())
        session = RoleSession(credentials, base.with_credentials(credentials))
        old = self._sessions.pop(role, None)
        if old is not None:
            _close(old.upstream)
        self._sessions[role] = session
        while len(self._sessions) > self.max_roles:
            _, dropped = self._sessions.popitem(last=False)
            _close(dropped.upstream)
        return session


def _clear_renewing(session: RoleSession, done: asyncio.Future[RoleSession]) -> None:
    session.renewing = None
    if not done.cancelled() and done.exception() is not None:
        log.warn("renewing a role's credentials failed (%s); the current ones are used until they expire",
                 getattr(done.exception(), "code", "error"))


def _close(upstream: Upstream) -> None:
    close = getattr(upstream, "close", None)
    if close is not None:
        close()
