"""The import audit (paramsecrets.testing.import_audit): every entry point of the built layer, on the
layer's own interpreter, fails the test when it looks for a module the slimmed layer lacks.

Entry points: `serve` outside Lambda (GET routes, the SDK protocol, every error route), over TLS
and through an HTTP CONNECT proxy; `serve` as a Lambda extension under the RIE in a bare root;
the client commands and the stdlib client library; every CLI command and its error exits;
`exec` (issue 18) when the CLI has it; and the arm64 layer under qemu. Each run must report
(a silent run would prove nothing), and the union of what was loaded is checked against what the
layer keeps (see test_everything_loaded_is_shipped).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FUNCTIONS, JSON_SECRET, SECURE_PARAM, SESSION_TOKEN, STRING_PARAM

from paramsecrets.testing.import_audit import Findings, audited_copy
from paramsecrets.testing.lambda_sandbox import (
    BASE_PATH,
    BareRootSandbox,
    bare_root_command,
    bare_root_popen,
    close_sandboxes,
    http_get,
    make_bare_root,
    static_busybox,
    wait_for,
)
from paramsecrets.testing.moto import wait_until
from paramsecrets.testing.net import free_port

pytestmark = pytest.mark.timeout(600)

FINDINGS = Findings()
TOKEN = "audit-token-0123456789abcdef"
QEMU = shutil.which("qemu-aarch64-static")


@pytest.fixture(scope="module")
def audited(layer_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return audited_copy(layer_dir, tmp_path_factory.mktemp("audited") / "opt")


def _env(endpoint: str, home: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": BASE_PATH, "HOME": str(home), "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_SESSION_TOKEN": SESSION_TOKEN, "AWS_ENDPOINT_URL": endpoint, "AWS_TOKEN": TOKEN, **extra,
    }


def _check(output: str | bytes, what: str) -> None:
    """One run's findings: it reported, and it looked up no module the layer lacks."""
    one = FINDINGS.add(output)
    assert FINDINGS.reported(output), f"{what}: the audited run.py did not report (did it run?)\n{output!r:.2000}"
    unexpected = sorted(n for n in one.missing if n in Findings(missing=one.missing).unexpected())
    assert not unexpected, f"{what} looked for modules the layer lacks: {unexpected}"


def _run(opt: Path, args: list[str], env: dict[str, str], what: str, codes: tuple[int, ...] = (0,),
         stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run([str(opt / "bin" / "paramsecrets"), *args], env=env, input=stdin, capture_output=True,
                          timeout=120, check=False)
    assert proc.returncode in codes, (what, proc.returncode, proc.stderr[-2000:])
    _check(proc.stderr, what)
    return proc


class Served:
    """`/opt/bin/paramsecrets serve` of the audited layer, its stderr kept for the findings."""

    def __init__(self, opt: Path, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.handle = log.open("wb")
        self.proc = subprocess.Popen([str(opt / "bin" / "paramsecrets"), "serve", "--port", str(self.port)],
                                     env=env, stdout=self.handle, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: http_get(self.port, "/ping", TOKEN)[0] == 200, self.proc, log, timeout=60)

    def get(self, path: str, token: str | None = TOKEN) -> tuple[int, bytes]:
        return http_get(self.port, path, token or "")

    def raw(self, data: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    def stop(self, what: str) -> None:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=30) == 0
        self.handle.close()
        _check(self.log.read_bytes(), what)


@pytest.fixture
def layer_serve(audited: Path, tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Served]]:
    started: list[Served] = []

    def _start(env: dict[str, str]) -> Served:
        server = Served(audited, env, tmp_path / f"serve-{len(started)}.log")
        started.append(server)
        return server

    yield _start
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(timeout=30)


def _quoted(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _sdk_request(operation: str, payload: dict[str, Any], port: int) -> bytes:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    target = {"GetParameter": "AmazonSSM", "GetSecretValue": "secretsmanager"}[operation]
    service = "ssm" if target == "AmazonSSM" else "secretsmanager"
    body = json.dumps(payload).encode()
    host = f"127.0.0.1:{port}"
    request = AWSRequest(method="POST", url=f"http://{host}/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"{target}.{operation}", "Host": host})
    SigV4Auth(Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", SESSION_TOKEN),
              service, "us-east-1").add_auth(request)
    prepared = request.prepare()
    head = "".join(f"{k}: {v}\r\n" for k, v in prepared.headers.items())
    return f"POST / HTTP/1.1\r\n{head}Connection: close\r\n\r\n".encode() + body


def test_serve_every_route_and_error(layer_serve: Callable[[dict[str, str]], Served], moto_endpoint: str,
                                     tmp_path: Path, audited: Path) -> None:
    server = layer_serve(_env(moto_endpoint, tmp_path))
    status, body = server.get(f"/systemsmanager/parameters/get?name={_quoted(SECURE_PARAM[0])}&withDecryption=true")
    assert status == 200 and json.loads(body)["Parameter"]["Value"] == SECURE_PARAM[1]
    status, body = server.get(f"/secretsmanager/get?secretId={_quoted(JSON_SECRET[0])}")
    assert status == 200 and json.loads(json.loads(body)["SecretString"]) == JSON_SECRET[1]
    assert server.get(f"/systemsmanager/parameters/get?name={_quoted(STRING_PARAM[0])}")[0] == 200
    assert server.get("/systemsmanager/parameters/get?name=%2Fno%2Fsuch")[0] == 400  # AWS's ParameterNotFound
    assert server.get("/secretsmanager/get?secretId=no-such-secret")[0] in (400, 404)
    assert server.get("/systemsmanager/parameters/get?name=x", token=None)[0] in (400, 401)
    assert server.get("/systemsmanager/parameters/get?name=x", token="wrong")[0] in (401, 403)
    assert server.get("/systemsmanager/parameters/get")[0] == 400
    assert server.get("/secretsmanager/get?secretId=a&versionId=b&versionStage=c")[0] == 400
    assert server.get("/no/such/route")[0] in (400, 404)
    assert server.get("/systemsmanager/parameters/get?name=" + "%ff" * 10)[0] == 400
    assert server.raw(b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 4")
    assert server.raw(b"GET / HTTP/1.1\r\nContent-Length: nope\r\n\r\n").startswith(b"HTTP/1.1 4")
    assert server.raw(b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 4")
    # The SDK protocol on the same port: a signed hit, a miss, a bad signature, a bad body.
    answer = server.raw(_sdk_request("GetParameter", {"Name": STRING_PARAM[0]}, server.port))
    assert answer.startswith(b"HTTP/1.1 200") and STRING_PARAM[1].encode() in answer, answer[:300]
    answer = server.raw(_sdk_request("GetSecretValue", {"SecretId": "no-such-secret"}, server.port))
    assert answer.startswith(b"HTTP/1.1 4"), answer[:300]
    forged = _sdk_request("GetParameter", {"Name": STRING_PARAM[0]}, server.port).replace(b"Signature=", b"Signature=0")
    assert server.raw(forged).startswith(b"HTTP/1.1 4")
    head, body = _sdk_request("GetParameter", {"Name": STRING_PARAM[0]}, server.port).rsplit(b"\r\n\r\n", 1)
    assert server.raw(head + b"\r\n\r\n{" + b"x" * (len(body) - 1)).startswith(b"HTTP/1.1 4")

    # The client command and the stdlib client library, against this server, and their errors.
    env = _env(moto_endpoint, tmp_path, PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=str(server.port))
    assert _run(audited, ["get-parameter", STRING_PARAM[0]], env, "get-parameter").stdout == STRING_PARAM[1].encode()
    assert json.loads(_run(audited, ["get-secret", JSON_SECRET[0]], env, "get-secret").stdout) == JSON_SECRET[1]
    _run(audited, ["get-parameter", "/no/such"], env, "get-parameter, not found", codes=(1, 2, 3, 4))
    _run(audited, ["get-secret", "no-such-secret", "--json"], env, "get-secret --json, not found",
         codes=(1, 2, 3, 4))
    _run(audited, ["get-parameter", STRING_PARAM[0]], {**env, "AWS_TOKEN": "wrong"}, "get-parameter, bad token",
         codes=(1, 2, 3, 4))
    _client_library(audited, env, server.port)
    server.stop("serve outside Lambda")


def _client_library(opt: Path, env: dict[str, str], port: int) -> None:
    """paramsecrets.client on the layer's interpreter (through the audited run.py's finder)."""
    runtime = opt / "paramsecrets" / "runtime"
    script = (
        "import sys\n"
        "from paramsecrets.client import Client, NotFoundError\n"
        f"with Client(port={port}) as client:\n"
        f"    assert client.get_parameter({STRING_PARAM[0]!r}) == {STRING_PARAM[1]!r}\n"
        f"    assert client.get_secret_json({JSON_SECRET[0]!r})['port'] == 5432\n"
        f"    assert client.get_parameters([{STRING_PARAM[0]!r}])\n"
        "    try:\n"
        "        client.get_parameter('/no/such')\n"
        "    except NotFoundError:\n"
        "        pass\n"
        f"with Client(port={free_port()}, retry_seconds=0) as down:\n"
        "    try:\n"
        "        down.get_parameter('x')\n"
        "    except Exception as error:\n"
        "        print(type(error).__name__)\n"
    )
    command = [str(runtime / "lib" / "ld-linux-x86-64.so.2"), "--inhibit-cache", "--library-path", str(runtime / "lib"),
               str(runtime / "bin" / "python3.11"), "-I", "-S", "-c", _with_finder(script, opt)]
    probe = subprocess.run(command, env=env, capture_output=True, timeout=120, check=False)
    assert probe.returncode == 0, probe.stderr[-2000:]
    _check(probe.stderr, "client library")


def _with_finder(script: str, opt: Path) -> str:
    """The audit wrapper's finder and exit report, then `script`, with the layer's lib/ on sys.path."""
    wrapper = (opt / "paramsecrets" / "run.py").read_text(encoding="utf-8")
    head = wrapper.split("_real = ", 1)[0]
    return f"{head}\nsys.path.insert(0, {str(opt / 'paramsecrets' / 'lib')!r})\n{script}"


def test_cli_commands_and_their_errors(audited: Path, moto_endpoint: str, tmp_path: Path) -> None:
    env = _env(moto_endpoint, tmp_path)
    _run(audited, ["--help"], env, "--help")
    _run(audited, [], env, "no command", codes=(2,))
    assert b"paramsecrets " in _run(audited, ["version"], env, "version").stdout
    _run(audited, ["no-such-command"], env, "unknown command", codes=(2,))
    _run(audited, ["layer", "build"], env, "layer build (not in the layer)", codes=(2,))
    _run(audited, ["dev"], env, "dev (not in the layer)", codes=(2,))
    _run(audited, ["config"], env, "config without subcommand", codes=(2,))
    _run(audited, ["config", "check"], env, "config check")
    _run(audited, ["config", "check", "--port", "nope"], env, "config check, bad port", codes=(2,))
    config = tmp_path / "bad.toml"
    config.write_text("this is = = not toml\n")
    _run(audited, ["config", "check", "--config", str(config)], env, "config check, bad TOML", codes=(2,))
    _run(audited, ["config", "check"], {**env, "AWS_REGION": "", "AWS_DEFAULT_REGION": ""},
         "config check, no region", codes=(0, 2))
    misspelt = tmp_path / "misspelt.toml"
    misspelt.write_text("cache_sise = 10\n")  # difflib's "did you mean" path
    _run(audited, ["config", "check", "--config", str(misspelt)], env, "config check, misspelt key", codes=(2,))
    good = tmp_path / "good.toml"
    good.write_text("cache_size = 10\nlog_level = 'debug'\n")
    _run(audited, ["config", "check", "--config", str(good)], env, "config check, TOML file")
    aws_config = tmp_path / "aws-config"
    aws_config.write_text("[default]\nregion = eu-west-1\nca_bundle = /nonexistent/ca.pem\n")
    _run(audited, ["config", "check"], {**env, "AWS_REGION": "", "AWS_CONFIG_FILE": str(aws_config)},
         "config check, AWS config file", codes=(0, 2))
    aws_config.write_text("[default\nregion\n")
    _run(audited, ["config", "check"], {**env, "AWS_REGION": "", "AWS_CONFIG_FILE": str(aws_config)},
         "config check, broken AWS config file", codes=(0, 2))
    for command in ("get-parameter", "get-secret", "serve", "config check"):
        _run(audited, [*command.split(), "--help"], env, f"{command} --help")
    _run(audited, ["get-parameter"], env, "get-parameter without a name", codes=(2,))
    _run(audited, ["get-parameter", "x"], {**env, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(free_port())},
         "get-parameter, no server", codes=(1, 2, 3, 4, 5))
    _run(audited, ["serve", "--port", "nope"], env, "serve, bad port", codes=(2,))
    _run(audited, ["serve"], {**env, "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE": "-5"}, "serve, bad setting",
         codes=(1, 2))


def test_exec_command_when_present(audited: Path, layer_serve: Callable[[dict[str, str]], Served], moto_endpoint: str,
                                   tmp_path: Path) -> None:
    """Hook for `paramsecrets exec` (issue 18): runs it, both its client path and its error path,
    once the CLI lists the command."""
    env = _env(moto_endpoint, tmp_path)
    usage = _run(audited, ["--help"], env, "--help").stdout.decode()
    if "\n  exec " not in usage:
        pytest.skip("`paramsecrets exec` is not in this CLI yet (issue 18)")
    server = layer_serve(env)
    env = {**env, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(server.port)}
    _run(audited, ["exec", "--help"], env, "exec --help")
    _run(audited, ["exec", "--", "/bin/true"], env, "exec /bin/true", codes=(0, 1, 2))
    _run(audited, ["exec"], env, "exec without a command", codes=(1, 2))
    server.stop("serve for exec")


def test_serve_over_tls_and_through_a_proxy(layer_serve: Callable[[dict[str, str]], Served], tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test CA")
    from paramsecrets.testing.moto import start_moto
    from paramsecrets.testing.tinyproxy import TINYPROXY, Tinyproxy
    from paramsecrets.testing.tls import make_ca, make_server_cert

    trusted = make_ca(tmp_path, "trusted")
    moto_dir = tmp_path / "moto"
    moto_dir.mkdir()
    moto = start_moto(moto_dir, tls=make_server_cert(tmp_path, trusted))
    try:
        moto.client("ssm").put_parameter(Name="/tls/plain", Value="over-tls", Type="String")
        env = _env(moto.url, tmp_path, AWS_CA_BUNDLE=str(trusted[0]),
                   SSM_PARAMETER_STORE_TIMEOUT_MILLIS="2000")
        server = layer_serve(env)
        status, body = server.get("/systemsmanager/parameters/get?name=%2Ftls%2Fplain")
        assert status == 200 and json.loads(body)["Parameter"]["Value"] == "over-tls", body
        server.stop("serve over TLS")
        # An untrusted CA: the TLS error path.
        env_bad = {**env, "AWS_CA_BUNDLE": str(make_ca(tmp_path, "untrusted")[0]),
                   "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://127.0.0.1:{free_port()}"}
        server = layer_serve(env_bad)
        assert server.get("/systemsmanager/parameters/get?name=%2Ftls%2Fplain")[0] >= 400
        # s2n names the certificate failure after a delay: wait for it, so its error path ran.
        assert wait_until(lambda: b"certificate is not trusted" in server.log.read_bytes(), timeout=120)
        server.stop("serve over TLS, untrusted CA")
        if Path(TINYPROXY).exists():
            (tmp_path / "proxy").mkdir()
            proxy = Tinyproxy(tmp_path / "proxy")
            try:
                server = layer_serve({**env, "HTTPS_PROXY": proxy.url})
                assert server.get("/systemsmanager/parameters/get?name=%2Ftls%2Fplain")[0] == 200
                server.stop("serve through a CONNECT proxy")
            finally:
                proxy.stop()
    finally:
        moto.stop()


def test_serve_in_lambda(audited: Path, lambda_env: dict[str, str], sandbox_ok: None,
                         request: pytest.FixtureRequest) -> None:
    env = {**lambda_env, "_HANDLER": "reader.handler", "STRING_NAME": _quoted(STRING_PARAM[0]),
           "SECURE_NAME": _quoted(SECURE_PARAM[0]), "SECRET_ID": _quoted(JSON_SECRET[0])}
    box = BareRootSandbox(FUNCTIONS / "provided", audited, env, runtime=["/var/task/bootstrap"])
    failed = True
    try:
        box.start()
        answer = box.invoke_json({})
        assert answer["invoke"]["secure"]["Parameter"]["Value"] == SECURE_PARAM[1]
        ending = box.sigterm()
        assert ending.returncode == 0, ending
        _check(box.logs(), "serve as a Lambda extension")
        failed = False
    finally:
        close_sandboxes([box], failed)


@pytest.mark.skipif(QEMU is None or static_busybox() is None, reason="needs qemu-user-static and busybox-static")
def test_arm64_serve_and_client_under_qemu(arm64_layer_dir: Path, moto_endpoint: str, sandbox_ok: None,
                                           tmp_path: Path) -> None:
    assert QEMU is not None
    opt = audited_copy(arm64_layer_dir, tmp_path / "opt")
    root = make_bare_root(tmp_path / "root", FUNCTIONS / "provided", {"/qemu-aarch64-static": Path(QEMU)})
    runtime = "/opt/paramsecrets/runtime"
    on_arm64 = ["/qemu-aarch64-static", f"{runtime}/lib/ld-linux-aarch64.so.1", "--inhibit-cache",
                "--library-path", f"{runtime}/lib", f"{runtime}/bin/python3.11", "-I", "-S", "/opt/paramsecrets/run.py"]
    port = free_port()
    env = {**_env(moto_endpoint, Path("/tmp"), PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=str(port)),
           "PATH": "/bin", "LC_ALL": "C.UTF-8"}
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        proc = bare_root_popen(root, opt, [*on_arm64, "serve"], env, log)
        try:
            wait_for(lambda: http_get(port, "/ping", TOKEN)[0] == 200, proc, log_path, timeout=180)
            status, body = http_get(port, f"/systemsmanager/parameters/get?name={_quoted(STRING_PARAM[0])}", TOKEN)
            assert status == 200, body
            assert http_get(port, "/systemsmanager/parameters/get?name=%2Fno%2Fsuch", TOKEN)[0] == 400
            cli = subprocess.run(
                ["unshare", "--mount", "--propagation", "private", "--",
                 *bare_root_command(root, opt, [*on_arm64, "get-parameter", STRING_PARAM[0]])],
                env=env, capture_output=True, timeout=180, check=False)
            assert cli.returncode == 0 and cli.stdout == STRING_PARAM[1].encode(), cli.stderr
            _check(cli.stderr, "arm64 get-parameter")
            # SIGTERM the emulated server itself (unshare does not forward it), so it exits cleanly
            # and reports what it loaded.
            for pid in _descendants(proc.pid):
                if b"run.py\0serve" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGTERM)
            assert wait_until(lambda: b"IMPORT-AUDIT loaded" in log_path.read_bytes(), timeout=120)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # unshare --kill-child takes the whole namespace down
            proc.wait(timeout=30)
    _check(log_path.read_bytes(), "arm64 serve")


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def test_everything_loaded_is_shipped() -> None:
    """Runs last in this file: the union of modules loaded by every run above."""
    if FINDINGS.runs < 10:
        pytest.skip("the entry-point runs above did not all run")
    assert not FINDINGS.unexpected(), FINDINGS.unexpected()
    if os.environ.get("PARAMSECRETS_IMPORT_AUDIT_OUT"):  # for choosing what layer_slim may prune
        Path(os.environ["PARAMSECRETS_IMPORT_AUDIT_OUT"]).write_text(
            json.dumps({"loaded": sorted(FINDINGS.loaded), "missing": sorted(FINDINGS.missing)}, indent=1))
    assert "paramsecrets.process.app" in FINDINGS.loaded and "awscrt.auth" in FINDINGS.loaded
