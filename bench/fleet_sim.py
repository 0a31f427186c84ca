"""A fleet of N environments on the fake clock, against AWS's quotas: ours vs the AWS layer's behaviour.

    .venv/bin/python bench/fleet_sim.py [--envs 10000] [--duration 3600] [--storm 60] [--quick]
                                        [--sweep 2000,5000,10000,15000,20000] [--no-docs] [--json FILE]

What runs is the real answer path of paramsecrets, once per environment: `Service` (the GET
routes), `Reader`, `Cache`, the freshness policy, refresh ahead and its coalescing, revalidation
by version, rotation-aware expiry, remembered errors, stale on error and the start-up prefetch,
exactly as `paramsecrets serve` assembles them (the code is imported, not re-implemented). What
is simulated: time (one FakeClock for the whole fleet), AWS (one FakeUpstream: the account's
parameters and secrets) and the account's quotas, as token buckets in front of it:

    Parameter Store      40/s shared by GetParameter, GetParameters, GetParametersByPath
                         (the higher-throughput setting: 10,000/s; `--ssm-quota`)
    Secrets Manager      GetSecretValue 10,000/s, DescribeSecret 40,000/s, BatchGetSecretValue 100/s

A refused call is AWS's ThrottlingException; the shipped transport's retry policy is applied to it
on the fake clock (3 attempts, full-jitter back-off 0.1 * 2^attempt s capped at 2 s, the constants
of paramsecrets.aws.transport), then the read fails (or goes stale) as it would in the server.
Every call that gets through takes `--latency` (20 ms) of fake time.

The workload: N environments start within `--storm` seconds (a cold-start storm: a deploy, or a
traffic spike scaling a function out); `--init` (0.3 s) after its start (Lambda's INIT, during
which the extension is already prefetching) each runs its first invocation, then one every
`--interval` seconds (30 s), which reads the same 3 parameters and 1 secret through the GET routes. At
`--rotate-at` (2,400 s) the secret rotates: its NextRotationDate is that instant and the new
version appears then. Modes (the same code, settings only):

- `ours`: the defaults (refresh ahead, stale on error, revalidation by version, rotation-aware
  expiry, errors remembered 5 s) plus prefetch of the 3 parameters and the secret.
- `aws`: the AWS layer's behaviour: no refresh ahead, no stale on error, no revalidation, no
  remembered errors, no prefetch; the same TTLs (300 s).

Reported per mode and window (storm: the first `--storm` + 60 s; steady: from 600 s to the
rotation; rotation: from the rotation to the end): calls per second per API (mean and peak
1-second) against its quota, throttled calls, reads that failed (what functions see), p99 and max
wait of a read, and after the rotation how long environments kept answering the old value.
Waits are measured on the fake clock in steps of `--tick` (10 ms). Writes docs/fleet-sim.md's
figures into docs/fleet.md (a section) and docs/fleet_sim.png unless --no-docs (or --quick).
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import platform
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from paramsecrets.api.routes import Router
from paramsecrets.api.service import Service
from paramsecrets.api.tokens import Token
from paramsecrets.aws.errors import Kind, UpstreamError
from paramsecrets.aws.transport import ATTEMPTS, BACKOFF_BASE_S, BACKOFF_CAP_S
from paramsecrets.aws.upstream import Upstream
from paramsecrets.cache.reader import Reader
from paramsecrets.cache.store import Cache
from paramsecrets.config import Settings
from paramsecrets.http.parser import Request
from paramsecrets.metrics import Metrics
from paramsecrets.process.prefetch import prefetch
from paramsecrets.testing.clock import START, FakeClock
from paramsecrets.testing.fake_upstream import FakeUpstream, Script, sleep_on

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "fleet.md"
CHART = REPO / "docs" / "fleet_sim.png"
SECTION = "## The fleet on the fake clock (bench/fleet_sim.py)"
TOKEN = b"fleet-sim-token"
PARAMETERS = ("/fleet/db/host", "/fleet/db/port", "/fleet/feature/flags")
SECRET = "fleet/db/password"
SSM_OPERATIONS = ("GetParameter", "GetParameters", "GetParametersByPath")
QUOTAS = {"ssm": 40.0, "GetSecretValue": 10_000.0, "DescribeSecret": 40_000.0, "BatchGetSecretValue": 100.0}
MODES = ("aws", "ours")
SETTLE_ROUNDS = 6  # event-loop rounds per tick (a fetch's chain of awaits continues on the next tick)
IDLE_SETTLE_ROUNDS = 30  # before skipping idle ticks, let every chain finish


class Bucket:
    """A token bucket: `rate` tokens a second, holding at most `rate` (one second of burst)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.at = 0.0

    def take(self, now: float) -> bool:
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class QuotaScript(Script):
    """The fake upstream's call chokepoint, behind the account's quotas and the transport's retries."""

    def __init__(self, clock: FakeClock, ssm_quota: float, latency: float, seed: int) -> None:
        super().__init__(clock)
        shared = Bucket(ssm_quota)
        self.buckets = {operation: shared for operation in SSM_OPERATIONS}
        for operation in ("GetSecretValue", "DescribeSecret", "BatchGetSecretValue"):
            self.buckets[operation] = Bucket(QUOTAS[operation])
        self.call_latency = latency
        self.random = random.Random(seed)
        self.attempts: list[tuple[float, str, bool]] = []  # (time, operation, let through)

    async def call(self, operation: str, asked: Any, role: str | None = None) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            now = self.clock.time()
            allowed = self.buckets[operation].take(now) if operation in self.buckets else True
            self.attempts.append((now, operation, allowed))
            if allowed:
                self.calls[operation] += 1
                await sleep_on(self.clock, self.call_latency)
                return
            if attempt == ATTEMPTS:
                raise UpstreamError(Kind.THROTTLED, "ThrottlingException", "Rate exceeded")
            await sleep_on(self.clock, self.random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** attempt)))


def settings_for(mode: str) -> Settings:
    if mode == "aws":
        return Settings(None, None, refresh_ahead=False, stale_on_error=False, revalidate_secrets=False,
                        error_ttl=0)
    return Settings(None, None, prefetch_parameters=PARAMETERS, prefetch_secrets=(SECRET,))


class Environment:
    """One execution environment's paramsecrets: the real service, reader and cache."""

    __slots__ = ("metrics", "reader", "service", "settings")

    def __init__(self, settings: Settings, router: Router, clock: FakeClock, ready: asyncio.Future[Upstream],
                 seed: int) -> None:
        cache = Cache(settings.cache_size, settings.cache_max_bytes,
                      settings.max_staleness if settings.stale_on_error else 0, settings.refresh_ahead, clock=clock,
                      draw=random.Random(seed).random)
        self.settings = settings
        self.metrics = Metrics()
        self.reader = Reader(settings, cache, ready, self.metrics, clock)
        self.service = Service(settings, router, cache, self.reader, self.metrics, clock)


@dataclass
class Window:
    name: str
    start: float
    end: float
    reads: int = 0
    failed: int = 0
    waits: list[float] = field(default_factory=list)


@dataclass
class Result:
    mode: str
    envs: int
    duration: float
    interval: float
    windows: dict[str, dict[str, Any]]
    calls: dict[str, int]
    throttled: dict[str, int]
    peak_per_s: dict[str, float]
    rotation_lag_p99: float | None
    rotation_lag_max: float | None
    old_after_rotation: int
    old_reads_after_60s: int
    wall_s: float
    storm: float = 60.0


TARGETS = (*(f"/systemsmanager/parameters/get?name={name}".encode() for name in PARAMETERS),
           f"/secretsmanager/get?secretId={SECRET}".encode())


async def simulate(mode: str, args: argparse.Namespace) -> Result:
    started = time.monotonic()
    clock = FakeClock()
    script = QuotaScript(clock, args.ssm_quota, args.latency, args.seed)
    upstream = FakeUpstream(clock, script=script)
    for name in PARAMETERS:
        upstream.put_parameter(name, "v")
    upstream.put_secret(SECRET, "old")
    rotate_at = START + args.rotate_at
    upstream.secrets.rotation(SECRET, rotate_at)
    ready: asyncio.Future[Upstream] = asyncio.get_running_loop().create_future()
    ready.set_result(upstream)
    settings = settings_for(mode)
    router = Router(Token("AWS_SESSION_TOKEN", TOKEN))
    rng = random.Random(args.seed)
    steady_from = max(args.storm + 60, min(600.0, args.rotate_at / 2))
    windows = [Window("storm", 0, args.storm + 60), Window("steady", steady_from, args.rotate_at),
               Window("rotation", args.rotate_at, args.duration)]
    clock.call_later(args.rotate_at, lambda: upstream.secrets.rotate(SECRET, "new", 86_400.0))
    envs: list[Environment | None] = [None] * args.envs
    queue: list[tuple[float, int]] = []  # (fake time offset, environment) of the next invocation
    for index in range(args.envs):
        heapq.heappush(queue, (rng.uniform(0, args.storm), index))
    first_new: dict[int, float] = {}
    old_after: set[int] = set()
    late_old = [0]  # reads answering the old value more than 60 s after the rotation
    pending: set[asyncio.Future[Any]] = set()
    failures: Counter[tuple[str, str]] = Counter()

    def record(window_time: float, waited: float, ok: bool, index: int, body: bytes, target: bytes) -> None:
        if not ok:
            code = body.partition(b"X-Paramsecrets-Error: ")[2].partition(b"\r\n")[0].decode()
            failures[(target.decode().partition("?")[0], code)] += 1
        for window in windows:
            if window.start <= window_time < window.end:
                window.reads += 1
                window.waits.append(waited)
                if not ok:
                    window.failed += 1
        if target is TARGETS[-1] and ok and clock.now >= rotate_at:
            if b'"SecretString":"old"' in body:
                old_after.add(index)
                if clock.now - rotate_at > 60:
                    late_old[0] += 1
            elif index not in first_new:
                first_new[index] = clock.now - rotate_at

    def read(index: int, target: bytes, offset: float) -> None:
        env = envs[index]
        assert env is not None
        request = Request(b"GET", target, b"HTTP/1.1", token=TOKEN, keep_alive=True)
        answered = env.service.respond(request)
        if isinstance(answered, bytes):
            record(offset, 0.0, answered.startswith(b"HTTP/1.1 200"), index, answered, target)
            return
        began = clock.now
        task = asyncio.ensure_future(answered)
        pending.add(task)

        def done(finished: asyncio.Future[bytes]) -> None:
            pending.discard(finished)
            if finished.cancelled():  # still waiting when the simulated time ran out
                return
            body = finished.result()
            record(offset, clock.now - began, body.startswith(b"HTTP/1.1 200"), index, body, target)

        task.add_done_callback(done)

    tick = args.tick
    step = 0
    last_report = 0.0
    while step * tick < args.duration:
        step += 1
        horizon = step * tick
        while queue and queue[0][0] < horizon:
            offset, index = heapq.heappop(queue)
            clock.advance_to(START + offset)
            if envs[index] is None:  # the environment starts (INIT): the first invocation follows it
                env = envs[index] = Environment(settings, router, clock, ready, args.seed * 1_000_003 + index)
                if settings.prefetch_parameters or settings.prefetch_secrets:
                    work = asyncio.ensure_future(prefetch(settings, env.reader, env.metrics))
                    pending.add(work)
                    work.add_done_callback(pending.discard)
                heapq.heappush(queue, (offset + args.init, index))
                continue
            for target in TARGETS:
                read(index, target, offset)
            if offset + args.interval < args.duration:
                heapq.heappush(queue, (offset + args.interval, index))
        clock.advance_to(START + horizon)
        for _ in range(SETTLE_ROUNDS):
            await asyncio.sleep(0)
        # Nothing due before the next invocation or timer: settle fully and skip the idle ticks.
        due = clock.next_due()
        upcoming = min(queue[0][0] if queue else args.duration, (due - START) if due is not None else args.duration)
        if upcoming >= horizon + 2 * tick:
            for _ in range(IDLE_SETTLE_ROUNDS):
                await asyncio.sleep(0)
            step = max(step, int(upcoming / tick))
        if args.progress and horizon - last_report >= 300:
            last_report = horizon
            print(f"  {mode}: {horizon:.0f} s simulated, {time.monotonic() - started:.0f} s wall", file=sys.stderr)
    for task in list(pending):
        task.cancel()
    if failures:
        print(f"  {mode} {args.envs:,}: failed reads by route and code: {dict(failures)}", file=sys.stderr)

    calls: Counter[str] = Counter()
    throttled: Counter[str] = Counter()
    per_second: dict[str, Counter[int]] = defaultdict(Counter)
    for at, operation, allowed in script.attempts:
        key = "Parameter Store" if operation in SSM_OPERATIONS else operation
        if allowed:
            calls[operation] += 1
            per_second[key][int(at - START)] += 1
        else:
            throttled[operation] += 1
    summary = {}
    for window in windows:
        span = max(1e-9, window.end - window.start)
        in_window = {key: sum(count for second, count in seconds.items() if window.start <= second < window.end)
                     for key, seconds in per_second.items()}
        peaks = {key: max((count for second, count in seconds.items() if window.start <= second < window.end),
                          default=0) for key, seconds in per_second.items()}
        summary[window.name] = {
            "reads": window.reads, "failed": window.failed,
            "p99_wait_ms": 1000 * percentile(window.waits, 0.99), "max_wait_ms": 1000 * max(window.waits, default=0),
            "calls_per_s": {key: count / span for key, count in in_window.items()}, "peak_per_s": peaks,
        }
    lags = sorted(first_new.values())
    return Result(mode, args.envs, args.duration, args.interval, summary, dict(calls), dict(throttled),
                  {key: float(max(seconds.values(), default=0)) for key, seconds in per_second.items()},
                  percentile(lags, 0.99) if lags else None, lags[-1] if lags else None,
                  len(old_after - set(first_new)), late_old[0], time.monotonic() - started, args.storm)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def quota_of(key: str, ssm_quota: float) -> float:
    return ssm_quota if key == "Parameter Store" else QUOTAS[key]


def label(result: Result) -> str:
    return f"{result.mode}: {result.envs:,} starting within {result.storm:.0f} s, {result.duration:.0f} s"


def table(results: list[Result], ssm_quota: float) -> str:
    lines = ["| run | window | reads | failed reads | p99 wait | max wait | calls/s (peak 1 s) vs quota |",
             "|---|---|---|---|---|---|---|"]
    for result in results:
        for name, window in result.windows.items():
            rates = ", ".join(
                f"{key} {rate:.1f} ({window['peak_per_s'].get(key, 0)}) / {quota_of(key, ssm_quota):,.0f}"
                for key, rate in sorted(window["calls_per_s"].items()))
            lines.append(f"| {label(result)} | {name} | {window['reads']:,} | {window['failed']:,} | "
                         f"{window['p99_wait_ms']:.0f} ms | {window['max_wait_ms']:.0f} ms | {rates or '-'} |")
    return "\n".join(lines)


def rotation_lines(results: list[Result]) -> list[str]:
    lines = []
    for result in results:
        if result.rotation_lag_max is None:
            lines.append(f"- {label(result)}: no environment read the rotated value before the end.")
            continue
        lines.append(f"- {label(result)}: after the rotation, environments first answered the new value "
                     f"p99 {result.rotation_lag_p99:.0f} s, at most {result.rotation_lag_max:.0f} s later (each "
                     f"reads every {result.interval:.0f} s); {result.old_reads_after_60s:,} reads answered the old "
                     "value more than 60 s after the rotation"
                     + (f"; {result.old_after_rotation} environments never answered the new one before the end"
                        if result.old_after_rotation else ""))
    return lines


def chart(results: list[Result], sweep: list[Result], path: Path, ssm_quota: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2 if sweep else 1, figsize=(12 if sweep else 7, 4.2), squeeze=False)
    left = axes[0][0]
    shown = [r for r in results if r.duration == results[0].duration and r.storm == results[0].storm]
    names = [f"{r.mode}\n{w}" for r in shown for w in r.windows]
    failed = [r.windows[w]["failed"] for r in shown for w in r.windows]
    left.bar(names, failed, color=["#c44" if n.startswith("aws") else "#48c" for n in names])
    left.set_yscale("symlog")
    left.set_ylabel("failed reads (function-visible)")
    left.set_title(f"{shown[0].envs:,} environments starting within {shown[0].storm:.0f} s, "
                   f"{shown[0].duration:.0f} s")
    if sweep:
        right = axes[0][1]
        for mode in MODES:
            points = [(r.envs, sum(w["failed"] for w in r.windows.values())) for r in sweep if r.mode == mode]
            if points:
                right.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=mode)
        right.set_xlabel("environments")
        right.set_ylabel("failed reads (whole run)")
        right.set_yscale("symlog")
        right.set_title(f"failed reads by fleet size (starts within {sweep[0].storm:.0f} s, "
                        f"{sweep[0].duration:.0f} s)")
        right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def summary(results: list[Result]) -> list[str]:
    """One line per run pair: failed reads and old-value reads, ours against the AWS layer's behaviour."""
    lines = []
    for ours in (r for r in results if r.mode == "ours"):
        twins = [r for r in results if r.mode == "aws" and (r.envs, r.duration, r.storm) ==
                 (ours.envs, ours.duration, ours.storm)]
        if not twins:
            continue
        aws = twins[0]
        ours_failed = failed_in(ours, "storm", "steady", "rotation")
        aws_failed = failed_in(aws, "storm", "steady", "rotation")
        ratio = f" ({aws_failed / ours_failed:.0f}x fewer)" if ours_failed else ""
        lines.append(f"- {ours.envs:,} environments starting within {ours.storm:.0f} s, {ours.duration:.0f} "
                     f"simulated s: failed reads ours {ours_failed:,}, aws {aws_failed:,}{ratio}; reads of the "
                     f"old secret more than 60 s after its rotation: ours {ours.old_reads_after_60s:,}, "
                     f"aws {aws.old_reads_after_60s:,}.")
    return lines


def failed_in(result: Result, *names: str) -> int:
    return sum(window["failed"] for name, window in result.windows.items() if name in names)


def write_doc(results: list[Result], sweep: list[Result], args: argparse.Namespace) -> None:
    ours = [r for r in sweep if r.mode == "ours"]
    clean = [r.envs for r in ours if failed_in(r, "storm", "steady", "rotation") == 0]
    dirty = [r.envs for r in ours if r.envs not in clean]
    largest = max(clean, default=None)
    calm = max((r.envs for r in ours if failed_in(r, "steady", "rotation") == 0), default=None)
    lines = [
        SECTION, "",
        f"{' and '.join('`' + command + '`' for command in commands_of(args))} — "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Python {platform.python_version()}, on this "
        "shared 2-core machine (one process per mode, side by side). Wall time per run: "
        + "; ".join(f"{label(r)}: {r.wall_s:.0f} s" for r in results) + ".",
        "",
        "The real answer path (`Service`, `Reader`, `Cache`, `policy`, prefetch) runs once per environment on "
        "one fake clock, against one fake AWS with the account's quotas as token buckets and the transport's "
        "retries (3 attempts, full-jitter back-off); see the docstring of `bench/fleet_sim.py`. "
        f"Each environment invokes every {args.interval:.0f} s and reads 3 parameters and 1 secret (single GET "
        "routes); the secret rotates two thirds of the way through the run (at 2,400 s in the hour, 900 s in "
        "the 1,200 s runs). TTLs are the defaults (300 s).", "",
        *summary(results), "",
        f"![fleet simulation]({CHART.name})", "",
        table(results, args.ssm_quota), "",
        "After the rotation:", "", *rotation_lines(results), "",
    ]
    if sweep:
        span = sweep[0].duration
        lines += [f"Fleet sizes (the same workload for {span:.0f} simulated seconds, starts within "
                  f"{sweep[0].storm:.0f} s; failed reads during the storm / after it):", "",
                  "| environments | " + " | ".join(MODES) + " |", "|---|" + "---|" * len(MODES)]
        for envs in sorted({r.envs for r in sweep}):
            cells = []
            for mode in MODES:
                found = [r for r in sweep if r.envs == envs and r.mode == mode]
                cells.append(f"{failed_in(found[0], 'storm'):,} / {failed_in(found[0], 'steady', 'rotation'):,}"
                             if found else "-")
            lines.append(f"| {envs:,} | " + " | ".join(cells) + " |")
        verdict = (f"**Largest fleet run with 0 function-visible errors on the standard quota (ours, storm "
                   f"included): {largest:,}**" if largest else "No fleet size run had 0 errors with ours")
        verdict += f"; the first with errors: {min(dirty):,}" if dirty else ""
        verdict += f"; with 0 errors once the storm had passed: up to {calm:,}." if calm else "."
        lines += ["", verdict, ""]
    lines += reasoning(args)
    text = DOC.read_text() if DOC.exists() else "# Fleets\n"
    if SECTION in text:
        text = text[:text.index(SECTION)].rstrip() + "\n"
    DOC.write_text(text.rstrip() + "\n\n" + "\n".join(lines).replace("\n;", ";").replace("\n.", ".") + "\n")


def commands_of(args: argparse.Namespace) -> list[str]:
    """The command lines that produced the figures (several when the modes ran side by side)."""
    return getattr(args, "commands", None) or [" ".join([".venv/bin/python", "bench/fleet_sim.py", *sys.argv[1:]])]


def reasoning(args: argparse.Namespace) -> list[str]:
    quota, storm = args.ssm_quota, args.storm
    return [
        "Why these numbers, and what lies beyond them:", "",
        f"- The cold-start storm is the hard limit for both, because a new environment has nothing to fall "
        f"back on. Ours costs one `GetParameters` per environment start (the prefetch, during INIT; reads wait "
        f"for it), the AWS layer's behaviour three `GetParameter`: with starts spread over {storm:.0f} s, the "
        f"Parameter Store quota of {quota:.0f}/s holds about {quota * storm:,.0f} starts for ours and "
        f"{quota * storm / 3:,.0f} for the AWS layer. Beyond that, the transport's three attempts spread the "
        "excess over about half a second and what still fails reaches the function; starts spread over a "
        "longer time, fewer parameters per call batch, or the higher-throughput setting (`--ssm-quota 10000`) "
        "move the limit. Prefetch jitter does not: a read that comes first fetches for itself.",
        "- Steady state, ours: each environment refreshes its 3 parameters ahead of expiry in one "
        "`GetParameters` per TTL (refresh ahead, gathered), about N / 240 calls/s (refreshed at 80% of 300 s): "
        f"the quota is reached near {quota * 240:,.0f} environments, and beyond it a refused refresh keeps "
        "serving the value it had (stale on error, backing off) instead of failing the read. The secret costs "
        "one `DescribeSecret` per TTL (quota 40,000/s) and a `GetSecretValue` only when it changed.",
        "- Steady state, the AWS layer's behaviour: every environment fetches each parameter on its own when it "
        f"has expired (`GetParameter` x3 per TTL): about 3N / 300 calls/s, the quota reached near "
        f"{quota * 100:,.0f} environments, and a read that lands on a throttled fetch fails (no stale value).",
        "- A storm far beyond the quota leaves a tail, in both modes: an environment whose start-up fetch "
        "failed holds nothing, so each of its reads is a single `GetParameter` competing for the saturated "
        "quota, and stale on error has no value to stand in. That is the steady-state failures of the "
        "10,000-in-60 s run. The next step (not done here) is to gather concurrent misses into "
        "`GetParameters`, as refreshes already are, and to back a failed prefetch off and retry it.",
        "- Rotation: ours never keeps the secret past NextRotationDate + 5 s, then revalidates until the new "
        "version appears; so each environment answers the new value at its first read after that (here reads "
        f"come every {args.interval:.0f} s). The AWS layer keeps the old value for up to a TTL when its "
        "fetches succeed (under heavy throttling it rarely holds a value at all).",
        "- What is not simulated: the network, other functions of the account sharing the quota, and AWS's "
        "own burst allowance beyond one second of tokens. Waits are measured in steps of the tick "
        f"({args.tick * 1000:.0f} ms) and include the fake AWS latency ({args.latency * 1000:.0f} ms a call).",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--envs", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=3600.0)
    parser.add_argument("--storm", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--rotate-at", type=float, default=2400.0)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--init", type=float, default=0.3,
                        help="INIT: from the environment's start to its first invocation")
    parser.add_argument("--tick", type=float, default=0.01)
    parser.add_argument("--ssm-quota", type=float, default=QUOTAS["ssm"])
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--sweep", default="", help="comma-separated fleet sizes, run for --sweep-duration each")
    parser.add_argument("--sweep-duration", type=float, default=900.0)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--quick", action="store_true", help="200 environments, 10 minutes, no docs")
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-main", action="store_true", help="only the sweep")
    parser.add_argument("--from-json", type=Path, nargs="+",
                        help="write the docs from the --json files of earlier runs (e.g. one process per mode)")
    parser.add_argument("--commands", nargs="+", help="with --from-json: the command lines of those runs")
    args = parser.parse_args(argv)
    if args.from_json:
        return report_from_json(args)
    if args.quick:
        args.envs, args.duration, args.rotate_at, args.no_docs = 200, 600.0, 400.0, True
    from paramsecrets import log

    log.configure("none")  # a fleet's worth of log lines would cost more than the simulation
    modes = [mode for mode in args.modes.split(",") if mode]
    results = [] if args.no_main else [asyncio.run(simulate(mode, args)) for mode in modes]
    if results:
        print(table(results, args.ssm_quota))
        print("\n".join(rotation_lines(results)))
    sweep: list[Result] = []
    for envs in [int(size) for size in args.sweep.split(",") if size]:
        sized = argparse.Namespace(**{**vars(args), "envs": envs, "duration": args.sweep_duration,
                                      "rotate_at": args.sweep_duration * 2 / 3})
        for mode in modes:
            result = asyncio.run(simulate(mode, sized))
            sweep.append(result)
            print(f"{mode} {envs:,} environments: failed reads "
                  f"{sum(w['failed'] for w in result.windows.values()):,} ({result.wall_s:.0f} s wall)")
    if args.json:
        args.json.write_text(json.dumps({"results": [asdict(r) for r in results],
                                         "sweep": [asdict(r) for r in sweep]}, indent=1))
    if not args.no_docs:
        chart(results, sweep, CHART, args.ssm_quota)
        write_doc(results, sweep, args)
        print(f"wrote {DOC.relative_to(REPO)} and {CHART.relative_to(REPO)}")
    return 0


def report_from_json(args: argparse.Namespace) -> int:
    """Docs from runs made in separate processes (the modes and the sweep can run side by side)."""
    results: list[Result] = []
    sweep: list[Result] = []
    for path in args.from_json:
        document = json.loads(path.read_text())
        results += [Result(**item) for item in document["results"]]
        sweep += [Result(**item) for item in document["sweep"]]
    results.sort(key=lambda result: (-result.duration, result.storm != 600, MODES.index(result.mode)))
    if results:
        main_run = results[0]
        args.envs, args.duration = main_run.envs, main_run.duration
    print(table(results, args.ssm_quota))
    chart(results, sweep, CHART, args.ssm_quota)
    write_doc(results, sweep, args)
    print(f"wrote {DOC.relative_to(REPO)} and {CHART.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
