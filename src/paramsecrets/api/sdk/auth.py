"""Who may sign requests to us: the client key, and (unless turned off) the AWS credentials we hold.

One verifier serves the SDK protocol (`POST /`, `/parameterstore`, `/secretsmanager`) and SigV4
in place of the token on the GET routes. The access key id in the request picks the key to check
against (compared in constant time); sigv4.verify then checks everything else. A refusal carries
a reason for the `cloudextensions-error-reason` header, as Cloud Extensions sends it.

awscrt is imported only when a signature is checked (sigv4, HeldCredentials), never at start.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from paramsecrets import log
from paramsecrets.api.clientkey import ClientKey, is_aws_credential
from paramsecrets.api.sdk.wire import SdkError, header
from paramsecrets.aws.errors import UpstreamError
from paramsecrets.http.parser import Request

try:  # hmac's own constant-time compare, without importing hmac (hashlib, libcrypto) at start
    from _operator import _compare_digest
except ImportError:  # pragma: no cover - other Pythons
    import hmac

    _compare_digest = hmac.compare_digest

CredentialSource = Callable[[], Awaitable[Any]]  # -> paramsecrets.api.sdk.sigv4.Credentials
CREDENTIALS_REUSE_S = 1.0  # a rotation is seen at most this much later than awscrt sees it
MISSING_AUTHENTICATION = "MISSING_AUTHENTICATION"
SIGNATURE_MISMATCH = "SIGNATURE_MISMATCH"
INVALID_TOKEN = "INVALID_TOKEN"  # ours: a GET route's token header was wrong (Cloud Extensions has none)
MISSING_AUTHORIZATION = "MissingAuthenticationTokenException"


def reason_of(error: SdkError) -> str:
    """The refusal reason Cloud Extensions would give for an authentication failure."""
    return MISSING_AUTHENTICATION if error.code == MISSING_AUTHORIZATION else SIGNATURE_MISMATCH


class HeldCredentials:
    """The credentials our own calls are signed with (awscrt's default chain, as the reader uses).

    Reused for CREDENTIALS_REUSE_S: asking awscrt costs a hop to its thread and back per request,
    and the chain itself caches them for far longer.
    """

    def __init__(self, upstream_ready: asyncio.Future[Any]) -> None:
        self.upstream_ready = upstream_ready
        self._credentials: Any = None
        self._until = 0.0

    def current(self) -> Any:
        """The credentials held now, without awaiting; None when they must be asked for again."""
        return self._credentials if self._credentials is not None and time.monotonic() < self._until else None

    async def __call__(self) -> Any:
        now = time.monotonic()
        if self._credentials is not None and now < self._until:
            return self._credentials
        from awscrt.exceptions import AwsCrtError

        from paramsecrets.aws.transport import crt_result

        upstream = await asyncio.shield(self.upstream_ready)
        try:
            found = await crt_result(upstream.ssm.transport.runtime.credentials.get_credentials())
        except AwsCrtError as error:
            log.warn("no AWS credentials to verify a signed request against (%s)", error.name)
            raise SdkError("InternalFailure", "paramsecrets holds no AWS credentials to verify requests with",
                           500) from None
        from paramsecrets.api.sdk.sigv4 import Credentials

        self._credentials = Credentials(found.access_key_id, found.secret_access_key, found.session_token)
        self._until = now + CREDENTIALS_REUSE_S
        return self._credentials


class Verifier:
    """Checks a request's SigV4 signature against the key its access key id names."""

    def __init__(self, client_key: ClientKey | None, accept_aws: bool, held: CredentialSource | None) -> None:
        self.client_key = client_key
        self.accept_aws = accept_aws and held is not None
        self.held = held
        self._warned = False

    async def verify(self, request: Request, service: str) -> tuple[str, bool]:
        """(region, signed with the client key), or SdkError (AWS's codes) when refused."""
        from paramsecrets.api.sdk import sigv4

        raw = header(request, b"authorization")
        if raw is None:
            raise SdkError(MISSING_AUTHORIZATION, "Missing Authentication Token")
        access_key = sigv4.Authorization(raw).access_key.encode()
        key = self.client_key
        if key is not None and _compare_digest(access_key, key.access_key.encode()):
            credentials = sigv4.Credentials(key.access_key, key.secret_key, None)
            await self._refuse_if_aws_credential()
            return await sigv4.verify(request, service, credentials), True
        if not self.accept_aws or self.held is None:
            raise SdkError("UnrecognizedClientException", sigv4.BAD_TOKEN)
        held = await self.held()
        return await sigv4.verify(request, service, held), False

    async def _refuse_if_aws_credential(self) -> None:
        """At start only the environment's credentials are compared (clientkey.resolve); credentials
        from a container endpoint or a profile are compared here, and such a key is refused."""
        if self.held is None:
            return
        try:
            held = await self.held()
        except (SdkError, UpstreamError):
            return  # no AWS credentials at all: nothing the key could be
        assert self.client_key is not None
        if is_aws_credential(self.client_key, held.access_key, held.secret_key):
            if not self._warned:
                self._warned = True
                log.error("the client key equals the AWS credentials paramsecrets holds; requests signed "
                          "with it are refused (set a key of its own)")
            raise SdkError("UnrecognizedClientException", "the client key is refused: it is an AWS credential")
