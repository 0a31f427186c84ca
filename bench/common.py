"""Shared helpers for the benchmark scripts under bench/.

Everything a benchmark needs to run real peers on loopback and report against a reference
measured in the same run: free ports, child processes that are always stopped (try/finally,
atexit, SIGTERM, and PR_SET_PDEATHSIG so they die with us even after a SIGKILL), moto_server
and its seeding, `paramsecrets serve`, nginx with a generated config, wrk with exact
percentiles, RSS from /proc, machine facts, markdown tables, doc sections and PNG charts.

Standard library only at import time; botocore (for seeding moto) and matplotlib (charts)
are imported where they are used.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import http.client
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paramsecrets.testing import net
from paramsecrets.testing.server import base_env

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"

PYTHON = sys.executable  # the venv's interpreter (run the scripts with .venv/bin/python)
REGION = "us-east-1"
ACCESS_KEY = "AKIABENCHBENCHBENCH0"
SECRET_KEY = "bench-secret-key-not-real"
TOKEN = "bench-token-7d3a91"
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
MIB = 1024 * 1024


def progress(message: str) -> None:
    """One progress line on stderr (stdout carries the results)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# Child processes --------------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM if the benchmark dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Child:
    """A child process with its log file; `stop` is idempotent."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None, stop_signal: int = signal.SIGTERM) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.stop_signal = stop_signal
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env, cwd=cwd, preexec_fn=_die_with_parent, start_new_session=True)
        self.pid = self.proc.pid
        _CHILDREN.append(self)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self, tail: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-tail:]
        return ""

    def stop(self, timeout: float = 5.0) -> int | None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                self.proc.wait()
        if not self._log.closed:
            self._log.close()
        if self in _CHILDREN:
            _CHILDREN.remove(self)
        return self.proc.returncode


_CHILDREN: list[Child] = []


def stop_all() -> None:
    """Stop every child still running, newest first."""
    for child in reversed(list(_CHILDREN)):
        with contextlib.suppress(Exception):
            child.stop()


def _on_sigterm(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


atexit.register(stop_all)
if hasattr(signal, "SIGTERM"):
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGHUP, _on_sigterm)


class Workdir:
    """A temporary folder for configs and logs; removed on exit unless `keep`."""

    def __init__(self, prefix: str, keep: bool = False) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=prefix))
        self.keep = keep
        atexit.register(self.cleanup)

    def cleanup(self) -> None:
        if not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)


# CPU pinning ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Pinning:
    """Which CPU the load generator and the servers run on; empty tuples mean not pinned."""

    load: tuple[int, ...] = ()
    server: tuple[int, ...] = ()

    @property
    def used(self) -> bool:
        return bool(self.load and self.server)

    def wrap(self, argv: Sequence[str], role: str) -> list[str]:
        cpus = self.load if role == "load" else self.server
        if not cpus:
            return list(argv)
        return ["taskset", "-c", ",".join(map(str, cpus)), *argv]

    def describe(self) -> str:
        if not self.used:
            return "not pinned"
        return f"wrk on CPU {','.join(map(str, self.load))}, servers on CPU {','.join(map(str, self.server))} (taskset)"


def choose_pinning(enabled: bool = True) -> tuple[Pinning, str]:
    """wrk on the first allowed CPU, servers on the last, when taskset exists and two CPUs are ours."""
    if not enabled:
        return Pinning(), "pinning disabled (--no-pin)"
    if shutil.which("taskset") is None:
        return Pinning(), "taskset not found: not pinned"
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return Pinning(), f"only CPU {cpus} available: not pinned"
    return Pinning(load=(cpus[0],), server=(cpus[-1],)), ""


# Networking -------------------------------------------------------------------------------------

def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (paramsecrets.testing.net.free_port: outside
    the kernel's ephemeral range, so no outgoing connection takes it before it is bound)."""
    return net.free_port()


def wait_for_http(url: str, timeout: float, child: Child | None = None) -> None:
    """Wait until `url` answers any HTTP status; fail early (with its log) if `child` exits."""
    try:
        net.wait_for_http(url, timeout, child.proc if child is not None else None)
    except RuntimeError:
        assert child is not None
        raise RuntimeError(f"{child.name} exited with {child.proc.returncode} before {url} answered:\n"
                           f"{child.output()}") from None


def started(child: Child, url: str, timeout: float) -> Child:
    """`child` once `url` answers; stopped if it never does."""
    try:
        wait_for_http(url, timeout=timeout, child=child)
    except BaseException:
        child.stop()
        raise
    return child


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def http_get(port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 30,
             connection: http.client.HTTPConnection | None = None) -> Response:
    """One GET to 127.0.0.1:port (on `connection` if given, kept open); header names lower-cased."""
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        answer = conn.getresponse()
        return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())
    finally:
        if connection is None:
            conn.close()


# moto_server ------------------------------------------------------------------------------------

class Moto:
    """A `moto_server` child on a free loopback port."""

    def __init__(self, child: Child, port: int) -> None:
        self.child = child
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def client(self, service: str, pool: int = 10) -> Any:
        """A botocore client for seeding (bench process only; the server never loads botocore)."""
        import botocore.config
        import botocore.session

        session = botocore.session.get_session()
        return session.create_client(
            service, endpoint_url=self.url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=botocore.config.Config(retries={"total_max_attempts": 3}, max_pool_connections=pool))

    def stop(self) -> None:
        self.child.stop()


def start_moto(workdir: Path, pinning: Pinning | None = None) -> Moto:
    """Start moto_server from the venv and wait until it answers (and has loaded SSM)."""
    port = free_port()
    moto_bin = Path(PYTHON).with_name("moto_server")
    argv = [str(moto_bin), "-H", "127.0.0.1", "-p", str(port)]
    if pinning is not None:
        argv = pinning.wrap(argv, "server")
    child = Child("moto_server", argv, workdir / f"moto-{port}.log")
    moto = Moto(child, port)
    try:
        wait_for_http(moto.url + "/moto-api/", timeout=30, child=child)
        moto.client("ssm").describe_parameters()  # the first call per service loads moto's backend
    except BaseException:
        child.stop()
        raise
    return moto


def seed_parameters(moto: Moto, items: Sequence[tuple[str, str]], tier: str = "Standard", threads: int = 8,
                    report_every: int = 100) -> None:
    """PutParameter every (name, value) as a String, in parallel, with progress lines."""
    from concurrent.futures import ThreadPoolExecutor

    client = moto.client("ssm", pool=threads)
    started = time.monotonic()
    done = 0

    def put(item: tuple[str, str]) -> None:
        client.put_parameter(Name=item[0], Value=item[1], Type="String", Tier=tier, Overwrite=True)

    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(put, items):
            done += 1
            if done % report_every == 0 or done == len(items):
                progress(f"  seeded {done}/{len(items)} parameters ({time.monotonic() - started:.1f} s)")


# paramsecrets serve -----------------------------------------------------------------------------

def server_env(moto_url: str, home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment pointing at moto (the tests' own), with this benchmark's token."""
    return {**base_env(moto_url, home), "AWS_TOKEN": TOKEN, **(extra or {})}


class Server:
    """A `paramsecrets serve` child."""

    def __init__(self, child: Child, port: int) -> None:
        self.child = child
        self.port = port
        self.pid = child.pid

    def get(self, path: str, token: bool = True, timeout: float = 30,
            connection: http.client.HTTPConnection | None = None) -> Response:
        return http_get(self.port, path, {TOKEN_HEADER: TOKEN} if token else {}, timeout, connection)

    def metrics(self) -> dict[str, float]:
        """`GET /metrics` as {series: value} (labelled series keep their labels in the name)."""
        values: dict[str, float] = {}
        for line in self.get("/metrics").body.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def stop(self) -> int | None:
        return self.child.stop()


def start_server(moto_url: str, workdir: Path, pinning: Pinning | None = None,
                 extra_env: dict[str, str] | None = None, args: Sequence[str] = (),
                 port: int | None = None) -> Server:
    """Start `python -m paramsecrets serve` on `port` (a free one by default) and wait for /ping."""
    port = port or free_port()
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    argv = [PYTHON, "-m", "paramsecrets", "serve", "--port", str(port), *args]
    if pinning is not None:
        argv = pinning.wrap(argv, "server")
    child = Child("paramsecrets serve", argv, workdir / f"server-{port}.log",
                  env=server_env(moto_url, home, extra_env), cwd=workdir)
    return Server(started(child, f"http://127.0.0.1:{port}/ping", 30), port)


# nginx ------------------------------------------------------------------------------------------

NGINX_CONF = """\
worker_processes 1;
daemon off;
master_process on;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests {keepalive_requests};
    server {{
        listen 127.0.0.1:{port};
        location / {{
            default_type application/json;
            return 200 '{body}';
        }}
    }}
}}
"""


def nginx_quote(body: str) -> str:
    """`body` inside nginx single quotes; `$` would start a variable, so it is refused."""
    if "$" in body:
        raise ValueError("the nginx reference body must not contain '$' (nginx variables)")
    return body.replace("\\", "\\\\").replace("'", "\\'")


class Nginx:
    def __init__(self, child: Child, port: int) -> None:
        self.child = child
        self.port = port

    def stop(self) -> None:
        self.child.stop()


def start_nginx(body: bytes, workdir: Path, pinning: Pinning | None = None,
                keepalive_requests: int = 1_000_000) -> Nginx:
    """nginx (1 worker, no access log) answering `return 200 '<body>'` as application/json.

    keepalive_requests is raised from nginx's default of 1000 because our server never closes
    a busy keep-alive connection: otherwise nginx would pay a reconnect every 1000 requests.
    """
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        raise RuntimeError("nginx not found: apt-get install -y nginx")
    port = free_port()
    folder = workdir / f"nginx-{port}"
    folder.mkdir()
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=folder, port=port, body=nginx_quote(body.decode()),
                                      keepalive_requests=keepalive_requests))
    argv = [binary, "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")]
    if pinning is not None:
        argv = pinning.wrap(argv, "server")
    child = Child("nginx", argv, folder / "stdout.log")
    return Nginx(started(child, f"http://127.0.0.1:{port}/", 10), port)


# A bare asyncio server (the floor of the architecture) --------------------------------------------

ASYNCIO_FLOOR_SCRIPT = """\
import asyncio, socket, sys

REPLY = open(sys.argv[2], "rb").read()


class Reply(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        buffer = self.buffer + data
        count = buffer.count(b"\\r\\n\\r\\n")
        if count:
            self.transport.write(REPLY * count)
            buffer = buffer[buffer.rfind(b"\\r\\n\\r\\n") + 4:]
        self.buffer = buffer


async def main():
    server = await asyncio.get_running_loop().create_server(Reply, "127.0.0.1", int(sys.argv[1]), backlog=1024)
    await server.serve_forever()


asyncio.run(main())
"""


class AsyncioFloor:
    """A ~20-line asyncio Protocol server answering every request with fixed bytes: no parsing, no routing."""

    def __init__(self, child: Child, port: int) -> None:
        self.child = child
        self.port = port

    def stop(self) -> None:
        self.child.stop()


def start_asyncio_floor(reply: bytes, workdir: Path, pinning: Pinning | None = None) -> AsyncioFloor:
    port = free_port()
    script = workdir / "asyncio_floor.py"
    script.write_text(ASYNCIO_FLOOR_SCRIPT)
    reply_file = workdir / f"asyncio_floor-{port}.bin"
    reply_file.write_bytes(reply)
    argv = [PYTHON, str(script), str(port), str(reply_file)]
    if pinning is not None:
        argv = pinning.wrap(argv, "server")
    child = Child("asyncio floor", argv, workdir / f"asyncio_floor-{port}.log")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", timeout=20, child=child)
    except BaseException:
        child.stop()
        raise
    return AsyncioFloor(child, port)


def raw_response(port: int, request: bytes, timeout: float = 10) -> bytes:
    """Send one raw request and read one response (Content-Length framed) as raw bytes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body[:length]


# wrk --------------------------------------------------------------------------------------------

# Exact figures (microseconds, error counts) from wrk's `done` hook; a script with no `request`
# or `response` function leaves wrk's fast static-request path untouched.
WRK_DONE_LUA = """\
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.2f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
"""


@dataclass
class WrkResult:
    """One wrk run. Latencies in microseconds."""

    requests: int
    duration_s: float
    rps: float
    p50_us: float
    p90_us: float
    p99_us: float
    p999_us: float
    max_us: float
    mean_us: float
    errors: dict[str, int]
    non_2xx: int
    text: str = field(repr=False, default="")
    cpu_s: float = 0.0  # CPU time wrk itself used (user + system)

    @property
    def socket_errors(self) -> int:
        return sum(self.errors.values())

    @property
    def clean(self) -> bool:
        return self.non_2xx == 0 and self.socket_errors == 0


def parse_wrk(text: str) -> WrkResult:
    """The WRKJSON line our `done` hook prints, cross-checked with wrk's own summary lines."""
    line = next((item for item in text.splitlines() if item.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{text}")
    data = json.loads(line[len("WRKJSON "):])
    duration = data["duration_us"] / 1e6
    non_2xx = data["status"]
    for item in text.splitlines():
        if item.strip().startswith("Non-2xx or 3xx responses:"):
            non_2xx = max(non_2xx, int(item.split(":")[1]))
    errors = {key: int(data[key]) for key in ("connect", "read", "write", "timeout")}
    return WrkResult(requests=data["requests"], duration_s=duration, rps=data["requests"] / duration,
                     p50_us=data["p50"], p90_us=data["p90"], p99_us=data["p99"], p999_us=data["p999"],
                     max_us=data["max"], mean_us=data["mean"], errors=errors, non_2xx=non_2xx, text=text)


def run_wrk(url: str, duration_s: float, workdir: Path, threads: int = 1, connections: int = 16,
            headers: dict[str, str] | None = None, pinning: Pinning | None = None) -> WrkResult:
    """`wrk -t1 -c16 -d<whole seconds> --latency [-H ...] URL`, parsed."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk not found: apt-get install -y wrk")
    script = workdir / "wrk-done.lua"
    if not script.exists():
        script.write_text(WRK_DONE_LUA)
    seconds = max(1, round(duration_s))  # wrk takes whole seconds only
    argv = [binary, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(url)
    if pinning is not None:
        argv = pinning.wrap(argv, "load")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 60,
                          preexec_fn=_die_with_parent)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr}\n{done.stdout}")
    result = parse_wrk(done.stdout)
    result.cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


# Profiling --------------------------------------------------------------------------------------

def py_spy_binary() -> str | None:
    """py-spy from the venv or PATH (an investigation tool: `pip install py-spy`, not a dependency)."""
    beside = Path(PYTHON).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def start_py_spy(pid: int, duration_s: float, out: Path, rate: int = 250) -> subprocess.Popen[bytes]:
    """Sample `pid` for `duration_s` without stopping it (--nonblocking); collapsed stacks to `out`."""
    binary = py_spy_binary()
    if binary is None:
        raise RuntimeError("py-spy not found: .venv/bin/pip install py-spy")
    argv = [binary, "record", "--nonblocking", "-p", str(pid), "-d", str(max(1, round(duration_s))),
            "-r", str(rate), "-f", "raw", "-o", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_die_with_parent)


def _short_frame(frame: str) -> str:
    """`f (/x/.venv/lib/python3.11/asyncio/selector_events.py:9)` -> `f (asyncio/selector_events.py:9)`."""
    if not frame.isprintable():  # --nonblocking can read a frame while the interpreter rewrites it
        return "<torn frame: read while changing>"
    name, _, place = frame.partition(" (")
    for marker in ("/site-packages/", "/src/", "/lib/python3.11/", "/lib/python3.12/", "/lib/python3.13/"):
        if marker in place:
            place = place.split(marker, 1)[1]
            break
    return f"{name} ({place}" if place else name


def collapsed_by_file(path: Path) -> list[tuple[float, str]]:
    """Self time grouped by the leaf frame's file (`paramsecrets/http/parser.py`, `asyncio/events.py`)."""
    from collections import Counter

    files: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        leaf = _short_frame(stack.split(";")[-1])
        place = leaf.partition(" (")[2].rpartition(":")[0] or leaf
        files[place] += int(count_text)
        total += int(count_text)
    return [(100 * n / max(1, total), name) for name, n in files.most_common()]


def collapsed_top(path: Path, top: int = 15) -> tuple[int, list[tuple[float, str]], list[tuple[float, str]]]:
    """(samples, top self-time frames, top inclusive frames) from py-spy's raw (collapsed) output."""
    from collections import Counter

    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_short_frame(frame) for frame in stack.split(";")]
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    share = max(1, total)
    return (total, [(100 * n / share, f) for f, n in own.most_common(top)],
            [(100 * n / share, f) for f, n in inclusive.most_common(top)])


# /proc ------------------------------------------------------------------------------------------

def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon, RssFile, ... of `pid` in bytes (from /proc/<pid>/status)."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            name, _, rest = line.partition(":")
            parts = rest.split()
            if len(parts) == 2 and parts[1] == "kB":
                values[name] = int(parts[0]) * 1024
    return values


def rss_bytes(pid: int) -> int:
    return proc_status(pid)["VmRSS"]


def hwm_bytes(pid: int) -> int:
    return proc_status(pid)["VmHWM"]


def thread_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of `pid` so far ((0, 0) if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rpartition(")")[2].split()
    except OSError:
        return 0.0, 0.0
    return int(fields[11]) / _CLOCK_TICKS, int(fields[12]) / _CLOCK_TICKS  # utime, stime


def cpu_seconds(pid: int) -> float:
    return sum(cpu_times(pid))


def family(pid: int) -> list[int]:
    """`pid` and its descendants (nginx: the master and its worker)."""
    found = [pid]
    for current in found:
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    found += [int(child) for child in handle.read().split()]
    return found


def family_cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of `pid` and its descendants."""
    times = [cpu_times(member) for member in family(pid)]
    return sum(user for user, _ in times), sum(system for _, system in times)


def _first_line(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def git_state() -> str:
    """`git <commit>` plus whether the working tree had changes (benchmarks run on the tree as is)."""
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "src"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "git unknown"
    if not commit:
        return "git unknown"
    return f"git {commit}" + (", src/ modified in the working tree" if dirty else "")


def machine_info() -> dict[str, str]:
    """CPU, cores, kernel, Python, awscrt and the peers' versions, for the report."""
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = "unknown"
    with contextlib.suppress(OSError), open("/proc/loadavg") as handle:
        load = " ".join(handle.read().split()[:3])

    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": cpu,
        "cores": f"{os.cpu_count()} online, {len(os.sched_getaffinity(0))} usable",
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "awscrt": version("awscrt"),
        "paramsecrets": f"{version('paramsecrets')} ({git_state()})",
        "moto": version("moto"),
        "wrk": _first_line(["wrk", "-v"]).split(" [")[0],
        "nginx": _first_line(["nginx", "-v"]).replace("nginx version: ", ""),
        "load average at start": load,
    }


def machine_lines(info: dict[str, str]) -> str:
    return "\n".join(f"- {key}: {value}" for key, value in info.items())


# Reporting --------------------------------------------------------------------------------------

def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The same rows aligned for a terminal."""
    cells = [list(map(str, headers))] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    out = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
           for row in cells]
    out.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(out)


DOC_TITLE = "# Performance: cached hits and memory"
DOC_INTRO = ("Generated by the scripts under `bench/` (each rewrites only its own section). Figures are\n"
             "ratios against a reference measured in the same run: the machine is shared and noisy.\n")


def write_doc_section(path: Path, key: str, content: str, order: Sequence[str] = ()) -> None:
    """Replace the section between `<!-- begin KEY -->` and `<!-- end KEY -->` in `path`.

    Missing sections are added in `order` (then at the end), so several scripts share one page.
    """
    begin, end = f"<!-- begin {key} -->", f"<!-- end {key} -->"
    block = f"{begin}\n{content.strip()}\n{end}"
    text = path.read_text() if path.exists() else f"{DOC_TITLE}\n\n{DOC_INTRO}\n"
    if begin in text and end in text:
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = head + block + tail
    else:
        later = [name for name in order[list(order).index(key) + 1:]] if key in order else []
        anchor = next((f"<!-- begin {name} -->" for name in later if f"<!-- begin {name} -->" in text), None)
        if anchor is not None:
            head, _, tail = text.partition(anchor)
            text = head + block + "\n\n" + anchor + tail
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    # Fixed metadata: reruns with equal figures give equal files.
    figure.savefig(path, dpi=100, metadata={"Software": None})
    pyplot().close(figure)


def fmt_us(value: float) -> str:
    return f"{value / 1000:.2f} ms" if value >= 10_000 else f"{value:.0f} µs"


def fmt_mib(value: float) -> str:
    return f"{value / MIB:.1f} MiB"


def timed(label: str) -> Callable[[], None]:
    """progress(label) now, and a function that reports the elapsed time."""
    started = time.monotonic()
    progress(label)
    return lambda: progress(f"  {label.rstrip('.… ')} took {time.monotonic() - started:.1f} s")


def publish(doc: Path, section: str, markdown: str, order: Sequence[str], chart_path: Path,
            draw: Callable[[], None]) -> None:
    """Write this benchmark's section of `doc` and its chart."""
    write_doc_section(doc, section, markdown, order)
    draw()
    progress(f"wrote {doc.relative_to(REPO)} and {chart_path.relative_to(REPO)}")


def broken(error: BaseException, server: Server | None) -> int:
    """Report a broken run (not a missed budget: a run that cannot be trusted) with the server's log."""
    print(f"\nERROR: the benchmark run is broken: {error}", file=sys.stderr)
    if server is not None:
        print(f"--- server log (tail) ---\n{server.child.output()}", file=sys.stderr)
    return 1


def median_of(rows: Sequence[dict[str, float | None]], key: str) -> float | None:
    """The median of `key` over the rows that measured it (None when none did)."""
    values = [value for row in rows if (value := row.get(key)) is not None]
    return statistics.median(values) if values else None


def write_run_chart(path: Path, series: dict[str, list[float]], title: str,
                    ylabel: str = "RIE start to first invoke answered (ms)") -> None:
    """One line per series over interleaved runs (by default RIE start to first invoke answered), as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    for (label, values), marker in zip(series.items(), "o^svD", strict=False):
        ax.plot(range(1, len(values) + 1), values, marker + "-",
                label=f"{label} (median {statistics.median(values):.0f} ms)")
    ax.set_xlabel("run (interleaved)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right", fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
