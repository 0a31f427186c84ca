"""CHANGELOG.md follows Keep a Changelog, has a section for the package's version, and the release
workflow's notes come from it; the version has one source (`paramsecrets.__version__`)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import paramsecrets
from paramsecrets.layer import release_notes

REPO = Path(__file__).resolve().parents[2]


def test_keep_a_changelog_shape() -> None:
    text = (REPO / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, re.M)
    assert headings[0] == ("Unreleased", "")
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) and d for v, d in headings[1:]), headings
    assert paramsecrets.__version__ in [v for v, _ in headings]
    kinds = set(re.findall(r"^### (\w+)$", text, re.M))
    assert kinds <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def test_notes_for_the_version() -> None:
    proc = subprocess.run([sys.executable, "-m", "paramsecrets.layer.release_notes", f"v{paramsecrets.__version__}"],
                          capture_output=True, text=True, timeout=60, check=True)
    assert proc.stdout.startswith("The first version") and "### Added" in proc.stdout
    assert "## [" not in proc.stdout, "only that version's section"


def test_a_tag_that_is_not_the_version_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert release_notes.main(["v9.9.9"]) == 2
    assert "the tag says 9.9.9, the package says" in capsys.readouterr().err
    with pytest.raises(release_notes.NotesError, match="rename `## \\[Unreleased\\]`"):
        release_notes.section("9.9.9", (REPO / "CHANGELOG.md").read_text())


def test_one_place_for_the_version() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "paramsecrets.__version__"}
