"""Every reference in the documentation resolves inside this repository: relative links (and their
#anchors), file paths written in backticks, and names of other documents. The docs must stand
alone: no pointer to a contract, design or testing note that is not in the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md"), *(REPO / "examples").glob("*/README.md"),
               *(REPO / "tests").glob("*/README.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\n]+)`")
# A repository path in backticks: a top folder of this repository, then a path.
PATH = re.compile(r"^(?:src|tests|bench|docs|examples|\.ci)/[\w./@+-]*$")
TOP_FILES = ("Makefile", "Dockerfile", "pyproject.toml", "README.md", ".dockerignore")
MD_NAME = re.compile(r"(?<![\w/.-])([A-Za-z][\w-]*\.md)\b")
OUTSIDE = re.compile(r"\bthe contract\b|§\s*\d|/work/shared", re.I)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in path.read_text().splitlines() if line.startswith("#")}


def doc_id(path: Path) -> str:
    return str(path.relative_to(REPO))


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_relative_links_resolve(doc: Path) -> None:
    broken = []
    for target in LINK.findall(doc.read_text()):
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (doc.parent / path_part).resolve() if path_part else doc
        inside = resolved.exists() and (REPO in resolved.parents or resolved == REPO)
        anchored = not anchor or resolved.suffix != ".md" or (inside and anchor in anchors(resolved))
        if not (inside and anchored):
            broken.append(target)
    assert not broken, f"{doc_id(doc)}: {broken}"


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_paths_in_backticks_exist(doc: Path) -> None:
    missing = []
    for span in CODE.findall(doc.read_text()):
        for word in span.split():
            word = word.strip("'\",;:()")
            if (PATH.match(word) or word in TOP_FILES) and not (REPO / word.rstrip("/")).exists():
                missing.append(word)
    assert not missing, f"{doc_id(doc)}: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_named_documents_exist_and_nothing_points_outside(doc: Path) -> None:
    text = doc.read_text()
    known = {path.name for path in REPO.rglob("*.md") if ".venv" not in path.parts and ".cache" not in path.parts}
    unknown = sorted({name for name in MD_NAME.findall(text) if name not in known})
    assert not unknown, f"{doc_id(doc)} names documents not in the repository: {unknown}"
    outside = OUTSIDE.findall(text)
    assert not outside, f"{doc_id(doc)} points outside the repository: {outside}"


INSTALL_FROM_PYPI = re.compile(r"pip install\s+(?:--\S+\s+)*['\"]?paramsecrets\b")


def test_nothing_says_to_install_paramsecrets_from_pypi() -> None:
    """paramsecrets is not on PyPI: every install line installs from this repository (`.`, a path)."""
    files = [*DOCS, REPO / "examples" / "sam" / "layer" / "Makefile", *(REPO / "examples").rglob("*.py"),
             *(REPO / "src").rglob("*.py")]
    found = [f"{doc_id(path)}: {match.group(0)}" for path in files
             for match in INSTALL_FROM_PYPI.finditer(path.read_text())]
    assert not found, found
    readme = (REPO / "README.md").read_text()
    assert "pip install '.[dev]'" in readme and "not on PyPI" in readme
