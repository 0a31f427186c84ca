"""Run inside a private network namespace by test_listen.py: start `paramsecrets serve` with the
given arguments, then report as JSON what answers where. Standard library and paramsecrets only."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys

from paramsecrets.testing.moto import wait_until


def get(host: str, port: int, path: str, token: str | None) -> int:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", path, headers={"X-Aws-Parameters-Secrets-Token": token} if token else {})
        return conn.getresponse().status
    finally:
        conn.close()


def sdk_status(host: str, port: int, token: str | None) -> int:
    """A GetParameter from boto3, signed with the server's own credentials (the environment's), with or
    without the token header: the status it got."""
    import os

    import boto3
    import botocore.config
    from botocore.exceptions import ClientError

    client = boto3.session.Session(region_name=os.environ["AWS_REGION"]).client(
        "ssm", endpoint_url=f"http://{host}:{port}",
                                            config=botocore.config.Config(retries={"total_max_attempts": 1}))
    if token is not None:
        def add_token(request: object, **_: object) -> None:
            request.headers["X-Aws-Parameters-Secrets-Token"] = token  # type: ignore[attr-defined]

        client.meta.events.register("before-sign.ssm.*", add_token)
    try:
        client.get_parameter(Name="/any")
    except ClientError as error:
        return int(error.response["ResponseMetadata"]["HTTPStatusCode"])
    return 200


def refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def main() -> int:
    host, port, token, *serve_args = sys.argv[1:]
    server = subprocess.Popen([sys.executable, "-m", "paramsecrets", "serve", "--port", port, *serve_args],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    report: dict[str, object] = {}
    try:
        def answered_or_exited() -> bool:
            if server.poll() is not None:
                return True
            try:
                report["ping"] = get(host, int(port), "/ping", None)
            except OSError:
                return False
            return True

        wait_until(answered_or_exited, timeout=30)
        if "ping" in report:
            report["no_token"] = get(host, int(port), "/secretsmanager/get?secretId=x", None)
            report["with_token"] = get(host, int(port), "/secretsmanager/get?secretId=x", token)
            report["metrics"] = get(host, int(port), "/metrics", None)
            report["sdk_no_token"] = sdk_status(host, int(port), None)
            report["sdk_with_token"] = sdk_status(host, int(port), token)
            report["loopback_refused"] = refused("127.0.0.1", int(port))
    finally:
        if server.poll() is None:
            server.terminate()
        output, _ = server.communicate(timeout=30)
    report["exit"] = server.returncode
    report["output"] = output
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
