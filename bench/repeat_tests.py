"""Run `make test` many times in a row while another `make test` runs beside it, and count failures.

A suite that passes only on a quiet machine blocks every submission the day CI is busy. This
script makes the machine busy on purpose: it clones the current commit twice (so neither run
touches this work tree), runs the suite `--runs` times in the first clone while the second clone
runs it over and over as load, and prints each run's pytest summary and the tests that failed:

    python bench/repeat_tests.py --runs 10          # expect: 10 runs, 0 failed
    python bench/repeat_tests.py --runs 3 --no-load # the same, on a quiet machine

Each clone builds its own virtual environment on first use (the package caches make later
builds quick). The exit code is the number of failed runs (0: every run passed).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SUMMARY = re.compile(r"^=* ?([0-9]+ (?:passed|failed|error).*?) in [0-9.]+s", re.MULTILINE)
FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)


def clone(into: Path) -> Path:
    target = into / "repo"
    subprocess.run(["git", "clone", "--quiet", "--local", str(REPO), str(target)], check=True)
    shared = REPO.parent / "shared"
    if shared.is_dir() and not (into / "shared").exists():
        (into / "shared").symlink_to(shared)
    return target


def make_test(repo: Path, log: Path, running: list[subprocess.Popen[bytes]] | None = None) -> tuple[int, str]:
    """One `make test` in its own process group; returns its exit code and output (also kept in `log`)."""
    with log.open("w") as out:
        process = subprocess.Popen(["make", "test"], cwd=repo, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        if running is not None:
            running.append(process)
        code = process.wait()
    return code, log.read_text(errors="replace")


def keep_busy(repo: Path, logs: Path, stop: threading.Event, results: list[int],
              running: list[subprocess.Popen[bytes]]) -> None:
    """The load: `make test` again and again until told to stop."""
    n = 0
    while not stop.is_set():
        n += 1
        code, _ = make_test(repo, logs / f"load-{n}.log", running)
        if not stop.is_set():
            results.append(code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="measured runs (default 10)")
    parser.add_argument("--no-load", action="store_true", help="no second suite beside the measured runs")
    parser.add_argument("--keep", action="store_true", help="keep the clones and logs")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 100:
        parser.error("--runs must be between 1 and 100")

    work = Path(tempfile.mkdtemp(prefix="paramsecrets-repeat-"))
    (work / "a").mkdir()
    (work / "b").mkdir()
    measured = clone(work / "a")
    logs = work / "logs"
    logs.mkdir()
    stop = threading.Event()
    load_results: list[int] = []
    load_processes: list[subprocess.Popen[bytes]] = []
    load = None
    if not args.no_load:
        load_repo = clone(work / "b")
        load = threading.Thread(target=keep_busy, daemon=True,
                                args=(load_repo, logs, stop, load_results, load_processes))
        load.start()
    failures = 0
    try:
        for run in range(1, args.runs + 1):
            code, output = make_test(measured, logs / f"run-{run}.log")
            summary = SUMMARY.findall(output)
            failed = FAILED.findall(output)
            failures += code != 0
            print(f"run {run}/{args.runs}: exit {code}; {summary[-1] if summary else 'no pytest summary'}"
                  + (f"; failed: {', '.join(failed)}" if failed else ""), flush=True)
    finally:
        stop.set()
        for process in load_processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)  # the load run still going is stopped with us
    print(f"{args.runs} runs, {failures} failed"
          + ("" if args.no_load else f" (beside them, {len(load_results)} load runs finished, "
                                     f"{sum(1 for c in load_results if c)} failed)"))
    if args.keep or failures:
        print(f"logs: {logs}")
    if load is not None:
        load.join(timeout=60)
    if not args.keep and not failures:
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return failures


if __name__ == "__main__":
    sys.exit(main())
