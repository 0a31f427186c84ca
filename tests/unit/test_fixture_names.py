"""No two pytest fixtures share a name with different meanings: a fixture is defined once, under
tests/ or in one folder's conftest, and a test that wants something more specific names it so
(`cli_seeded`, not a second `seeded`)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]

SAME_MEANING = {
    # tests/faults defines its own copy of the suite-wide fault proxy (same object, same set-up).
    "proxy": {"tests/conftest.py", "tests/faults/conftest.py", "tests/faults/test_proxy.py"},
}
"""Names defined more than once on purpose, where every definition means the same thing."""


def _is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Attribute) and target.attr == "fixture"


def fixture_definitions() -> dict[str, set[str]]:
    """fixture name -> the files (relative to the repository) that define it."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(TESTS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                    _is_fixture(d) for d in node.decorator_list):
                found[node.name].add(path.relative_to(TESTS.parent).as_posix())
    return found


def test_the_scan_sees_the_shared_fixtures() -> None:
    definitions = fixture_definitions()
    assert definitions["moto"] == {"tests/conftest.py"}
    assert definitions["seeded"] == {"tests/integration/conftest.py"}


def test_every_fixture_name_has_one_meaning() -> None:
    repeated = {name: files for name, files in fixture_definitions().items() if len(files) > 1}
    unexpected = {name: sorted(files) for name, files in repeated.items()
                  if not files <= SAME_MEANING.get(name, set())}
    assert not unexpected, f"fixtures defined in several places: rename one or share it: {unexpected}"
