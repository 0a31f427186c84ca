"""Count the places in tests/ that wait on time or assert on durations.

A test that sleeps for a fixed time, or asserts that something took "under N seconds", passes or
fails with the machine's load: on a busy CI machine it fails by chance and blocks every submission.
This audit finds them by reading the code (AST, not grep), so the count can be reported before and
after a change and kept at zero outside bounded polls:

    python bench/timing_audit.py            # summary and every location
    python bench/timing_audit.py --quiet    # summary only

Counted:
- `sleep`: a call to `time.sleep` / `asyncio.sleep` (or a bare `sleep`) whose argument is a
  non-zero number literal. `sleep(0)` (a yield) is not counted.
- `poll`: the same sleeps inside a `while` loop, reported apart: a bounded poll for a condition is
  the accepted way for an end-to-end test to wait.
- `duration`: an `assert` whose expression reads a clock (`time.time()`, `time.monotonic()`,
  `time.perf_counter()`) or a name that says it holds a duration (`elapsed`, `took`, `duration`).
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLOCKS = frozenset({"time", "monotonic", "perf_counter", "monotonic_ns", "time_ns"})
DURATION_NAMES = ("elapsed", "took", "duration", "latency")


@dataclass(frozen=True)
class Finding:
    kind: str
    path: Path
    line: int
    text: str


def _is_sleep(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name == "sleep"


def _nonzero_literal(call: ast.Call) -> bool:
    if not call.args:
        return False
    arg = call.args[0]
    return isinstance(arg, ast.Constant) and isinstance(arg.value, int | float) and arg.value != 0


def _reads_clock_or_duration(node: ast.AST) -> bool:
    for child in ast.walk(node):
        if (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute) and child.func.attr in CLOCKS
                and isinstance(child.func.value, ast.Name) and child.func.value.id == "time"):
            return True
        if isinstance(child, ast.Name) and any(word in child.id.lower() for word in DURATION_NAMES):
            return True
        if isinstance(child, ast.Attribute) and any(word in child.attr.lower() for word in DURATION_NAMES):
            return True
    return False


class _Visitor(ast.NodeVisitor):
    def __init__(self, path: Path, lines: list[str]) -> None:
        self.path = path
        self.lines = lines
        self.loops = 0
        self.found: list[Finding] = []

    def _add(self, kind: str, node: ast.AST) -> None:
        line = getattr(node, "lineno", 0)
        self.found.append(Finding(kind, self.path, line, self.lines[line - 1].strip() if line else ""))

    def visit_While(self, node: ast.While) -> None:
        self.loops += 1
        self.generic_visit(node)
        self.loops -= 1

    def visit_Call(self, node: ast.Call) -> None:
        if _is_sleep(node) and _nonzero_literal(node):
            self._add("poll" if self.loops else "sleep", node)
        self.generic_visit(node)

    def visit_Assert(self, node: ast.Assert) -> None:
        if _reads_clock_or_duration(node.test):
            self._add("duration", node)
        self.generic_visit(node)


def audit(root: Path) -> list[Finding]:
    found: list[Finding] = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        visitor = _Visitor(path.relative_to(REPO), source.splitlines())
        visitor.visit(ast.parse(source, str(path)))
        found.extend(visitor.found)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="print the summary only")
    parser.add_argument("root", nargs="?", default=str(REPO / "tests"), help="folder to audit (default: tests/)")
    args = parser.parse_args(argv)
    found = audit(Path(args.root).resolve())
    if not args.quiet:
        for finding in found:
            print(f"{finding.kind:8} {finding.path}:{finding.line}: {finding.text}")
    counts = {kind: sum(1 for f in found if f.kind == kind) for kind in ("sleep", "duration", "poll")}
    print(f"fixed sleeps: {counts['sleep']}  duration assertions: {counts['duration']}  "
          f"sleeps inside polling loops: {counts['poll']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
