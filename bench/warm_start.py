"""Warm start: the first miss over TLS with and without the connection opened at start.

A local moto serves HTTPS with a CA made for this run (openssl); each round starts
`paramsecrets serve` twice, once with PARAMETERS_SECRETS_EXTENSION_WARM_CONNECTIONS=true (the
default) and once with it false, waits until the server is ready (and, when warming, until its
log says the connections are open), then times one cold read. The rounds alternate the two
modes so drift hits both alike; the reference is the unwarmed first miss of the same run.

On loopback a TLS handshake costs only the CPU of the key exchange; against AWS the warm-up also
saves the DNS lookup and 2-3 network round trips, so the saving grows with the distance.

    .venv/bin/python bench/warm_start.py [--rounds 10] [--no-write]
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

from paramsecrets.testing.moto import start_moto, wait_until
from paramsecrets.testing.tls import make_ca, make_server_cert

DOC = common.DOCS / "performance-warm-start.md"
WARM_LOG = "opened a connection to SSM and Secrets Manager"


def first_miss_ms(moto_url: str, ca: Path, workdir: Path, warm: bool, name: str) -> float:
    server = common.start_server(moto_url, workdir, extra_env={
        "AWS_CA_BUNDLE": str(ca), "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL": "debug",
        "PARAMETERS_SECRETS_EXTENSION_WARM_CONNECTIONS": "true" if warm else "false"})
    try:
        ready = WARM_LOG if warm else "ready to serve traffic"
        if not wait_until(lambda: ready in server.child.log_path.read_text(), timeout=30):
            raise SystemExit(f"server never logged {ready!r}")
        started = time.perf_counter()
        answer = server.get(f"/systemsmanager/parameters/get?name={name}")
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status != 200 or answer.headers.get("x-paramsecrets-cache") != "miss":
            raise SystemExit(f"expected a 200 miss, got {answer.status} {answer.body[:200]!r}")
        return elapsed
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="servers started in each mode")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="paramsecrets-warm-start-"))
    ca = make_ca(workdir, "bench")
    moto = start_moto(workdir, tls=make_server_cert(workdir, ca))
    try:
        ssm = moto.client("ssm")
        names = [f"/warm-start/p{index:03d}" for index in range(2 * args.rounds)]
        for name in names:
            ssm.put_parameter(Name=name, Value="v" * 200, Type="String")
        cold_ms, warm_ms = [], []
        for index in range(args.rounds):
            common.progress(f"round {index + 1}/{args.rounds}")
            order = (False, True) if index % 2 == 0 else (True, False)
            for warm in order:
                elapsed = first_miss_ms(moto.url, ca[0], workdir, warm, names[2 * index + int(warm)])
                (warm_ms if warm else cold_ms).append(elapsed)
        cold, warm = statistics.median(cold_ms), statistics.median(warm_ms)
        table = "\n".join([
            "| first miss over TLS (HTTPS moto on loopback) | median | min | max |", "|---|---|---|---|",
            f"| without warming (reference) | {cold:.1f} ms | {min(cold_ms):.1f} ms | {max(cold_ms):.1f} ms |",
            f"| with warming (the default) | {warm:.1f} ms | {min(warm_ms):.1f} ms | {max(warm_ms):.1f} ms |",
            f"| saved | {cold - warm:.1f} ms | ratio warm/cold **{warm / cold:.2f}** | |",
        ])
        print(table)
        if not args.no_write:
            DOC.write_text(
                "## Warm start\n\n"
                f"`python bench/warm_start.py`: {args.rounds} server starts in each mode, alternating, the "
                f"same HTTPS moto (a CA made for the run), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
                "Each start is followed by one cold `GetParameter` read, timed at the client.\n\n"
                f"{table}\n\n{common.machine_lines(common.machine_info())}\n")
            common.progress(f"wrote {DOC.relative_to(common.REPO)}")
        return 0
    finally:
        moto.stop()


if __name__ == "__main__":
    raise SystemExit(main())
