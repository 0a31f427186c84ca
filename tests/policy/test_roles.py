"""roleArn, exactly: one AssumeRole per role for many reads; the role is part of the cache key;
credentials reused until REFRESH_BEFORE_S before expiry, then renewed in the background (a read
waits only when they are within EXPIRY_MARGIN_S of expiry); at most MAX_ROLES held, least recently
used dropped; a malformed ARN is a 400 naming the problem, with no call; a denied AssumeRole is
AWS's error."""

from __future__ import annotations

import pytest

from paramsecrets.cache.roles import EXPIRY_MARGIN_S, REFRESH_BEFORE_S, SESSION_NAME, RoleArnError, check_role_arn
from paramsecrets.testing.fake_upstream import CREDENTIALS_LIFETIME_S, Failure
from paramsecrets.testing.stack import Stack
from tests.policy.conftest import T0, many, param, q, secrets_many

ROLE = "arn:aws:iam::111122223333:role/reader"
OTHER = "arn:aws:iam::444455556666:role/team/other"


def as_role(target: str, role: str = ROLE) -> str:
    return f"{target}{'&' if '?' in target else '?'}roleArn={q(role)}"


async def test_many_reads_as_a_role_cost_one_assume_role() -> None:
    stack = Stack(ssm_ttl=100, secrets_ttl=100)
    stack.upstream.put_parameter("/p", "pv")
    stack.upstream.put_secret("s", "sv")
    for _ in range(5):
        assert (await stack.get(as_role(param("/p")))).json["Parameter"]["Value"] == "pv"
        assert (await stack.get(as_role("/v1/s"))).json["SecretString"] == "sv"
        assert (await stack.get(as_role("/secretsmanager/get?secretId=s"))).status == 200
    assert stack.upstream.calls["AssumeRole"] == 1
    assert stack.upstream.asked["AssumeRole"] == [(ROLE, SESSION_NAME)] and "paramsecrets" in SESSION_NAME
    assert stack.upstream.by_role[("GetParameter", ROLE)] == 1
    assert stack.upstream.by_role[("GetSecretValue", ROLE)] == 1
    assert stack.metrics.assume_role == 1


async def test_the_role_is_part_of_the_cache_key() -> None:
    stack = Stack()
    stack.upstream.put_parameter("/p", "pv")
    assert (await stack.get(param("/p"))).cache == "miss"
    assert (await stack.get(as_role(param("/p")))).cache == "miss"
    assert (await stack.get(as_role(param("/p"), OTHER))).cache == "miss"
    assert stack.answered_at_once(as_role(param("/p"))).cache == "hit"
    assert stack.upstream.by_role[("GetParameter", None)] == 1
    assert stack.upstream.by_role[("GetParameter", ROLE)] == 1
    assert stack.upstream.by_role[("GetParameter", OTHER)] == 1


async def test_batch_and_path_routes_take_a_role() -> None:
    stack = Stack()
    for name in ("/app/a", "/app/b"):
        stack.upstream.put_parameter(name, "v")
    stack.upstream.put_secret("s1", "a")
    stack.upstream.put_secret("s2", "b")
    assert (await stack.get(as_role(many(["/app/a", "/app/b"])))).status == 200
    assert (await stack.get(as_role("/systemsmanager/parameters/get-by-path?path=/app/"))).status == 200
    assert (await stack.get(as_role(secrets_many(["s1", "s2"])))).status == 200
    assert stack.answered_at_once(as_role(param("/app/a"))).cache == "hit"  # stored per name, as the role
    assert stack.answered_at_once(as_role("/v1/s2")).cache == "hit"
    assert stack.upstream.by_role[("GetParameters", ROLE)] == 1
    assert stack.upstream.by_role[("GetParametersByPath", ROLE)] == 1
    assert stack.upstream.by_role[("BatchGetSecretValue", ROLE)] == 1
    assert stack.upstream.calls["AssumeRole"] == 1
    assert sum(count for (_, role), count in stack.upstream.by_role.items() if role is None) == 1  # AssumeRole


async def test_credentials_are_renewed_in_the_background_before_they_expire() -> None:
    stack = Stack(ssm_ttl=1, refresh_ahead=False)  # every read below is a fetch
    stack.upstream.put_parameter("/p", "pv")
    await stack.get(as_role(param("/p")))
    expiry = T0 + CREDENTIALS_LIFETIME_S
    stack.clock.advance_to(expiry - REFRESH_BEFORE_S - 1)
    await stack.get(as_role(param("/p")))
    assert stack.upstream.calls["AssumeRole"] == 1  # still well before expiry
    stack.clock.advance_to(expiry - REFRESH_BEFORE_S)
    answered = await stack.get(as_role(param("/p")))  # uses the current credentials, renews beside it
    assert answered.status == 200
    await stack.clock.settle()
    assert stack.upstream.calls["AssumeRole"] == 2
    operations = [operation for _, operation, _ in stack.upstream.log]
    assert operations[-2:] == ["GetParameter", "AssumeRole"]  # the read did not wait for STS
    assert stack.upstream.sts.issued == 2


async def test_a_read_after_the_credentials_lapsed_waits_for_new_ones() -> None:
    stack = Stack(ssm_ttl=100, refresh_ahead=False)
    stack.upstream.put_parameter("/p", "pv")
    await stack.get(as_role(param("/p")))
    stack.clock.advance_to(T0 + CREDENTIALS_LIFETIME_S - EXPIRY_MARGIN_S)  # nobody read during the window
    await stack.get(as_role(param("/p")))
    operations = [operation for _, operation, _ in stack.upstream.log]
    assert operations == ["AssumeRole", "GetParameter", "AssumeRole", "GetParameter"]


async def test_at_most_max_roles_are_held_least_recently_used_dropped() -> None:
    stack = Stack(max_roles=2)
    stack.upstream.put_parameter("/p", "pv")
    roles = [f"arn:aws:iam::111122223333:role/r{n}" for n in range(3)]
    for role in roles:
        await stack.get(as_role(param("/p"), role))
    assert stack.reader.roles.held() == roles[1:]
    stack.upstream.put_parameter("/q", "qv")
    await stack.get(as_role(param("/q"), roles[1]))  # r1 used again: r2 is now the oldest
    await stack.get(as_role(param("/q"), roles[0]))  # r0 again: assumed again, r2 dropped
    assert stack.reader.roles.held() == [roles[1], roles[0]]
    assert stack.upstream.calls["AssumeRole"] == 4


@pytest.mark.parametrize(("arn", "problem"), [
    ("arn:aws:iam::12345:role/x", "12-digit account"),
    ("arn:aws:s3:::bucket", "IAM role"),
    ("arn:aws:iam::111122223333:user/bob", "must name a role"),
    ("arn:aws:iam:us-east-1:111122223333:role/x", "region"),
    ("arn:nope:iam::111122223333:role/x", "partition"),
    ("role/x", "arn:aws:iam::123456789012:role/NAME"),
    ("arn:aws:iam::111122223333:role/" + "x" * 65, "role name"),
    ("arn:aws:iam::111122223333:role/" + "p/" * 1100 + "x", "longer than 2048"),
])
async def test_a_malformed_role_arn_is_a_400_naming_the_problem_without_any_call(arn: str, problem: str) -> None:
    stack = Stack()
    stack.upstream.put_parameter("/p", "pv")
    for target in (param("/p"), "/v1/p", many(["/p"]), secrets_many(["p"])):
        answer = await stack.get(as_role(target, arn))
        assert (answer.status, answer.json["__type"]) == (400, "BadRequest")
        assert problem in answer.json["message"]
    with pytest.raises(RoleArnError):
        check_role_arn(arn)
    assert stack.upstream.total() == 0


def test_valid_role_arns() -> None:
    for arn in (ROLE, OTHER, "arn:aws-cn:iam::111122223333:role/a+b=c,d.e@f-g_h",
                "arn:aws-us-gov:iam::111122223333:role/service-role/x"):
        assert check_role_arn(arn) == arn


async def test_a_denied_assume_role_is_aws_s_error() -> None:
    stack = Stack(error_ttl=0)
    stack.upstream.put_parameter("/p", "pv")
    stack.upstream.fail("AssumeRole", Failure.DENIED)
    answer = await stack.get(as_role(param("/p")))
    assert (answer.status, answer.json["__type"]) == (403, "AccessDeniedException")
    assert stack.upstream.calls["GetParameter"] == 0
    assert (await stack.get(as_role(param("/p")))).status == 200  # asked again: not held as a failure
    assert stack.upstream.calls["AssumeRole"] == 2


async def test_concurrent_first_reads_as_a_role_share_one_assume_role() -> None:
    stack = Stack()
    stack.upstream.put_parameter("/p", "pv")
    stack.upstream.put_secret("s", "sv")
    gate = stack.upstream.hold("AssumeRole")
    waiting = [await stack.start(as_role(param("/p"))), await stack.start(as_role("/v1/s"))]
    gate.open()
    await stack.clock.settle()
    assert [task.result().status for task in waiting] == [200, 200]
    assert stack.upstream.calls["AssumeRole"] == 1
