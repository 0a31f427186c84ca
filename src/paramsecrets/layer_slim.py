"""Make the staged layer smaller before it is zipped: one call, `slim(stage, progress)`, from layer.py.

Why: Lambda unpacks the layer at every cold start and counts its size against the 250 MB limit;
much of what the inputs carry is never used at run time. Debug information first:
`_awscrt.abi3.so` ships DWARF and a static symbol table (4.6 MiB of its 11.5 MiB), which
elf_strip.py removes in Python (no binutils needed to build the layer).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from paramsecrets import elf_strip

Progress = Callable[[str], object]


@dataclasses.dataclass
class SlimReport:
    """What slim() removed, in bytes, for the build's progress lines."""

    stripped: int = 0


def slim(stage: Path, progress: Progress) -> SlimReport:
    """Strip the ELF files under `stage` of what no loader reads."""
    report = SlimReport()
    for path in sorted(stage.rglob("*")):
        if path.is_file() and not path.is_symlink():
            report.stripped += elf_strip.strip_file(path)
    progress(f"  slimmed: {_mib(report.stripped)} of ELF debug sections and static symbols")
    return report


def _mib(size: int) -> str:
    return f"{size / 1048576:.1f} MiB"
