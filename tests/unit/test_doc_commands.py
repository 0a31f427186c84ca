"""Commands in the docs that a newcomer pastes must leave them able to go on: a token generated on
the server's own command line (`AWS_TOKEN=$(openssl rand -hex 16) paramsecrets serve`) is known to
no shell and printed nowhere, so no client can send it."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md"), *(REPO / "examples").glob("*/README.md")])
# A variable set from a command substitution, as a prefix of another command on the same line.
UNKNOWN_TOKEN = re.compile(r"\b\w*TOKEN=\$\([^)]*\)\s+(?!#)\S")


def test_no_doc_generates_a_token_only_for_one_command() -> None:
    found = [f"{doc.relative_to(REPO)}:{number}: {line.strip()}"
             for doc in DOCS for number, line in enumerate(doc.read_text().splitlines(), 1)
             if UNKNOWN_TOKEN.search(line) and "export " not in line.split("TOKEN=")[0][-8:]
             and "one line would" not in line]
    assert not found, "\n".join(found)


def test_the_pattern_finds_the_trap() -> None:
    assert UNKNOWN_TOKEN.search("AWS_TOKEN=$(openssl rand -hex 16) paramsecrets serve")
    assert not UNKNOWN_TOKEN.search("export AWS_TOKEN=$(openssl rand -hex 16)   # exported")
