"""Server CPU per cached hit: the SDK protocol (a signed POST) against the GET route, same run.

    .venv/bin/python bench/sdk_cpu.py [--requests 3000]

Starts moto and `paramsecrets serve` (the venv's), caches one parameter, then sends N identical
requests over one keep-alive connection, one at a time, for each kind in turn (GET, SDK, GET,
SDK), and reads the server's CPU time (/proc/<pid>/stat, user + system, all threads) around each
batch. The SDK request is signed once by botocore and replayed (valid for AWS's 5-minute window),
so the client's cost is the same for both kinds. Prints CPU µs per request of each and the
ratio; the difference is what verifying a signature costs (awscrt's SigV4, run per request).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

NAME = "/bench/sdk-cpu/param"


def signed_post(port: int) -> bytes:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = json.dumps({"Name": NAME}).encode()
    host = f"127.0.0.1:{port}"
    request = AWSRequest(method="POST", url=f"http://{host}/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM.GetParameter", "Host": host})
    SigV4Auth(Credentials(common.ACCESS_KEY, common.SECRET_KEY), "ssm", common.REGION).add_auth(request)
    prepared = request.prepare()
    head = "".join(f"{k}: {v}\r\n" for k, v in prepared.headers.items())
    return f"POST / HTTP/1.1\r\n{head}\r\n".encode() + body


def batch(port: int, request: bytes, count: int, pid: int) -> float:
    """Server CPU µs per request over `count` sequential requests on one connection."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = sock.makefile("rb")

        def one() -> None:
            sock.sendall(request)
            status = reader.readline()
            if not status.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"answer {status!r}")
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            reader.read(length)

        for _ in range(50):
            one()
        before = common.cpu_seconds(pid)
        for _ in range(count):
            one()
        return (common.cpu_seconds(pid) - before) * 1e6 / count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args(argv)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="sdk-cpu-") as tmp:
        workdir = Path(tmp)
        moto = common.start_moto(workdir)
        try:
            common.seed_parameters(moto, [(NAME, "x" * 300)])
            server = common.start_server(moto.url, workdir, extra_env={
                "AWS_ACCESS_KEY_ID": common.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": common.SECRET_KEY})
            get = (f"GET /systemsmanager/parameters/get?name=%2Fbench%2Fsdk-cpu%2Fparam HTTP/1.1\r\n"
                   f"Host: 127.0.0.1\r\n{common.TOKEN_HEADER}: {common.TOKEN}\r\n\r\n").encode()
            post = signed_post(server.port)
            results: dict[str, list[float]] = {"GET": [], "SDK": []}
            for _ in range(2):
                results["GET"].append(batch(server.port, get, args.requests, server.pid))
                results["SDK"].append(batch(server.port, post, args.requests, server.pid))
            server.stop()
        finally:
            moto.stop()
    get_us, sdk_us = common.median(results["GET"]), common.median(results["SDK"])
    print(f"GET hit: {get_us:.1f} µs CPU/request (rounds {', '.join(f'{v:.1f}' for v in results['GET'])})")
    print(f"SDK hit: {sdk_us:.1f} µs CPU/request (rounds {', '.join(f'{v:.1f}' for v in results['SDK'])})")
    print(f"SDK / GET: {sdk_us / get_us:.2f}x; verification and the JSON protocol cost {sdk_us - get_us:.1f} µs more")
    print(f"{args.requests} sequential requests per round on one keep-alive connection; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
