"""Every example folder explains itself with a README, and the systemd README's install lines are
the unit's own (tests/sidecar/test_systemd_unit.py runs those)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(path for path in (REPO / "examples").iterdir()
                  if path.is_dir() and not path.name.startswith((".", "_")))


@pytest.mark.parametrize("folder", EXAMPLES, ids=lambda path: path.name)
def test_every_example_has_a_readme(folder: Path) -> None:
    readme = folder / "README.md"
    assert readme.is_file(), f"examples/{folder.name} has no README.md"
    text = readme.read_text()
    assert text.startswith("# ") and len(text.split()) > 60


def test_the_systemd_readme_repeats_the_units_install_lines() -> None:
    unit = (REPO / "examples/systemd/paramsecrets.service").read_text().split("[Unit]", 1)[0]
    lines = [line[len("#   "):] for line in unit.splitlines() if line.startswith("#   ")]
    readme = (REPO / "examples/systemd/README.md").read_text()
    assert len(lines) >= 4
    for line in lines:
        assert line in readme, line
