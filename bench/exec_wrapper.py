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

A second reference for each: the same function reading the same 5 values itself during INIT
(Python: module-level code with http.client; `provided`: the bootstrap's `on_init` with busybox
wget; the same two batch requests), which is what the wrapper replaces. Both wait for the
extension to be serving; the difference is the wrapper's own cost.

And the wrapper's own CPU, without a server: `paramsecrets exec -- /bin/true` (no mapping) on the
layer's interpreter, started as the launcher starts it, against the same interpreter running
`-I -S -c pass` (median of 20 each, interleaved, from the children's rusage).

    python bench/exec_wrapper.py [--runs 10] [--layer ZIP] [--no-write]

Writes docs/performance-exec.md (table) and docs/exec_wrapper.png (chart).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from common import median_of, write_run_chart  # bench/ is sys.path[0] when a script runs

from paramsecrets.layer.build import build_layer
from paramsecrets.testing.lambda_root import layer_python
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
MakeBox = Callable[[str, dict[str, str]], LambdaSandbox]
PLAIN, CODE, WRAPPER_VARIANT = "plain", "code", "wrapper"

READER = """
import http.client, json, os, urllib.parse

def _get(path):
    conn = http.client.HTTPConnection("127.0.0.1", int(os.environ["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"]))
    conn.request("GET", path, headers={"X-Aws-Parameters-Secrets-Token": os.environ["AWS_SESSION_TOKEN"]})
    body = json.loads(conn.getresponse().read())
    conn.close()
    return body

q = urllib.parse.quote
NAMES = ("/bench/db-host", "/bench/db-password", "/bench/features")
PARAMETERS = _get("/systemsmanager/parameters/get-many?withDecryption=true&"
                  + "&".join("name=" + q(n, safe="") for n in NAMES))
SECRETS = _get("/secretsmanager/get-many?" + "&".join("secretId=" + q(n, safe="") for n in ("bench/api", "bench/db")))
assert len(PARAMETERS["Parameters"]) == 3 and len(SECRETS["SecretValues"]) == 2
FEATURE = json.loads(PARAMETERS["Parameters"][2]["Value"])["flag"]
DB_USER = json.loads(SECRETS["SecretValues"][1]["SecretString"])["username"]


def handler(event, context):
    return {"ok": True}
"""


SHELL_READER = """
# The provided function reading the same 5 values in its own INIT code (the bootstrap's `on_init`):
# the same two batch requests as the wrapper's, with busybox wget.
on_init() {
  base="http://127.0.0.1:${PARAMETERS_SECRETS_EXTENSION_HTTP_PORT}"
  token="X-Aws-Parameters-Secrets-Token: ${AWS_SESSION_TOKEN}"
  names="name=%2Fbench%2Fdb-host&name=%2Fbench%2Fdb-password&name=%2Fbench%2Ffeatures"
  PARAMETERS=$(wget -q -O - --header "$token" \
    "$base/systemsmanager/parameters/get-many?withDecryption=true&$names") || return 1
  SECRETS=$(wget -q -O - --header "$token" \
    "$base/secretsmanager/get-many?secretId=bench%2Fapi&secretId=bench%2Fdb") || return 1
  case "$PARAMETERS" in *db.internal*pw-123*) ;; *) return 1 ;; esac
  case "$SECRETS" in *key-456*) ;; *) return 1 ;; esac
}

handler() {
  printf '{"ok": true}'
}
"""


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


def python_factory(opt: Path, tmp: Path) -> MakeBox:
    python = runtime_venv(getattr(sys, "_base_executable", sys.executable))
    reader = tmp / "python-reader"
    reader.mkdir()
    (reader / "app.py").write_text(READER)

    def make(variant: str, env: dict[str, str]) -> LambdaSandbox:
        if variant == WRAPPER_VARIANT:
            return WrappedSandbox(FUNCTIONS / "trivial", opt, {**env, **MAPPING}, python=python, rie_log_level="info")
        if variant == CODE:
            # The same PARAMSECRETS_* variables (the function ignores them), so the extension starts
            # exactly as with the wrapper: the difference is the wrapper's own cost.
            return LambdaSandbox(reader, opt, {**env, **MAPPING}, python=python, rie_log_level="info")
        return LambdaSandbox(FUNCTIONS / "trivial", opt, env, python=python, rie_log_level="info")

    return make


def provided_factory(opt: Path, tmp: Path) -> MakeBox:
    plain = FUNCTIONS / "provided"
    wrapped_dir = tmp / "provided-exec"
    wrapped_dir.mkdir()
    shutil.copy2(plain / "bootstrap", wrapped_dir / "loop")
    shutil.copy2(plain / "trivial.sh", wrapped_dir / "trivial.sh")
    shutil.copy2(FUNCTIONS / "exec" / "bootstrap", wrapped_dir / "bootstrap")
    reading_dir = tmp / "provided-reader"
    reading_dir.mkdir()
    shutil.copy2(plain / "bootstrap", reading_dir / "bootstrap")
    (reading_dir / "reader_init.sh").write_text(SHELL_READER)

    def make(variant: str, env: dict[str, str]) -> LambdaSandbox:
        if variant == CODE:  # with the mapping too, so the extension starts exactly as with the wrapper
            return BareRootSandbox(reading_dir, opt, {**env, **MAPPING, "_HANDLER": "reader_init.handler"},
                                   runtime=["/var/task/bootstrap"], rie_log_level="info")
        wrapped = variant == WRAPPER_VARIANT
        return BareRootSandbox(wrapped_dir if wrapped else plain, opt,
                               {**env, **(MAPPING if wrapped else {}), "_HANDLER": "trivial.handler"},
                               runtime=["/var/task/bootstrap"], rie_log_level="info")

    return make


def one_run(make: MakeBox, variant: str, env: dict[str, str]) -> Row:
    """One cold start; a run the RIE itself spoiled (its Runtime API not yet listening when the
    extension registers: `Extension.Crash`, seen on a loaded machine) is run again, at most twice."""
    for _ in range(2):
        try:
            return _one_run(make, variant, env)
        except RieFlake:
            continue
    return _one_run(make, variant, env)


class RieFlake(Exception):
    pass


def _one_run(make: MakeBox, variant: str, env: dict[str, str]) -> Row:
    with make(variant, {**env, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(free_port())}) as box:
        status, body = box.invoke({})
        if status != 200 and "Extensions API at" in box.logs() and "unreachable" in box.logs():
            raise RieFlake()
        if status != 200:
            raise SystemExit(f"invoke failed: {status} {body[:200]!r}\n{box.logs()[-3000:]}")
        first = (box.timings.first_invoke or 0) * 1000
        box.sigterm()
        log = box.logs()
    if variant == WRAPPER_VARIANT and "paramsecrets exec" in log:
        raise SystemExit(f"the wrapper failed:\n{log[-3000:]}")
    match = INIT_REPORT_RE.search(log)
    return {"first_invoke_ms": first, "init_ms": float(match.group(1)) if match else None}


def interleaved(make: MakeBox, env: dict[str, str], runs: int, label: str,
                variants: tuple[str, ...]) -> dict[str, list[Row]]:
    for variant in variants:  # warm-up (page cache, moto's first request), not counted
        one_run(make, variant, env)
    rows: dict[str, list[Row]] = {variant: [] for variant in variants}
    for i in range(runs):
        for variant in variants:
            rows[variant].append(one_run(make, variant, env))
        print(f"  {label} run {i + 1}: " + ", ".join(
            f"{variant} {rows[variant][-1]['first_invoke_ms']:.0f} ms" for variant in variants), flush=True)
    return rows


def rows_for(label: str, without: list[Row], wrapped: list[Row]) -> tuple[list[str], float]:
    out = []
    added = 0.0
    for key, what in (("first_invoke_ms", "RIE start to first invoke answered"),
                      ("init_ms", "INIT phase (RIE's `INIT REPORT`)")):
        ref, ours = median_of(without, key), median_of(wrapped, key)
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


def wrapper_cpu(opt: Path, runs: int = 20) -> tuple[float, float]:
    """(median CPU ms of the bundled `python -I -S -c pass`, of `run.py exec -- /bin/true`), interleaved."""
    runtime = opt / "paramsecrets" / "runtime"
    python = layer_python(runtime=str(runtime))
    commands = (["-c", "pass"], [str(opt / "paramsecrets" / "run.py"), "exec", "--", "/bin/true"])
    cpu: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for spent, command in zip(cpu, commands, strict=True):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run([*python, *command], check=True, env={"LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin"})
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            spent.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    return statistics.median(cpu[0]), statistics.median(cpu[1])


def write_chart(path: Path, series: dict[str, list[float]]) -> None:
    write_run_chart(path, series, "The exec wrapper with 5 values, against the same function without it")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    parser.add_argument("--layer", type=Path, help="a built x86_64 layer zip to measure (default: build one), "
                                                   "e.g. an earlier commit's, to compare two")
    args = parser.parse_args(argv)
    problem = sandbox_problem()
    if problem:
        raise SystemExit(f"cannot run RIE here: {problem}")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="exec-wrapper-") as name:
        tmp = Path(name)
        zip_path = args.layer or build_layer("x86_64", tmp / "layer.zip", progress=lambda _line: None).path
        opt = unpack_layer(zip_path, tmp / "opt")
        bare_cpu, exec_cpu = wrapper_cpu(opt)
        moto = start_moto(tmp)
        try:
            seed(moto)
            env = {"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                   "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                   "AWS_SESSION_TOKEN": TOKEN, "AWS_ENDPOINT_URL": moto.url}
            python = interleaved(python_factory(opt, tmp), env, args.runs, "python", (PLAIN, CODE, WRAPPER_VARIANT))
            provided = interleaved(provided_factory(opt, tmp), env, args.runs, "provided",
                                   (PLAIN, CODE, WRAPPER_VARIANT))
        finally:
            moto.stop()
    load = f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    table = ["| what | reference (same run) | with the wrapper, 5 values | added |", "|---|---|---|---|"]
    python_rows, python_added = rows_for("Python, reads nothing vs the wrapper", python[PLAIN], python[WRAPPER_VARIANT])
    code_rows, code_added = rows_for("Python, reads the 5 values in its own INIT code vs the wrapper",
                                     python[CODE], python[WRAPPER_VARIANT])
    provided_rows, provided_added = rows_for("`provided`, reads nothing vs `paramsecrets exec` in bootstrap",
                                             provided[PLAIN], provided[WRAPPER_VARIANT])
    provided_code_rows, provided_code_added = rows_for(
        "`provided`, reads the 5 values in its own INIT code (wget) vs `paramsecrets exec` in bootstrap",
        provided[CODE], provided[WRAPPER_VARIANT])
    table += python_rows + code_rows + provided_rows + provided_code_rows
    cpu_line = (f"The wrapper's own CPU (no server, no mapping: `run.py exec -- /bin/true`): {exec_cpu:.1f} ms, "
                f"against {bare_cpu:.1f} ms for the same interpreter's `-I -S -c pass` "
                f"(**{exec_cpu - bare_cpu:+.1f} ms**; median of 20, interleaved).")
    print("\n".join(table))
    print(cpu_line)
    print(f"\n{load}\nadded: python {python_added:+.0f} ms (vs reading in code {code_added:+.0f} ms), "
          f"provided {provided_added:+.0f} ms (vs reading in code {provided_code_added:+.0f} ms) "
          f"(budget +{BUDGET_MS:.0f} ms, median of {args.runs})")
    if not args.no_write:
        docs = REPO / "docs"
        write_chart(docs / "exec_wrapper.png", {
            "Python, reads nothing": [r["first_invoke_ms"] for r in python[PLAIN]],  # type: ignore[misc]
            "Python, reads 5 values in INIT code": [r["first_invoke_ms"] for r in python[CODE]],  # type: ignore[misc]
            "Python, exec wrapper": [r["first_invoke_ms"] for r in python[WRAPPER_VARIANT]],  # type: ignore[misc]
            "provided, reads nothing": [r["first_invoke_ms"] for r in provided[PLAIN]],  # type: ignore[misc]
            "provided, reads 5 values in INIT code": [r["first_invoke_ms"] for r in provided[CODE]],  # type: ignore[misc]
            "provided, paramsecrets exec": [r["first_invoke_ms"] for r in provided[WRAPPER_VARIANT]],  # type: ignore[misc]
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
            cpu_line,
            "",
            "![the exec wrapper, with and without](exec_wrapper.png)",
            "",
        ]
        (docs / "performance-exec.md").write_text("\n".join(text))
        print(f"wrote {docs / 'performance-exec.md'} and {docs / 'exec_wrapper.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
