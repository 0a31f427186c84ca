"""The README's error table and the prose under it agree: the rows it says come from the HTTP layer
(those whose detailed column says "same") are exactly the ones whose code the HTTP layer
(src/paramsecrets/http/) produces, and the prose names them instead of counting them ("the last
four" once named rows that had moved)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def error_rows() -> list[list[str]]:
    section = README.split("### Errors", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| cause")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows if not row.startswith("|---")]


def http_layer_codes() -> set[str]:
    source = "\n".join(path.read_text() for path in (REPO / "src/paramsecrets/http").glob("*.py"))
    return set(re.findall(r'"([A-Z][A-Za-z]+)"', source))


def test_rows_said_to_be_the_http_layers_are_the_http_layers() -> None:
    rows = error_rows()
    assert len(rows) >= 15, rows
    same = [row for row in rows if row[2] == "same"]
    assert same, "no row says 'same'"
    codes = http_layer_codes()
    for cause, _default, _detailed, code in same:
        assert code.strip("`") in codes, (cause, code)
    section = README.split("### Errors", 1)[1]
    assert 'detailed column says "same"' in section
    assert not re.search(r"\bthe (last|first) (two|three|four|five|six|seven)\b", section.split("\n### ", 1)[0])
