"""The dispatcher in front: an SDK `POST` goes to the SDK protocol, a GET to the routes, and a
request no route takes is offered to the other protocol (its `foreign` answer) before the 404;
the Service itself never calls the SDK protocol."""

from __future__ import annotations

from typing import Any, cast

from paramsecrets.api.dispatch import Dispatcher
from paramsecrets.api.sdk.protocol import SdkProtocol
from paramsecrets.http.parser import Request
from paramsecrets.testing.stack import TOKEN, Stack, parse
from tests.policy.conftest import param


class RecordingSdk:
    """Stands in for the SDK protocol: says what it was handed."""

    def __init__(self, foreign_answer: bytes | None) -> None:
        self.posts: list[bytes] = []
        self.foreign_asked: list[bytes] = []
        self.foreign_answer = foreign_answer

    def respond(self, request: Request) -> bytes:
        self.posts.append(request.target)
        return b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nsdk"

    def foreign(self, request: Request) -> bytes | None:
        self.foreign_asked.append(request.target)
        return self.foreign_answer


def dispatcher(stack: Stack, sdk: RecordingSdk) -> Dispatcher:
    return Dispatcher(stack.service, cast(SdkProtocol, sdk))


def get(target: str) -> Request:
    return Request(b"GET", target.encode(), b"HTTP/1.1", token=TOKEN, keep_alive=True)


async def answer(answered: Any) -> bytes:
    return answered if isinstance(answered, bytes) else await answered


async def test_a_post_to_an_sdk_path_goes_to_the_sdk_protocol_and_a_get_to_the_routes() -> None:
    stack = Stack(ssm_ttl=100)
    stack.upstream.put_parameter("/a", "v")
    sdk = RecordingSdk(None)
    front = dispatcher(stack, sdk)
    post = Request(b"POST", b"/", b"HTTP/1.1", keep_alive=True)
    assert parse(await answer(front.respond(post))).body == b"sdk"
    got = parse(await answer(front.respond(get(param("/a")))))
    assert (got.status, got.cache, sdk.posts) == (200, "miss", [b"/"])
    assert stack.upstream.calls["GetParameter"] == 1


async def test_a_request_no_route_takes_is_offered_to_the_other_protocol_first() -> None:
    stack = Stack()
    claimed = b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nforeign"
    front = dispatcher(stack, RecordingSdk(claimed))
    assert parse(await answer(front.respond(get("/2015-03-31/functions")))).body == b"foreign"
    unclaimed = RecordingSdk(None)
    front = dispatcher(Stack(), unclaimed)
    assert parse(await answer(front.respond(get("/nowhere")))).status == 404
    assert unclaimed.foreign_asked == [b"/nowhere"]


async def test_without_a_dispatcher_the_service_answers_no_post() -> None:
    stack = Stack()
    post = Request(b"POST", b"/", b"HTTP/1.1", token=TOKEN, keep_alive=True)
    assert parse(await answer(stack.service.respond(post))).status == 405
