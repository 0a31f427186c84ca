"""INIT added by the layer's exec wrapper with 5 values, against the same function without it, same run.

Both variants run the same trivial function under the real Lambda Runtime Interface Emulator (RIE)
with the paramsecrets layer attached and a real moto server behind it; only the wrapper differs:

- Python (awslambdaric): RIE runs `/opt/paramsecrets/exec-wrapper PYTHON -m awslambdaric app.handler`
  (how Lambda's managed runtimes start with AWS_LAMBDA_EXEC_WRAPPER) against `PYTHON -m awslambdaric
  app.handler`;
- `provided` (busybox sh in a bare root): a bootstrap that runs `/opt/bin/paramsecrets exec --
  ./loop` against the loop itself.

Five values: three parameters (String, SecureString, a JSON field) and two secrets (one JSON field),
read in two batch requests. Interleaved runs, median of N (default 10); budget +20 ms.

    python bench/exec_wrapper.py [--runs 10] [--no-write]

Writes docs/performance-exec.md (table) and docs/exec_wrapper.png (chart).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from paramsecrets.layer import build_layer
from paramsecrets.testing.lambda_sandbox import (
    BareRootSandbox,
    LambdaSandbox,
    runtime_venv,
    sandbox_problem,
    unpack_layer,
)
from paramsecrets.testing.moto import MotoServer, start_moto
from paramsecrets.testing.net import free_port

REPO = Path(__file__).resolve().parents[1]
FUNCTIONS = REPO / "tests" / "lambda" / "functions"
WRAPPER = "/opt/paramsecrets/exec-wrapper"
BUDGET_MS = 20.0
INIT_REPORT_RE = re.compile(r"INIT REPORT\(durationMs: ([\d.]+)\)")

TOKEN = "bench-session-token"
MAPPING = {
    "PARAMSECRETS_ENV_DB_HOST": "ssm:/bench/db-host",
    "PARAMSECRETS_ENV_DB_PASSWORD": "ssm:/bench/db-password",
    "PARAMSECRETS_ENV_FEATURE": "ssm:/bench/features#flag",
    "PARAMSECRETS_ENV_API_KEY": "secretsmanager:bench/api",
    "PARAMSECRETS_ENV_DB_USER": "secretsmanager:bench/db#username",
}

Row = dict[str, float | None]
MakeBox = Callable[[bool, dict[str, str]], LambdaSandbox]


def seed(moto: MotoServer) -> None:
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/bench/db-host", Value="db.internal", Type="String")
    ssm.put_parameter(Name="/bench/db-password", Value="pw-123", Type="SecureString")
    ssm.put_parameter(Name="/bench/features", Value='{"flag": "on"}', Type="String")
    sm = moto.client("secretsmanager")
    sm.create_secret(Name="bench/api", SecretString="key-456")
    sm.create_secret(Name="bench/db", SecretString=json.dumps({"username": "app", "password": "x"}))


class WrappedSandbox(LambdaSandbox):
    """LambdaSandbox whose runtime command line starts with the exec wrapper, as Lambda's managed
    bootstrap runs it when AWS_LAMBDA_EXEC_WRAPPER is set."""

    def _command(self) -> list[str]:
        command = super()._command()
        at = command.index(str(self.python))
        return [*command[:at], WRAPPER, *command[at:]]


def python_factory(opt: Path) -> MakeBox:
    python = runtime_venv(getattr(sys, "_base_executable", sys.executable))

    def make(wrapped: bool, env: dict[str, str]) -> LambdaSandbox:
        cls = WrappedSandbox if wrapped else LambdaSandbox
        return cls(FUNCTIONS / "trivial", opt, env, python=python, rie_log_level="info")

    return make


def provided_factory(opt: Path, tmp: Path) -> MakeBox:
    plain = FUNCTIONS / "provided"
    wrapped_dir = tmp / "provided-exec"
    wrapped_dir.mkdir()
    shutil.copy2(plain / "bootstrap", wrapped_dir / "loop")
    shutil.copy2(plain / "trivial.sh", wrapped_dir / "trivial.sh")
    shutil.copy2(FUNCTIONS / "exec" / "bootstrap", wrapped_dir / "bootstrap")

    def make(wrapped: bool, env: dict[str, str]) -> LambdaSandbox:
        return BareRootSandbox(wrapped_dir if wrapped else plain, opt, {**env, "_HANDLER": "trivial.handler"},
                               runtime=["/var/task/bootstrap"], rie_log_level="info")

    return make


def one_run(make: MakeBox, wrapped: bool, env: dict[str, str]) -> Row:
    with make(wrapped, {**env, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(free_port())}) as box:
        status, body = box.invoke({})
        if status != 200:
            raise SystemExit(f"invoke failed: {status} {body[:200]!r}\n{box.logs()[-3000:]}")
        first = (box.timings.first_invoke or 0) * 1000
        box.sigterm()
        log = box.logs()
    if wrapped and "paramsecrets exec" in log:
        raise SystemExit(f"the wrapper failed:\n{log[-3000:]}")
    match = INIT_REPORT_RE.search(log)
    return {"first_invoke_ms": first, "init_ms": float(match.group(1)) if match else None}


def interleaved(make: MakeBox, env: dict[str, str], runs: int, label: str) -> tuple[list[Row], list[Row]]:
    one_run(make, False, env)  # warm-up (page cache, moto's first request), not counted
    one_run(make, True, env)
    without: list[Row] = []
    wrapped: list[Row] = []
    for i in range(runs):
        without.append(one_run(make, False, env))
        wrapped.append(one_run(make, True, env))
        print(f"  {label} run {i + 1}: without {without[-1]['first_invoke_ms']:.0f} ms, "
              f"with the wrapper {wrapped[-1]['first_invoke_ms']:.0f} ms", flush=True)
    return without, wrapped


def median(rows: list[Row], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None  # type: ignore[type-var]


def rows_for(label: str, without: list[Row], wrapped: list[Row]) -> tuple[list[str], float]:
    out = []
    added = 0.0
    for key, what in (("first_invoke_ms", "RIE start to first invoke answered"),
                      ("init_ms", "INIT phase (RIE's `INIT REPORT`)")):
        ref, ours = median(without, key), median(wrapped, key)
        if ref is None or ours is None:
            out.append(f"| {label}: {what} | n/a | n/a | n/a |")
            continue
        if key == "first_invoke_ms":
            added = ours - ref
            verdict = f"budget +{BUDGET_MS:.0f} ms: {'PASS' if added <= BUDGET_MS else 'OVER'}"
        else:
            verdict = ""
        out.append(f"| {label}: {what} | {ref:.0f} ms | {ours:.0f} ms | **{ours - ref:+.0f} ms** "
                   f"(x{ours / ref:.2f}) {verdict} |")
    return out, added


def write_chart(path: Path, series: dict[str, list[float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    for (label, values), marker in zip(series.items(), "o^sv", strict=False):
        ax.plot(range(1, len(values) + 1), values, marker + "-",
                label=f"{label} (median {statistics.median(values):.0f} ms)")
    ax.set_xlabel("run (interleaved)")
    ax.set_ylabel("RIE start to first invoke answered (ms)")
    ax.set_title("The exec wrapper with 5 values, against the same function without it")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right", fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args(argv)
    problem = sandbox_problem()
    if problem:
        raise SystemExit(f"cannot run RIE here: {problem}")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="exec-wrapper-") as name:
        tmp = Path(name)
        info = build_layer("x86_64", tmp / "layer.zip", progress=lambda _line: None)
        opt = unpack_layer(info.path, tmp / "opt")
        moto = start_moto(tmp)
        try:
            seed(moto)
            env = {"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                   "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                   "AWS_SESSION_TOKEN": TOKEN, "AWS_ENDPOINT_URL": moto.url, **MAPPING}
            python = interleaved(python_factory(opt), env, args.runs, "python")
            provided = interleaved(provided_factory(opt, tmp), env, args.runs, "provided")
        finally:
            moto.stop()
    load = f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    table = ["| what | without the wrapper (same run) | with the wrapper, 5 values | added |", "|---|---|---|---|"]
    python_rows, python_added = rows_for("Python (AWS_LAMBDA_EXEC_WRAPPER)", *python)
    provided_rows, provided_added = rows_for("`provided` (`paramsecrets exec` in bootstrap)", *provided)
    table += python_rows + provided_rows
    print("\n".join(table))
    print(f"\n{load}\nadded: python {python_added:+.0f} ms, provided {provided_added:+.0f} ms "
          f"(budget +{BUDGET_MS:.0f} ms, median of {args.runs})")
    if not args.no_write:
        docs = REPO / "docs"
        write_chart(docs / "exec_wrapper.png", {
            "Python, no wrapper": [r["first_invoke_ms"] for r in python[0]],  # type: ignore[misc]
            "Python, exec wrapper": [r["first_invoke_ms"] for r in python[1]],  # type: ignore[misc]
            "provided, no exec": [r["first_invoke_ms"] for r in provided[0]],  # type: ignore[misc]
            "provided, paramsecrets exec": [r["first_invoke_ms"] for r in provided[1]],  # type: ignore[misc]
        })
        uname = subprocess.check_output(["uname", "-srm"], text=True).strip()
        text = [
            "## INIT added by the exec wrapper",
            "",
            f"`python bench/exec_wrapper.py`: {args.runs} runs with the wrapper and {args.runs} without,",
            "interleaved, the same trivial function with the layer attached in both, the real RIE and a real",
            "moto server. With the wrapper, 5 values (3 parameters, 2 secrets, 2 JSON fields) are read",
            "through the extension (2 batch requests) before the runtime starts. Medians; compare within a",
            f"row only (the machine is shared and noisy). Machine: {uname}, {load}.",
            "",
            *table,
            "",
            "![the exec wrapper, with and without](exec_wrapper.png)",
            "",
        ]
        (docs / "performance-exec.md").write_text("\n".join(text))
        print(f"wrote {docs / 'performance-exec.md'} and {docs / 'exec_wrapper.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
