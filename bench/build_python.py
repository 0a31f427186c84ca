"""What a layer built without any CPython 3.11 costs at cold start: sources against bytecode, same run.

`paramsecrets layer build --build-python host` compiles the layer's bytecode with a CPython 3.11
of the building machine; with none (`--compiler none`) the layer ships .py files, and since
Lambda's /opt is read-only the layer's interpreter compiles every module it imports, at every
cold start. This script builds both layers for this machine's arch (the host path for both),
unpacks them read-only, and times, interleaved, from starting `/opt/bin/paramsecrets serve` to
its first answered read of a parameter from a real moto server (the read imports the AWS client
code too). Median of N runs (default 10) and the ratio.

    python bench/build_python.py [--runs 10] [--no-write]

Writes docs/performance-build-python.md (table) and docs/build_python.png (chart).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from common import git_state, machine_info, machine_lines, write_run_chart  # bench/ is sys.path[0] when a script runs

from paramsecrets.layer.build import build_layer
from paramsecrets.layer.debian_fetch import DebianOptions
from paramsecrets.testing.lambda_sandbox import http_get, make_read_only, unpack_layer
from paramsecrets.testing.moto import start_moto
from paramsecrets.testing.net import free_port

REPO = Path(__file__).resolve().parents[1]
ARCH = "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"
PARAM = ("/bench/build-python", "value")
TOKEN = "bench-token-0123456789abcdef"
SESSION = "bench-session-token"
BOUND_S = 120.0
AS_NOBODY = (["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
             if os.geteuid() == 0 and shutil.which("setpriv") else [])
"""Root writes into a read-only folder anyway: the layer runs as nobody, as Lambda's user is not root,
so nothing can cache bytecode in it (checked after the runs)."""


def _layers(work: Path) -> dict[str, Path]:
    """{label: unpacked layer} for bytecode (this machine's 3.11) and sources (no compiler)."""
    out = {}
    for label, compiler in (("bytecode", None), ("sources", "none")):
        zip_path = work / f"{label}.zip"
        info = build_layer(ARCH, zip_path, progress=lambda _line: None, debian=DebianOptions(allow_newer=True),
                           build_python="host", compiler=compiler)
        dest = unpack_layer(info.path, work / label)
        make_read_only(dest)
        out[label] = dest
        print(f"built the {label} layer: {info.files} files, {info.unpacked_size / 1048576:.1f} MiB unpacked",
              file=sys.stderr)
    return out


def _one_start(opt: Path, moto_url: str, home: Path) -> float:
    """ms from starting the server to its first answered parameter read."""
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-key-for-moto",
           "AWS_SESSION_TOKEN": SESSION, "AWS_ENDPOINT_URL": moto_url, "AWS_TOKEN": TOKEN}
    path = f"/systemsmanager/parameters/get?name={urllib.parse.quote(PARAM[0], safe='')}"
    start = time.perf_counter()
    proc = subprocess.Popen([*AS_NOBODY, str(opt / "bin" / "paramsecrets"), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + BOUND_S
        while True:
            try:
                if http_get(port, path, TOKEN)[0] == 200:
                    return (time.perf_counter() - start) * 1000
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server of {opt} did not answer (exit {proc.poll()})")
            time.sleep(0.002)  # a poll interval, not a measured wait
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-build-python-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)  # the layers run as nobody
        layers = _layers(work)
        (work / "moto").mkdir()
        moto = start_moto(work / "moto")
        try:
            moto.client("ssm").put_parameter(Name=PARAM[0], Value=PARAM[1], Type="String")
            series: dict[str, list[float]] = {label: [] for label in layers}
            for opt in layers.values():  # one warm-up each (page cache), not counted
                _one_start(opt, moto.url, work)
            for run in range(args.runs):
                for label, opt in layers.items():
                    series[label].append(_one_start(opt, moto.url, work))
                print(f"run {run + 1}/{args.runs}: " + ", ".join(f"{k} {v[-1]:.0f} ms" for k, v in series.items()),
                      file=sys.stderr)
        finally:
            moto.stop()
        cached = [str(p) for opt in layers.values() for p in opt.rglob("__pycache__")]
        if cached:
            raise SystemExit(f"bytecode was cached in the layer (not a read-only /opt): {cached[:3]}")
        for opt in layers.values():  # let the temporary folder go
            for root, dirs, _files in os.walk(opt):
                os.chmod(root, 0o755)
                for name in dirs:
                    os.chmod(os.path.join(root, name), 0o755)
    compiled, sources = statistics.median(series["bytecode"]), statistics.median(series["sources"])
    lines = [
        "# Performance: a layer built without CPython 3.11 (sources instead of bytecode)",
        "",
        "Written by `python bench/build_python.py`. Both layers are built on this machine with",
        "`--build-python host` (the layer's interpreter never runs at build time), one with bytecode",
        "compiled by this machine's CPython 3.11, one with `--compiler none` (its .py files ship and",
        "the layer's interpreter compiles each imported module at every cold start, as /opt is",
        "read-only). Timed, interleaved: from starting `/opt/bin/paramsecrets serve` (read-only copy)",
        "to its first answered read of a parameter from moto. Median of "
        f"{args.runs} runs; chart: build_python.png.",
        "",
        "| layer | median (ms) |",
        "| --- | ---: |",
        f"| bytecode (reference, same run) | {compiled:.0f} |",
        f"| sources | {sources:.0f} |",
        f"| sources / bytecode | {sources / compiled:.2f}x ({sources - compiled:+.0f} ms) |",
        "",
        machine_lines(machine_info()),
        f"Commit: {git_state()}; arch {ARCH}.",
        "",
    ]
    print("\n".join(lines))
    if not args.no_write:
        (REPO / "docs" / "performance-build-python.md").write_text("\n".join(lines), encoding="utf-8")
        write_run_chart(REPO / "docs" / "build_python.png", series,
                        f"Layer built on the host: bytecode vs sources ({ARCH})",
                        ylabel="server start to first read answered (ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
