"""A port already taken: the refusal names the likely holder and what to do (issue 22, item 3).

In Lambda the usual holder is the AWS Parameters and Secrets Lambda Extension's layer, still
attached after paramsecrets was added (both read PARAMETERS_SECRETS_EXTENSION_HTTP_PORT), or
another extension; elsewhere another paramsecrets or `make dev`. Each test holds a free port itself.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from paramsecrets.process.listen import bind


@pytest.fixture
def held_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield holder.getsockname()[1]


@pytest.mark.parametrize("address", ["", "127.0.0.1"], ids=["loopback", "explicit"])
def test_in_lambda_the_aws_layer_is_named(held_port: int, address: str) -> None:
    sockets, error = bind(held_port, address, in_lambda=True)
    assert sockets == []
    assert error is not None
    assert error.startswith(f"cannot listen on 127.0.0.1:{held_port}: Address already in use: ")
    assert "AWS Parameters and Secrets Lambda Extension layer is still attached" in error
    assert "remove that layer" in error
    assert "AWS Systems Manager Cloud Extensions" in error


def test_outside_lambda_another_server_is_named(held_port: int) -> None:
    _, error = bind(held_port)
    assert error is not None
    assert "another process already listens on it" in error and "--port" in error
    assert "layer" not in error


def test_other_bind_failures_get_no_such_hint() -> None:
    """192.0.2.1 (TEST-NET-1) is no address of this machine: not a busy port."""
    _, error = bind(1, "192.0.2.1", in_lambda=True)
    assert error is not None and error.startswith("cannot listen on 192.0.2.1:1: ")
    assert "already listens" not in error
