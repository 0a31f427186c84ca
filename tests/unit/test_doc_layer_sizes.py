"""docs/lambda.md quotes the layer's sizes as last measured (docs/performance-cold-start.md's table,
which bench/cold_start.py writes): the two must not drift apart again."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def measured() -> dict[str, tuple[str, str, str]]:
    rows = re.findall(r"^\| (x86_64|arm64) \| ([\d.]+) MiB \| ([\d.]+) MiB \| (\d+) \|",
                      (DOCS / "performance-cold-start.md").read_text(), re.M)
    return {arch: (zipped, unpacked, files) for arch, zipped, unpacked, files in rows}


def test_lambda_md_quotes_the_measured_sizes() -> None:
    sizes = measured()
    assert set(sizes) == {"x86_64", "arm64"}
    text = (DOCS / "lambda.md").read_text()
    zipped, unpacked, files = sizes["x86_64"]
    assert f"wrote paramsecrets-layer-x86_64.zip: {zipped} MiB zipped, {unpacked} MiB unpacked, {files} files" in text
    zipped, unpacked, files = sizes["arm64"]
    assert f"arm64 zip is {zipped} MiB zipped, {unpacked} MiB unpacked, {files} files" in text
    for stale in re.findall(r"(\d+\.\d+) MiB zipped", text):  # measured figures, not the budget
        assert stale in (sizes["x86_64"][0], sizes["arm64"][0]), stale
