"""STS AssumeRole, for reads made as another role (`roleArn`; paramsecrets.cache.roles holds the results).

STS speaks AWS's query protocol (a form-encoded POST, an XML answer), not JSON 1.1: the transport's
encode/headers/decode hooks are replaced here, and signing, the pool, deadlines and retries are
the same as for the other services. The endpoint is the regional one (`sts.<region>.amazonaws.com`),
or `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL` like the other services (aws/settings.py).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from awscrt.auth import AwsCredentialsProvider

from paramsecrets.aws.errors import Kind, UpstreamError
from paramsecrets.aws.transport import AwsJsonTransport, ServiceSpec
from paramsecrets.aws.upstream import Credentials

STS = ServiceSpec("STS", "sts", "")
API_VERSION = "2011-06-15"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
_FIELD = {name: re.compile(rf"<{name}>([^<]{{1,4096}})</{name}>".encode())
          for name in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")}


class AwsQueryTransport(AwsJsonTransport):
    """The transport, speaking the query protocol (Action=...&Version=..., XML answers)."""

    def encode(self, operation: str, payload: dict[str, Any]) -> bytes:
        return urlencode({"Action": operation, "Version": API_VERSION, **payload}).encode()

    def headers(self, operation: str, body: bytes) -> list[tuple[str, str]]:
        return [("Content-Type", FORM)]

    def decode(self, operation: str, data: bytes) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name, pattern in _FIELD.items():
            match = pattern.search(data)
            if match is None:
                raise UpstreamError(Kind.UNAVAILABLE, "BadGateway", f"STS answered {operation} without {name}")
            found[name] = match.group(1).decode("utf-8", "replace")
        return found


def parse_expiration(text: str) -> float:
    """`2026-12-07T04:00:00Z` (or with a fraction) -> epoch seconds."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise UpstreamError(Kind.UNAVAILABLE, "BadGateway", "STS answered with an unreadable Expiration") from None


class SecurityTokenService:
    """AssumeRole (see paramsecrets.aws.upstream.RoleStore)."""

    def __init__(self, transport: AwsQueryTransport) -> None:
        self.transport = transport

    async def assume_role(self, role_arn: str, session_name: str) -> Credentials:
        answer = await self.transport.call("AssumeRole", {"RoleArn": role_arn, "RoleSessionName": session_name})
        return Credentials(answer["AccessKeyId"], unescape(answer["SecretAccessKey"]),
                           unescape(answer["SessionToken"]), parse_expiration(answer["Expiration"]))


def unescape(text: str) -> str:
    """XML text -> the string (secret keys and tokens may hold `+`, `/`, `=`, rarely an entity)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'") \
        .replace("&amp;", "&")


def static_provider(credentials: Credentials) -> AwsCredentialsProvider:
    """awscrt's provider for one role's credentials (they are replaced, not refreshed, by roles.py)."""
    return AwsCredentialsProvider.new_static(credentials.access_key_id, credentials.secret_access_key,
                                             credentials.session_token)
