"""What each candidate stack costs to import: CPU, wall time and RSS, against a bare interpreter.

This is the evidence behind the library choices in docs/performance.md (awscrt over botocore, a
hand parser over aiohttp, no Python ssl). Each stack is imported in a fresh `python -I -S`
process (the flags the layer uses), several times; the median is reported, and every figure is
also shown relative to `pass` measured in the same run.

    .venv/bin/python bench/imports.py [--runs 7] [--markdown docs/performance-imports.md]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STACKS = {
    "pass (bare interpreter)": "pass",
    "asyncio": "import asyncio",
    "asyncio without ssl (what serve does)": "import sys; sys.modules['ssl'] = None; import asyncio",
    "awscrt (auth + http)": "import awscrt.auth, awscrt.http",
    "paramsecrets server, AWS client loaded": (
        "import sys; sys.modules['ssl'] = None; import asyncio; "
        "import paramsecrets.process.app, paramsecrets.aws.clients"),
    "paramsecrets before Lambda `next`": (
        "import paramsecrets.process.boot, paramsecrets.process.lambda_ext, paramsecrets.config, "
        "paramsecrets.api.tokens, "
        "paramsecrets.aws.settings"),
    "botocore + an SSM client": (
        "import botocore.session; botocore.session.get_session().create_client('ssm', region_name='us-east-1')"),
    "aiohttp": "import aiohttp",
}
PROBE = """
import sys, time, resource
sys.path[:0] = {paths!r}
t0 = time.perf_counter(); c0 = time.process_time()
exec({code!r})
wall = time.perf_counter() - t0; cpu = time.process_time() - c0
rss = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS'))
print(__import__('json').dumps({{'wall': wall, 'cpu': cpu, 'rss': rss}}))
"""


def measure(code: str, runs: int) -> dict[str, float] | None:
    paths = [str(ROOT / "src"), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    samples = []
    for _ in range(runs):
        result = subprocess.run([sys.executable, "-I", "-S", "-c", PROBE.format(paths=paths, code=code)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            return None  # not installed here
        samples.append(json.loads(result.stdout))
    return {key: statistics.median(sample[key] for sample in samples) for key in ("wall", "cpu", "rss")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    args = parser.parse_args()
    rows = []
    base = None
    for name, code in STACKS.items():
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        figures = measure(code, args.runs)
        if figures is None:
            rows.append(f"| {name} | not installed | | |")
            continue
        base = base or figures
        rows.append(f"| {name} | {figures['cpu'] * 1000:.0f} ms | {figures['wall'] * 1000:.0f} ms | "
                    f"{figures['rss'] / 1024:.1f} MiB (+{(figures['rss'] - base['rss']) / 1024:.1f}) |")
    table = "\n".join(["| stack | import CPU | import wall | RSS (over bare) |", "|---|---|---|---|", *rows])
    print(table)
    if args.markdown:
        args.markdown.write_text("## Import cost of candidate stacks\n\n`python bench/imports.py`: median of "
                                 f"{args.runs} fresh `python -I -S` processes, Python {sys.version.split()[0]}.\n\n"
                                 + table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
