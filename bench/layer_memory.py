"""Memory of the built layer's server on its own interpreter, with a breakdown: RSS and PSS.

    .venv/bin/python bench/layer_memory.py [--layer ZIP] [--count 1000] [--no-write]

Builds the x86_64 layer (or takes --layer), unpacks it, starts moto seeded with N small
parameters (32-byte values), then measures, each in its own process of the layer's interpreter,
from /proc/<pid>/smaps_rollup (Rss, Pss, Anonymous) and /proc/<pid>/status (Threads):

  1. interpreter     the bundled python3.11 -I -S, idle (the floor: the same run's reference)
  2. + our imports   the modules `serve` imports before it answers (paramsecrets.process.app and the boot path,
                     with `ssl` and the deferred modules left out as `serve` leaves them)
  3. + awscrt        the same plus awscrt.auth/http/io imported (no event loop yet)
  4. serving         `/opt/bin/paramsecrets serve` through the launcher, after one miss (AWS
                     client, event-loop thread, credentials, a connection) and one hit
  5. 1,000 values    the same server after reading N distinct parameters (misses), then again (hits)
  6-7. steps 4-5 with --compare-env (default MALLOC_ARENA_MAX=1: whether fewer malloc arenas
                     for awscrt's threads would help; they do not, see docs/performance.md)
  8. over HTTPS      step 4 against a TLS moto, trusting the layer's Mozilla bundle plus the run's
                     CA (AWS_CA_BUNDLE): a trust store of production's size, as every Lambda
                     function's server parses one (steps 4-7 talk plain HTTP to moto and, with the
                     credentials in the environment, build no TLS context at all)

Budgets (issue 20): step 4 <= 18 MiB RSS, step 5 <= 22 MiB RSS. Prints the table; writes its
section of docs/performance.md unless --no-write. Exit 0 whatever the verdict; 1 if a run broke.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import MIB, progress

BUDGET_SERVING = 18 * MIB
BUDGET_FULL = 22 * MIB
DOC = common.DOCS / "performance.md"
SECTION = "bench/layer_memory.py"
OUR_IMPORTS = ("import sys; sys.modules['ssl'] = None\n"  # as `serve` does before its imports (boot.py)
               "from paramsecrets.process.deferred import SERVE_DEFERRED, defer; defer(SERVE_DEFERRED)\n"
               "import paramsecrets.process.boot, paramsecrets.process.app, paramsecrets.api.service, "
               "paramsecrets.api.routes, "
               "paramsecrets.process.lambda_ext")
AWSCRT = "import awscrt.auth, awscrt.http, awscrt.io, paramsecrets.aws.clients"


def smaps(pid: int) -> dict[str, int]:
    """Rss, Pss, Anonymous (bytes) and Threads of a process."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        values[key] = int(rest.split()[0]) * 1024
    values["Threads"] = common.thread_count(pid)
    return values


def unpack(zip_path: Path, dest: Path) -> Path:
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            target = dest / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            os.chmod(target, (info.external_attr >> 16) & 0o777)
    return dest


def python_command(opt: Path) -> list[str]:
    from paramsecrets.testing.lambda_root import layer_python

    return layer_python(runtime=str(opt / "paramsecrets" / "runtime"))


def idle_process(opt: Path, imports: str, env: dict[str, str]) -> dict[str, int]:
    """A layer interpreter that ran `imports`, measured once it says so."""
    code = (f"import sys; sys.path.insert(0, {str(opt / 'paramsecrets' / 'lib')!r})\n{imports}\n"
            "print('ready', flush=True)\nsys.stdin.read()\n")
    proc = subprocess.Popen([*python_command(opt), "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env={**env, "LC_ALL": "C.UTF-8"})
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(0.3)
        return smaps(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def serve(opt: Path, env: dict[str, str], workdir: Path) -> common.Server:
    port = common.free_port()
    child = common.Child("layer serve", [str(opt / "bin" / "paramsecrets"), "serve", "--port", str(port)],
                         workdir / f"serve-{port}.log", env=env, cwd=workdir)
    return common.Server(common.started(child, f"http://127.0.0.1:{port}/ping", 60), port)


def read_all(server: common.Server, names: list[str]) -> None:
    def worker(chunk: list[str]) -> None:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        for name in chunk:
            answer = server.get(f"/systemsmanager/parameters/get?name={name}", connection=conn)
            if answer.status != 200:
                raise RuntimeError(f"{name}: {answer.status} {answer.body[:200]!r}")
        conn.close()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(worker, [names[i::4] for i in range(4)]))


def serving_over_tls(opt: Path, workdir: Path, home: Path, name: str) -> dict[str, int]:
    """Step 4's figures with AWS over TLS: one TLS context, its trust store parsed."""
    from paramsecrets.testing.moto import start_moto
    from paramsecrets.testing.tls import make_ca, make_server_cert

    tls_dir = workdir / "tls"
    ca = make_ca(tls_dir, "layer-memory")
    bundle = tls_dir / "bundle.pem"
    bundle.write_bytes((opt / "paramsecrets" / "runtime" / "etc" / "ssl" / "ca-certificates.crt").read_bytes()
                       + ca[0].read_bytes())
    moto = start_moto(workdir, tls=make_server_cert(tls_dir, ca))
    try:
        moto.client("ssm").put_parameter(Name=name, Value="value-over-tls", Type="String")
        server = serve(opt, common.server_env(moto.url, home, {"AWS_CA_BUNDLE": str(bundle)}), workdir)
        try:
            for _ in range(2):
                assert server.get(f"/systemsmanager/parameters/get?name={name}").status == 200
            time.sleep(0.5)
            return smaps(server.pid)
        finally:
            server.stop()
    finally:
        moto.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layer", type=Path, help="a built x86_64 layer zip (default: build one)")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--compare-env", default="MALLOC_ARENA_MAX=1",
                        help="variables for steps 6-7 (default: one malloc arena for all threads)")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="layer-memory-") as tmp:
        workdir = Path(tmp)
        zip_path = args.layer
        if zip_path is None:
            from paramsecrets.layer.build import build_layer

            zip_path = workdir / "layer.zip"
            build_layer("x86_64", zip_path, progress=lambda line: None)
        opt = unpack(zip_path, workdir / "opt")
        moto = common.start_moto(workdir)
        try:
            names = [f"/bench/layer-mem/p{i:05d}" for i in range(args.count)]
            common.seed_parameters(moto, [(n, f"value-{i:026d}") for i, n in enumerate(names)])
            home = workdir / "home"
            home.mkdir()
            env = common.server_env(moto.url, home)
            rows: list[tuple[str, dict[str, int]]] = []
            progress("interpreter idle, our imports, awscrt imported ...")
            rows.append(("1. interpreter (python3.11 -I -S, idle)", idle_process(opt, "pass", env)))
            rows.append(("2. + the server's imports", idle_process(opt, OUR_IMPORTS, env)))
            rows.append(("3. + awscrt and the AWS clients' modules", idle_process(opt, f"{OUR_IMPORTS}\n{AWSCRT}",
                                                                                   env)))
            progress("serving through the launcher ...")
            server = serve(opt, env, workdir)
            first = names[0]
            for _ in range(2):
                assert server.get(f"/systemsmanager/parameters/get?name={first}").status == 200
            time.sleep(0.5)
            rows.append(("4. serving, AWS client loaded (launcher as shipped)", smaps(server.pid)))
            read_all(server, names)
            read_all(server, names)
            time.sleep(0.5)
            rows.append((f"5. after {args.count:,} distinct small parameters", smaps(server.pid)))
            server.stop()
            progress(f"serving with {args.compare_env} ...")
            server = serve(opt, {**env, **dict(item.split("=", 1) for item in args.compare_env.split())}, workdir)
            for _ in range(2):
                assert server.get(f"/systemsmanager/parameters/get?name={first}").status == 200
            time.sleep(0.5)
            rows.append((f"6. step 4 with {args.compare_env}", smaps(server.pid)))
            read_all(server, names)
            time.sleep(0.5)
            rows.append((f"7. step 5 with {args.compare_env}", smaps(server.pid)))
            server.stop()
            progress("serving over HTTPS, a production-sized trust store ...")
            rows.append(("8. step 4 over HTTPS (TLS moto, the layer's CA bundle + the run's CA)",
                         serving_over_tls(opt, workdir, home, first)))
        finally:
            moto.stop()
    floor = rows[0][1]
    table_rows = []
    for label, values in rows:
        table_rows.append((label, common.fmt_mib(values["Rss"]), common.fmt_mib(values["Pss"]),
                           common.fmt_mib(values["Anonymous"]), f"+{(values['Rss'] - floor['Rss']) / MIB:.1f}",
                           values["Threads"]))
    headers = ("process", "RSS", "PSS", "anonymous", "RSS over step 1 (MiB)", "threads")
    serving, full = rows[3][1]["Rss"], rows[4][1]["Rss"]
    verdicts = (f"serving {common.fmt_mib(serving)} (budget {common.fmt_mib(BUDGET_SERVING)}): "
                f"{common.verdict(serving <= BUDGET_SERVING)}; after {args.count:,} values {common.fmt_mib(full)} "
                f"(budget {common.fmt_mib(BUDGET_FULL)}): {common.verdict(full <= BUDGET_FULL)}")
    print(common.text_table(headers, table_rows))
    print(verdicts)
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if not args.no_write:
        markdown = (f"Measured {time.strftime('%Y-%m-%d')} by `bench/layer_memory.py` on the built x86_64 layer "
                    f"(load average {load[0]:.2f}); every row in the same run, step 1 is the reference.\n\n"
                    + common.markdown_table(headers, table_rows) + f"\n\n{verdicts}\n")
        common.write_doc_section(DOC, SECTION, markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
