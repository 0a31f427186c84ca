"""`python -m paramsecrets.layer.release_notes VERSION`: print CHANGELOG.md's section for VERSION (the body
of the GitHub release; release.yml uses it) and fail when there is none, so a tag cannot be
released without its changelog entry, nor with a version other than `__version__`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import paramsecrets

CHANGELOG = Path(__file__).resolve().parents[3] / "CHANGELOG.md"


class NotesError(Exception):
    """No section for that version, or the version is not the package's."""


def section(version: str, text: str) -> str:
    """The body under `## [version] - date` up to the next `## ` heading."""
    match = re.search(rf"^## \[{re.escape(version)}\][^\n]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not match or not match.group(1).strip():
        raise NotesError(f"CHANGELOG.md has no section `## [{version}] - <date>`: rename `## [Unreleased]` "
                         "to it before tagging")
    return match.group(1).strip() + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    version = (args[0] if args else paramsecrets.__version__).removeprefix("v")
    try:
        if version != paramsecrets.__version__:
            raise NotesError(f"the tag says {version}, the package says {paramsecrets.__version__} "
                             "(src/paramsecrets/__init__.py)")
        sys.stdout.write(section(version, CHANGELOG.read_text(encoding="utf-8")))
    except (NotesError, OSError) as error:
        print(f"release notes: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
