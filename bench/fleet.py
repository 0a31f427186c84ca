"""A fleet cold-starting at once against a throttled Parameter Store: the AWS layer's behaviour vs ours.

    .venv/bin/python bench/fleet.py [--servers 50] [--duration 60] [--parameters 20] [--rate 40]
                                    [--ttls 300,20] [--quick] [--no-docs] [--json FILE]

Set-up (all real processes on loopback):

    50 "functions" (threads here) --HTTP keep-alive--> 50 `paramsecrets serve` (one port each)
        --AWS_ENDPOINT_URL--> src/paramsecrets/testing/fault_proxy.py (a process; throttles AmazonSSM at RATE/s,
        a token bucket of RATE, shared by the whole fleet like an account's quota) --> moto_server

Every server process is started at the same moment (a fleet scaling out). Each function waits
until its server accepts connections (under Lambda, the runtime starts once the extension has
registered, and ours binds its socket before it registers), then once a second reads the same
PARAMETERS String parameters, one `GET /systemsmanager/parameters/get?name=...` after another on
one keep-alive connection, for DURATION seconds. An invocation that takes longer than a second
delays the next one (no overlap within one function).

Modes (the same `paramsecrets serve`, so only the features differ):
- `aws`: the AWS layer's behaviour: `PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD=false`,
  `PARAMETERS_SECRETS_EXTENSION_STALE_ON_ERROR=false`, no prefetch. Misses call GetParameter one
  name at a time; an error is answered to the function and not cached.
- `ours`: the defaults (refresh ahead and stale on error on) plus
  `PARAMETERS_SECRETS_EXTENSION_PREFETCH_PARAMETERS=<the names>`: at start, GetParameters in
  chunks of 10 in the background; reads that arrive meanwhile wait for it, later ones are hits.
Both: retries as shipped (3 attempts, full-jitter backoff 0.1-2 s), MAX_CONNECTIONS 3, the TTL
of the run (`SSM_PARAMETER_STORE_TTL`).

Reported per run: client-visible errors (any non-200 answer or failed connection after the
server was up), upstream calls (every SSM request the servers sent to the proxy, counted by the
proxy), throttled calls (answered 400 ThrottlingException by the proxy), calls that reached moto,
client latency p50/p99/max over all reads, servers' peak RSS (sum) and CPU time. Each server's
/metrics is summed and cross-checked against the proxy's counts.

Writes docs/fleet.md and docs/fleet.png unless --no-docs (or --quick). `--quick` is a smoke run:
3 servers, 3 s, 5 parameters, TTL 300, rate 40.
Exit status: 0 when the run completed (whatever the numbers), 1 if the harness itself broke.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import http.client
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

from paramsecrets.testing import fault_proxy, net

REPO = Path(__file__).resolve().parent.parent
PROXY_SCRIPT = Path(fault_proxy.__file__)  # standard library only: runs with any interpreter
DOC = REPO / "docs" / "fleet.md"
CHART = REPO / "docs" / "fleet.png"
PYTHON = sys.executable
REGION = "us-east-1"
ACCESS_KEY = "AKIAFLEETFLEETFLEET0"
SECRET_KEY = "fleet-secret-key-not-real"
TOKEN = "fleet-token-2b8e41"
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
PREFIX = "/fleet/app/"
MODES = ("aws", "ours")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# Child processes ---------------------------------------------------------------------------------

def _die_with_parent() -> None:
    """preexec_fn: SIGTERM the child if the benchmark dies, even by SIGKILL (Linux prctl)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


CHILDREN: list[subprocess.Popen[bytes]] = []


def spawn(argv: list[str], log: Path, env: dict[str, str] | None = None,
          pipe_stdout: bool = False) -> subprocess.Popen[bytes]:
    """Start a child that dies with us; output to `log` (stdout to a pipe if asked)."""
    out = open(log, "wb")  # noqa: SIM115 - lives as long as the child
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE if pipe_stdout else out, stderr=out,
                            stdin=subprocess.DEVNULL, env=env, preexec_fn=_die_with_parent)
    CHILDREN.append(proc)
    return proc


def stop(procs: list[subprocess.Popen[bytes]], timeout: float = 10) -> None:
    """SIGTERM them all at once, then wait (SIGKILL whoever is still there after `timeout`)."""
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc in CHILDREN:
            CHILDREN.remove(proc)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    net.wait_for_http(url, timeout, proc)


def proc_stats(pid: int) -> tuple[float, int]:
    """(CPU seconds, RSS bytes) of a live process from /proc; (0, 0) once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
        rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        return cpu, rss
    except (OSError, IndexError, ValueError):
        return 0.0, 0


# moto and the proxy --------------------------------------------------------------------------------

def start_moto(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = spawn([str(Path(PYTHON).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                 workdir / "moto.log")
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/moto-api/", 30, proc)
    return proc, url


def seed(moto_url: str, names: list[str]) -> None:
    import botocore.config
    import botocore.session

    ssm = botocore.session.get_session().create_client(
        "ssm", endpoint_url=moto_url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, config=botocore.config.Config(retries={"total_max_attempts": 1}))
    for name in names:
        ssm.put_parameter(Name=name, Value=f"value of {name} " + "x" * 64, Type="String", Overwrite=True)


class Proxy:
    """src/paramsecrets/testing/fault_proxy.py as a process, driven through its control API."""

    def __init__(self, moto_url: str, workdir: Path) -> None:
        self.proc = spawn([PYTHON, str(PROXY_SCRIPT), "--upstream", moto_url, "--port", "0"], workdir / "proxy.log",
                          pipe_stdout=True)
        line = self.proc.stdout.readline().decode().strip()  # type: ignore[union-attr]
        if not line.startswith("http://"):
            raise RuntimeError(f"the proxy did not print its URL: {line!r}")
        self.url = line

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        request = urllib.request.Request(self.url + "/__proxy/" + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def reset(self, rate: float) -> None:
        """No rules but a fresh, full SSM bucket; counts forgotten."""
        self._call("POST", "pass_through")
        self._call("POST", "mode", {"mode": "throttle", "service": "AmazonSSM", "rate_per_s": rate})
        self._call("POST", "clear")

    def ssm_counts(self) -> dict[str, int]:
        """{outcome: n} over every AmazonSSM operation, plus {'op:<operation>': n}."""
        totals: dict[str, int] = {}
        for operation, outcomes in self._call("GET", "counts").items():
            if not operation.startswith("AmazonSSM."):
                continue
            for outcome, n in outcomes.items():
                totals[outcome] = totals.get(outcome, 0) + n
            totals["op:" + operation.partition(".")[2]] = sum(outcomes.values())
        return totals

    def stop(self) -> None:
        stop([self.proc])


# One function ---------------------------------------------------------------------------------

@dataclass
class FunctionLog:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    invocations: int = 0
    late_invocations: int = 0  # started more than 100 ms after their second because the last one overran
    error_times: list[float] = field(default_factory=list)  # seconds since the fleet was started
    ready_after: float = 0.0


class Function(threading.Thread):
    """One 'function instance': waits for its server, then reads every name once a second."""

    def __init__(self, port: int, names: list[str], duration: float, t0: float) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.paths = [f"/systemsmanager/parameters/get?name={quote(name, safe='/')}" for name in names]
        self.duration = duration
        self.t0 = t0
        self.log = FunctionLog()
        self.conn: http.client.HTTPConnection | None = None

    def _wait_for_server(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.01)
        raise RuntimeError(f"server on port {self.port} never came up")

    def _read(self, path: str) -> None:
        started = time.monotonic()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.conn.request("GET", path, headers={TOKEN_HEADER: TOKEN})
            answer = self.conn.getresponse()
            answer.read()
            status, state = answer.status, answer.getheader("X-Paramsecrets-Cache") or "-"
            if answer.will_close:
                self.conn.close()
                self.conn = None
        except (OSError, http.client.HTTPException) as error:
            status, state = type(error).__name__, "-"
            if self.conn is not None:
                self.conn.close()
            self.conn = None
        now = time.monotonic()
        self.log.latencies.append(now - started)
        if status != 200:
            self.log.errors[str(status)] = self.log.errors.get(str(status), 0) + 1
            self.log.error_times.append(now - self.t0)
        else:
            self.log.states[state] = self.log.states.get(state, 0) + 1

    def run(self) -> None:
        self._wait_for_server()
        ready = time.monotonic()
        self.log.ready_after = ready - self.t0
        second = 0
        while second < self.duration:
            due = ready + second
            now = time.monotonic()
            if now < due:
                time.sleep(due - now)
            elif now - due > 0.1:
                self.log.late_invocations += 1
            for path in self.paths:
                self._read(path)
            self.log.invocations += 1
            second += 1
        if self.conn is not None:
            self.conn.close()


# One run -----------------------------------------------------------------------------------------

@dataclass
class RunResult:
    mode: str
    ttl: int
    servers: int
    parameters: int
    duration: float
    rate: float
    reads: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    upstream_calls: int = 0
    throttled: int = 0
    reached_aws: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    late_invocations: int = 0
    ready_after_max_s: float = 0.0
    peak_rss_mib: float = 0.0
    server_cpu_s: float = 0.0
    wall_s: float = 0.0
    server_metrics: dict[str, float] = field(default_factory=dict)
    calls_per_second: list[tuple[float, int, int]] = field(default_factory=list)  # (t, forwarded, throttled)
    errors_per_second: list[int] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.mode} (TTL {self.ttl} s)"


def server_env(proxy_url: str, home: Path, mode: str, ttl: int, names: list[str]) -> dict[str, str]:
    """One fleet member's environment: the AWS layer's behaviour, or ours with the names prefetched."""
    extra = {"AWS_TOKEN": TOKEN, "SSM_PARAMETER_STORE_TTL": str(ttl), "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL": "warn"}
    if mode == "aws":
        extra["PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD"] = "false"
        extra["PARAMETERS_SECRETS_EXTENSION_STALE_ON_ERROR"] = "false"
    else:
        extra["PARAMETERS_SECRETS_EXTENSION_PREFETCH_PARAMETERS"] = ",".join(names)
    return common.server_env(proxy_url, home, extra)


def fetch_metrics(port: int) -> dict[str, float]:
    values: dict[str, float] = {}
    with contextlib.suppress(OSError, http.client.HTTPException):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/metrics")
        for line in conn.getresponse().read().decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        conn.close()
    return values


def run_fleet(mode: str, ttl: int, args: argparse.Namespace, proxy: Proxy, names: list[str],
              workdir: Path) -> RunResult:
    result = RunResult(mode, ttl, args.servers, len(names), args.duration, args.rate)
    proxy.reset(args.rate)
    home = workdir / f"{mode}-{ttl}"
    home.mkdir()
    env = server_env(proxy.url, home, mode, ttl, names)
    ports: list[int] = []
    while len(ports) < args.servers:  # distinct, and each free a moment ago
        port = free_port()
        if port not in ports:
            ports.append(port)
    progress(f"run {result.label}: starting {args.servers} servers at once")
    t0 = time.monotonic()
    procs = [spawn([PYTHON, "-m", "paramsecrets", "serve", "--port", str(port)], home / f"server-{port}.log", env)
             for port in ports]
    functions = [Function(port, names, args.duration, t0) for port in ports]
    for function in functions:
        function.start()

    peak_rss = 0
    last_cpu = {proc.pid: 0.0 for proc in procs}
    previous = (0, 0)
    while any(function.is_alive() for function in functions):
        time.sleep(1.0)
        rss = 0
        for proc in procs:
            cpu, proc_rss = proc_stats(proc.pid)
            rss += proc_rss
            last_cpu[proc.pid] = max(last_cpu[proc.pid], cpu)
        peak_rss = max(peak_rss, rss)
        counts = proxy.ssm_counts()
        forwarded, throttled = counts.get("forwarded", 0), counts.get("throttled", 0)
        result.calls_per_second.append((time.monotonic() - t0, forwarded - previous[0], throttled - previous[1]))
        previous = (forwarded, throttled)
        dead = [(proc, port) for proc, port in zip(procs, ports, strict=True) if proc.poll() is not None]
        if dead:
            proc, port = dead[0]
            log = (home / f"server-{port}.log").read_text(errors="replace")[-2000:]
            stop(procs)
            raise RuntimeError(f"{len(dead)} server(s) exited during the run; the first (port {port}) with "
                               f"{proc.returncode}:\n{log}")
    result.wall_s = time.monotonic() - t0
    for proc in procs:
        cpu, _ = proc_stats(proc.pid)
        last_cpu[proc.pid] = max(last_cpu[proc.pid], cpu)
    summed: dict[str, float] = {}
    for port in ports:
        for name, value in fetch_metrics(port).items():
            summed[name] = summed.get(name, 0.0) + value
    result.server_metrics = summed
    counts = proxy.ssm_counts()
    stop(procs)

    latencies: list[float] = []
    error_times: list[float] = []
    for function in functions:
        log = function.log
        latencies.extend(log.latencies)
        error_times.extend(log.error_times)
        for kind, n in log.errors.items():
            result.error_kinds[kind] = result.error_kinds.get(kind, 0) + n
        for state, n in log.states.items():
            result.states[state] = result.states.get(state, 0) + n
        result.late_invocations += log.late_invocations
        result.ready_after_max_s = max(result.ready_after_max_s, log.ready_after)
    result.reads = len(latencies)
    result.errors = sum(result.error_kinds.values())
    seconds = int(result.wall_s) + 1
    result.errors_per_second = [0] * seconds
    for at in error_times:
        result.errors_per_second[min(seconds - 1, int(at))] += 1
    latencies.sort()
    if latencies:
        result.p50_ms = 1000 * latencies[len(latencies) // 2]
        result.p99_ms = 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        result.max_ms = 1000 * latencies[-1]
    result.upstream_calls = sum(n for key, n in counts.items() if not key.startswith("op:"))
    result.throttled = counts.get("throttled", 0)
    result.reached_aws = counts.get("forwarded", 0)
    result.by_operation = {key[3:]: n for key, n in counts.items() if key.startswith("op:")}
    result.peak_rss_mib = peak_rss / (1024 * 1024)
    result.server_cpu_s = sum(last_cpu.values())
    reported = sum(v for k, v in summed.items() if k.startswith("paramsecrets_upstream_calls_total"))
    if int(reported) != result.upstream_calls:
        progress(f"  note: servers' /metrics report {int(reported)} upstream calls, the proxy saw "
                 f"{result.upstream_calls}")
    progress(f"  {result.reads} reads, {result.errors} errors, {result.upstream_calls} upstream calls "
             f"({result.throttled} throttled), p99 {result.p99_ms:.1f} ms")
    return result


# Report -----------------------------------------------------------------------------------------

def table(results: list[RunResult]) -> str:
    rows = ["| run | reads | client-visible errors | upstream calls | throttled | reached AWS | p50 | p99 | max "
            "| cache answers | late invocations | servers' peak RSS | servers' CPU |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        states = ", ".join(f"{k} {v}" for k, v in sorted(r.states.items()))
        kinds = f" ({', '.join(f'{k}: {v}' for k, v in sorted(r.error_kinds.items()))})" if r.error_kinds else ""
        rows.append(f"| {r.label} | {r.reads:,} | {r.errors:,}{kinds} | {r.upstream_calls:,} | {r.throttled:,} | "
                    f"{r.reached_aws:,} | {r.p50_ms:.1f} ms | {r.p99_ms:.1f} ms | {r.max_ms:.0f} ms | {states} | "
                    f"{r.late_invocations} | {r.peak_rss_mib:.0f} MiB | {r.server_cpu_s:.1f} s |")
    return "\n".join(rows)


def server_table(results: list[RunResult]) -> str:
    """What the servers' own /metrics say (summed over the fleet), and the calls by operation."""
    rows = ["| run | calls by operation | refresh-ahead runs | stale answers | prefetched entries | "
            "upstream calls in /metrics |", "|---|---|---|---|---|---|"]
    for r in results:
        m = r.server_metrics
        reported = sum(v for k, v in m.items() if k.startswith("paramsecrets_upstream_calls_total"))
        operations = ", ".join(f"{op} {n:,}" for op, n in sorted(r.by_operation.items()))
        rows.append(f"| {r.label} | {operations} | {m.get('paramsecrets_refresh_ahead_total', 0):,.0f} | "
                    f"{m.get('paramsecrets_cache_stale_served_total', 0):,.0f} | "
                    f"{m.get('paramsecrets_prefetched_total', 0):,.0f} | {reported:,.0f} |")
    return "\n".join(rows)


def steady_state(results: list[RunResult]) -> list[str]:
    """The single-name refresh rate a TTL asks of the fleet, against the quota."""
    lines = []
    for ttl in sorted({r.ttl for r in results}):
        first = next(r for r in results if r.ttl == ttl)
        if ttl > first.duration:
            continue
        keys = first.servers * first.parameters
        lines.append(f"TTL {ttl} s: {first.servers} servers x {first.parameters} parameters = {keys:,} entries, "
                     f"each fetched again once per TTL: {keys / ttl:.0f} single-name calls/s on expiry, "
                     f"{keys / (0.8 * ttl):.0f}/s if refreshed at 80% of the TTL, against a quota of "
                     f"{first.rate:g}/s; in chunks of 10 it would be {keys / 10 / ttl:.1f}/s.")
    return lines


def observations(results: list[RunResult]) -> list[str]:
    """Facts from the counts that explain a run, stated only when the counts show them."""
    lines = []
    for r in results:
        if r.mode != "ours":
            continue
        m = r.server_metrics
        single = r.by_operation.get("GetParameter", 0)
        refreshes = m.get("paramsecrets_refresh_ahead_total", 0)
        stale = m.get("paramsecrets_cache_stale_served_total", 0)
        batched = r.by_operation.get("GetParameters", 0)
        if batched or single:
            share = batched / (batched + single)
            how = "mostly in batches" if share >= 0.5 else "mostly one name at a time"
            lines.append(f"{r.label}: {batched:,} GetParameters calls (up to 10 names each: the prefetch, then "
                         f"{refreshes:,.0f} refresh-ahead runs gathered into batches) and {single:,} single "
                         f"GetParameter calls (misses): {how}.")
        if stale:
            lines.append(f"{r.label}: {stale:,.0f} reads were answered with the last good value (stale) while "
                         f"{r.throttled:,} of {r.upstream_calls:,} upstream calls were throttled.")
    return lines


def ratios(results: list[RunResult]) -> list[str]:
    lines = []
    for ttl in sorted({r.ttl for r in results}, reverse=True):
        pair = {r.mode: r for r in results if r.ttl == ttl}
        if set(pair) != set(MODES):
            continue
        aws, ours = pair["aws"], pair["ours"]
        calls = aws.upstream_calls / ours.upstream_calls if ours.upstream_calls else float("inf")
        p99 = aws.p99_ms / ours.p99_ms if ours.p99_ms else float("inf")
        goal = "met" if ours.errors == 0 and calls >= 5 else "NOT met"
        lines.append(f"TTL {ttl} s: upstream calls aws/ours = {calls:.1f}x; client-visible errors aws {aws.errors:,}, "
                     f"ours {ours.errors:,}; p99 aws/ours = {p99:.1f}x. Goal (0 errors with ours, >= 5x fewer "
                     f"calls): {goal}.")
    return lines


def chart(results: list[RunResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ttls = sorted({r.ttl for r in results}, reverse=True)
    fig, axes = plt.subplots(2, max(3, len(ttls)), figsize=(5 * max(3, len(ttls)), 8.5))
    colors = {"aws": "#c0504d", "ours": "#4f81bd"}
    for column, ttl in enumerate(ttls):
        axis = axes[0][column]
        for r in (r for r in results if r.ttl == ttl):
            times = [t for t, _, _ in r.calls_per_second]
            axis.plot(times, [f + t for _, f, t in r.calls_per_second], color=colors[r.mode],
                      label=f"{r.mode}: upstream calls/s")
            axis.plot(times, [t for _, _, t in r.calls_per_second], color=colors[r.mode], linestyle=":",
                      label=f"{r.mode}: of which throttled")
            axis.bar(range(len(r.errors_per_second)), r.errors_per_second, color=colors[r.mode], alpha=0.25,
                     width=1.0, align="edge", label=f"{r.mode}: client errors/s")
        axis.set_title(f"TTL {ttl} s: SSM calls per second over the run")
        axis.set_xlabel("seconds since the fleet started")
        axis.set_yscale("symlog", linthresh=10)
        axis.legend(fontsize=7)
    if len(ttls) < len(axes[0]):  # the free slot: what the functions got, per run
        axis = axes[0][len(ttls)]
        labels = [f"{r.mode}\nTTL {r.ttl} s" for r in results]
        bottom = [0.0] * len(results)
        for kind, color in (("hit", "#9bbb59"), ("miss", "#f79646"), ("stale", "#8064a2"), ("error", "#c0504d")):
            values = [r.errors if kind == "error" else r.states.get(kind, 0) for r in results]
            axis.bar(labels, values, bottom=bottom, color=color, label=kind)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        axis.set_title("answers the functions got")
        axis.legend(fontsize=8)
    for column in range(len(ttls) + 1, len(axes[0])):
        axes[0][column].axis("off")
    metrics = (("client-visible errors", lambda r: r.errors), ("upstream calls", lambda r: r.upstream_calls),
               ("p99 latency (ms)", lambda r: r.p99_ms))
    for column, (title, value) in enumerate(metrics):
        axis = axes[1][column]
        width = 0.38
        for offset, mode in ((-width / 2, "aws"), (width / 2, "ours")):
            values = [next((value(r) for r in results if r.ttl == ttl and r.mode == mode), 0) for ttl in ttls]
            bars = axis.bar([i + offset for i in range(len(ttls))], values, width, color=colors[mode], label=mode)
            axis.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=8)
        axis.set_xticks(range(len(ttls)), [f"TTL {ttl} s" for ttl in ttls])
        axis.set_title(title)
        axis.legend(fontsize=8)
    for column in range(len(metrics), len(axes[1])):
        axes[1][column].axis("off")
    first = results[0]
    fig.suptitle(f"{first.servers} servers cold-starting at once, {first.parameters} parameters read once a second "
                 f"for {first.duration:.0f} s each, SSM throttled at {first.rate:.0f}/s", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine() -> str:
    with contextlib.suppress(OSError):
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), platform.processor())
    mem = 0
    with contextlib.suppress(OSError, StopIteration, ValueError):
        mem = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                       if line.startswith("MemTotal")).split()[1]) // 1024
    return (f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({model}), {mem / 1024:.0f} GiB RAM, "
            f"Python {platform.python_version()}")


def write_doc(results: list[RunResult], run: dict[str, Any]) -> None:
    first = results[0]
    text = f"""# A fleet against a throttled Parameter Store

`.venv/bin/python bench/fleet.py {run['command']}` — {run['started']}.
Machine: {run['machine']}. Load average at start: {run['load']}. The machine is shared with other
work; the counts (errors, calls) do not depend on its speed, the latencies do.

![fleet chart](fleet.png)

{table(results)}

{chr(10).join('- ' + line for line in ratios(results))}

What the servers counted themselves (`GET /metrics`, summed over the fleet):

{server_table(results)}

{chr(10).join('- ' + line for line in steady_state(results) + observations(results))}

## What was run

- {first.servers} real `paramsecrets serve` processes, each on its own port, all started at the same
  moment (a fleet scaling out at once), all against one moto server behind the fault proxy
  (`src/paramsecrets/testing/fault_proxy.py` as a process). The proxy throttles every `AmazonSSM` request to
  {first.rate:g}/s with a token bucket of {first.rate:g}, shared by the fleet like an account's quota;
  beyond it AWS's answer: 400 `ThrottlingException`, not forwarded.
- {first.servers} functions (threads in the benchmark process): each waits until its server accepts
  connections (under Lambda the function starts after the extension registered, and ours binds
  first), then once a second reads the same {first.parameters} String parameters with single
  `GET /systemsmanager/parameters/get?name=...` calls, one after another on a keep-alive connection,
  for {first.duration:g} s. An invocation that overruns its second delays the next one ("late
  invocations").
- **aws** — the AWS layer's behaviour: `PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD=false`,
  `PARAMETERS_SECRETS_EXTENSION_STALE_ON_ERROR=false`, no prefetch: every miss is a `GetParameter`
  for one name, an upstream error goes to the function and is not cached.
- **ours** — the defaults (refresh ahead, stale on error) plus
  `PARAMETERS_SECRETS_EXTENSION_PREFETCH_PARAMETERS=<the {first.parameters} names>`: `GetParameters` in
  chunks of 10 right after start, in the background; reads arriving meanwhile wait for it.
- Both run the same server code with the shipped retry policy (3 attempts, full-jitter backoff
  0.1-2 s on throttling, 5xx, network errors and timeouts) and `MAX_CONNECTIONS` 3.

Columns: *client-visible errors* are answers other than 200, or failed connections, after the
server was up (by status); *upstream calls* every SSM request the servers sent (the proxy's count,
retries included), of which *throttled* were refused by the bucket and *reached AWS* were answered
by moto; latencies are per read, seen by the function; *cache answers* the
`X-Paramsecrets-Cache` header of the 200s; RSS is the sum over the servers, sampled each second;
CPU the servers' user + system time. The servers' own `/metrics`, summed, agree with the proxy's
counts (the benchmark says so when they do not).

With the default TTL of 300 s a {first.duration:g} s run never reaches expiry: the calls come at
cold start. The short-TTL run shows the steady state, where entries expire (aws) or are refreshed
ahead of expiry (ours) every TTL.
"""
    DOC.write_text(text)
    chart(results, CHART)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds each function reads")
    parser.add_argument("--parameters", type=int, default=20)
    parser.add_argument("--rate", type=float, default=40.0, help="SSM requests/s the proxy lets through")
    parser.add_argument("--ttls", default="300,20", help="comma list of SSM_PARAMETER_STORE_TTL values, one pair "
                                                          "of runs each")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 servers, 3 s, 5 parameters, TTL 300")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/fleet.md and docs/fleet.png")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    parser.add_argument("--moto", metavar="URL", help="use this running moto server (it gets the parameters) "
                                                      "instead of starting one")
    parser.add_argument("--from-json", type=Path, help="do not run: report (and write the docs) from a --json file")
    args = parser.parse_args(argv)
    if args.from_json:
        return report_from_json(args.from_json, args.no_docs)
    if args.quick:
        args.servers, args.duration, args.parameters, args.ttls = 3, 3.0, 5, "300"
        args.no_docs = True
    args.ttls = [int(t) for t in str(args.ttls).split(",") if t]
    modes = [m for m in args.modes.split(",") if m]
    if not set(modes) <= set(MODES):
        parser.error(f"--modes: choose from {', '.join(MODES)}")

    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    workdir = Path(tempfile.mkdtemp(prefix="paramsecrets-fleet-"))
    names = [f"{PREFIX}p{i:02d}" for i in range(args.parameters)]
    results: list[RunResult] = []
    moto = proxy = None
    try:
        progress(f"moto, {len(names)} parameters, proxy (SSM at {args.rate:g}/s); work folder {workdir}")
        if args.moto:
            moto_url = args.moto
        else:
            moto, moto_url = start_moto(workdir)
        seed(moto_url, names)
        proxy = Proxy(moto_url, workdir)
        for ttl in args.ttls:
            for mode in modes:
                results.append(run_fleet(mode, ttl, args, proxy, names, workdir))
    except (RuntimeError, TimeoutError, OSError) as error:
        progress(f"the run broke: {error}")
        args.keep = True
        progress(f"logs kept in {workdir}")
        return 1
    finally:
        if proxy is not None:
            proxy.stop()
        if moto is not None:
            stop([moto])
        stop(list(CHILDREN))
        if not args.keep:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)

    run = {"command": command_line(args), "started": started, "load": load, "machine": machine(),
           "results": [{**asdict(r), "label": r.label} for r in results]}
    if args.json:
        args.json.write_text(json.dumps(run, indent=1))
    return report(run, args.no_docs)


def command_line(args: argparse.Namespace) -> str:
    return (f"--servers {args.servers} --duration {args.duration:g} --parameters {args.parameters} "
            f"--rate {args.rate:g} --ttls {','.join(map(str, args.ttls))}")


def report(run: dict[str, Any], no_docs: bool) -> int:
    results = [RunResult(**{k: v for k, v in r.items() if k != "label"}) for r in run["results"]]
    print(table(results))
    print()
    print(server_table(results))
    for line in ratios(results) + steady_state(results) + observations(results):
        print(line)
    if not no_docs:
        write_doc(results, run)
        progress(f"wrote {DOC.relative_to(REPO)} and {CHART.relative_to(REPO)}")
    return 0


def report_from_json(path: Path, no_docs: bool) -> int:
    return report(json.loads(path.read_text()), no_docs)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    raise SystemExit(main())
