"""Cold start of a function with the paramsecrets layer, against the same function without it.

Runs the real Lambda Runtime Interface Emulator (RIE) with the real runtime client, interleaved:
N runs without the layer (the reference) and N with it, same trivial handler, same machine, same
minute. Reports medians, the difference and the ratio (the machine is shared and noisy: only
same-run comparisons mean anything), plus what the extension costs on its own:

- CPU from exec to `register` (parsed from the debug line `register sent after <ms> ms CPU`,
  measured with time.process_time(), which counts the launcher's sh too: exec keeps the PID),
  next to a bare `python -I -S -c pass` measured in the same run;
- its RSS after the first invoke, and 0.5 s later (AWS client loaded), next to a bare interpreter;
- how long RIE takes to end after SIGTERM (SHUTDOWN) with and without the extension.

    python bench/cold_start.py [--runs 10] [--no-write]

Writes docs/performance-cold-start.md (table) and docs/cold_start.png (chart).
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "lambda"))

from conftest import unpack_layer  # noqa: E402
from harness import LambdaSandbox, _base_of, proc_cpu_ms, proc_rss_kib, runtime_venv  # noqa: E402

from paramsecrets.layer import build_layer  # noqa: E402

FUNCTION = REPO / "tests" / "lambda" / "functions" / "trivial"
EXTENSION = "paramsecrets/run.py"
BUDGET_ADDED_MS = 60.0
BUDGET_REGISTER_CPU_MS = 40.0
BUDGET_RSS_MIB = 32.0
REGISTER_RE = re.compile(r"register sent after ([\d.]+) ms CPU")
INIT_REPORT_RE = re.compile(r"INIT REPORT\(durationMs: ([\d.]+)\)")
RIE_TIME = r"^\d+ \w+ \d+ (\d\d):(\d\d):(\d\d),(\d{3}) "
RIE_MARKS = {
    "init_start": re.compile(RIE_TIME + r".*INIT START\(type: on-demand, phase: init\)", re.M),
    "registered": re.compile(RIE_TIME + r".*External agent paramsecrets \(.*registered", re.M),
    "ext_next": re.compile(RIE_TIME + r".*GET /2020-01-01/extension/event/next", re.M),
    "runtime_next": re.compile(RIE_TIME + r".*GET /2018-06-01/runtime/invocation/next", re.M),
}


def rie_marks(log: str) -> dict[str, float]:
    """Milliseconds of day of the first RIE debug line for each mark (RIE logs with ms resolution)."""
    found = {}
    for name, pattern in RIE_MARKS.items():
        match = pattern.search(log)
        if match:
            h, m, sec, ms = (int(g) for g in match.groups())
            found[name] = ((h * 60 + m) * 60 + sec) * 1000.0 + ms
    return found

ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN": "bench-session-token",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # never called: the handler reads nothing
}


def one_run(opt: Path | None, python: Path, port: int, log_level: str) -> dict[str, float | None]:
    """Start RIE, invoke once, measure, SIGTERM. Times in ms, memory in MiB."""
    env = {**ENV, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port),
           "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL": log_level}
    result: dict[str, float | None] = {}
    with LambdaSandbox(FUNCTION, opt, env, python=python, rie_log_level="debug") as box:
        status, body = box.invoke({})
        if status != 200:
            raise SystemExit(f"invoke failed: {status} {body[:200]!r}\n{box.logs()[-3000:]}")
        result["first_invoke_ms"] = (box.timings.first_invoke or 0) * 1000
        pid = box.find_process(EXTENSION) if opt else None
        if pid:
            rss = proc_rss_kib(pid)
            result["rss_first_mib"] = rss / 1024 if rss else None
            time.sleep(0.5)
            rss = proc_rss_kib(pid)
            result["rss_settled_mib"] = rss / 1024 if rss else None
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
        marks = rie_marks(log)
        if not opt and {"init_start", "runtime_next"} <= marks.keys():
            result["runtime_ready_ms"] = marks["runtime_next"] - marks["init_start"]
        if opt and {"registered", "ext_next", "runtime_next"} <= marks.keys():
            # RIE starts the runtime right after the last `register`; INIT ends when the runtime
            # *and* every extension have called next. An extension costs the first invoke in two
            # ways: by calling next after the runtime (holding INIT open), and by taking CPU
            # from the runtime's own start.
            result["runtime_ready_ms"] = marks["runtime_next"] - marks["registered"]
            result["register_to_next_ms"] = marks["ext_next"] - marks["registered"]
            result["init_held_ms"] = max(0.0, marks["ext_next"] - marks["runtime_next"])
    return result


def bare_python(python: Path, runs: int) -> tuple[float, float]:
    """Median CPU ms of `python -I -S -c pass` and the RSS MiB of a bare interpreter (the references)."""
    cpu = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([str(python), "-I", "-S", "-c", "pass"], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    out = subprocess.run(
        [str(python), "-I", "-S", "-c", "print(open('/proc/self/status').read())"],
        capture_output=True, text=True, check=True,
    ).stdout
    rss_kib = int(re.search(r"VmRSS:\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    return statistics.median(cpu), rss_kib / 1024


def median(rows: list[dict[str, float | None]], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None  # type: ignore[type-var]


def fmt(value: float | None, unit: str = "ms") -> str:
    return "n/a" if value is None else f"{value:.1f} {unit}"


def diff(ours: float | None, ref: float | None) -> str:
    """`ours - ref` with its sign, or n/a."""
    return "n/a" if ours is None or ref is None else f"{ours - ref:+.1f} ms"


def write_chart(path: Path, without: list[float], with_layer: list[float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    runs = range(1, len(without) + 1)
    ax.plot(runs, without, "o-", label=f"no extension (median {statistics.median(without):.0f} ms)")
    ax.plot(runs, with_layer, "s-", label=f"paramsecrets layer (median {statistics.median(with_layer):.0f} ms)")
    ax.axhline(statistics.median(without) + BUDGET_ADDED_MS, color="grey", linestyle="--", linewidth=1,
               label=f"reference + {BUDGET_ADDED_MS:.0f} ms budget")
    ax.set_xlabel("run (interleaved)")
    ax.set_ylabel("RIE start to first invoke answered (ms)")
    ax.set_title("Cold start under the Lambda RIE, same run")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args(argv)

    from harness import free_port, sandbox_problem

    load_before = os.getloadavg()[0]
    problem = sandbox_problem()
    if problem:
        raise SystemExit(f"cannot run RIE here: {problem}")
    python = runtime_venv(getattr(sys, "_base_executable", sys.executable))
    base = _base_of(python)
    with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp:
        info = build_layer("x86_64" if "x86_64" in subprocess.check_output(["uname", "-m"], text=True)
                           else "arm64", Path(tmp) / "layer.zip", progress=lambda _line: None)
        opt = unpack_layer(info.path, Path(tmp) / "opt")
        print(f"layer {info.zip_size / 1048576:.1f} MiB zipped; runtime Python {base}; {args.runs} runs each")
        port = free_port()
        one_run(None, python, port, "info")  # warm-up (page cache, RIE binary), not counted
        one_run(opt, python, port, "info")
        without: list[dict[str, float | None]] = []
        with_layer: list[dict[str, float | None]] = []
        debug: list[dict[str, float | None]] = []
        for i in range(args.runs):
            without.append(one_run(None, python, port, "info"))
            with_layer.append(one_run(opt, python, port, "info"))
            debug.append(one_run(opt, python, port, "debug"))  # for the register CPU line only
            print(f"  run {i + 1}: without {without[-1]['first_invoke_ms']:.0f} ms, "
                  f"with {with_layer[-1]['first_invoke_ms']:.0f} ms", flush=True)
        bare_cpu, bare_rss = bare_python(base, args.runs)
    load = f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"

    ref = median(without, "first_invoke_ms") or 0.0
    ours = median(with_layer, "first_invoke_ms") or 0.0
    added = ours - ref
    reg_cpu = median(debug, "register_cpu_ms")
    rss_first = median(with_layer, "rss_first_mib")
    rss_settled = median(with_layer, "rss_settled_mib")
    cpu_total = median(with_layer, "cpu_total_ms")
    init_ref = median(without, "init_ms")
    init_ours = median(with_layer, "init_ms")
    to_next = median(with_layer, "register_to_next_ms")
    rt_ref = median(without, "runtime_ready_ms")
    rt_ours = median(with_layer, "runtime_ready_ms")
    held = median(with_layer, "init_held_ms")
    shut_ref = median(without, "shutdown_ms") or 0.0
    shut = median(with_layer, "shutdown_ms") or 0.0
    verdict = "within" if added < BUDGET_ADDED_MS else "OVER"

    rows = [
        ("RIE start to first invoke answered", f"{ref:.0f} ms", f"{ours:.0f} ms",
         f"{added:+.0f} ms (x{ours / ref:.2f}); budget < {BUDGET_ADDED_MS:.0f} ms: {verdict}"),
        ("INIT phase (RIE's `INIT REPORT`)", fmt(init_ref), fmt(init_ours),
         diff(init_ours, init_ref)),
        ("extension CPU, exec to `register`", f"`python -I -S -c pass`: {fmt(bare_cpu)}", fmt(reg_cpu),
         f"{fmt(None if reg_cpu is None else reg_cpu - bare_cpu)} above a bare interpreter; "
         f"budget < {BUDGET_REGISTER_CPU_MS:.0f} ms"),
        ("runtime (awslambdaric) start to its first `next`", fmt(rt_ref), fmt(rt_ours),
         f"{diff(rt_ours, rt_ref)} (CPU shared with the extension)"),
        ("extension `register` to its first `event/next`", "", fmt(to_next),
         f"INIT held open after the runtime was ready: {fmt(held)}"),
        ("extension CPU, exec to 0.5 s after the first invoke", "", fmt(cpu_total), "AWS client set up included"),
        ("extension RSS after the first invoke", f"bare interpreter: {fmt(bare_rss, 'MiB')}",
         fmt(rss_first, "MiB"), f"x{(rss_first or 0) / bare_rss:.1f} a bare interpreter"),
        ("extension RSS 0.5 s later (AWS client loaded)", f"bare interpreter: {fmt(bare_rss, 'MiB')}",
         fmt(rss_settled, "MiB"), f"budget < {BUDGET_RSS_MIB:.0f} MiB"),
        ("SIGTERM to RIE exit (SHUTDOWN)", f"{shut_ref:.0f} ms", f"{shut:.0f} ms", diff(shut, shut_ref)),
    ]
    table = ["| what | reference (same run) | with paramsecrets | difference |", "|---|---|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    print()
    print("\n".join(table))
    print(f"\n{load}")
    print(f"added cold start: {added:+.0f} ms over {ref:.0f} ms without the layer (x{ours / ref:.2f}), "
          f"median of {args.runs}; budget < {BUDGET_ADDED_MS:.0f} ms: {verdict}")

    if not args.no_write:
        docs = REPO / "docs"
        write_chart(docs / "cold_start.png", [r["first_invoke_ms"] for r in without],  # type: ignore[misc]
                    [r["first_invoke_ms"] for r in with_layer])  # type: ignore[misc]
        uname = subprocess.check_output(["uname", "-srm"], text=True).strip()
        text = [
            "## Cold start under the Lambda RIE",
            "",
            f"`python bench/cold_start.py`: {args.runs} runs with the layer and {args.runs} without, interleaved,",
            "trivial handler, real RIE and awslambdaric, the extension on the runtime's own Python",
            f"({Path(base).name}). Medians; compare within a row only (the machine is shared and noisy).",
            f"Machine: {uname}, {_cpu_count()} CPUs, {load}.",
            "",
            *table,
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
