"""Issue 22 item 10: a path read is bounded in pages, parameters and time.

One `get-by-path?path=/` used to walk every page of the whole store (1,053 upstream calls over
43-45 s, 14.8 MB of memory). Past a limit the read now fails with a clear error, having made no
more calls than the limit allows; nothing is cached from it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from paramsecrets.aws.errors import Kind, UpstreamError
from paramsecrets.aws.ssm import PathLimits, Ssm
from paramsecrets.testing.fault_proxy import FaultProxy
from paramsecrets.testing.moto import MotoServer
from paramsecrets.testing.server import ServerProcess
from paramsecrets.testing.targets import BY_PATH

PARAMETERS = 25  # 3 pages of 10


class Pages:
    """A transport answering GetParametersByPath with pages of `size` (or never, when `stall`)."""

    def __init__(self, pages: int, size: int = 10, stall: bool = False) -> None:
        self.pages, self.size, self.stall, self.calls = pages, size, stall, 0

    async def call(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.stall:
            await asyncio.Event().wait()
        items = [{"Name": f"/p/{self.calls}-{n}", "Value": "v"} for n in range(self.size)]
        more = {"NextToken": f"t{self.calls}"} if self.calls < self.pages else {}
        return {"Parameters": items, **more}


def read(pages: Pages, limits: PathLimits) -> list[dict[str, Any]]:
    return asyncio.run(Ssm(pages, limits).get_parameters_by_path("/p", True, False))  # type: ignore[arg-type]


def test_limits_without_aws() -> None:
    assert len(read(Pages(3), PathLimits(3, 30))) == 30
    with pytest.raises(UpstreamError) as caught:
        read(pages := Pages(1000, size=0), PathLimits(max_pages=5))  # empty pages with a NextToken, forever
    assert (caught.value.kind, caught.value.code, pages.calls) == (Kind.INVALID, "PathTooLarge", 5)
    assert "MAX_PATH_PAGES" in caught.value.message and "5 pages" in caught.value.message
    with pytest.raises(UpstreamError) as caught:
        read(pages := Pages(1000), PathLimits(max_parameters=25))
    assert (caught.value.code, pages.calls) == ("PathTooLarge", 3)
    assert "more than 25 parameters" in caught.value.message and "MAX_PATH_PARAMETERS" in caught.value.message
    with pytest.raises(UpstreamError) as caught:
        read(Pages(1, stall=True), PathLimits(timeout_s=0.05))
    assert caught.value.kind is Kind.TIMEOUT and "PATH_TIMEOUT_MILLIS" in caught.value.message


@pytest.fixture
def big_path(moto: MotoServer) -> None:
    ssm = moto.client("ssm")
    for number in range(PARAMETERS):
        ssm.put_parameter(Name=f"/big/p{number:02d}", Value=f"v{number}", Type="String")
    moto.clear_calls()


@pytest.mark.parametrize(("env", "calls"), [
    ({"PARAMETERS_SECRETS_EXTENSION_MAX_PATH_PARAMETERS": "12"}, 2),
    ({"PARAMETERS_SECRETS_EXTENSION_MAX_PATH_PAGES": "2"}, 2),
])
def test_a_path_past_its_limit_is_refused_after_that_many_calls(env: dict[str, str], calls: int, big_path: None,
                                                               moto: MotoServer,
                                                               serve: Callable[..., ServerProcess]) -> None:
    server = serve(**env)
    answer = server.get(BY_PATH + "/big/")
    assert answer.status == 400, answer.body
    assert answer.json()["__type"] == "PathTooLarge"
    assert "read a narrower path" in answer.json()["message"]
    assert moto.count("AmazonSSM.GetParametersByPath") == calls
    again = server.get(BY_PATH + "/big/")
    # Remembered for ERROR_TTL like any invalid answer (issue 17): the same refusal, no more calls,
    # and never a value in the cache.
    assert again.status == 400 and again.json()["__type"] == "PathTooLarge"
    assert again.headers["x-paramsecrets-cache"] == "hit"
    assert moto.count("AmazonSSM.GetParametersByPath") == calls


def test_within_the_limits_the_whole_path_is_read(big_path: None, moto: MotoServer,
                                                  serve: Callable[..., ServerProcess]) -> None:
    server = serve(PARAMETERS_SECRETS_EXTENSION_MAX_PATH_PARAMETERS=str(PARAMETERS),
                   PARAMETERS_SECRETS_EXTENSION_MAX_PATH_PAGES="3")
    answer = server.get(BY_PATH + "/big/")
    assert answer.status == 200 and len(answer.json()["Parameters"]) == PARAMETERS
    assert moto.count("AmazonSSM.GetParametersByPath") == 3


def test_a_stalled_path_read_ends_at_its_time_limit(serve: Callable[..., ServerProcess], proxy: FaultProxy) -> None:
    server = serve(PARAMETERS_SECRETS_EXTENSION_PATH_TIMEOUT_MILLIS="500")
    proxy.blackhole()
    answer = server.get(BY_PATH + "/big/")
    assert answer.status == 504
    assert "PATH_TIMEOUT_MILLIS" in answer.json()["message"]
