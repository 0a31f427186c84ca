"""One error family (paramsecrets.errors.AnswerError), one table from AWS failures to answers, and
one renderer per profile (api/profiles.py)."""

from __future__ import annotations

import json

import pytest

from paramsecrets.api import profiles
from paramsecrets.api.routes import RequestError, Router
from paramsecrets.api.sdk.wire import SdkError
from paramsecrets.api.tokens import TokenError
from paramsecrets.aws.errors import Kind, UpstreamError, from_response, network_error, timeout_error
from paramsecrets.cache.roles import RoleArnError, check_role_arn
from paramsecrets.errors import AnswerError


def test_every_answered_error_is_one_family() -> None:
    for error in (RequestError(400, "BadRequest", "m"), SdkError("ValidationException", "m"),
                  TokenError("AWS_TOKEN", "m"), RoleArnError("m")):
        assert isinstance(error, AnswerError)
        assert (error.message, error.code) == ("m", error.code) and 400 <= error.status <= 599
    assert str(SdkError("ValidationException", "m")) == "ValidationException: m"  # what SDK tests match on
    with pytest.raises(RoleArnError) as caught:
        check_role_arn("arn:aws:iam::12:role/x")
    assert (caught.value.status, caught.value.code) == (400, "BadRequest") and isinstance(caught.value, ValueError)


@pytest.mark.parametrize("kind", list(Kind))
def test_the_get_routes_answer_an_aws_failure_with_its_kind_status(kind: Kind) -> None:
    error = UpstreamError(kind, "SomeCode", "said AWS")
    answered = profiles.from_upstream(error)
    assert (answered.status, answered.code, answered.message) == (error.status, "SomeCode", "said AWS")
    assert profiles.from_upstream(error, "scrubbed").message == "scrubbed"


def test_the_sdk_protocol_passes_aws_status_on_and_gives_ours_their_5xx() -> None:
    aws = from_response(400, "ParameterNotFound", b'{"message":"nope"}')
    assert (profiles.sdk_from_upstream(aws).status, profiles.sdk_from_upstream(aws).code) == (400, "ParameterNotFound")
    throttled = from_response(429, None, b'{"__type":"ThrottlingException","message":"slow down"}')
    assert profiles.sdk_from_upstream(throttled).status == 429
    assert profiles.sdk_from_upstream(network_error("refused")).status == 502
    assert profiles.sdk_from_upstream(timeout_error("ssm", 3)).status == 504
    backing_off = UpstreamError(Kind.UNAVAILABLE, "ServiceUnavailable", "backing off")
    assert profiles.sdk_from_upstream(backing_off).status == 503
    assert profiles.sdk_from_upstream(UpstreamError(Kind.UNAVAILABLE, "InternalFailure", "x")).status == 500
    assert profiles.sdk_from_upstream(UpstreamError(Kind.DENIED, "AccessDeniedException", "x")).status == 400


def test_a_refused_signature_on_a_get_route() -> None:
    refused = profiles.signed_get_refusal(SdkError("InvalidSignatureException", "bad", 400), "SIGNATURE_MISMATCH")
    assert (refused.status, refused.code, refused.message, refused.reason) == (
        401, "Unauthorized", "InvalidSignatureException: bad", "SIGNATURE_MISMATCH")
    assert profiles.signed_get_refusal(SdkError("InternalFailure", "no credentials", 500), "x").status == 502


@pytest.mark.parametrize("profile", [profiles.AWS, profiles.DETAILED])
def test_a_refusal_renders_in_each_get_profile_with_its_reason(profile: profiles.Profile) -> None:
    refusal = Router.unauthorized(None)
    raw = profiles.answer(refusal, profile, keep_alive=True)
    assert raw.startswith(b"HTTP/1.1 401 ")
    assert b"cloudextensions-error-reason: MISSING_AUTHENTICATION\r\n" in raw
    assert b"X-Paramsecrets-Error: Unauthorized\r\n" in raw or profile.detailed
    not_found = profiles.answer(profiles.from_upstream(UpstreamError(Kind.NOT_FOUND, "ParameterNotFound", "gone")),
                                profile, keep_alive=True)
    assert not_found.startswith(b"HTTP/1.1 404 " if profile.detailed else b"HTTP/1.1 400 ")


def test_the_sdk_profile_renders_aws_json() -> None:
    raw = profiles.sdk_error(SdkError("ValidationException", "bad", reason="SIGNATURE_MISMATCH"), True,
                             cloud_extensions=True)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"x-amzn-ErrorType: ValidationException\r\n" in head
    assert b"cloudextensions-error-reason: SIGNATURE_MISMATCH" in head
    assert json.loads(body) == {"__type": "ValidationException", "Message": "bad"}  # Cloud Extensions' key
    plain = profiles.sdk_error(SdkError("ValidationException", "bad"), True).partition(b"\r\n\r\n")[2]
    assert json.loads(plain) == {"__type": "ValidationException", "message": "bad"}
