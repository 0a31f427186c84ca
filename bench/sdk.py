"""boto3 `get_parameter` in a loop, straight to moto vs through paramsecrets' SDK protocol, same run.

    .venv/bin/python bench/sdk.py [--duration 5] [--rounds 3] [--no-write]

What a function gets by setting AWS_ENDPOINT_URL_SSM to paramsecrets and changing no code: one
boto3 client calling `get_parameter` back to back (as a handler does on every invocation), for
`--duration` seconds per round, alternating between the two targets so both see the same noise.
Reported per target (median of the rounds): calls per second, p50 and p99 latency as the client
sees it, and upstream calls (moto's own count of GetParameter for direct, paramsecrets'
`paramsecrets_upstream_calls_total` for ours). Every call through paramsecrets is checked to be
a hit after the first; the run is broken (exit 1) otherwise. Writes docs/performance-sdk.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import progress

PARAMETER = "/bench/sdk/config"
DOC = common.DOCS / "performance-sdk.md"
SECTION = "bench/sdk.py"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/sdk.py", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of calls per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per target (alternating)")
    parser.add_argument("--value-bytes", type=int, default=300, help="size of the parameter value")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    return parser.parse_args(argv)


def boto3_client(endpoint: str) -> Any:
    """The client a function builds: credentials from the environment the server was given too."""
    import boto3
    import botocore.config

    from paramsecrets.testing.moto import ACCESS_KEY, SECRET_KEY

    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                                    region_name=common.REGION)
    config = botocore.config.Config(retries={"total_max_attempts": 1})
    return session.client("ssm", endpoint_url=endpoint, config=config)


def loop(client: Any, seconds: float, check_hit: bool) -> tuple[int, list[float]]:
    """get_parameter back to back for `seconds`: (calls, latencies in µs)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while True:
        started = time.perf_counter()
        if started >= deadline:
            return len(latencies), latencies
        answer = client.get_parameter(Name=PARAMETER)
        latencies.append((time.perf_counter() - started) * 1e6)
        if check_hit and answer["ResponseMetadata"]["HTTPHeaders"].get("x-paramsecrets-cache") != "hit":
            raise RuntimeError(f"a call through paramsecrets was not a hit: {answer['ResponseMetadata']}")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def upstream_calls(server: common.Server) -> float:
    samples = server.metrics().items()
    return sum(value for name, value in samples if name.startswith("paramsecrets_upstream_calls_total"))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = common.Workdir("paramsecrets-bench-sdk-").path
    server = None
    try:
        progress("starting moto_server and paramsecrets serve...")
        moto = common.start_moto(root)
        moto.client("ssm").put_parameter(Name=PARAMETER, Value="v" * args.value_bytes, Type="String")
        server = common.start_server(moto.url, root, extra_env={
            "PARAMETERS_SECRETS_EXTENSION_UPSTREAM_URL_SSM": moto.url})
        direct, ours = boto3_client(moto.url), boto3_client(f"http://127.0.0.1:{server.port}")
        ours.get_parameter(Name=PARAMETER)  # the one miss; every later call must be a hit
        loop(direct, 1.0, False)  # warm both clients' connections and botocore's caches
        loop(ours, 1.0, True)
        upstream_before = upstream_calls(server)
        results: dict[str, dict[str, list[float]]] = {"direct to moto": {}, "through paramsecrets": {}}
        for index in range(1, args.rounds + 1):
            for name, client in (("direct to moto", direct), ("through paramsecrets", ours)):
                progress(f"round {index}/{args.rounds}: {name} for {args.duration:g} s...")
                cpu_before = common.cpu_seconds(server.pid)
                calls, latencies = loop(client, args.duration, name != "direct to moto")
                row = results[name]
                row.setdefault("server_cpu_us", []).append((common.cpu_seconds(server.pid) - cpu_before) * 1e6 / calls)
                row.setdefault("calls", []).append(calls)
                row.setdefault("rate", []).append(calls / args.duration)
                row.setdefault("p50", []).append(percentile(latencies, 0.5))
                row.setdefault("p99", []).append(percentile(latencies, 0.99))
                progress(f"  {calls / args.duration:,.0f} calls/s, p50 {common.fmt_us(row['p50'][-1])}")
        ours_upstream = upstream_calls(server) - upstream_before
    except Exception as error:  # reported as a broken run
        return common.broken(error, server)
    finally:
        common.stop_all()
    direct_row, ours_row = results["direct to moto"], results["through paramsecrets"]
    direct_calls = int(sum(direct_row["calls"]))
    rows = []
    for name, row, upstream in (("direct to moto", direct_row, direct_calls),
                                ("through paramsecrets", ours_row, int(ours_upstream))):
        rows.append([name, f"{common.median(row['rate']):,.0f}", common.fmt_us(common.median(row["p50"])),
                     common.fmt_us(common.median(row["p99"])), f"{int(sum(row['calls'])):,}", f"{upstream:,}"])
    speedup = common.median(ours_row["rate"]) / common.median(direct_row["rate"])
    rows.append(["paramsecrets / direct", f"{speedup:.2f}x",
                 f"{common.median(ours_row['p50']) / common.median(direct_row['p50']):.2f}",
                 f"{common.median(ours_row['p99']) / common.median(direct_row['p99']):.2f}", "", ""])
    headers = ["target", "calls/s", "p50", "p99", "calls made", "upstream calls"]
    print()
    print(common.text_table(headers, rows))
    note = (f"One boto3 client, `get_parameter` back to back, {args.rounds} rounds of {args.duration:g} s per "
            f"target alternating, medians; a {args.value_bytes}-byte String parameter. Upstream calls during the "
            "rounds: moto's for direct (every call), `paramsecrets_upstream_calls_total` for ours (its one miss, "
            "before the rounds, filled the cache). "
            f"Load average at start: {common.machine_info().get('load average at start', '?')}. "
            f"{common.git_state()}.")
    server_cpu = common.median(ours_row["server_cpu_us"])
    note += (f" paramsecrets' own CPU per call through it: {server_cpu:.0f} µs (signature verification with awscrt, "
             "JSON body, cache lookup, answer).")
    print("\n" + note)
    if not args.no_write:
        markdown = ("## boto3 `get_parameter` loop: direct vs through the SDK protocol (`bench/sdk.py`)\n\n"
                    + common.markdown_table(headers, rows) + "\n\n" + note + "\n")
        if not DOC.exists():
            DOC.write_text("# Performance: the SDK protocol\n\nWritten by `bench/sdk.py`; see docs/sdk.md for the "
                           "feature and docs/performance.md for every budget.\n")
        common.write_doc_section(DOC, SECTION, markdown)
        progress(f"wrote {DOC.relative_to(common.REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
