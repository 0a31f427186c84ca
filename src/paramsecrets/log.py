"""Log lines in the AWS extension's format: `[paramsecrets] YYYY/MM/DD HH:MM:SS LEVEL message`.

A dozen lines instead of the `logging` package: it costs nothing to import on the cold-start
path. Any registered secret (the token) is scrubbed from every line as a last line of defence;
the code never logs values in the first place. Names and messages can quote what a client sent
(a percent-decoded `%0A` in a name is a newline), so every character that is not printable is
escaped (`\\n`, `\\x1b`, `\\u2028`): one call is always one line, and no client can forge one.
"""

from __future__ import annotations

import os
import time

PREFIX = "[paramsecrets]"
LEVELS = {"debug": 10, "info": 20, "warn": 30, "error": 40, "none": 100}
_state = {"level": LEVELS["info"]}
_secrets: set[str] = set()
REDACTED = "<redacted>"


def configure(level: str) -> None:
    _state["level"] = LEVELS[level]


def enabled(level: str) -> bool:
    return LEVELS[level] >= _state["level"]


def redact(secret: str | None) -> None:
    """Never print `secret` (a token), whatever line it sneaks into."""
    if secret and len(secret) >= 4:
        _secrets.add(secret)


def scrub(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def escape(text: str) -> str:
    """`text` with every non-printable character (control bytes, CR, LF, Unicode line and paragraph
    separators, bidirectional overrides) written as a Python escape such as `\\n` or `\\x1b`."""
    if text.isprintable():  # the usual case: nothing to do
        return text
    return "".join(char if char.isprintable() else _escaped(char) for char in text)


def _escaped(char: str) -> str:
    code = ord(char)
    special = {10: "\\n", 13: "\\r", 9: "\\t"}.get(code)
    if special:
        return special
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _emit(level: str, message: str) -> None:
    stamp = time.strftime("%Y/%m/%d %H:%M:%S")
    line = f"{PREFIX} {stamp} {level.upper()} {escape(scrub(message))}\n"
    try:  # noqa: SIM105 (contextlib costs ~1.4 ms of CPU to import, during Lambda's INIT)
        os.write(1, line.encode("utf-8", "replace"))
    except OSError:  # stdout gone (closed pipe): never take the server down
        pass


def debug(message: str, *args: object) -> None:
    if _state["level"] <= 10:
        _emit("debug", message % args if args else message)


def info(message: str, *args: object) -> None:
    if _state["level"] <= 20:
        _emit("info", message % args if args else message)


def warn(message: str, *args: object) -> None:
    if _state["level"] <= 30:
        _emit("warn", message % args if args else message)


def error(message: str, *args: object) -> None:
    if _state["level"] <= 40:
        _emit("error", message % args if args else message)
