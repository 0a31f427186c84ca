"""First-miss overhead: a cold key through the server against the same call made directly.

Budget: a miss costs the upstream latency plus under 10 ms. The reference is a
direct GetParameter to the same moto server in the same run (botocore client created before
timing, so only the call is timed); ours is a cold key's first read through `paramsecrets serve`
(signing, the call, shaping, caching). Keys alternate between the two so drift hits both alike.

    .venv/bin/python bench/first_miss.py [--keys 40] [--no-write]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

from paramsecrets.testing.moto import start_moto

DOC = common.DOCS / "performance-first-miss.md"
BUDGET_MS = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=40, help="cold keys read each way")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="paramsecrets-first-miss-"))
    moto = start_moto(workdir)
    server = None
    try:
        ssm = moto.client("ssm")
        names = [f"/first-miss/p{index:03d}" for index in range(2 * args.keys)]
        for name in names:
            ssm.put_parameter(Name=name, Value="v" * 200, Type="String")
        server = common.start_server(moto.url, workdir)
        time.sleep(1.0)  # the AWS client is set up in the background right after start: let it finish
        direct_ms, ours_ms = [], []
        for index in range(args.keys):
            started = time.perf_counter()
            ssm.get_parameter(Name=names[2 * index])
            direct_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            answer = server.get(f"/systemsmanager/parameters/get?name={names[2 * index + 1]}")
            ours_ms.append((time.perf_counter() - started) * 1000)
            if answer.status != 200 or answer.headers.get("x-paramsecrets-cache") != "miss":
                raise SystemExit(f"expected a 200 miss, got {answer.status} {answer.headers}")
        direct, ours = statistics.median(direct_ms), statistics.median(ours_ms)
        overhead = ours - direct
        verdict = "PASS" if overhead < BUDGET_MS else "FAIL"
        table = "\n".join([
            "| read | median | p90 |", "|---|---|---|",
            f"| direct GetParameter to moto (reference) | {direct:.1f} ms | {quantile(direct_ms, 0.9):.1f} ms |",
            f"| first read of a cold key through paramsecrets | {ours:.1f} ms | {quantile(ours_ms, 0.9):.1f} ms |",
            f"| overhead (ours - reference) | {overhead:+.1f} ms | budget < {BUDGET_MS:g} ms: {verdict} |",
        ])
        print(table)
        if not args.no_write:
            DOC.write_text(f"## First miss\n\n`python bench/first_miss.py`: {args.keys} cold keys each way, "
                           f"alternating, same moto server, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."
                           f"\n\n{table}\n")
            common.progress(f"wrote {DOC.relative_to(common.REPO)}")
        return 0
    finally:
        if server is not None:
            server.stop()
        moto.stop()


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


if __name__ == "__main__":
    raise SystemExit(main())
