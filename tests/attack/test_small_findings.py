"""Issue 22, item 13: the smaller attack findings, one regression test each.

A world-readable token file is accepted with a warning; a deleted token file revokes the token
(every request 401 until it is back); a token no request could carry is refused at start; a value
larger than the cache's byte bound is counted and logged (never the value); `X-Forwarded-Host` and
`Via` are refused like the other proxy headers (tests/unit/test_http_parser.py and
test_smuggling.py hold those cases).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from paramsecrets.api import tokens
from paramsecrets.api.tokens import MAX_TOKEN_LENGTH, Token, TokenError, read_token_file, resolve
from paramsecrets.cache import reader
from paramsecrets.http.parser import MAX_HEADER_BYTES, parse
from paramsecrets.testing.moto import wait_until
from paramsecrets.testing.net import free_port
from paramsecrets.testing.server import TOKEN_HEADER, run_command, start_server
from paramsecrets.testing.stack import Stack
from tests.integration.conftest import Seeded

GOOD = "a-good-token-0123456789"
PLAIN = "/systemsmanager/parameters/get?name=/app/plain"


def token_file(tmp_path: Path, mode: int, content: str = GOOD) -> Path:
    path = tmp_path / "token"
    path.write_text(content)
    path.chmod(mode)
    return path


def captured(monkeypatch: pytest.MonkeyPatch, level: str, module: object = tokens) -> list[str]:
    lines: list[str] = []
    monkeypatch.setattr(module.log, level, lambda message, *args: lines.append(message % args))  # type: ignore[attr-defined]
    return lines


@pytest.mark.parametrize(("mode", "warned"), [(0o644, True), (0o604, True), (0o640, False), (0o600, False),
                                              (0o440, False)])
def test_a_token_file_every_user_can_read_is_accepted_with_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int, warned: bool) -> None:
    warnings = captured(monkeypatch, "warn")
    path = token_file(tmp_path, mode)
    assert read_token_file(str(path), "AWS_TOKEN") == GOOD.encode()
    if warned:
        assert len(warnings) == 1 and "readable by every user" in warnings[0] and "chmod o-r" in warnings[0]
        assert str(path) in warnings[0] and GOOD not in warnings[0]
    else:
        assert warnings == []


def test_a_deleted_token_file_revokes_the_token_until_it_is_back(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    errors = captured(monkeypatch, "error")
    path = token_file(tmp_path, 0o600)
    token = Token("AWS_TOKEN", read_token_file(str(path), "AWS_TOKEN"), str(path))
    assert token.matches(GOOD.encode())
    path.unlink()
    for _ in range(3):
        token._next_check = 0.0  # as if the re-check interval had passed
        assert not token.matches(GOOD.encode())
    assert len(errors) == 1 and "is gone" in errors[0] and "401" in errors[0]  # said once, not per check
    token_file(tmp_path, 0o600, "the-next-token-0123456789")
    token._next_check = 0.0
    assert token.matches(b"the-next-token-0123456789") and not token.matches(GOOD.encode())


def test_a_dangling_symlink_revokes_the_token_too(tmp_path: Path) -> None:
    """Kubernetes mounts a secret as a symlink; a removed target leaves it dangling."""
    target = token_file(tmp_path, 0o600)
    link = tmp_path / "link"
    link.symlink_to(target)
    token = Token("AWS_TOKEN", read_token_file(str(link), "AWS_TOKEN"), str(link))
    target.unlink()
    token._next_check = 0.0
    assert not token.matches(GOOD.encode())


def test_a_deleted_token_file_is_refused_by_the_running_server(aws_env: dict[str, str], tmp_path: Path,
                                                                seeded: Seeded) -> None:
    path = token_file(tmp_path, 0o600)
    server = start_server({**aws_env, "AWS_TOKEN": f"file://{path}"}, tmp_path)
    try:
        def status() -> int:
            return server.get(PLAIN, headers={TOKEN_HEADER: GOOD}, token=False).status

        assert status() == 200
        path.unlink()
        assert wait_until(lambda: status() == 401, timeout=30)
        assert "is gone" in server.output() and GOOD not in server.output()
        token_file(tmp_path, 0o600)
        assert wait_until(lambda: status() == 200, timeout=30)
    finally:
        server.stop()


def test_a_token_no_request_could_carry_is_refused_at_start(aws_env: dict[str, str], tmp_path: Path) -> None:
    longest = "t" * MAX_TOKEN_LENGTH
    assert resolve(["AWS_TOKEN"], {"AWS_TOKEN": longest}).matches(longest.encode())
    with pytest.raises(TokenError) as error:
        resolve(["AWS_TOKEN"], {"AWS_TOKEN": longest + "t"})
    assert f"at most {MAX_TOKEN_LENGTH} bytes" in str(error.value) and longest not in str(error.value)
    # The longest accepted token does fit in a request, beside the headers an SDK sends.
    head = (f"GET {PLAIN} HTTP/1.1\r\nHost: localhost:2773\r\n{TOKEN_HEADER}: {longest}\r\n"
            + "".join(f"X-Other-{i}: {'v' * 200}\r\n" for i in range(40)) + "\r\n").encode()
    assert len(head) < MAX_HEADER_BYTES
    parsed = parse(head)
    assert parsed is not None and parsed[0].token == longest.encode()
    started = run_command(["serve", "--port", str(free_port())], {**aws_env, "AWS_TOKEN": longest + "t"}, tmp_path)
    assert started.returncode == 2 and "no request could carry it" in started.stderr.decode()


def test_a_value_larger_than_the_byte_bound_is_served_counted_and_logged(monkeypatch: pytest.MonkeyPatch) -> None:
    warnings = captured(monkeypatch, "warn", reader)
    big = "B" * 70_000  # over the smallest CACHE_MAX_BYTES (65536)

    async def scenario() -> list[object]:
        stack = Stack(cache_max_bytes=65536)
        stack.upstream.put_parameter("/big", big)
        stack.upstream.put_parameter("/small", "s")
        answers = [await stack.get("/systemsmanager/parameters/get?name=/big") for _ in range(3)]
        await stack.get("/systemsmanager/parameters/get?name=/small")
        metrics = (await stack.get("/metrics")).body.decode()
        return [answers, stack.upstream.calls["GetParameter"], stack.metrics.too_large, metrics, len(stack.cache)]

    answers, calls, too_large, metrics, entries = asyncio.run(scenario())
    assert [a.status for a in answers] == [200] * 3  # type: ignore[attr-defined]
    assert [a.cache for a in answers] == ["miss"] * 3  # type: ignore[attr-defined]
    assert (calls, too_large, entries) == (4, 3, 1)
    assert "paramsecrets_cache_too_large_total 3" in str(metrics)
    assert len(warnings) == 2  # the 1st and 2nd, then the 4th, 8th...: a hot value cannot flood the log
    assert "parameter /big" in warnings[0] and "CACHE_MAX_BYTES" in warnings[0]
    assert all(big[:100] not in line for line in warnings)


def test_a_value_that_fits_is_cached_and_not_counted() -> None:
    async def scenario() -> tuple[int, int]:
        stack = Stack(cache_max_bytes=65536)
        stack.upstream.put_parameter("/fits", "F" * 60_000)
        await stack.get("/systemsmanager/parameters/get?name=/fits")
        return stack.metrics.too_large, len(stack.cache)

    assert asyncio.run(scenario()) == (0, 1)
