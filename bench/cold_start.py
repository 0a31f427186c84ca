"""Cold start added by the paramsecrets layer, against the same function without it, same run.

Two functions under the real Lambda Runtime Interface Emulator (RIE), each run N times without the
layer (the reference) and N times with it, interleaved, same trivial handler, same machine, same
minute:

- a `provided` function (busybox sh bootstrap) chrooted into a root holding nothing of the host:
  the case the self-contained layer exists for; budget (issue 20): at most +10 ms, median of N,
  in each of 3 runs;
- a Python function (awslambdaric); the same budget: at most +10 ms.

Also measured: the extension's CPU from exec to `register` (debug line `register sent after <ms>
ms CPU`), its RSS once serving with the AWS client loaded (budget 18 MiB, issue 20) next to the
bundled interpreter doing nothing, SIGTERM-to-exit, and the layer's sizes for both architectures
(budget 8.5 MiB zipped, 20 MiB unpacked). `--layer ZIP` reuses a built x86_64 layer (then only
its size is listed), for repeated runs.

    python bench/cold_start.py [--runs 10] [--layer ZIP] [--no-write]

Writes docs/performance-cold-start.md (tables) and docs/cold_start.png (chart).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from common import median_of, write_run_chart  # bench/ is sys.path[0] when a script runs

from paramsecrets.layer.build import LayerInfo, build_layer
from paramsecrets.testing.lambda_sandbox import (
    BareRootSandbox,
    LambdaSandbox,
    proc_cpu_ms,
    proc_rss_kib,
    runtime_venv,
    sandbox_problem,
    unpack_layer,
)
from paramsecrets.testing.net import free_port

REPO = Path(__file__).resolve().parents[1]

FUNCTIONS = REPO / "tests" / "lambda" / "functions"
EXTENSION = "paramsecrets/run.py"
BUDGET_PROVIDED_MS = 10.0  # issue 20: in each of 3 runs
BUDGET_PYTHON_MS = 10.0
BUDGET_RSS_MIB = 18.0
BUDGET_ZIPPED_MIB = 8.5
BUDGET_UNPACKED_MIB = 20.0
REGISTER_RE = re.compile(r"register sent after ([\d.]+) ms CPU")
INIT_REPORT_RE = re.compile(r"INIT REPORT\(durationMs: ([\d.]+)\)")
READY = "ready to serve traffic"

ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN": "bench-session-token",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # never called: the handlers read nothing
}

Row = dict[str, float | None]
MakeBox = Callable[[Path | None, dict[str, str]], LambdaSandbox]


def one_run(make_box: MakeBox, opt: Path | None, port: int, log_level: str) -> Row:
    """Start RIE, invoke once, measure, SIGTERM. Times in ms, memory in MiB."""
    env = {**ENV, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port),
           "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL": log_level}
    result: Row = {}
    with make_box(opt, env) as box:
        status, body = box.invoke({})
        if status != 200:
            raise SystemExit(f"invoke failed: {status} {body[:200]!r}\n{box.logs()[-3000:]}")
        result["first_invoke_ms"] = (box.timings.first_invoke or 0) * 1000
        pid = box.find_process(EXTENSION) if opt else None
        if pid:
            deadline = time.monotonic() + 30
            while READY not in box.logs() and time.monotonic() < deadline:
                time.sleep(0.01)
            rss = proc_rss_kib(pid)
            result["rss_mib"] = rss / 1024 if rss and READY in box.logs() else None
            result["cpu_total_ms"] = proc_cpu_ms(pid)
        ending = box.sigterm()
        result["shutdown_ms"] = ending.seconds * 1000
        if ending.killed or ending.returncode != 0:
            raise SystemExit(f"RIE did not end cleanly: {ending}\n{box.logs()[-3000:]}")
        log = box.logs()
        match = REGISTER_RE.search(log)
        result["register_cpu_ms"] = float(match.group(1)) if match else None
        match = INIT_REPORT_RE.search(log)
        result["init_ms"] = float(match.group(1)) if match else None
    return result


def provided_box(opt: Path | None, env: dict[str, str]) -> LambdaSandbox:
    return BareRootSandbox(FUNCTIONS / "provided", opt, {**env, "_HANDLER": "trivial.handler"},
                           runtime=["/var/task/bootstrap"], rie_log_level="info")


def python_box_factory() -> MakeBox:
    python = runtime_venv(getattr(sys, "_base_executable", sys.executable))

    def python_box(opt: Path | None, env: dict[str, str]) -> LambdaSandbox:
        return LambdaSandbox(FUNCTIONS / "trivial", opt, env, python=python, rie_log_level="info")

    return python_box


def bundled_idle(opt: Path, runs: int) -> tuple[float, float]:
    """Median CPU ms of the bundled interpreter doing nothing (`-I -S -c pass`, started like the
    launcher does) and its RSS in MiB: the references for the extension's own figures."""
    runtime = opt / "paramsecrets" / "runtime"
    command = [str(runtime / "lib" / "ld-linux-x86-64.so.2"), "--inhibit-cache", "--library-path",
               str(runtime / "lib"), str(runtime / "bin" / "python3.11"), "-I", "-S", "-c"]
    cpu = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([*command, "pass"], check=True, env={"LC_ALL": "C.UTF-8"})
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    out = subprocess.run([*command, "print(open('/proc/self/status').read())"], capture_output=True, text=True,
                         check=True, env={"LC_ALL": "C.UTF-8"}).stdout
    rss_kib = int(re.search(r"VmRSS:\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    return statistics.median(cpu), rss_kib / 1024


def fmt(value: float | None, unit: str = "ms") -> str:
    return "n/a" if value is None else f"{value:.1f} {unit}"


def interleaved(make_box: MakeBox, opt: Path, runs: int, label: str) -> tuple[list[Row], list[Row], list[Row]]:
    """(without, with the layer, with the layer at debug level: only for the register CPU line)."""
    port = free_port()
    one_run(make_box, None, port, "info")  # warm-up (page cache, RIE binary), not counted
    one_run(make_box, opt, port, "info")
    without: list[Row] = []
    with_layer: list[Row] = []
    debug: list[Row] = []
    for i in range(runs):
        without.append(one_run(make_box, None, port, "info"))
        with_layer.append(one_run(make_box, opt, port, "info"))
        debug.append(one_run(make_box, opt, port, "debug"))
        print(f"  {label} run {i + 1}: without {without[-1]['first_invoke_ms']:.0f} ms, "
              f"with {with_layer[-1]['first_invoke_ms']:.0f} ms", flush=True)
    return without, with_layer, debug


def cold_start_rows(label: str, without: list[Row], with_layer: list[Row],
                    budget: float) -> tuple[list[str], float]:
    ref = median_of(without, "first_invoke_ms") or 0.0
    ours = median_of(with_layer, "first_invoke_ms") or 0.0
    added = ours - ref
    verdict = "PASS" if added <= budget else "OVER"
    init_ref, init_ours = median_of(without, "init_ms"), median_of(with_layer, "init_ms")
    shut_ref, shut = median_of(without, "shutdown_ms"), median_of(with_layer, "shutdown_ms")
    rows = [
        f"| {label}: RIE start to first invoke answered | {ref:.0f} ms | {ours:.0f} ms | "
        f"**{added:+.0f} ms** (x{ours / ref:.2f}); budget +{budget:.0f} ms: {verdict} |",
        f"| {label}: INIT phase (RIE's `INIT REPORT`) | {fmt(init_ref)} | {fmt(init_ours)} | "
        f"{'n/a' if init_ref is None or init_ours is None else f'{init_ours - init_ref:+.1f} ms'} |",
        f"| {label}: SIGTERM to RIE exit (SHUTDOWN) | {fmt(shut_ref)} | {fmt(shut)} | "
        f"{'n/a' if shut_ref is None or shut is None else f'{shut - shut_ref:+.1f} ms'} |",
    ]
    return rows, added


def write_chart(path: Path, series: dict[str, list[float]]) -> None:
    write_run_chart(path, series, "Cold start under the Lambda RIE, with and without the layer, same run")


def layer_info(zip_path: Path) -> LayerInfo:
    """The sizes of an already built x86_64 layer (what the table needs of build_layer's answer)."""
    with zipfile.ZipFile(zip_path) as archive:
        members = [member for member in archive.infolist() if not member.is_dir()]
    return LayerInfo(zip_path, "x86_64", zip_path.stat().st_size, sum(member.file_size for member in members),
                     len(members), "", "", (), 0)


def sizes_rows(infos: list[LayerInfo]) -> list[str]:
    rows = ["| layer | zipped | unpacked | files | budget |", "|---|---|---|---|---|"]
    for info in infos:
        ok = info.zip_size <= BUDGET_ZIPPED_MIB * 1048576 and info.unpacked_size <= BUDGET_UNPACKED_MIB * 1048576
        rows.append(f"| {info.arch} | {info.zip_size / 1048576:.1f} MiB | {info.unpacked_size / 1048576:.1f} MiB | "
                    f"{info.files} | {BUDGET_ZIPPED_MIB:g} MiB zipped, {BUDGET_UNPACKED_MIB:g} MiB unpacked: "
                    f"{'PASS' if ok else 'OVER'} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--layer", type=Path, help="a built x86_64 layer zip to reuse (default: build both arches)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args(argv)

    problem = sandbox_problem()
    if problem:
        raise SystemExit(f"cannot run RIE here: {problem}")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp:
        infos = [layer_info(args.layer)] if args.layer else [
            build_layer(arch, Path(tmp) / f"layer-{arch}.zip", progress=lambda _line: None)
            for arch in ("x86_64", "arm64")]
        opt = unpack_layer(infos[0].path, Path(tmp) / "opt")
        print(f"layer {infos[0].zip_size / 1048576:.1f} MiB zipped; {args.runs} runs each", flush=True)
        provided = interleaved(provided_box, opt, args.runs, "provided")
        python = interleaved(python_box_factory(), opt, args.runs, "python")
        idle_cpu, idle_rss = bundled_idle(opt, args.runs)
    load = f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"

    table = ["| what | without the layer (same run) | with paramsecrets | difference |", "|---|---|---|---|"]
    provided_rows, provided_added = cold_start_rows("`provided` shell, bare root", provided[0], provided[1],
                                                    BUDGET_PROVIDED_MS)
    python_rows, python_added = cold_start_rows("Python function", python[0], python[1], BUDGET_PYTHON_MS)
    table += provided_rows + python_rows
    with_layer = provided[1] + python[1]
    reg_cpu = median_of(provided[2] + python[2], "register_cpu_ms")
    rss = median_of(with_layer, "rss_mib")
    cpu_total = median_of(with_layer, "cpu_total_ms")
    rss_verdict = "PASS" if rss is not None and rss <= BUDGET_RSS_MIB else "OVER"
    table += [
        f"| extension CPU, exec to `register` | bundled `python -I -S -c pass`: {fmt(idle_cpu)} | {fmt(reg_cpu)} | "
        f"{fmt(None if reg_cpu is None else reg_cpu - idle_cpu)} above the idle interpreter |",
        f"| extension CPU, exec to serving with the AWS client | | {fmt(cpu_total)} | |",
        f"| extension RSS, serving with the AWS client loaded | bundled interpreter idle: {fmt(idle_rss, 'MiB')} | "
        f"**{fmt(rss, 'MiB')}** | budget {BUDGET_RSS_MIB:.0f} MiB: {rss_verdict} |",
    ]
    sizes = sizes_rows(infos)
    print()
    print("\n".join(table))
    print()
    print("\n".join(sizes))
    print(f"\n{load}")
    print(f"added cold start: provided {provided_added:+.0f} ms (budget +{BUDGET_PROVIDED_MS:.0f}), "
          f"python {python_added:+.0f} ms (budget +{BUDGET_PYTHON_MS:.0f}); RSS {fmt(rss, 'MiB')}")

    if not args.no_write:
        docs = REPO / "docs"
        write_chart(docs / "cold_start.png", {
            "provided, no layer": [r["first_invoke_ms"] for r in provided[0]],  # type: ignore[misc]
            "provided, paramsecrets": [r["first_invoke_ms"] for r in provided[1]],  # type: ignore[misc]
            "Python, no layer": [r["first_invoke_ms"] for r in python[0]],  # type: ignore[misc]
            "Python, paramsecrets": [r["first_invoke_ms"] for r in python[1]],  # type: ignore[misc]
        })
        uname = subprocess.check_output(["uname", "-srm"], text=True).strip()
        text = [
            "## Cold start under the Lambda RIE",
            "",
            f"`python bench/cold_start.py`: {args.runs} runs with the layer and {args.runs} without, interleaved,",
            "trivial handlers, the real RIE. The `provided` function is a busybox `sh` bootstrap chrooted into",
            "a root holding nothing of the host; the Python function runs awslambdaric. The extension always",
            "runs on the layer's own Python 3.11. Medians; compare within a row only (the machine is shared",
            f"and noisy). Machine: {uname}, {_cpu_count()} CPUs, {load}.",
            "",
            *table,
            "",
            "### Layer sizes",
            "",
            *sizes,
            "",
            "![cold start, with and without the layer](cold_start.png)",
            "",
        ]
        (docs / "performance-cold-start.md").write_text("\n".join(text))
        print(f"wrote {docs / 'performance-cold-start.md'} and {docs / 'cold_start.png'}")
    return 0


def _cpu_count() -> int:
    with contextlib.suppress(AttributeError):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


if __name__ == "__main__":
    raise SystemExit(main())
