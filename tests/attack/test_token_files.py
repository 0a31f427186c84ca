"""Item 8 (and the token minimum of item 9): token files and values that must not become the token."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paramsecrets.api.tokens import MAX_TOKEN_FILE_BYTES, MIN_TOKEN_LENGTH, Token, TokenError, read_token_file, resolve
from paramsecrets.testing.moto import wait_until
from paramsecrets.testing.net import free_port
from paramsecrets.testing.server import TOKEN_HEADER, ServerProcess, run_command, start_server
from tests.integration.conftest import Seeded

GOOD = "a-good-token-0123456789"
PLAIN = "/systemsmanager/parameters/get?name=/app/plain"


def token_file(tmp_path: Path, content: bytes = GOOD.encode(), mode: int = 0o600) -> Path:
    path = tmp_path / "token"
    path.write_bytes(content)
    path.chmod(mode)
    return path


def refusal(path: Path | str) -> str:
    with pytest.raises(TokenError) as error:
        read_token_file(str(path), "AWS_TOKEN")
    message = str(error.value)
    assert message.startswith(f"AWS_TOKEN points at {path}, which ")
    assert GOOD not in message
    return message


def test_a_good_file_and_a_symlink_to_it_are_read(tmp_path: Path) -> None:
    path = token_file(tmp_path, GOOD.encode() + b"\n")
    link = tmp_path / "link"
    link.symlink_to(path)  # Kubernetes secret volumes are symlinks to regular files
    assert read_token_file(str(path), "AWS_TOKEN") == read_token_file(str(link), "AWS_TOKEN") == GOOD.encode()


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert "is not a regular file" in refusal(fifo)  # before: open() waited for a writer, forever
    link = tmp_path / "link"
    link.symlink_to(fifo)
    assert "is not a regular file" in refusal(link)


def test_devices_and_directories_are_refused(tmp_path: Path) -> None:
    link = tmp_path / "zero"
    link.symlink_to("/dev/zero")
    assert "is not a regular file" in refusal(link)
    assert "is not a regular file" in refusal(tmp_path)


def test_an_oversized_file_is_refused(tmp_path: Path) -> None:
    path = token_file(tmp_path, b"x" * (MAX_TOKEN_FILE_BYTES + 1))
    assert "larger than 64 KiB" in refusal(path)


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_a_file_others_can_write_is_refused(tmp_path: Path, mode: int) -> None:
    assert "writable by its group or by other users" in refusal(token_file(tmp_path, mode=mode))


def test_content_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    assert "does not hold UTF-8 text" in refusal(token_file(tmp_path, b"\xff\xfe" + b"x" * 20))


def test_control_characters_are_refused(tmp_path: Path) -> None:
    assert "control characters" in refusal(token_file(tmp_path, b"abc\x00def" * 4))


def test_short_tokens_are_refused_with_the_minimum_named() -> None:
    with pytest.raises(TokenError) as error:
        resolve(["AWS_TOKEN"], {"AWS_TOKEN": "x"})
    assert f"at least {MIN_TOKEN_LENGTH}" in str(error.value) and "1 characters" in str(error.value)
    assert resolve(["AWS_TOKEN"], {"AWS_TOKEN": "y" * MIN_TOKEN_LENGTH}).matches(b"y" * MIN_TOKEN_LENGTH)


def test_an_undecodable_environment_value_is_a_token_error() -> None:
    with pytest.raises(TokenError, match="UTF-8"):
        resolve(["AWS_TOKEN"], {"AWS_TOKEN": "abc\udcff" * 8})


def test_a_bad_reread_keeps_the_last_good_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = token_file(tmp_path)
    token = Token("AWS_TOKEN", read_token_file(str(path), "AWS_TOKEN"), str(path))
    warnings: list[str] = []
    monkeypatch.setattr("paramsecrets.api.tokens.log.warn", lambda message, *args: warnings.append(message % args))
    path.write_bytes(b"\xff" * 20)
    for _ in range(3):
        token._next_check = 0.0  # as if the re-check interval had passed
        assert token.matches(GOOD.encode()) and not token.matches(b"\xff" * 20)
    assert len(warnings) == 1 and "UTF-8" in warnings[0]  # logged once, not once per check
    path.unlink()
    os.mkfifo(path)
    token._next_check = 0.0
    assert token.matches(GOOD.encode())
    assert "not a regular file" in warnings[-1]


def test_refused_at_start_is_a_configuration_error(aws_env: dict[str, str], tmp_path: Path) -> None:
    path = token_file(tmp_path, b"\xff\xfe-not-utf8-but-long-enough")
    result = run_command(["serve", "--port", str(free_port())], {**aws_env, "AWS_TOKEN": f"file://{path}"}, tmp_path)
    stderr = result.stderr.decode() + result.stdout.decode()
    assert result.returncode == 2 and "does not hold UTF-8 text" in stderr and "Traceback" not in stderr


def test_a_token_file_swapped_for_a_fifo_does_not_freeze_the_server(aws_env: dict[str, str], tmp_path: Path,
                                                                     seeded: Seeded) -> None:
    path = token_file(tmp_path)
    server: ServerProcess = start_server({**aws_env, "AWS_TOKEN": f"file://{path}"}, tmp_path)
    try:
        assert server.get(PLAIN, headers={TOKEN_HEADER: GOOD}, token=False).status == 200
        path.unlink()
        os.mkfifo(path)
        # Each request may re-check the file (at most once a second): it keeps being answered.
        assert wait_until(lambda: server.get(PLAIN, headers={TOKEN_HEADER: GOOD}, token=False).status == 200
                          and "not a regular file" in server.output(), timeout=30)
    finally:
        server.stop()


def test_undecodable_bytes_on_reread_give_no_500_and_are_not_accepted(aws_env: dict[str, str], tmp_path: Path,
                                                                       seeded: Seeded) -> None:
    path = token_file(tmp_path)
    server = start_server({**aws_env, "AWS_TOKEN": f"file://{path}"}, tmp_path)
    try:
        path.write_bytes(b"\xff" * 20)
        statuses: list[int] = []

        def reread_logged() -> bool:
            statuses.append(server.get(PLAIN, headers={TOKEN_HEADER: GOOD}, token=False).status)
            return "UTF-8" in server.output()

        assert wait_until(reread_logged, timeout=30)
        assert set(statuses) == {200}  # never a 500; the last good token still works
        assert server.get(PLAIN, headers={TOKEN_HEADER: "\xff" * 20}, token=False).status == 401
        assert server.output().count("UTF-8") == 1
        assert "Traceback" not in server.output() and "internal error" not in server.output()
    finally:
        server.stop()
