"""Chart of the x86_64 layer's size and its server's memory per commit (issue 20's changes).

    .venv/bin/python bench/layer_history.py            # writes docs/layer_history.png

The figures are measured, not computed here: sizes from each commit's `paramsecrets layer build`
(the strip-only row: the base zip with elf_strip applied to its ELF files, which is what that
commit builds), memory from `bench/layer_memory.py --layer ZIP` run on the three zips one after
the other (2026-12-07, load average 7.8-12.7 on this shared 2-core machine), each against the
idle bundled interpreter measured in the same run (7.5 MiB RSS in all three). The last two rows:
`bench/layer_memory.py --layer ZIP --no-write` alternating between the two zips, two runs each
(2026-12-07, load average 2.2-3.9), the lower of each pair's figures. The 0efaf9c and a5594ff
rows: `bench/layer_memory.py --layer ZIP` on each (2026-12-07, load average 0.5-0.7; the a5594ff
run's steps 2-3 import as `serve` does, without `ssl`). Add a row when a commit changes the layer.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

# commit, what changed, zipped MiB, unpacked MiB, RSS serving MiB, RSS after 1,000 values MiB,
# idle interpreter RSS in the same run (the reference).
HISTORY = (
    ("50cceb3", "before issue 20", 11.77, 31.87, 24.0, 26.6, 7.5),
    ("72f8ef8", "ELF debug sections stripped", 10.01, 26.56, 24.2, 26.8, 7.5),
    ("0050d51", "sourceless, -OO stdlib, pruned modules", 7.96, 19.87, 23.7, 26.2, 7.5),
    ("37d8fae", "stdlib archived (deflated), issues 17-23 merged", 8.13, 18.57, 23.5, 26.2, 7.6),
    ("16dbd1d", "hit replay, serve stdlib stored", 8.12, 19.72, 23.4, 26.1, 7.4),
    ("0efaf9c", "issues 18-23 merged", 8.13, 19.77, 23.5, 26.2, 7.6),
    ("a5594ff", "env credentials, deferred imports", 8.14, 19.55, 22.4, 25.2, 7.5),
)
CHART = common.DOCS / "layer_history.png"


def main() -> int:
    plt = common.pyplot()
    figure, (sizes, memory) = plt.subplots(1, 2, figsize=(11, 4))
    labels = [commit + "\n" + "\n".join(textwrap.wrap(what, 18)) for commit, what, *_ in HISTORY]
    x = range(len(HISTORY))
    sizes.plot(x, [row[2] for row in HISTORY], marker="o", label="zipped")
    sizes.plot(x, [row[3] for row in HISTORY], marker="o", label="unpacked")
    sizes.axhline(8.5, linestyle=":", color="C0", label="budget zipped (8.5)")
    sizes.axhline(20, linestyle=":", color="C1", label="budget unpacked (20)")
    sizes.set_title("layer size (x86_64), MiB")
    memory.plot(x, [row[4] for row in HISTORY], marker="o", label="RSS serving, AWS client loaded")
    memory.plot(x, [row[5] for row in HISTORY], marker="o", label="RSS after 1,000 small values")
    memory.plot(x, [row[6] for row in HISTORY], marker="o", label="idle interpreter (same run)")
    memory.axhline(18, linestyle=":", color="C0", label="budget serving (18)")
    memory.axhline(22, linestyle=":", color="C1", label="budget 1,000 values (22)")
    memory.set_title("server memory on the layer's interpreter, MiB")
    for axis in (sizes, memory):
        axis.set_xticks(list(x), labels, fontsize=7)
        axis.set_ylim(bottom=0)
        axis.legend(fontsize=7)
    common.save_figure(figure, CHART)
    print(f"wrote {CHART}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
