"""bench/attack.py's cases for the surfaces issue 22 attacked: the SDK protocol, `--listen`, logs,
path listings, endpoint spellings and regions. Each runs the real server against moto (through the
fault proxy, which counts every upstream call) and compares with a reference measured in the same
run. Cases:

- `sdk-replay`: GetParameter / GetSecretValue signed without X-Amz-Target, sent as signed and
  replayed as DeleteParameter / DeleteSecret. Reference: the same reads signed properly.
- `forward-stall`: 12 forwarded DescribeSecret calls over 3 connections, AWS never answering,
  SDK_FORWARD_TIMEOUT_MILLIS 4000. Reference: the deadline (before: 504s at 4, 8, 12 and 16 s).
- `listen`: tokens whose value is an AWS credential, under other variable names, checked as
  `serve --listen 0.0.0.0` checks them (in process: nothing is bound beyond loopback here).
  Reference: a token made for the purpose.
- `log-injection`: names, query keys and /v1 ids carrying %0A, CR, ANSI escapes, NUL and U+2028;
  lines of the server's log that are not its own.
- `path-listing`: get-by-path over 1,100 parameters with the default limits. Reference: the same
  read with the limits raised (every page).
- `self-loop`: spellings of this server's own address as AWS_ENDPOINT_URL_SSM (AWS_ENDPOINT_URL
  next in line). Reference: a read with no such variable.
- `regions`: DescribeSecret signed for 40 made-up but well-formed regions, then a real one and a
  name AWS would never use.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.client
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
from common import TOKEN, TOKEN_HEADER, Moto

from paramsecrets.testing.fault_proxy import FaultProxy
from paramsecrets.testing.moto import ACCESS_KEY, REGION, SECRET_KEY  # what the server holds (base_env)

SURFACE_CASES = ("sdk-replay", "forward-stall", "listen", "log-injection", "path-listing", "self-loop", "regions")
DETAILED = {"X-Paramsecrets-Profile": "detailed"}


@dataclass
class Outcome:
    """One case's figures: rows for its table, and whether it met its target."""

    name: str
    target: str
    result: str
    ok: bool
    rows: list[tuple[str, str]] = field(default_factory=list)


def _session(region: str = REGION) -> Any:
    import boto3

    return boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=region)


def _client(service: str, port: int, region: str = REGION, pool: int = 10) -> Any:
    import botocore.config

    return _session(region).client(service, endpoint_url=f"http://127.0.0.1:{port}", config=botocore.config.Config(
        retries={"total_max_attempts": 1}, read_timeout=120, max_pool_connections=pool))


def _status(call: Callable[[], Any]) -> tuple[int, str]:
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as error:
        return int(error.response["ResponseMetadata"]["HTTPStatusCode"]), str(error.response["Error"]["Code"])
    return 200, ""


# SDK replay ------------------------------------------------------------------------------------

def _signed(port: int, service: str, operation: str, payload: dict[str, Any], sign_target: bool) -> bytes:
    """A POST / signed by botocore; without `sign_target` the X-Amz-Target header is added after signing."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    prefix = {"ssm": "AmazonSSM", "secretsmanager": "secretsmanager"}[service]
    target = f"{prefix}.{operation}"
    headers = {"Content-Type": "application/x-amz-json-1.1", "Host": f"127.0.0.1:{port}"}
    if sign_target:
        headers["X-Amz-Target"] = target
    body = json.dumps(payload).encode()
    request = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/", data=body, headers=headers)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), service, REGION).add_auth(request)
    prepared = request.prepare()
    lines = [f"{name}: {value}" for name, value in prepared.headers.items()]
    if not sign_target:
        lines.append(f"X-Amz-Target: {target}")
    return ("POST / HTTP/1.1\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode() + body


def _post(port: int, raw: bytes) -> tuple[int, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.decode().partition(": ")
            conn.putheader(name, value)
        conn.endheaders(body)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def case_sdk_replay(moto: Moto, work: Path, rounds: int = 20) -> Outcome:
    moto.client("ssm").put_parameter(Name="/bench/replay", Value="replay-value", Type="String", Overwrite=True)
    sm = moto.client("secretsmanager")
    with contextlib.suppress(sm.exceptions.ResourceExistsException):
        sm.create_secret(Name="bench-replay", SecretString="replay-secret")
    cases = [("ssm", "GetParameter", "DeleteParameter", {"Name": "/bench/replay"}),
             ("secretsmanager", "GetSecretValue", "DeleteSecret", {"SecretId": "bench-replay"})]
    with FaultProxy(moto.url) as proxy:
        server = common.start_server(proxy.url, work)
        try:
            reference = Counter(_post(server.port, _signed(server.port, service, read, payload, True))[0]
                                for _ in range(rounds) for service, read, _, payload in cases)
            proxy.clear()
            answers: Counter[str] = Counter()
            for _ in range(rounds):
                for service, read, delete, payload in cases:
                    signed = _signed(server.port, service, read, payload, False)
                    replayed = signed.replace(f".{read}\r\n".encode(), f".{delete}\r\n".encode())
                    for raw in (signed, replayed):
                        status, body = _post(server.port, raw)
                        answers[f"{status} {json.loads(body).get('__type', '')}"] += 1
            upstream = proxy.total()
        finally:
            server.stop()
    still_there = (moto.client("ssm").get_parameter(Name="/bench/replay")["Parameter"]["Value"] == "replay-value"
                   and sm.get_secret_value(SecretId="bench-replay")["SecretString"] == "replay-secret")
    sent = rounds * len(cases) * 2
    refused = answers.get("400 InvalidSignatureException", 0)
    ok = refused == sent and upstream == 0 and still_there
    rows = [("properly signed reads (reference)", ", ".join(f"{k} x{v}" for k, v in sorted(reference.items()))),
            ("reads signed without X-Amz-Target, and their replays as deletes", str(sent)),
            ("answers", ", ".join(f"{k} x{v}" for k, v in sorted(answers.items()))),
            ("upstream calls they caused", str(upstream)),
            ("parameter and secret still there", str(still_there))]
    return Outcome("sdk-replay", "every unbound signature refused, 0 upstream calls, nothing deleted",
                   f"{refused}/{sent} refused, {upstream} upstream calls, nothing deleted: {still_there}", ok, rows)


# Forwarded stall -------------------------------------------------------------------------------

def case_forward_stall(moto: Moto, work: Path, calls: int = 12, connections: int = 3,
                       deadline_ms: int = 4000) -> Outcome:
    with FaultProxy(moto.url) as proxy:
        server = common.start_server(proxy.url, work, extra_env={
            "PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS": str(connections),
            "PARAMETERS_SECRETS_EXTENSION_WARM_CONNECTIONS": "false",
            "PARAMETERS_SECRETS_EXTENSION_SDK_FORWARD_TIMEOUT_MILLIS": str(deadline_ms)})
        try:
            client = _client("secretsmanager", server.port, pool=calls)
            proxy.blackhole()

            def one(_: int) -> tuple[float, tuple[int, str]]:
                started = time.monotonic()
                outcome = _status(lambda: client.describe_secret(SecretId="canary"))
                return time.monotonic() - started, outcome

            with concurrent.futures.ThreadPoolExecutor(calls) as pool:
                results = list(pool.map(one, range(calls)))
            sent = proxy.total(outcome="blackholed")
        finally:
            server.stop()
    deadline = deadline_ms / 1000
    worst = max(seconds for seconds, _ in results)
    statuses = Counter(f"{status} {code}" for _, (status, code) in results)
    ok = worst < deadline + 1.0 and set(statuses) == {"504 GatewayTimeout"}
    rows = [("requests", f"{calls} forwarded DescribeSecret at once; MAX_CONNECTIONS {connections}; AWS never answers"),
            latency_row("time to the answer", [seconds for seconds, _ in results]),
            ("statuses", ", ".join(f"{k} x{v}" for k, v in sorted(statuses.items()))),
            ("sent to AWS (the rest reached a connection too late and were not sent)", str(sent)),
            ("deadline (reference)", f"{deadline:g} s (before: answers at {deadline:g}, {2 * deadline:g}, "
                                     f"{3 * deadline:g} and {4 * deadline:g} s)")]
    return Outcome("forward-stall", f"every forwarded call answered 504 within its deadline ({deadline:g} s)",
                   f"max {worst:.2f} s for {calls} calls, {sent} sent", ok, rows)


def latency_row(label: str, values: list[float]) -> tuple[str, str]:
    ordered = sorted(values)
    return label, (f"n={len(values)}, median {ordered[len(ordered) // 2] * 1000:.0f} ms, "
                   f"max {ordered[-1] * 1000:.0f} ms")


# --listen --------------------------------------------------------------------------------------

def case_listen(work: Path) -> Outcome:
    from paramsecrets.process.listen import exposure_problem

    secret, session, key_id = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2VjEXAMPLE" * 4, "AKIAEXAMPLE0"
    credentials = work / "credentials"
    credentials.write_text(f"[default]\naws_secret_access_key = {secret}\n")
    container = work / "container-token"
    container.write_text(session)
    cases = [
        ("AWS_TOKEN=$AWS_SESSION_TOKEN", "AWS_TOKEN", session, {"AWS_SESSION_TOKEN": session}),
        ("AWS_TOKEN=$AWS_SECRET_ACCESS_KEY", "AWS_TOKEN", secret, {"AWS_SECRET_ACCESS_KEY": secret}),
        ("TOKEN_ENV=AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", secret, {"AWS_SECRET_ACCESS_KEY": secret}),
        ("MY_TOKEN=$AWS_ACCESS_KEY_ID", "MY_TOKEN", key_id, {"AWS_ACCESS_KEY_ID": key_id}),
        ("AWS_TOKEN = the shared credentials file's secret key", "AWS_TOKEN", secret,
         {"AWS_SHARED_CREDENTIALS_FILE": str(credentials)}),
        ("AWS_TOKEN = the container authorization token file", "AWS_TOKEN", session,
         {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(container)}),
    ]
    refused = [name for name, variable, value, environ in cases
               if exposure_problem("0.0.0.0", variable, value, environ) is not None]
    leaked = [name for name, variable, value, environ in cases
              if value in (exposure_problem("0.0.0.0", variable, value, environ) or "")]
    fit = exposure_problem("0.0.0.0", "AWS_TOKEN", "a-token-made-for-this-0123456789",
                           {"AWS_SECRET_ACCESS_KEY": secret, "AWS_SHARED_CREDENTIALS_FILE": str(credentials)})
    ok = len(refused) == len(cases) and not leaked and fit is None
    rows = [(name, "refused" if name in refused else "ACCEPTED") for name, *_ in cases]
    rows += [("a token made for the purpose (reference)", "accepted" if fit is None else "refused"),
             ("messages quoting the credential", str(len(leaked))),
             ("the SDK protocol beyond loopback without the token", "401 AccessDeniedException "
              "(tests/sidecar/test_listen.py, in a private network namespace)")]
    return Outcome("listen", "every credential-valued token refused beyond loopback, a fit one accepted",
                   f"{len(refused)}/{len(cases)} refused, fit token accepted: {fit is None}", ok, rows)


# Log injection ---------------------------------------------------------------------------------

INJECTED = ["\n[paramsecrets] 2020/01/01 00:00:00 INFO forged", "\r[paramsecrets] forged-cr", "\x1b[2J\x1b[31m",
            "\x00nul", "\u2028[paramsecrets] forged-ls", "\x85nel", "\u202eevil"]


def case_log_injection(moto: Moto, work: Path, rounds: int = 20) -> Outcome:
    from urllib.parse import quote

    server = common.start_server(moto.url, work)
    log_path = work / f"server-{server.port}.log"
    sent = 0
    try:
        for number in range(rounds):
            for text in INJECTED:
                encoded = quote(f"/x{number}{text}", safe="/")
                for path in (f"/systemsmanager/parameters/get?name={encoded}",
                             f"/systemsmanager/parameters/get?name=/ok&{encoded.lstrip('/')}=1",
                             f"/secretsmanager/get?secretId={encoded}", f"/v1/{encoded.lstrip('/')}"):
                    http_status = common.http_get(server.port, path, {TOKEN_HEADER: TOKEN, **DETAILED}).status
                    sent += http_status > 0
    finally:
        server.stop()
    text = log_path.read_bytes().decode("utf-8", "replace")
    lines = text.splitlines()
    foreign = [line for line in lines if not line.startswith("[paramsecrets] ")]
    raw = sum(text.count(char) for char in ("\x1b", "\r", "\x00", "\x85", "\u2028", "\u202e"))
    escaped = sum(line.count("\\n[paramsecrets]") + line.count("\\u2028[paramsecrets]") for line in lines)
    ok = not foreign and raw == 0 and escaped > 0
    rows = [("requests carrying control characters", f"{sent} ({len(INJECTED)} payloads x 4 routes x {rounds})"),
            ("log lines", str(len(lines))),
            ("lines not written by the server (forged or broken)", str(len(foreign))),
            ("raw control characters in the log", str(raw)),
            ("forged line starts found escaped inside real lines", str(escaped))]
    return Outcome("log-injection", "0 forged lines, 0 raw control characters in the log",
                   f"{sent} requests: {len(foreign)} forged lines, {raw} raw control characters", ok, rows)


# Path listing ----------------------------------------------------------------------------------

def _path_read(moto: Moto, work: Path, extra: dict[str, str]) -> tuple[int, str, int, float, int]:
    with FaultProxy(moto.url) as proxy:
        server = common.start_server(proxy.url, work, extra_env=extra)
        try:
            before = common.proc_status(server.pid)["VmRSS"]
            started = time.monotonic()
            answer = common.http_get(server.port, "/systemsmanager/parameters/get-by-path?path=/bench/big/",
                                     {TOKEN_HEADER: TOKEN, **DETAILED}, timeout=120)
            seconds = time.monotonic() - started
            grown = common.proc_status(server.pid)["VmRSS"] - before
            calls = proxy.total("AmazonSSM.GetParametersByPath")
        finally:
            server.stop()
    code = answer.headers.get("x-paramsecrets-error", "") or "ok"
    return answer.status, code, calls, seconds, grown


def case_path_listing(moto: Moto, work: Path, parameters: int = 1100) -> Outcome:
    common.seed_parameters(moto, [(f"/bench/big/p{number:05d}", f"v{number}") for number in range(parameters)],
                           report_every=500)
    limited = _path_read(moto, work, {})
    unlimited = _path_read(moto, work, {"PARAMETERS_SECRETS_EXTENSION_MAX_PATH_PARAMETERS": "100000",
                                        "PARAMETERS_SECRETS_EXTENSION_MAX_PATH_PAGES": "10000"})

    def row(figures: tuple[int, str, int, float, int]) -> str:
        status, code, calls, seconds, grown = figures
        return f"{status} {code}, {calls} calls, {seconds:.2f} s, RSS +{grown / 1024:.0f} KiB"

    ok = limited[0] == 400 and limited[1] == "PathTooLarge" and limited[2] <= 101 and unlimited[0] == 200
    rows = [("parameters under the path", str(parameters)),
            ("limits raised: every page (reference)", row(unlimited)),
            ("default limits (1000 parameters, 200 pages, 20 s)", row(limited))]
    return Outcome("path-listing", "refused with PathTooLarge after at most 101 calls",
                   f"{limited[1]} after {limited[2]} calls in {limited[3]:.2f} s "
                   f"(every page: {unlimited[2]} calls, {unlimited[3]:.2f} s)", ok, rows)


# Self-loop spellings ---------------------------------------------------------------------------

SPELLINGS = ("0", "[::ffff:127.0.0.1]", "127.1", "2130706433", "0x7f.0.0.1", "localhost.", "[::]")


def case_self_loop(moto: Moto, work: Path) -> Outcome:
    moto.client("ssm").put_parameter(Name="/bench/loop", Value="loop", Type="String", Overwrite=True)
    path = "/systemsmanager/parameters/get?name=/bench/loop&refreshNow=true"
    results: list[tuple[str, int, int, float]] = []
    with FaultProxy(moto.url) as proxy:
        for spelling in ("(none: reference)", *SPELLINGS):
            port = common.free_port()
            extra = {} if spelling.startswith("(") else {"AWS_ENDPOINT_URL_SSM": f"http://{spelling}:{port}"}
            server = common.start_server(proxy.url, work, extra_env=extra, port=port)
            try:
                proxy.clear()
                started = time.monotonic()
                status = common.http_get(port, path, {TOKEN_HEADER: TOKEN, **DETAILED}, timeout=60).status
                results.append((spelling, status, proxy.total("AmazonSSM.GetParameter"), time.monotonic() - started))
            finally:
                server.stop()
    ok = all(status == 200 and calls == 1 for _, status, calls, _ in results)
    rows = [(f"AWS_ENDPOINT_URL_SSM=http://{spelling}:PORT" if not spelling.startswith("(") else spelling,
             f"{status}, {calls} call to AWS, {seconds * 1000:.0f} ms") for spelling, status, calls, seconds in results]
    worst = max(seconds for *_, seconds in results)
    return Outcome("self-loop", "every spelling of this server skipped: 200 with 1 call to AWS",
                   f"{sum(status == 200 for _, status, _, _ in results)}/{len(results)} answered 200, "
                   f"max {worst * 1000:.0f} ms (before: 504 after 9 s)", ok, rows)


# Regions ---------------------------------------------------------------------------------------

def case_regions(moto: Moto, work: Path, made_up: int = 40) -> Outcome:
    regions = [f"{area}-{direction}-{number}" for area in ("af", "me", "sa", "mx") for direction in ("north", "south")
               for number in range(11, 21)][:made_up]
    with FaultProxy(moto.url) as proxy:
        server = common.start_server(proxy.url, work)
        try:
            answers: Counter[str] = Counter()
            for region in regions:
                status, code = _status(lambda r=region: _client("secretsmanager", server.port, r).describe_secret(
                    SecretId="canary"))
                answers[f"{status} {code}".strip()] += 1
            real = _status(lambda: _client("secretsmanager", server.port, "us-west-2").describe_secret(
                SecretId="canary"))
            proxy.clear()
            invalid = _status(lambda: _client("secretsmanager", server.port, "xx-fake-1").describe_secret(
                SecretId="canary"))
            invalid_calls = proxy.total()
        finally:
            server.stop()
    locked = answers.get("400 InvalidSignatureException", 0)
    ok = locked == 0 and real[1] != "InvalidSignatureException" and invalid == (400, "InvalidSignatureException") \
        and invalid_calls == 0
    rows = [("made-up but well-formed regions signed for", f"{len(regions)} (the limit of held regions is 32)"),
            ("their answers (forwarded: moto fails with 500 for regions it does not know, AWS with its own error)",
             ", ".join(f"{k} x{v}" for k, v in sorted(answers.items()))),
            ("a real region afterwards (us-west-2)", f"{real[0]} {real[1]}".strip()),
            ("a name AWS would never use (xx-fake-1)", f"{invalid[0]} {invalid[1]}, {invalid_calls} upstream calls")]
    return Outcome("regions", "made-up regions never lock a real one out; invalid names refused with 0 calls",
                   f"{locked} refused of {len(regions)}, real region {real[0]}, xx-fake-1 {invalid[1]}", ok, rows)


def runners(moto: Moto, work: Path, quick: bool) -> dict[str, Callable[[], Outcome]]:
    return {
        "sdk-replay": lambda: case_sdk_replay(moto, work, 5 if quick else 20),
        "forward-stall": lambda: case_forward_stall(moto, work),
        "listen": lambda: case_listen(work),
        "log-injection": lambda: case_log_injection(moto, work, 3 if quick else 20),
        "path-listing": lambda: case_path_listing(moto, work, 1100),
        "self-loop": lambda: case_self_loop(moto, work),
        "regions": lambda: case_regions(moto, work, 40),
    }

