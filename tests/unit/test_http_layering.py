"""`paramsecrets.http` is the bottom layer: it imports the standard library and itself, nothing above."""

from __future__ import annotations

import sys
from pathlib import Path

import paramsecrets.http
from tests.unit.test_package_layers import imported_modules

HTTP = Path(paramsecrets.http.__file__).parent


def test_http_imports_only_the_standard_library_and_itself() -> None:
    files = sorted(HTTP.glob("*.py"))
    assert {path.name for path in files} >= {"connection.py", "parser.py", "responses.py", "server.py"}
    for path in files:
        for module in imported_modules(path):
            top = module.split(".")[0]
            assert module.startswith("paramsecrets.http") or (
                top != "paramsecrets" and top in sys.stdlib_module_names), f"{path.name} imports {module}"


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from paramsecrets.cache.shapes import encode\n")
    assert imported_modules(bad) == {"paramsecrets.cache.shapes"}
