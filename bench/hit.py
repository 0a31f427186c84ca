"""Cached-hit throughput and latency of `paramsecrets serve` against nginx `return 200`, same run.

    .venv/bin/python bench/hit.py [--duration 8] [--rounds 3] [--asyncio-floor] [--profile FILE] [--write-docs]

moto_server holds one ~300-byte String parameter; the server is warmed with one read (a miss)
and checked to answer the next from its cache. nginx (1 worker, no access log) returns the exact
same JSON body. wrk `-t1 -c16 --latency` then alternates between the two (nginx, ours, nginx,
ours, ...) so both see the same noise on a shared machine, and the median of the rounds is
reported per target. Budgets: ours >= 0.5 x nginx's requests/s, p99 < 2.5 x nginx's; with --asyncio-floor also
issue 20's: ours >= 0.9 x the floor's requests/s (and its CPU per request), p99 <= 1.5 x nginx's.

wrk runs on one CPU and the servers on the other (taskset), when two CPUs are available. Each
round also records the server's CPU time, so CPU per request (the figure that survives a busy
machine) is reported beside requests/s. `--asyncio-floor` adds a third target, a bare asyncio
Protocol server sending our exact response bytes, to separate asyncio's cost from ours;
`--profile FILE` samples the server with py-spy during one extra round (pip install py-spy).
Prints the table with PASS/FAIL; only with --write-docs (what `make bench` passes) does it rewrite
docs/performance-hit.md (its section) and docs/hit.png: a quick run on a busy machine must not
replace the published figures by accident.
Exits 0 whether or not the budget is met (it is a report); exits 1 if the run itself is broken
(errors or non-2xx answers under load, a server that died, a response that was not a hit).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import TOKEN_HEADER, WrkResult, progress

PARAMETER = "/bench/hit/config"
RPS_BUDGET = 0.5  # ours / nginx requests/s, at least
P99_BUDGET = 2.5  # ours / nginx p99, under
FLOOR_BUDGET = 0.9  # issue 20: ours / the bare asyncio floor's requests/s, at least (with --asyncio-floor)
P99_TIGHT_BUDGET = 1.5  # issue 20: ours / nginx p99, at most
DOC = common.DOCS / "performance-hit.md"
CHART = common.DOCS / "hit.png"
SECTION_ORDER = ("bench/hit.py", "bench/memory.py")
FLOOR = "asyncio floor"


class BenchError(Exception):
    """The run is not trustworthy: reported loudly, exit 1."""


@dataclass
class Round:
    target: str
    index: int
    wrk: WrkResult
    server_user_s: float
    server_sys_s: float

    @property
    def server_cpu_s(self) -> float:
        return self.server_user_s + self.server_sys_s

    @property
    def server_cpu_pct(self) -> float:
        return 100 * self.server_cpu_s / self.wrk.duration_s

    @property
    def wrk_cpu_pct(self) -> float:
        return 100 * self.wrk.cpu_s / self.wrk.duration_s

    @property
    def cpu_us_per_request(self) -> float:
        """Server CPU (user + system: the kernel's loopback TCP work counts too) per answered request."""
        return 1e6 * self.server_cpu_s / max(1, self.wrk.requests)

    @property
    def user_us_per_request(self) -> float:
        return 1e6 * self.server_user_s / max(1, self.wrk.requests)


@dataclass
class Summary:
    """Medians over a target's rounds (each column on its own)."""

    target: str
    rps: float
    p50_us: float
    p90_us: float
    p99_us: float
    p999_us: float
    server_cpu_pct: float
    wrk_cpu_pct: float
    cpu_us: float
    user_us: float


def summarise(target: str, rounds: list[Round]) -> Summary:
    mine = [item for item in rounds if item.target == target]
    med = common.median
    return Summary(target, med(r.wrk.rps for r in mine), med(r.wrk.p50_us for r in mine),
                   med(r.wrk.p90_us for r in mine), med(r.wrk.p99_us for r in mine),
                   med(r.wrk.p999_us for r in mine), med(r.server_cpu_pct for r in mine),
                   med(r.wrk_cpu_pct for r in mine), med(r.cpu_us_per_request for r in mine),
                   med(r.user_us_per_request for r in mine))


def parameter_value(size: int) -> str:
    """A deterministic config-like value of `size` characters (no `$`: nginx would expand it)."""
    pattern = '{"db":{"host":"db.internal.example","port":5432,"pool":16},"feature_flags":["a","b"],"x":"'
    filler = "abcdefghijklmnopqrstuvwxyz0123456789"
    text = pattern + filler * (size // len(filler) + 1)
    return text[: size - 2] + '"}'


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/hit.py", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--duration", type=float, default=8.0, help="whole seconds per wrk round (5-10 recommended)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per target (alternating)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unreported wrk per target first")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t")
    parser.add_argument("--value-bytes", type=int, default=300, help="size of the parameter value")
    parser.add_argument("--no-pin", action="store_true", help="do not pin wrk and the servers to CPUs")
    parser.add_argument("--write-docs", action="store_true",
                        help="rewrite docs/performance-hit.md's section and docs/hit.png (default: print only)")
    parser.add_argument("--no-write", action="store_true", help=argparse.SUPPRESS)  # the default now; kept
    parser.add_argument("--asyncio-floor", action="store_true",
                        help="add a third target to the rounds: a bare asyncio Protocol server sending our exact "
                             "response bytes without parsing (shows how much of the gap is asyncio itself)")
    parser.add_argument("--profile", metavar="FILE", type=Path,
                        help="after the rounds, one more (unreported) round of ours under py-spy --nonblocking; "
                             "collapsed stacks to FILE, a summary printed and added to the doc")
    parser.add_argument("--keep-workdir", action="store_true", help="keep the temporary folder (logs, configs)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.duration < 1 or args.value_bytes < 16 or args.warmup < 0:
        parser.error("--rounds must be >= 1, --duration >= 1, --warmup >= 0, --value-bytes >= 16")
    args.duration = float(round(args.duration))  # wrk takes whole seconds
    args.warmup = float(round(args.warmup))
    return args


def warm_and_check(server: common.Server, path: str) -> bytes:
    """First read is a miss (fetched from moto), the second a hit with the same body."""
    first = server.get(path)
    if first.status != 200:
        raise BenchError(f"warm-up read answered {first.status}: {first.body[:300]!r}")
    second = server.get(path)
    state = second.headers.get("x-paramsecrets-cache")
    if second.status != 200 or state != "hit":
        raise BenchError(f"second read was not a cache hit (status {second.status}, X-Paramsecrets-Cache: {state})")
    if second.body != first.body:
        raise BenchError("the hit's body differs from the miss's body")
    progress(f"  warm: first read {first.headers.get('x-paramsecrets-cache')}, second read {state}; "
             f"body {len(second.body)} bytes")
    return second.body


def run_round(target: str, index: int, url: str, pid: int, args: argparse.Namespace, workdir: Path,
              pinning: common.Pinning, duration: float | None = None) -> Round:
    user_before, sys_before = common.family_cpu_times(pid)
    result = common.run_wrk(url, duration or args.duration, workdir, args.threads, args.connections,
                            {TOKEN_HEADER: common.TOKEN}, pinning)
    user_after, sys_after = common.family_cpu_times(pid)
    return Round(target, index, result, user_after - user_before, sys_after - sys_before)


def check_clean(item: Round) -> None:
    wrk = item.wrk
    if not wrk.clean:
        raise BenchError(f"{item.target} round {item.index}: wrk saw {wrk.non_2xx} non-2xx answers and socket "
                         f"errors {wrk.errors} in {wrk.requests} requests\n{wrk.text}")


def report(rounds: list[Round], nginx: Summary, ours: Summary, floor: Summary | None, info: dict[str, str],
           pin_note: str, args: argparse.Namespace, body_len: int, extra: dict[str, Any],
           profile_text: str = "") -> tuple[str, str, bool, bool]:
    """(terminal text, markdown section, rps ok, p99 ok)."""
    rps_ratio = ours.rps / nginx.rps
    p99_ratio = ours.p99_us / nginx.p99_us
    rps_ok, p99_ok = rps_ratio >= RPS_BUDGET, p99_ratio < P99_BUDGET
    cpu_bound_ratio = nginx.cpu_us / ours.cpu_us
    fus = common.fmt_us
    headers = ["target", "requests/s", "p50", "p90", "p99", "p99.9", "server CPU", "CPU µs/request (user)",
               "wrk CPU"]
    rows = [[s.target, f"{s.rps:,.0f}", fus(s.p50_us), fus(s.p90_us), fus(s.p99_us), fus(s.p999_us),
             f"{s.server_cpu_pct:.0f}%", f"{s.cpu_us:.1f} ({s.user_us:.1f})", f"{s.wrk_cpu_pct:.0f}%"]
            for s in (nginx, ours, floor) if s is not None]
    rows.append(["ours / nginx", f"{rps_ratio:.2f}", f"{ours.p50_us / nginx.p50_us:.2f}",
                 f"{ours.p90_us / nginx.p90_us:.2f}", f"{p99_ratio:.2f}", f"{ours.p999_us / nginx.p999_us:.2f}",
                 "", f"{ours.cpu_us / nginx.cpu_us:.2f}", ""])
    verdicts = [
        ["requests/s ratio", f"{rps_ratio:.3f}", f">= {RPS_BUDGET}", common.verdict(rps_ok)],
        ["p99 ratio", f"{p99_ratio:.3f}", f"< {P99_BUDGET}", common.verdict(p99_ok)],
    ]
    if floor is not None:  # issue 20's budgets: at the floor of the stack
        floor_ratio = ours.rps / floor.rps
        verdicts += [
            ["requests/s vs asyncio floor (issue 20)", f"{floor_ratio:.3f}", f">= {FLOOR_BUDGET}",
             common.verdict(floor_ratio >= FLOOR_BUDGET)],
            ["CPU/request, floor / ours (issue 20)", f"{floor.cpu_us / ours.cpu_us:.3f}", f">= {FLOOR_BUDGET}",
             common.verdict(floor.cpu_us / ours.cpu_us >= FLOOR_BUDGET)],
            ["p99 vs nginx (issue 20)", f"{p99_ratio:.3f}", f"<= {P99_TIGHT_BUDGET}",
             common.verdict(p99_ratio <= P99_TIGHT_BUDGET)],
        ]
    round_rows = []
    by_index: dict[int, dict[str, Round]] = {}
    for item in rounds:
        by_index.setdefault(item.index, {})[item.target] = item
        round_rows.append([item.index, item.target, f"{item.wrk.rps:,.0f}", fus(item.wrk.p50_us),
                           fus(item.wrk.p99_us), f"{item.server_cpu_pct:.0f}%",
                           f"{item.cpu_us_per_request:.1f} ({item.user_us_per_request:.1f})",
                           f"{item.wrk_cpu_pct:.0f}%"])
    pair_ratios = [(pair["paramsecrets"].wrk.rps / pair["nginx"].wrk.rps,
                    pair["paramsecrets"].wrk.p99_us / pair["nginx"].wrk.p99_us)
                   for pair in by_index.values() if "nginx" in pair and "paramsecrets" in pair]
    pair_note = ("per-round ratios (ours / the nginx round just before): requests/s "
                 + ", ".join(f"{a:.2f}" for a, _ in pair_ratios) + "; p99 "
                 + ", ".join(f"{b:.2f}" for _, b in pair_ratios))
    floor_ratios = [pair["paramsecrets"].wrk.rps / pair[FLOOR].wrk.rps
                    for pair in by_index.values() if FLOOR in pair and "paramsecrets" in pair]
    if floor_ratios:
        pair_note += ("; requests/s ours / the asyncio floor round just after: "
                      + ", ".join(f"{a:.2f}" for a in floor_ratios))
    cpu_note = (f"CPU per request: nginx {nginx.cpu_us:.1f} µs, ours {ours.cpu_us:.1f} µs (user {ours.user_us:.1f}); "
                f"if both were CPU-bound, ours would reach {cpu_bound_ratio:.2f} of nginx's requests/s")
    if floor is not None:
        cpu_note += (f". The bare asyncio floor (same response bytes, no parsing or routing) reached "
                     f"{floor.rps / nginx.rps:.2f} of nginx's requests/s at {floor.cpu_us:.1f} µs CPU/request "
                     f"(user {floor.user_us:.1f}): our code adds {ours.cpu_us - floor.cpu_us:.1f} µs/request "
                     f"on top of asyncio")
    order = "nginx/ours/asyncio floor" if floor is not None else "nginx/ours"
    setup = (f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency, {args.rounds} rounds per "
             f"target alternating {order} after {args.warmup:g} s of warm-up each; medians per target. "
             f"Body {body_len} bytes of JSON (a {args.value_bytes}-byte String parameter), the same bytes from "
             f"every target. Pinning: {pin_note}. Load average at start: {info['load average at start']}.")
    counts = (f"hits the server counted in the rounds: {extra['hits']:,} (wrk counted {extra['wrk_requests']:,} "
              f"answered); misses in the whole run {extra['misses']}; server threads {extra['threads']}")
    terminal = "\n".join([
        "", common.text_table(headers, rows), "",
        common.text_table(["budget", "measured", "needed", "result"], verdicts), "",
        pair_note, cpu_note, counts, setup, ""])
    if profile_text:
        terminal += "\n" + profile_text.replace("`", "") + "\n"
    markdown = "\n".join([
        "## Cached hit: requests/s and latency against nginx",
        "",
        f"`.venv/bin/python bench/hit.py` — {info['date']}. {setup}",
        "",
        common.markdown_table(headers, rows),
        "",
        common.markdown_table(["budget", "measured", "needed", "result"], verdicts),
        "",
        f"{cpu_note}.",
        "",
        f"Rounds in run order; {pair_note}.",
        "",
        common.markdown_table(["round", "target", "requests/s", "p50", "p99", "server CPU",
                               "CPU µs/request (user)", "wrk CPU"], round_rows),
        "",
        "`server CPU` is the CPU time the server process (nginx: master and worker) used during the round, "
        "as a share of one core; `CPU µs/request` is that time (user + system; the user part in brackets) "
        "divided by the requests wrk saw answered, and `wrk CPU` is wrk's own share. A server near 100% is "
        "CPU-bound; wrk near 100% means the load generator is the limit. Well under 100% for both means the "
        "machine was busy with other work: requests/s then follow each process's CPU per request and the share "
        "of a contended core it happened to get, so the requests/s ratio swings from round to round while CPU "
        "per request stays put (it is the figure to optimise against on a shared machine).",
        "",
        f"nginx: 1 worker, `daemon off`, `access_log off`, `keepalive_requests 1000000` (so it, like ours, "
        f"never closes a busy keep-alive connection), `default_type application/json`, "
        f"`return 200 '<body>'`. paramsecrets: default settings except `SSM_PARAMETER_STORE_TTL=3600` "
        f"(no refresh-ahead during the run); moto_server as the AWS backend (idle during the rounds). The server "
        f"counted {extra['hits']:,} hits in the rounds (wrk counted {extra['wrk_requests']:,} answers; the rest were "
        f"in flight when wrk stopped) and {extra['misses']} miss in the whole run (the warm-up read).",
        "",
        "![requests/s and latency, nginx vs paramsecrets](hit.png)",
        "",
        *([profile_text, ""] if profile_text else []),
        "Machine:",
        "",
        common.machine_lines(info),
    ])
    return terminal, markdown, rps_ok, p99_ok


def profile(server: common.Server, url: str, args: argparse.Namespace, workdir: Path,
            pinning: common.Pinning) -> str:
    """One extra round of ours with py-spy sampling the server; the summary as markdown."""
    out: Path = args.profile
    out.parent.mkdir(parents=True, exist_ok=True)
    progress(f"profile: py-spy on the server during {args.duration:g} s of wrk...")
    spy = common.start_py_spy(server.pid, args.duration, out)
    time.sleep(0.5)  # py-spy attaches
    item = run_round("paramsecrets", 0, url, server.pid, args, workdir, pinning)
    _, errors = spy.communicate(timeout=args.duration + 60)
    if spy.returncode != 0 or not out.exists():
        raise BenchError(f"py-spy failed ({spy.returncode}): {errors.decode(errors='replace')[-500:]}")
    progress(f"  collapsed stacks in {out}")
    total, own, inclusive = common.collapsed_top(out, 40)
    own_rows = [[f"{share:.1f}%", f"`{frame}`"] for share, frame in own[:15]]
    inclusive_rows = [[f"{share:.1f}%", f"`{frame}`"] for share, frame in inclusive if share < 99.0][:15]
    file_rows = [[f"{share:.1f}%", f"`{name}`"] for share, name in common.collapsed_by_file(out) if share >= 0.5]
    return "\n".join([
        f"### Where the time goes (py-spy, {total:,} samples at 250 Hz, Python frames, `--nonblocking`)",
        "",
        f"During the profiled round: {item.wrk.rps:,.0f} requests/s, p99 {common.fmt_us(item.wrk.p99_us)}, "
        f"server CPU {item.server_cpu_pct:.0f}%. Samples count wall time while the thread is not idle in py-spy's "
        f"judgement; time inside a system call (send, recv, epoll_wait) is charged to the Python line that made "
        f"it. Rerun with `--profile FILE` for the collapsed stacks (flamegraph input).",
        "",
        "Self time by file of the leaf frame (asyncio's transport lines include the send/recv system calls, "
        "i.e. the kernel's loopback TCP work):",
        "",
        common.markdown_table(["share", "file"], file_rows),
        "",
        "Self time (leaf frame):",
        "",
        common.markdown_table(["share", "frame"], own_rows),
        "",
        "Inclusive time (frame anywhere on the stack):",
        "",
        common.markdown_table(["share", "frame"], inclusive_rows),
    ])


def chart(rounds: list[Round], summaries: list[Summary], path: Path) -> None:
    plt = common.pyplot()
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(14, 4.4))
    nginx, ours = summaries[0], summaries[1]
    names = [item.target for item in summaries]
    xs = list(range(len(names)))
    colours = ["#888888", "#2b6cb0", "#9ae6b4"][: len(names)]
    left.bar(xs, [item.rps for item in summaries], color=colours)
    for i, name in enumerate(names):
        points = [r.wrk.rps for r in rounds if r.target == name]
        left.scatter([i] * len(points), points, color="black", s=12, zorder=3)
    left.axhline(RPS_BUDGET * nginx.rps, color="#c53030", linestyle="--", label=f"budget: {RPS_BUDGET} x nginx")
    left.set_xticks(xs, names)
    left.set_title("requests/s (bars: median; dots: rounds)")
    left.legend(loc="lower center", fontsize=8)
    width = 0.38
    middle.bar([x - width / 2 for x in xs], [item.p50_us for item in summaries], width, label="p50",
               color="#a0aec0")
    middle.bar([x + width / 2 for x in xs], [item.p99_us for item in summaries], width, label="p99",
               color="#2b6cb0")
    middle.axhline(P99_BUDGET * nginx.p99_us, color="#c53030", linestyle="--",
                   label=f"p99 budget: {P99_BUDGET} x nginx")
    middle.set_yscale("log")
    middle.set_ylim(top=P99_BUDGET * nginx.p99_us * 10)
    middle.set_xticks(xs, names)
    middle.set_ylabel("µs (log scale)")
    middle.set_title("latency (median of rounds)")
    middle.legend(loc="upper center", fontsize=8, ncol=3)
    users = [item.user_us for item in summaries]
    systems = [item.cpu_us - item.user_us for item in summaries]
    right.bar(xs, users, color="#2b6cb0", label="user")
    right.bar(xs, systems, bottom=users, color="#a0aec0", label="system (kernel, incl. loopback TCP)")
    right.set_xticks(xs, names)
    right.set_ylabel("µs of server CPU per request")
    right.set_title("CPU per request (noise-robust)")
    right.legend(loc="upper left", fontsize=8)
    right.set_ylim(0, max(item.cpu_us for item in summaries) * 1.35)
    figure.suptitle(f"cached hit, wrk -t1 -c16: ours/nginx = {ours.rps / nginx.rps:.2f} requests/s, "
                    f"{ours.p99_us / nginx.p99_us:.2f} p99, {ours.cpu_us / nginx.cpu_us:.2f} CPU per request")
    common.save_figure(figure, path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    pinning, pin_problem = common.choose_pinning(not args.no_pin)
    pin_note = pinning.describe() if pinning.used else pin_problem
    progress(f"pinning: {pin_note}")
    info = common.machine_info()
    work = common.Workdir("paramsecrets-bench-hit-", keep=args.keep_workdir)
    moto = server = nginx = floor = None
    try:
        progress("starting moto_server and seeding one parameter...")
        moto = common.start_moto(work.path)
        value = parameter_value(args.value_bytes)
        common.seed_parameters(moto, [(PARAMETER, value)], report_every=1)
        progress("starting paramsecrets serve...")
        server = common.start_server(moto.url, work.path, pinning, {"SSM_PARAMETER_STORE_TTL": "3600"})
        path = f"/systemsmanager/parameters/get?name={PARAMETER}"
        body = warm_and_check(server, path)
        progress("starting nginx with the same body...")
        nginx = common.start_nginx(body, work.path, pinning)
        reference = common.http_get(nginx.port, path)
        if reference.status != 200 or reference.body != body:
            raise BenchError(f"nginx answered {reference.status} with a different body: {reference.body[:200]!r}")
        targets = {"nginx": (f"http://127.0.0.1:{nginx.port}{path}", nginx.child.pid),
                   "paramsecrets": (f"http://127.0.0.1:{server.port}{path}", server.pid)}
        if args.asyncio_floor:
            request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{TOKEN_HEADER}: {common.TOKEN}\r\n\r\n").encode()
            reply = common.raw_response(server.port, request)
            if not reply.endswith(body) or b"X-Paramsecrets-Cache: hit" not in reply:
                raise BenchError(f"unexpected raw reply from the server: {reply[:300]!r}")
            progress("starting the asyncio floor with our exact response bytes...")
            floor = common.start_asyncio_floor(reply, work.path, pinning)
            targets[FLOOR] = (f"http://127.0.0.1:{floor.port}{path}", floor.child.pid)
        if args.warmup > 0:
            for name, (url, pid) in targets.items():
                progress(f"warm-up: {name} for {args.warmup:g} s")
                check_clean(run_round(name, 0, url, pid, args, work.path, pinning, args.warmup))
        hits_before = server.metrics().get("paramsecrets_cache_hits_total", 0)
        rounds: list[Round] = []
        for index in range(1, args.rounds + 1):
            for name, (url, pid) in targets.items():
                progress(f"round {index}/{args.rounds}: {name} for {args.duration:g} s...")
                item = run_round(name, index, url, pid, args, work.path, pinning)
                rounds.append(item)
                progress(f"  {item.wrk.rps:,.0f} requests/s, p50 {common.fmt_us(item.wrk.p50_us)}, "
                         f"p99 {common.fmt_us(item.wrk.p99_us)}, server CPU {item.server_cpu_pct:.0f}%, "
                         f"wrk CPU {item.wrk_cpu_pct:.0f}%")
                check_clean(item)
                if not server.child.alive():
                    raise BenchError(f"the server died during the run:\n{server.child.output()}")
        after = server.get(path)
        if after.headers.get("x-paramsecrets-cache") != "hit":
            raise BenchError(f"after the run the read was {after.headers.get('x-paramsecrets-cache')}, not a hit")
        metrics = server.metrics()
        extra = {"hits": int(metrics.get("paramsecrets_cache_hits_total", -1) - hits_before) - 1,
                 "misses": int(metrics.get("paramsecrets_cache_misses_total", -1)),
                 "wrk_requests": sum(r.wrk.requests for r in rounds if r.target == "paramsecrets"),
                 "threads": common.thread_count(server.pid)}
        profile_text = ""
        if args.profile is not None:
            profile_text = profile(server, targets["paramsecrets"][0], args, work.path, pinning)
        nginx_summary, ours_summary = summarise("nginx", rounds), summarise("paramsecrets", rounds)
        floor_summary = summarise(FLOOR, rounds) if FLOOR in targets else None
        terminal, markdown, rps_ok, p99_ok = report(rounds, nginx_summary, ours_summary, floor_summary, info,
                                                    pin_note, args, len(body), extra, profile_text)
        print(terminal)
        missed = [name for ok, name in ((rps_ok, "requests/s"), (p99_ok, "p99")) if not ok]
        if missed:
            print(f"FAIL: the cached-hit budget is not met ({' and '.join(missed)})")
        else:
            print("PASS: the cached-hit budget is met")
        if args.write_docs and not args.no_write:
            summaries = [item for item in (nginx_summary, ours_summary, floor_summary) if item is not None]
            common.publish(DOC, "bench/hit.py", markdown, SECTION_ORDER, CHART,
                           lambda: chart(rounds, summaries, CHART))
        return 0
    except BenchError as error:
        return common.broken(error, server)
    finally:
        for item in (floor, nginx, server, moto):
            if item is not None:
                item.stop()
        common.stop_all()


if __name__ == "__main__":
    raise SystemExit(main())
