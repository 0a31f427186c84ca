"""sigv4.fast_signature (by hand, signing key cached per day and scope) against awscrt's recompute on
the same requests: equal whenever the fast path answers, for requests botocore signs with any
headers, bodies, regions, services, dates and session tokens; and it steps aside (None) for the
shapes it leaves to awscrt."""

from __future__ import annotations

import asyncio
import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from paramsecrets.api.sdk.sigv4 import Credentials, check_claims, fast_signature, recompute
from tests.sdk.signing import ACCESS_KEY, SECRET_KEY, parsed, signed_bytes

AT = datetime.datetime(2026, 12, 7, 3, 40, 5, tzinfo=datetime.UTC)
HEADER_NAME = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12).filter(
    lambda n: not n.startswith("-") and n not in ("host", "content-length", "authorization"))
HEADER_VALUE = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20).map(
    lambda v: v.replace("%", "p"))


def both(raw: bytes, credentials: Credentials, service: str, at: datetime.datetime) -> tuple[str | None, str]:
    request = parsed(raw)
    authorization, signed_at = check_claims(request, service, credentials, at)
    fast = fast_signature(request, authorization, signed_at, credentials)
    slow = asyncio.run(recompute(request, authorization, signed_at, credentials))
    assert slow == authorization.signature  # botocore's signature, which awscrt reproduces
    return fast, slow


@settings(max_examples=60, deadline=None)
@given(body=st.binary(min_size=1, max_size=200), region=st.sampled_from(["us-east-1", "eu-west-3", "ap-southeast-2"]),
       service=st.sampled_from(["ssm", "secretsmanager"]), token=st.none() | st.just("session-token-123"),
       extra=st.dictionaries(HEADER_NAME, HEADER_VALUE, max_size=4),
       seconds=st.integers(min_value=-290, max_value=290))
def test_fast_path_equals_awscrt(body: bytes, region: str, service: str, token: str | None,
                                 extra: dict[str, str], seconds: int) -> None:
    at = AT + datetime.timedelta(seconds=seconds)
    credentials = Credentials(ACCESS_KEY, SECRET_KEY, token)
    raw = signed_bytes("GetParameter", body, service=service, token=token, region=region, at=at,
                       extra={k.title(): v for k, v in extra.items()})
    fast, slow = both(raw, credentials, service, AT)
    assert fast == slow


def test_the_key_is_derived_once_per_day_and_scope() -> None:
    credentials = Credentials(ACCESS_KEY, SECRET_KEY, None)
    for _ in range(3):
        both(signed_bytes("GetParameter", {"Name": "x"}, at=AT), credentials, "ssm", AT)
    assert list(credentials._keys) == [("20261207", "us-east-1", "ssm")]
    tomorrow = AT + datetime.timedelta(days=1)
    both(signed_bytes("GetParameter", {"Name": "x"}, at=tomorrow), credentials, "ssm", tomorrow)
    assert len(credentials._keys) == 2


def test_shapes_left_to_awscrt() -> None:
    credentials = Credentials(ACCESS_KEY, SECRET_KEY, None)
    raw = signed_bytes("GetParameter", {"Name": "x"}, at=AT, extra={"User-Agent": "sdk/1"})
    request = parsed(raw.replace(b"SignedHeaders=", b"SignedHeaders=user-agent;", 1))
    authorization, signed_at = check_claims(request, "ssm", credentials, AT)
    assert fast_signature(request, authorization, signed_at, credentials) is None
    request = parsed(signed_bytes("GetParameter", {"Name": "x"}, at=AT, extra={"X-Custom": "a  b"}))
    authorization, signed_at = check_claims(request, "ssm", credentials, AT)
    assert fast_signature(request, authorization, signed_at, credentials) is None
    target = parsed(signed_bytes("GetParameter", {"Name": "x"}, at=AT).replace(b"POST / ", b"POST /?a=b ", 1))
    authorization, signed_at = check_claims(target, "ssm", credentials, AT)
    assert fast_signature(target, authorization, signed_at, credentials) is None
