"""bench/hit.py prints by default and rewrites files under docs/ only when asked (--write-docs, as
`make bench` does): a quick run on a busy machine must not replace the published figures."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def hit_module() -> object:
    spec = importlib.util.spec_from_file_location("bench_hit", REPO / "bench" / "hit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    before = list(sys.path)
    sys.modules["bench_hit"] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = before
        del sys.modules["bench_hit"]
    return module


def test_the_default_leaves_docs_alone_and_write_docs_writes() -> None:
    hit = hit_module()
    assert hit.parse_args([]).write_docs is False  # type: ignore[attr-defined]
    assert hit.parse_args(["--write-docs"]).write_docs is True  # type: ignore[attr-defined]
    assert hit.parse_args(["--no-write"]).write_docs is False  # type: ignore[attr-defined]
    lines = (REPO / "bench" / "hit.py").read_text().splitlines()
    publishing = [i for i, line in enumerate(lines) if "common.publish(" in line]
    assert len(publishing) == 1, "bench/hit.py writes docs/ in one place"
    guard = [line for line in lines[:publishing[0]] if line.strip()][-2]  # the `if` above `summaries = ...`
    assert guard.strip().startswith("if args.write_docs"), guard


def test_make_bench_asks_for_the_docs_to_be_written() -> None:
    assert "bench/hit.py --write-docs" in (REPO / "Makefile").read_text()
