"""Resident memory of `paramsecrets serve`: once serving, and holding 1000 cached values of 4 KiB.

    .venv/bin/python bench/memory.py [--count 1000] [--value-bytes 4096] [--no-write]

Starts moto_server (seeded with the parameters first, so seeding costs the server nothing) and
the server with default settings, then reads /proc/<pid>/status (VmRSS, VmHWM = peak, RssAnon,
RssFile):

  (a) once serving with the AWS client loaded: one read (a miss, so awscrt is imported, the
      credentials resolved and a connection to the backend made), then one hit;
  (b) holding N values: every parameter read once through the server (misses, 4 client
      connections), then once more (all hits), checked with `paramsecrets_cache_entries`.

Reference processes in the same run: the same interpreter idle (`python -c` + sleep), and an
asyncio Protocol server that imported awscrt.http/auth/io and built awscrt's event loop,
bootstrap and default credentials chain (a naive version of this architecture: a plain
`import asyncio` also imports ssl, which the server avoids). Budgets:
(a) under 32 MiB, (b) under 48 MiB. Prints the table with PASS/FAIL; writes its section of
docs/performance-hit.md and docs/memory.png. Exits 0 whether or not the budget is met; 1 if the
run is broken (a read failed, the cache does not hold what was read, a process died).
"""

from __future__ import annotations

import argparse
import http.client
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import MIB, progress

BUDGET_SERVING = 32 * MIB
BUDGET_FULL = 48 * MIB
DOC = common.DOCS / "performance-hit.md"
CHART = common.DOCS / "memory.png"
SECTION_ORDER = ("bench/hit.py", "bench/memory.py")
PREFIX = "/bench/mem/p"
CLIENT_THREADS = 4

FLOOR_SCRIPT = """\
import asyncio, sys
import awscrt.auth, awscrt.http, awscrt.io

class Reply(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
    def data_received(self, data):
        if b"\\r\\n\\r\\n" in data:
            self.transport.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok")

async def main():
    group = awscrt.io.EventLoopGroup(1)
    bootstrap = awscrt.io.ClientBootstrap(group, awscrt.io.DefaultHostResolver(group))
    credentials = awscrt.auth.AwsCredentialsProvider.new_default_chain(bootstrap)
    await asyncio.get_running_loop().create_server(Reply, "127.0.0.1", int(sys.argv[1]))
    await asyncio.Event().wait()

asyncio.run(main())
"""


class BenchError(Exception):
    """The run is not trustworthy: reported loudly, exit 1."""


@dataclass
class Sample:
    label: str
    status: dict[str, int]
    threads: int
    budget: int | None = None
    short: str = ""

    @property
    def rss(self) -> int:
        return self.status["VmRSS"]

    @property
    def hwm(self) -> int:
        return self.status["VmHWM"]


def sample(label: str, pid: int, budget: int | None = None, short: str = "") -> Sample:
    return Sample(label, common.proc_status(pid), common.thread_count(pid), budget, short or label)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/memory.py", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="parameters to cache")
    parser.add_argument("--value-bytes", type=int, default=4096,
                        help="size of each value (4096 is the Standard tier's limit; larger uses Advanced)")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds to wait before each measurement")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    parser.add_argument("--keep-workdir", action="store_true", help="keep the temporary folder (logs)")
    args = parser.parse_args(argv)
    if args.count < 1 or args.value_bytes < 1:
        parser.error("--count and --value-bytes must be positive")
    return args


def value_of(index: int, size: int) -> str:
    """Distinct, deterministic, incompressible-looking text of `size` bytes."""
    seed = f"{index:06d}-"
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    step = (index * 7 + 13) % 61 + 1
    text = seed + "".join(alphabet[(i * step + index) % 64] for i in range(size))
    return text[:size]


def name_of(index: int) -> str:
    return f"{PREFIX}{index:04d}"


def read_all(server: common.Server, names: list[str], expect: str) -> None:
    """GET every name through the server on CLIENT_THREADS keep-alive connections."""
    chunks = [names[i::CLIENT_THREADS] for i in range(CLIENT_THREADS)]
    started = time.monotonic()
    done = [0]

    def worker(chunk: list[str]) -> list[str]:
        problems = []
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            for name in chunk:
                answer = server.get(f"/systemsmanager/parameters/get?name={name}", connection=connection)
                state = answer.headers.get("x-paramsecrets-cache")
                if answer.status != 200 or state != expect:
                    problems.append(f"{name}: {answer.status} {state} {answer.body[:200]!r}")
                done[0] += 1
                if done[0] % 250 == 0:
                    progress(f"  read {done[0]}/{len(names)} ({expect}) in {time.monotonic() - started:.1f} s")
        finally:
            connection.close()
        return problems

    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        problems = [problem for found in pool.map(worker, chunks) for problem in found]
    if problems:
        metrics = {key: value for key, value in server.metrics().items() if "cache" in key}
        raise BenchError(f"{len(problems)} reads were not {expect}s, e.g.:\n" + "\n".join(problems[:5])
                         + f"\nserver metrics now: {metrics}")
    progress(f"  {len(names)} reads ({expect}) took {time.monotonic() - started:.1f} s")


def start_reference(name: str, argv: list[str], workdir: Path, env: dict[str, str], port: int | None) -> common.Child:
    child = common.Child(name, argv, workdir / f"{name}.log", env=env, cwd=workdir)
    if port is not None:
        common.wait_for_http(f"http://127.0.0.1:{port}/", timeout=30, child=child)
    else:
        deadline = time.monotonic() + 30
        while "ready" not in child.output() and time.monotonic() < deadline:
            if not child.alive():
                raise BenchError(f"{name} exited: {child.output()}")
            time.sleep(0.05)
    return child


def references(workdir: Path, env: dict[str, str], settle: float) -> list[Sample]:
    """RSS of the bare interpreter (idle) and of a plain asyncio + awscrt server (after one request)."""
    out = []
    bare = start_reference("python-idle", [common.PYTHON, "-c", "import time; print('ready', flush=True); "
                                           "time.sleep(3600)"], workdir, env, None)
    try:
        time.sleep(settle)
        out.append(sample("python, idle (`-c` + sleep)", bare.pid, short="python idle"))
    finally:
        bare.stop()
    script = workdir / "floor.py"
    script.write_text(FLOOR_SCRIPT)
    port = common.free_port()
    floor = start_reference("asyncio-awscrt-floor", [common.PYTHON, str(script), str(port)], workdir, env, port)
    try:
        common.http_get(port, "/")
        time.sleep(settle)
        out.append(sample("plain asyncio server + awscrt runtime", floor.pid, short="plain asyncio\n+ awscrt"))
    finally:
        floor.stop()
    return out


def report(samples: list[Sample], refs: list[Sample], info: dict[str, str], args: argparse.Namespace,
           cache: dict[str, float]) -> tuple[str, str, list[bool]]:
    fm = common.fmt_mib
    bare, floor = refs
    headers = ["process / state", "VmRSS", "VmHWM (peak)", "RssAnon", "RssFile", "threads", "budget", "result"]
    rows = []
    verdicts: list[bool] = []
    for item in [*refs, *samples]:
        result = ""
        budget = ""
        if item.budget is not None:
            ok = item.rss < item.budget
            verdicts.append(ok)
            result = common.verdict(ok)
            budget = f"< {item.budget // MIB} MiB"
        rows.append([item.label, fm(item.rss), fm(item.hwm), fm(item.status.get("RssAnon", 0)),
                     fm(item.status.get("RssFile", 0)), item.threads, budget, result])
    delta_headers = ["paramsecrets state", "minus idle python", "minus plain asyncio + awscrt"]
    delta_rows = [[item.label, fm(item.rss - bare.rss), fm(item.rss - floor.rss)] for item in samples]
    per_value = (samples[-1].rss - samples[-2].rss) / max(1, args.count - 1)
    cache_note = (f"The cache held {int(cache['entries'])} entries, {cache['bytes'] / MIB:.2f} MiB by its own "
                  f"count (payload and response head plus a fixed overhead estimate); RSS grew "
                  f"{fm(samples[-1].rss - samples[-2].rss)} from (a) to (b), {per_value / 1024:.2f} KiB per "
                  f"added value of {args.value_bytes} bytes.")
    terminal = "\n".join(["", common.text_table(headers, rows), "", common.text_table(delta_headers, delta_rows),
                          "", cache_note, ""])
    markdown = "\n".join([
        "## Memory (RSS)",
        "",
        f"`.venv/bin/python bench/memory.py` — {info['date']}. VmRSS/VmHWM/RssAnon/RssFile from "
        f"`/proc/<pid>/status`, each after {args.settle:g} s of quiet. (a) is measured after one read (a miss: "
        f"awscrt imported, credentials resolved, a connection to the backend made) and one hit; (b) after "
        f"{args.count} parameters of {args.value_bytes} bytes were each read once (misses, {CLIENT_THREADS} "
        f"client connections) and then once more (all hits). Default settings (cache size 1000). The two "
        f"reference processes ran in the same script with the same interpreter and environment; the second is "
        f"a 20-line asyncio Protocol server that imported awscrt.http/auth/io and built awscrt's event loop, "
        f"bootstrap and default credentials chain. Its plain `import asyncio` also loads Python's ssl module "
        f"(and OpenSSL), which paramsecrets avoids, so the server can come in under it.",
        "",
        common.markdown_table(headers, rows),
        "",
        common.markdown_table(delta_headers, delta_rows),
        "",
        cache_note,
        "",
        "![RSS of paramsecrets against the references and budgets](memory.png)",
        "",
        "Machine:",
        "",
        common.machine_lines(info),
    ])
    return terminal, markdown, verdicts


def chart(samples: list[Sample], refs: list[Sample], path: Path) -> None:
    plt = common.pyplot()
    figure, axes = plt.subplots(figsize=(9, 4.2))
    items = [*refs, *samples]
    labels = [item.short for item in items]
    xs = list(range(len(items)))
    colours = ["#a0aec0"] * len(refs) + ["#2b6cb0"] * len(samples)
    axes.bar(xs, [item.rss / MIB for item in items], color=colours, label="VmRSS")
    axes.scatter(xs, [item.hwm / MIB for item in items], marker="_", s=400, color="black", zorder=3,
                 label="VmHWM (peak)")
    for x, item in zip(xs, items, strict=True):
        axes.text(x, item.rss / MIB + 0.5, f"{item.rss / MIB:.1f}", ha="center", fontsize=8)
        if item.budget is not None:
            axes.hlines(item.budget / MIB, x - 0.4, x + 0.4, colors="#c53030", linestyles="--")
            axes.text(x, item.budget / MIB + 0.5, f"budget {item.budget // MIB}", ha="center", fontsize=8,
                      color="#c53030")
    axes.set_xticks(xs, labels, fontsize=8)
    axes.set_ylabel("MiB")
    axes.set_ylim(0, max(BUDGET_FULL / MIB, max(item.hwm for item in items) / MIB) * 1.15)
    axes.set_title("resident memory")
    axes.legend(loc="upper left", fontsize=8)
    common.save_figure(figure, path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = common.machine_info()
    work = common.Workdir("paramsecrets-bench-memory-", keep=args.keep_workdir)
    moto = server = None
    try:
        progress("starting moto_server...")
        moto = common.start_moto(work.path)
        tier = "Standard" if args.value_bytes <= 4096 else "Advanced"
        names = [name_of(i) for i in range(args.count)]
        progress(f"seeding {args.count} parameters of {args.value_bytes} bytes ({tier} tier)...")
        common.seed_parameters(moto, [(name, value_of(i, args.value_bytes)) for i, name in enumerate(names)], tier)
        home = work.path / "home"
        home.mkdir(exist_ok=True)
        env = common.server_env(moto.url, home)
        progress("reference processes...")
        refs = references(work.path, env, args.settle)
        for item in refs:
            progress(f"  {item.label}: {common.fmt_mib(item.rss)}")
        progress("starting paramsecrets serve...")
        server = common.start_server(moto.url, work.path)
        time.sleep(args.settle)
        samples = [sample("started, idle: awscrt built in the background, no AWS call yet", server.pid,
                          short="paramsecrets\nstarted, idle")]
        read_all(server, names[:1], "miss")
        read_all(server, names[:1], "hit")
        time.sleep(args.settle)
        samples.append(sample("(a) serving, AWS client loaded", server.pid, BUDGET_SERVING,
                              "(a) serving,\nAWS client loaded"))
        progress(f"  {samples[-1].label}: {common.fmt_mib(samples[-1].rss)}")
        progress(f"reading {args.count} parameters through the server...")
        read_all(server, names[1:], "miss")
        read_all(server, names, "hit")
        metrics = server.metrics()
        cache = {"entries": metrics.get("paramsecrets_cache_entries", -1),
                 "bytes": metrics.get("paramsecrets_cache_bytes", -1)}
        if cache["entries"] != args.count:
            raise BenchError(f"paramsecrets_cache_entries is {cache['entries']}, expected {args.count}")
        time.sleep(args.settle)
        samples.append(sample(f"(b) holding {args.count} values of {args.value_bytes} B", server.pid, BUDGET_FULL,
                              f"(b) {args.count} values\nof {args.value_bytes} B"))
        progress(f"  {samples[-1].label}: {common.fmt_mib(samples[-1].rss)}")
        if not server.child.alive():
            raise BenchError(f"the server died:\n{server.child.output()}")
        terminal, markdown, verdicts = report(samples, refs, info, args, cache)
        print(terminal)
        print("PASS: the memory budget is met" if all(verdicts) else "FAIL: the memory budget is not met")
        if not args.no_write:
            common.publish(DOC, "bench/memory.py", markdown, SECTION_ORDER, CHART, lambda: chart(samples, refs, CHART))
        return 0
    except BenchError as error:
        return common.broken(error, server)
    finally:
        for item in (server, moto):
            if item is not None:
                item.stop()
        common.stop_all()


if __name__ == "__main__":
    raise SystemExit(main())
