"""The attack suite's load cases: what an adversary on the same host can do to the server, measured.

    .venv/bin/python bench/attack.py [--case NAME ...] [--quick] [--fuzz N] [--soak-seconds S]
                                     [--seed N] [--no-docs]

Every case runs the real `paramsecrets serve` on loopback against moto (through the fault proxy of
src/paramsecrets/testing/fault_proxy.py where AWS must misbehave), and stops by itself. Cases:

- `fuzz`: N mutated requests (default 50,000), one connection each, half-closed after sending,
  from 32 concurrent clients. Counts crashes (the process died or logged a traceback), hangs (no
  close within 30 s), answers that are not well-framed HTTP/1.1 responses, and 500s.
- `smuggling`: crafted requests whose body (Content-Length, chunked, both, obfuscated
  Transfer-Encoding) holds a request for a canary secret with the token, under every verdict
  (200, 400, 401, 404, 405). The canary's value must never appear; at most one answer each.
- `flood`: 2,000 slowloris connections (a header byte a second) and 3,000 idle ones, reconnecting
  at once when closed, for 30 s, from a process at the lowest CPU priority (the server's
  connection policy is measured, not a fight for the CPU); meanwhile two clients with the token
  read a cached value every 50 ms, one on a keep-alive connection (a function's pattern), one on a
  fresh connection each time. Reference: the fresh-connection client without the attack.
- `stalled`: AWS accepts connections and never answers; 12 concurrent refreshNow reads and 30
  concurrent misses. Reference: the overall deadline (attempts x timeout).
- `recovery`: a cached value expires while AWS fails one fetch (3 attempts); 20 readers keep
  reading; the time from AWS answering again to every reader having a fresh answer.
- `sigterm`: 54 clients reading hits on keep-alive connections and 10 misses in flight (AWS
  slow), then SIGTERM: every request answered, the exit status, the time to exit (Lambda: 2 s).
- `soak`: wrk, 256 keep-alive connections of cached reads for S seconds (default 60): errors and
  the server's RSS growth after a warm-up.

The surface cases (sdk-replay, forward-stall, listen, log-injection, path-listing, self-loop,
regions) are described in bench/attack_surface.py; `--case NAME` runs only the named ones.

Prints a table per case and a summary, and writes the summaries into docs/security.md between their
markers (`attack` for the load cases, `attack-surface` for the others) unless --no-docs (or
--quick). Exit status: 0 when every case met its target, 2 when one missed it, 1 when the harness
broke.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import os
import random
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import attack_surface
import common
from attack_surface import SURFACE_CASES, Outcome
from common import TOKEN, TOKEN_HEADER, Moto, Server, Workdir, progress

from paramsecrets.testing.fault_proxy import FaultProxy

DOC = common.DOCS / "security.md"
SECTION = "attack"
HIT = "/systemsmanager/parameters/get?name=/bench/hit"
CANARY_VALUE = "canary-value-8c1f2e"
HANG_S = 30.0
LOAD_CASES = ("fuzz", "smuggling", "flood", "stalled", "recovery", "sigterm", "soak")
CASES = LOAD_CASES + SURFACE_CASES  # the surface cases: bench/attack_surface.py
SURFACE_SECTION = "attack-surface"


# Helpers ----------------------------------------------------------------------------------------

def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    progress(f"open files limit {soft} -> {hard}")


def seed(moto: Moto) -> None:
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/bench/hit", Value="hit-value", Type="String", Overwrite=True)
    for number in range(64):
        ssm.put_parameter(Name=f"/bench/p{number}", Value=f"value-{number}", Type="String", Overwrite=True)
    sm = moto.client("secretsmanager")
    with contextlib.suppress(Exception):
        sm.create_secret(Name="canary", SecretString=CANARY_VALUE)


def request(path: str, extra: str = "", token: bool = True, method: str = "GET") -> bytes:
    token_line = f"{TOKEN_HEADER}: {TOKEN}\r\n" if token else ""
    return f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n{token_line}{extra}\r\n".encode()


def exchange(port: int, data: bytes, half_close: bool = True, timeout: float = HANG_S) -> tuple[bytes, bool]:
    """Send `data`, read until the server closes: (bytes read, hung)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        chunks = []
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    return b"".join(chunks), False
                chunks.append(chunk)
        except TimeoutError:
            return b"".join(chunks), True
        except OSError:
            return b"".join(chunks), False  # reset after the answer (a lingering close cut short)
        return b"".join(chunks), True


STATUS_LINE = re.compile(rb"HTTP/1\.1 (\d{3}) [A-Za-z -]+\r\n")


def split_responses(data: bytes) -> list[int] | None:
    """The statuses of a stream of Content-Length-framed responses, or None if it is not one."""
    statuses = []
    offset = 0
    while offset < len(data):
        match = STATUS_LINE.match(data, offset)
        end = data.find(b"\r\n\r\n", offset)
        if match is None or end < 0:
            return None
        length = None
        for line in data[offset:end].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        if length is None or end + 4 + length > len(data):
            return None
        statuses.append(int(match.group(1)))
        offset = end + 4 + length
    return statuses


def cell(text: str) -> str:
    """Table-safe text (failure samples may hold anything)."""
    return text.replace("|", "\\|").replace("\n", " ")


def latency_row(label: str, values: list[float]) -> tuple[str, str]:
    if not values:
        return label, "no samples"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return label, (f"n={len(values)}, median {statistics.median(values) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
                   f"max {max(values) * 1000:.1f} ms")


def clean_log(server: Server) -> bool:
    """No traceback and no "Exception ignored" in the server's log (AWS error codes such as
    ResourceNotFoundException are not crashes)."""
    text = server.child.output(tail=10_000_000)
    return "Traceback (most recent call last)" not in text and "Exception ignored" not in text


# Fuzz -------------------------------------------------------------------------------------------

CORPUS = [
    request(HIT),
    request("/ping", token=False),
    request("/systemsmanager/parameters/get?name=/bench/p1&withDecryption=false&version=1"),
    request("/secretsmanager/get?secretId=canary&versionStage=AWSCURRENT"),
    request("/systemsmanager/parameters/get-many?name=/bench/p1&name=/bench/p2"),
    request("/v1/canary"),
    request("/", "Content-Type: application/x-amz-json-1.1\r\nX-Amz-Target: AmazonSSM.GetParameter\r\n"
            "Content-Length: 21\r\n", method="POST") + b'{"Name":"/bench/hit"}',
    request(HIT, "Content-Length: 5\r\n") + b"hello",
    request(HIT) + request("/ping", "Connection: close\r\n", token=False),
    request(HIT).replace(b"HTTP/1.1", b"HTTP/1.0"),
    request("/metrics", token=False),
]
SPECIALS = [
    b"\r", b"\n", b"\r\n", b"\r\n\r\n", b"\x00", b" ", b"\t", b":", b"\xff", b"\x7f", b"%", b"%00", b"%zz",
    b"?", b"&", b"=", b"/", b"..", b"\\", b'"', b"{", b"9" * 4301, b"a" * 9000, b"-1", b"+1", b"0x10",
    b"Content-Length: 99999999999999999999999\r\n", b"Content-Length: 3\r\n", b"Content-Length: 0\r\n",
    b"Transfer-Encoding: chunked\r\n", b"Transfer-Encoding : chunked\r\n", b"Connection: keep-alive\r\n",
    b"X-Forwarded-For: 1.2.3.4\r\n", b"Forwarded: for=x\r\n", TOKEN_HEADER.encode() + b": x\r\n",
    b"&refreshNow=true", b"&version=" + b"9" * 4301, b"&name=", b"GET / HTTP/1.1\r\n",
]


def mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        position = rng.randint(0, len(out))
        if choice < 0.25 and out:
            out[min(position, len(out) - 1)] = rng.randrange(256)
        elif choice < 0.6:
            out[position:position] = rng.choice(SPECIALS)
        elif choice < 0.75:
            del out[position:position + rng.randint(1, 16)]
        elif choice < 0.9:
            span = bytes(out[position:position + rng.randint(1, 40)])
            out[position:position] = span * rng.randint(1, 3)
        else:
            del out[position:]
    return bytes(out)


def fuzz_worker(port: int, cases: list[bytes], results: Counter[str], lock: threading.Lock,
                failures: list[bytes]) -> None:
    for data in cases:
        try:
            reply, hung = exchange(port, data)
        except OSError:
            verdict = "refused"
        else:
            statuses = split_responses(reply)
            if hung:
                verdict = "hang"
            elif statuses is None:
                verdict = "not-http"
            elif 500 in statuses:
                verdict = "500"
            else:
                verdict = "answered" if statuses else "closed without an answer"
        with lock:
            results[verdict] += 1
            if verdict in ("hang", "not-http", "500", "refused") and len(failures) < 5:
                failures.append(data[:300])


def case_fuzz(moto_url: str, work: Path, count: int, seed_value: int) -> Outcome:
    server = common.start_server(moto_url, work)
    try:
        server.get(HIT)
        rng = random.Random(seed_value)
        cases = [mutate(rng, rng.choice(CORPUS)) for _ in range(count)]
        results: Counter[str] = Counter()
        failures: list[bytes] = []
        lock = threading.Lock()
        workers = 32
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            jobs = [pool.submit(fuzz_worker, server.port, cases[n::workers], results, lock, failures)
                    for n in range(workers)]
            for job in jobs:
                job.result()
        elapsed = time.monotonic() - started
        alive = server.child.alive() and server.get("/ping", token=False).status == 200
        log_ok = clean_log(server)
    finally:
        server.stop()
    bad = results["hang"] + results["not-http"] + results["500"] + results["refused"]
    ok = alive and log_ok and bad == 0
    rows = [("mutated requests", f"{count} (seed {seed_value}) in {elapsed:.0f} s"),
            *((verdict, str(n)) for verdict, n in sorted(results.items())),
            ("server alive and answering afterwards", str(alive)), ("no traceback in its log", str(log_ok))]
    rows += [("example failure", cell(repr(sample))) for sample in failures]
    return Outcome("fuzz", "0 crashes, 0 hangs, 0 non-HTTP answers, 0 500s",
                   f"{count} requests: {results['hang']} hangs, {results['not-http']} non-HTTP, "
                   f"{results['500']} 500s, {'no crash' if alive and log_ok else 'CRASH'}", ok, rows)


# Smuggling ------------------------------------------------------------------------------------------

def smuggling_vectors() -> list[tuple[str, bytes]]:
    inner = request("/secretsmanager/get?secretId=canary")
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(inner), inner)
    outers = {
        "200 GET /ping": ("GET", "/ping", ""),
        "401 no token": ("GET", "/secretsmanager/get?secretId=canary", ""),
        "404 no route": ("GET", "/nowhere", f"{TOKEN_HEADER}: {TOKEN}\r\n"),
        "405 POST /ping": ("POST", "/ping", ""),
        "400 X-Forwarded-For": ("GET", "/ping", "X-Forwarded-For: 10.0.0.1\r\n"),
        "400 Forwarded": ("GET", "/ping", "Forwarded: for=10.0.0.1\r\n"),
        "POST /": ("POST", "/", "X-Amz-Target: secretsmanager.GetSecretValue\r\n"),
    }
    framings: dict[str, tuple[str, bytes]] = {
        "Content-Length": (f"Content-Length: {len(inner)}\r\n", inner),
        "CL with spaces": (f"Content-Length:   {len(inner)}  \r\n", inner),
        "CL twice, equal": (f"Content-Length: {len(inner)}\r\nContent-Length: {len(inner)}\r\n", inner),
        "CL twice, different": (f"Content-Length: {len(inner)}\r\nContent-Length: 0\r\n", inner),
        "CL leading zeros": (f"Content-Length: 000{len(inner)}\r\n", inner),
        "CL plus sign": (f"Content-Length: +{len(inner)}\r\n", inner),
        "CL comma list": (f"Content-Length: {len(inner)}, {len(inner)}\r\n", inner),
        "chunked": ("Transfer-Encoding: chunked\r\n", chunked),
        "chunked + CL": (f"Transfer-Encoding: chunked\r\nContent-Length: {len(chunked)}\r\n", chunked),
        "CL + chunked": (f"Content-Length: {len(chunked)}\r\nTransfer-Encoding: chunked\r\n", chunked),
        "TE with tab": ("Transfer-Encoding:\tchunked\r\n", chunked),
        "TE xchunked": ("Transfer-Encoding: xchunked\r\n", chunked),
        "TE list": ("Transfer-Encoding: gzip, chunked\r\n", chunked),
        "TE twice": ("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", chunked),
        "TE lower-case": ("transfer-encoding: chunked\r\n", chunked),
        "TE space before colon": ("Transfer-Encoding : chunked\r\n", chunked),
        "TE folded": ("Transfer-Encoding:\r\n chunked\r\n", chunked),
        "TE bare LF": ("Transfer-Encoding: chunked\n", chunked),
        "CL bare CR": (f"Content-Length: {len(inner)}\r", inner),
    }
    vectors = []
    for verdict, (method, path, extra) in outers.items():
        for framing, (headers, body) in framings.items():
            head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n{extra}{headers}\r\n".encode()
            vectors.append((f"{verdict} / {framing}", head + body))
    return vectors


def case_smuggling(moto_url: str, work: Path) -> Outcome:
    server = common.start_server(moto_url, work)
    try:
        assert CANARY_VALUE.encode() in server.get("/secretsmanager/get?secretId=canary").body  # it is reachable
        leaks, extra_answers, hangs = [], [], []
        statuses: Counter[int] = Counter()
        vectors = smuggling_vectors()
        follow_up = request("/ping", "Connection: close\r\n", token=False)
        for name, data in vectors:
            # Half-closed after the request; or followed by a request that ends the connection.
            for sent, most in ((data, 1), (data + follow_up, 2)):
                reply, hung = exchange(server.port, sent, half_close=most == 1, timeout=20)
                found = split_responses(reply) or []
                statuses.update(found)
                if CANARY_VALUE.encode() in reply:
                    leaks.append(name)
                if len(found) > most:
                    extra_answers.append(name)
                if hung:
                    hangs.append(name)
        log_ok = clean_log(server)
    finally:
        server.stop()
    ok = not leaks and not extra_answers and not hangs and log_ok
    rows = [("vectors (each half-closed, and followed by a last request)", str(len(vectors) * 2)),
            ("statuses answered", ", ".join(f"{status} x{n}" for status, n in sorted(statuses.items()))),
            ("canary leaked", ", ".join(leaks) or "never"),
            ("more than one answer", ", ".join(extra_answers) or "never"),
            ("no close within 20 s", ", ".join(hangs) or "none")]
    return Outcome("smuggling", "no request inside a body is ever answered",
                   f"{len(vectors) * 2} vectors: canary leaked {len(leaks)} times, "
                   f"{len(extra_answers)} second answers", ok, rows)


# Flood -----------------------------------------------------------------------------------------------

async def _flood(port: int, idle: int, slow: int, seconds: float) -> dict[str, int]:
    """Attacker side (its own process): keep `idle` silent and `slow` slowloris connections open."""
    stats: Counter[str] = Counter()
    stop_at = asyncio.get_running_loop().time() + seconds

    async def one(slowloris: bool) -> None:
        while asyncio.get_running_loop().time() < stop_at:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                stats["connect failed"] += 1
                await asyncio.sleep(0.2)
                continue
            stats["connections"] += 1
            try:
                if slowloris:
                    writer.write(b"GET /ping HTTP/1.1\r\nX-Slow: ")
                while asyncio.get_running_loop().time() < stop_at:
                    try:
                        data = await asyncio.wait_for(reader.read(4096), 1.0)
                    except TimeoutError:
                        if slowloris:
                            writer.write(b"a")  # one byte a second: never a whole request
                        continue
                    if not data:
                        stats["closed by the server"] += 1
                        break
                    stats["answered " + data[9:12].decode(errors="replace")] += 1
            except OSError:
                stats["reset"] += 1
            finally:
                writer.close()

    await asyncio.gather(*(one(False) for _ in range(idle)), *(one(True) for _ in range(slow)))
    return dict(stats)


def token_client(port: int, seconds: float, every: float, keep_alive: bool = False
                 ) -> tuple[list[float], Counter[str]]:
    """Read a cached value every `every` seconds: on a fresh connection each time, or on one
    keep-alive connection (a function's pattern), reconnecting if the server closed it."""
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    data = request(HIT) if keep_alive else request(HIT, "Connection: close\r\n")
    sock: socket.socket | None = None
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        started = time.monotonic()
        try:
            if keep_alive:
                if sock is None:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                sock.sendall(data)
                reply = common_read_one(sock)
                if not reply:  # closed while idle (evicted): the client reconnects and retries
                    outcomes["reconnected"] += 1
                    sock.close()
                    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                    sock.sendall(data)
                    reply = common_read_one(sock)
            else:
                reply, _ = exchange(port, data, half_close=False, timeout=10)
            outcomes[reply[9:12].decode(errors="replace") or "empty"] += 1
        except OSError as error:
            outcomes[type(error).__name__] += 1
            if sock is not None:
                sock.close()
                sock = None
        latencies.append(time.monotonic() - started)
        time.sleep(max(0.0, every - (time.monotonic() - started)))
    if sock is not None:
        sock.close()
    return latencies, outcomes


def case_flood(moto_url: str, work: Path, seconds: float, idle: int, slow: int) -> Outcome:
    server = common.start_server(moto_url, work)
    try:
        server.get(HIT)
        baseline, _ = token_client(server.port, 5, 0.05)
        attacker = subprocess.Popen([sys.executable, __file__, "_flood", str(server.port), str(idle), str(slow),
                                     str(seconds + 5)], stdout=subprocess.PIPE, text=True)
        time.sleep(5)  # the attackers connect (SYN backlog retries included) before we measure
        cpu_before, attacker_before, clock = (common.cpu_seconds(server.pid), common.cpu_seconds(attacker.pid),
                                              time.monotonic())
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            fresh_job = pool.submit(token_client, server.port, seconds, 0.05)
            kept_job = pool.submit(token_client, server.port, seconds, 0.05, True)
            fresh, fresh_outcomes = fresh_job.result()
            kept, kept_outcomes = kept_job.result()
        elapsed = time.monotonic() - clock
        server_cpu = (common.cpu_seconds(server.pid) - cpu_before) / elapsed
        attacker_cpu = (common.cpu_seconds(attacker.pid) - attacker_before) / elapsed
        attack_stats = json.loads(attacker.communicate(timeout=seconds + 120)[0] or "{}")
        alive = server.child.alive()
    finally:
        server.stop()
    good = fresh_outcomes.get("200", 0) + kept_outcomes.get("200", 0)
    total = len(fresh) + len(kept)
    worst_kept = max(kept) if kept else float("inf")
    worst_fresh = max(fresh) if fresh else float("inf")
    ok = good == total and worst_kept < 0.1 and alive
    rows = [("attack", f"{slow} slowloris + {idle} idle connections, reconnecting, {seconds:.0f} s"),
            latency_row("fresh connection per read, no attack (reference)", baseline),
            latency_row("keep-alive client (a function's pattern) under attack", kept),
            ("its answers", ", ".join(f"{k} x{v}" for k, v in sorted(kept_outcomes.items()))),
            latency_row("fresh connection per read under attack", fresh),
            ("its answers", ", ".join(f"{k} x{v}" for k, v in sorted(fresh_outcomes.items()))),
            ("attacker side", ", ".join(f"{k} {v}" for k, v in sorted(attack_stats.items()))),
            ("CPU during the attack (one core = 100%)",
             f"server {server_cpu:.0%}, attacker {attacker_cpu:.0%}, "
             f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")]
    return Outcome("flood", "every token read 200; under 100 ms on a keep-alive connection",
                   f"{good}/{total} 200s; max {worst_kept * 1000:.1f} ms keep-alive, "
                   f"{worst_fresh * 1000:.1f} ms on fresh connections (no attack: max {max(baseline) * 1000:.1f} ms)",
                   ok, rows)


# Stalled backend ------------------------------------------------------------------------------------

def timed_get(port: int, path: str) -> tuple[float, int]:
    started = time.monotonic()
    try:
        # The detailed profile, whose statuses tell a timeout (504) from other failures (the default,
        # the AWS extension's, answers every failure 400).
        status = common.http_get(port, path, {TOKEN_HEADER: TOKEN, "X-Paramsecrets-Profile": "detailed"},
                                 timeout=120).status
    except OSError:
        status = 0
    return time.monotonic() - started, status


def case_stalled(moto_url: str, work: Path) -> Outcome:
    with FaultProxy(moto_url) as proxy:
        server = common.start_server(proxy.url, work)
        try:
            proxy.blackhole()
            paths = [f"/systemsmanager/parameters/get?name=/bench/p{n}&refreshNow=true" for n in range(12)]
            paths += [f"/systemsmanager/parameters/get?name=/bench/miss{n}" for n in range(30)]
            with concurrent.futures.ThreadPoolExecutor(len(paths)) as pool:
                results = list(pool.map(lambda path: timed_get(server.port, path), paths))
        finally:
            server.stop()
    deadline = 3 * 3.0
    worst = max(seconds for seconds, _ in results)
    statuses = Counter(status for _, status in results)
    ok = worst < deadline + 1.0 and set(statuses) == {504}
    rows = [("requests", "12 refreshNow + 30 misses at once; MAX_CONNECTIONS 3; AWS accepts and never answers"),
            latency_row("time to the answer", [seconds for seconds, _ in results]),
            ("statuses", ", ".join(f"{k} x{v}" for k, v in sorted(statuses.items()))),
            ("overall deadline (reference)", f"{deadline:.0f} s = 3 attempts x 3 s")]
    return Outcome("stalled", f"every request answered within its deadline ({deadline:.0f} s)",
                   f"max {worst:.2f} s for {len(results)} requests", ok, rows)


# Recovery ------------------------------------------------------------------------------------------

def case_recovery(moto_url: str, work: Path) -> Outcome:
    path = "/systemsmanager/parameters/get?name=/bench/p7"
    with FaultProxy(moto_url) as proxy:
        server = common.start_server(proxy.url, work, extra_env={"SSM_PARAMETER_STORE_TTL": "2",
                                                                 "PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD": "false"})
        try:
            server.get(path)
            stop = threading.Event()
            recovered_at: list[float] = []
            fresh_at: dict[int, float] = {}
            states: Counter[str] = Counter()
            lock = threading.Lock()

            def reader(number: int) -> None:
                connection = common.http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                while not stop.is_set():
                    answer = server.get(path, connection=connection)
                    state = answer.headers.get("x-paramsecrets-cache", "?")
                    with lock:
                        states[f"{answer.status} {state}"] += 1
                        if recovered_at and state != "stale" and answer.status == 200 and number not in fresh_at:
                            fresh_at[number] = time.monotonic()
                    time.sleep(0.02)
                connection.close()

            proxy.fail(503, service="AmazonSSM", times=3)  # one fetch, all 3 attempts, fails
            threads = [threading.Thread(target=reader, args=(n,)) for n in range(20)]
            for thread in threads:
                thread.start()
            bound = time.monotonic() + 60
            while proxy.total("AmazonSSM", outcome="failed") < 3 and time.monotonic() < bound:
                time.sleep(0.01)
            recovered_at.append(time.monotonic())  # the rule is spent: AWS answers again
            while len(fresh_at) < 20 and time.monotonic() < bound:
                time.sleep(0.01)
            stop.set()
            for thread in threads:
                thread.join(60)
        finally:
            server.stop()
    times = [at - recovered_at[0] for at in fresh_at.values()]
    worst = max(times) if len(times) == 20 else float("inf")
    ok = worst < 2.0
    rows = [("set-up", "TTL 2 s, no refresh ahead; the fetch after expiry fails (3 attempts, 503); "
                       "20 readers every 20 ms"),
            ("answers seen", ", ".join(f"{k} x{v}" for k, v in sorted(states.items()))),
            ("readers with a fresh answer", f"{len(times)}/20"),
            latency_row("from AWS answering again to each reader's first fresh answer", times)]
    return Outcome("recovery", "fresh answers within 2 s of AWS answering again",
                   f"all 20 fresh after {worst:.2f} s" if len(times) == 20 else f"only {len(times)}/20 fresh",
                   ok, rows)


# SIGTERM -----------------------------------------------------------------------------------------------

def case_sigterm(moto_url: str, work: Path) -> Outcome:
    with FaultProxy(moto_url) as proxy:
        server = common.start_server(proxy.url, work)
        server.get(HIT)
        proxy.delay(30.0, service="AmazonSSM")
        signalled = threading.Event()
        counts: Counter[str] = Counter()
        lock = threading.Lock()

        def hit_client() -> None:
            with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
                while True:
                    before = signalled.is_set()
                    try:
                        sock.sendall(request(HIT))
                        reply = common_read_one(sock)
                        outcome = reply[9:12].decode() if reply else "connection closed (EOF): safe to retry"
                    except OSError as error:
                        reply, outcome = b"", f"no answer ({type(error).__name__})"
                    with lock:
                        phase = "sent after SIGTERM" if before else "sent before SIGTERM"
                        counts[f"hit {phase}: {outcome}"] += 1
                    if not reply or b"Connection: close" in reply:
                        return
                    time.sleep(0.01)

        def miss_client(number: int) -> None:
            reply, _ = exchange(server.port, request(f"/systemsmanager/parameters/get?name=/bench/slow{number}"),
                                half_close=False, timeout=60)
            with lock:
                counts[f"miss in flight: {reply[9:12].decode() if reply else 'no answer'}"] += 1

        threads = [threading.Thread(target=hit_client) for _ in range(54)]
        threads += [threading.Thread(target=miss_client, args=(n,)) for n in range(10)]
        for thread in threads:
            thread.start()
        bound = time.monotonic() + 60
        while server.metrics().get("paramsecrets_cache_misses_total", 0) < 10 and time.monotonic() < bound:
            time.sleep(0.01)
        time.sleep(0.2)  # the hit clients are in full swing
        signalled.set()
        started = time.monotonic()
        server.child.proc.send_signal(signal.SIGTERM)
        code = server.child.proc.wait(30)
        stop_s = time.monotonic() - started
        for thread in threads:
            thread.join(60)
        server.stop()
    unanswered_before = sum(n for key, n in counts.items() if "before SIGTERM" in key and "200" not in key)
    misses_answered = sum(n for key, n in counts.items() if key.startswith("miss") and "no answer" not in key)
    ok = code == 0 and stop_s < 2.0 and misses_answered == 10 and unanswered_before == 0
    rows = [("clients", "54 reading hits on keep-alive connections, 10 misses in flight (AWS delayed 30 s)"),
            *((key, str(n)) for key, n in sorted(counts.items())),
            ("exit status", str(code)), ("SIGTERM to exit", f"{stop_s:.2f} s (Lambda allows 2 s)")]
    return Outcome("sigterm", "every request answered, exit 0, under 2 s",
                   f"{misses_answered}/10 misses answered, exit {code} in {stop_s:.2f} s", ok, rows)


def common_read_one(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return b""
        body += chunk
    return head + b"\r\n\r\n" + body


# Soak --------------------------------------------------------------------------------------------------

def case_soak(moto_url: str, work: Path, seconds: float) -> Outcome:
    server = common.start_server(moto_url, work)
    try:
        server.get(HIT)
        url = f"http://127.0.0.1:{server.port}{HIT}"
        common.run_wrk(url, 5, work, connections=256, headers={TOKEN_HEADER: TOKEN})  # warm-up
        before = common.rss_bytes(server.pid)
        result = common.run_wrk(url, seconds, work, connections=256, headers={TOKEN_HEADER: TOKEN})
        after = common.rss_bytes(server.pid)
    finally:
        server.stop()
    errors = result.socket_errors + result.non_2xx
    growth = after - before
    ok = errors == 0 and growth < common.MIB
    rows = [("load", f"wrk -c256 -d{seconds:.0f}s, cached reads, keep-alive (after a 5 s warm-up)"),
            ("requests", f"{result.requests} ({result.requests / max(seconds, 1):.0f}/s)"),
            ("errors (socket + non-2xx)", str(errors)),
            ("RSS before / after", f"{before / common.MIB:.2f} / {after / common.MIB:.2f} MiB"),
            ("RSS growth", f"{growth / 1024:.0f} KiB")]
    return Outcome("soak", "0 errors, RSS growth under 1 MiB",
                   f"{result.requests} requests, {errors} errors, RSS growth {growth / 1024:.0f} KiB", ok, rows)


# Main ----------------------------------------------------------------------------------------------------

def report(outcomes: list[Outcome]) -> str:
    lines = []
    for outcome in outcomes:
        lines.append(f"\n### {outcome.name}: {'met' if outcome.ok else 'MISSED'}: {outcome.target}\n")
        lines.append(common.markdown_table(("what", "figure"), outcome.rows))
    summary = common.markdown_table(("case", "target", "result", "verdict"),
                                    [(o.name, o.target, o.result, "met" if o.ok else "MISSED") for o in outcomes])
    return summary + "\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_flood":
        port, idle, slow, seconds = int(argv[1]), int(argv[2]), int(argv[3]), float(argv[4])
        os.nice(19)  # what is measured is the server's connection policy, not a fight for the CPU
        print(json.dumps(asyncio.run(_flood(port, idle, slow, seconds))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", action="append", choices=CASES, help="run only these cases (repeatable)")
    parser.add_argument("--quick", action="store_true", help="small sizes, no docs: a smoke run")
    parser.add_argument("--fuzz", type=int, default=50_000, help="mutated requests (default 50,000)")
    parser.add_argument("--soak-seconds", type=float, default=60.0)
    parser.add_argument("--flood-seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.fuzz, args.soak_seconds, args.flood_seconds, args.no_docs = 2000, 5.0, 12.0, True
    idle, slow = (300, 200) if args.quick else (3000, 2000)
    raise_fd_limit()
    work = Workdir("paramsecrets-attack-").path
    moto = common.start_moto(work)
    outcomes: list[Outcome] = []
    runners: dict[str, Callable[[], Outcome]] = {
        "fuzz": lambda: case_fuzz(moto.url, work, args.fuzz, args.seed),
        "smuggling": lambda: case_smuggling(moto.url, work),
        "flood": lambda: case_flood(moto.url, work, args.flood_seconds, idle, slow),
        "stalled": lambda: case_stalled(moto.url, work),
        "recovery": lambda: case_recovery(moto.url, work),
        "sigterm": lambda: case_sigterm(moto.url, work),
        "soak": lambda: case_soak(moto.url, work, args.soak_seconds),
        **attack_surface.runners(moto, work, args.quick),
    }
    try:
        seed(moto)
        for name in args.case or CASES:
            done = common.timed(f"case {name} ...")
            outcome = runners[name]()
            done()
            outcomes.append(outcome)
            print(f"\n== {outcome.name}: {'met' if outcome.ok else 'MISSED'} ({outcome.target}): {outcome.result}")
            print(common.text_table(("what", "figure"), outcome.rows), flush=True)
    except Exception as error:  # the harness broke: say so, with what we have
        print(f"\nERROR: the attack run is broken: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        moto.stop()
    # The load cases and the surface cases each have their section, so either set can be rerun alone.
    for section, names in ((SECTION, LOAD_CASES), (SURFACE_SECTION, SURFACE_CASES)):
        chosen = [outcome for outcome in outcomes if outcome.name in names]
        if not chosen:
            continue
        markdown = report(chosen)
        print("\n" + markdown)
        if not args.no_docs:
            header = (f"Measured by `bench/attack.py --case {' --case '.join(o.name for o in chosen)}` "
                      "(rerun it to refresh this section) on:\n\n"
                      + common.machine_lines(common.machine_info()) + "\n\n")
            common.write_doc_section(DOC, section, header + markdown)
            progress(f"wrote {DOC.relative_to(common.REPO)} ({section})")
    return 0 if all(outcome.ok for outcome in outcomes) else 2


if __name__ == "__main__":
    sys.exit(main())
