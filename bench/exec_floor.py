"""The floor of the exec wrapper's wait: how soon can any process on the layer's interpreter hold
the 5 values from AWS through awscrt, against the same interpreter doing nothing, same run.

The wrapper's budget (issue 18: +20 ms of INIT against the same function without it) needs the
values within ~20 ms of INIT's start. This measures the shortest path awscrt allows, with nothing
of paramsecrets in it: start the layer's python3.11, import awscrt, take the credentials from the
environment, sign and send GetParameters (3 names, decrypted) and BatchGetSecretValue (2 ids) to
moto over two connections at once, wait for both answers. No asyncio, no HTTP server, no cache:
whatever the extension does on top, its first answer cannot come sooner. Interleaved with the same
interpreter running its first line, median of N (default 20) wall times from spawn to that point
(the child reads the same monotonic clock), and the
CPU of the awscrt import alone (most of it aws-lc seeding its random generator from CPU jitter
entropy, at `s2n_init`).

    .venv/bin/python bench/exec_floor.py [--runs 20] [--layer ZIP]

Prints the table; writes nothing (docs/performance.md quotes it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from exec_wrapper import seed  # bench/ is sys.path[0] when a script runs

from paramsecrets.layer.build import build_layer
from paramsecrets.testing.lambda_root import layer_python
from paramsecrets.testing.lambda_sandbox import unpack_layer
from paramsecrets.testing.moto import start_moto

BUDGET_MS = 20.0
READ = r"""
import io, json, sys, time
started = time.process_time()
from awscrt.auth import AwsCredentialsProvider, AwsSigningConfig, aws_sign_request
from awscrt.http import HttpClientConnection, HttpHeaders, HttpRequest
from awscrt.io import ClientBootstrap, DefaultHostResolver, EventLoopGroup
imported = time.process_time()
host, port = sys.argv[1], int(sys.argv[2])
loops = EventLoopGroup(1)
bootstrap = ClientBootstrap(loops, DefaultHostResolver(loops))
credentials = AwsCredentialsProvider.new_environment()

def call(service, target, payload):
    body = json.dumps(payload).encode()
    headers = HttpHeaders([("host", f"{host}:{port}"), ("content-type", "application/x-amz-json-1.1"),
                           ("x-amz-target", target), ("content-length", str(len(body)))])
    request = HttpRequest("POST", "/", headers, io.BytesIO(body))
    config = AwsSigningConfig(credentials_provider=credentials, region="us-east-1", service=service)
    connection = HttpClientConnection.new(host_name=host, port=port, bootstrap=bootstrap)
    signing = aws_sign_request(request, config)
    chunks = []
    def send(_):
        request.body_stream = io.BytesIO(body)
        stream = connection.result().request(request, on_body=lambda chunk, **_: chunks.append(chunk))
        stream.activate()
        return stream
    return signing, send, chunks

calls = [call("ssm", "AmazonSSM.GetParameters",
              {"Names": ["/bench/db-host", "/bench/db-password", "/bench/features"], "WithDecryption": True}),
         call("secretsmanager", "secretsmanager.BatchGetSecretValue", {"SecretIdList": ["bench/api", "bench/db"]})]
streams = [send(signing.result()) for signing, send, _ in calls]
for stream in streams:
    assert stream.completion_future.result(10) == 200
answers = [json.loads(b"".join(chunks)) for _, _, chunks in calls]
assert len(answers[0]["Parameters"]) == 3 and len(answers[1]["SecretValues"]) == 2, answers
print(f"{time.monotonic()} {(imported - started) * 1000:.1f}")
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--layer", type=Path, help="a built x86_64 layer zip (default: build one)")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="exec-floor-") as name:
        tmp = Path(name)
        zip_path = args.layer or build_layer("x86_64", tmp / "layer.zip", progress=lambda _line: None).path
        opt = unpack_layer(zip_path, tmp / "opt")
        python = layer_python(runtime=str(opt / "paramsecrets" / "runtime"))
        script = tmp / "read.py"
        script.write_text(f"import sys\nsys.path.insert(0, {str(opt / 'paramsecrets' / 'lib')!r})\n" + READ)
        moto = start_moto(tmp)
        try:
            seed(moto)  # exec_wrapper.py's 5 values, the same names
            env = {"LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                   "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_SESSION_TOKEN": "t"}
            host, port = "127.0.0.1", str(moto.port)
            commands = {"nothing": [*python, "-c", "import time; print(time.monotonic())"],
                        "values": [*python, str(script), host, port]}
            walls: dict[str, list[float]] = {key: [] for key in commands}
            import_cpu: list[float] = []
            for run in range(args.runs + 2):  # two warm-ups (page cache, moto's first answers), not counted
                for key, command in commands.items():
                    began = time.monotonic()  # the child prints its own monotonic clock (one clock per host)
                    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=60)
                    if proc.returncode != 0:
                        raise SystemExit(f"{key} failed: {proc.stderr[-2000:]}")
                    fields = proc.stdout.split()
                    if run >= 2:
                        walls[key].append((float(fields[0]) - began) * 1000)
                        if key == "values":
                            import_cpu.append(float(fields[1]))
        finally:
            moto.stop()
    nothing, values = statistics.median(walls["nothing"]), statistics.median(walls["values"])
    load = f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    print("| what | the layer's interpreter, its first line (same run) | the 5 values from AWS via awscrt | added |")
    print("|---|---|---|---|")
    added = values - nothing
    print(f"| spawn to the values in hand (to the first line), median of {args.runs} | {nothing:.1f} ms "
          f"| {values:.1f} ms | **{added:+.1f} ms** "
          f"(wrapper budget +{BUDGET_MS:.0f} ms: {'within' if added <= BUDGET_MS else 'over'}) |")
    print(f"| CPU of `import awscrt.auth, awscrt.http, awscrt.io` alone | | {statistics.median(import_cpu):.1f} ms | |")
    print(load)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
