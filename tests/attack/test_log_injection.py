"""Issue 22 item 9: what a client sends cannot forge a log line or put control bytes in the log.

A `%0A` in a name used to end the log line at INFO and start a forged one; control bytes (an
ANSI escape, a carriage return) reached the log raw. Everything is escaped before it is logged.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from paramsecrets import log
from paramsecrets.testing.server import ServerProcess
from paramsecrets.testing.targets import PARAM

FORGED = "[paramsecrets] 2020/01/01 00:00:00 INFO forged-line"
CLIENT_TEXTS = ["/x\n" + FORGED, "/x\r" + FORGED, "/x\x1b[2J\x1b[31mred", "/x\u2028" + FORGED, "/x\x00nul\x85"]


def test_escape_leaves_printable_text_alone_and_escapes_the_rest() -> None:
    assert log.escape("GET /app/db é 中 'quoted'") == "GET /app/db é 中 'quoted'"
    assert log.escape("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert log.escape("\x1b[31m\x7f\x00\x85\u2028\u202e") == "\\x1b[31m\\x7f\\x00\\x85\\u2028\\u202e"


def test_names_and_query_keys_cannot_forge_a_line(serve: Callable[..., ServerProcess]) -> None:
    server = serve()  # detailed profile; the default INFO level
    for text in CLIENT_TEXTS:
        encoded = quote(text, safe="/")
        for path in (PARAM + encoded, PARAM + "/ok&" + encoded.lstrip("/") + "=1",
                     "/secretsmanager/get?secretId=" + encoded, "/v1/" + encoded.lstrip("/")):
            answer = server.get(path)
            assert answer.status in (400, 404), (path, answer.status)
    assert server.stop() == 0
    output = server.output()
    lines = output.splitlines()
    assert not any(line.startswith(FORGED) for line in lines)
    assert all(line.startswith("[paramsecrets] ") for line in lines if "forged-line" in line)
    # Each forged text was logged, escaped, inside a real line.
    assert sum("\\n" + FORGED in line for line in lines) >= 1
    assert sum("\\u2028" + FORGED in line for line in lines) >= 1
    for raw in ("\x1b", "\r", "\x00", "\x85", "\u2028"):
        assert raw not in output
