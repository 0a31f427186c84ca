"""The real `paramsecrets dev` command, as a process: seeded moto, real HTTP, the banner's curl lines,
Ctrl-C, and the ways it refuses to start."""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from paramsecrets.testing.moto import wait_until
from paramsecrets.testing.net import free_port, stop_process

TOKEN = "itest-token-7d3a"
HEADER = "X-Aws-Parameters-Secrets-Token"
CERT = bytes(range(256))
API_KEY_V1_ID = "0a1b2c3d-0000-4000-8000-00000000a001"
# Values the command must never print (the SecureString and every secret).
SECRET_VALUES = ("itest-param-secret", "itest-json-secret", "itest-key-1", "itest-key-2", "itest-key-3")
SEED = f"""
[[parameter]]
name = "/itest/db/host"
value = "itest-host"

[[parameter]]
name = "/itest/flags"
type = "StringList"
value = ["alpha", "beta", "gamma"]

[[parameter]]
name = "/itest/db/password"
type = "SecureString"
value = "itest-param-secret"
kms_key_id = "alias/itest"

[[parameter]]
name = "/itest/config"
description = "versioned and labelled"
versions = ["cfg-v1", "cfg-v2", "cfg-v3"]
labels = {{ prod = 2, canary = 3 }}

[[parameter]]
name = "/itest/multi"
versions = ["multi-v1", "multi-v2"]

[[secret]]
name = "itest/db+primary@x=1"
value = {{ username = "app", password = "itest-json-secret", port = 5432 }}

[[secret]]
name = "itest/cert"
binary = "{base64.b64encode(CERT).decode()}"

[[secret]]
name = "itest/api-key"
versions = [
  {{ value = "itest-key-1", id = "{API_KEY_V1_ID}" }},
  {{ value = "itest-key-2" }},
  {{ value = "itest-key-3", stages = ["AWSPENDING"] }},
]
"""


def dev_env(home: Path, **extra: str) -> dict[str, str]:
    """The test runner's environment without AWS or extension settings, plus `extra`."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("AWS_", "PARAMETERS_SECRETS_EXTENSION_"))
           and name not in ("SSM_PARAMETER_STORE_TTL", "SECRETS_MANAGER_TTL")}
    env.update(HOME=str(home), PYTHONUNBUFFERED="1", **extra)
    return env


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Dev:
    """A running `paramsecrets dev` process; its stdout and stderr go to files."""

    def __init__(self, argv: list[str], env: dict[str, str], workdir: Path, port: int, token: str) -> None:
        self.port, self.token, self.workdir = port, token, workdir
        self.out_path, self.err_path = workdir / f"dev-{port}.out", workdir / f"dev-{port}.err"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=workdir)

    @property
    def stdout(self) -> str:
        return self.out_path.read_text()

    @property
    def stderr(self) -> str:
        return self.err_path.read_text()

    def wait_ready(self, timeout: float = 30) -> None:
        """Until /ping answers 200 (moto import + seeding + server start)."""
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"dev exited with {self.proc.returncode}:\n{self.stdout}\n{self.stderr}")
            try:
                return self.request("/ping", token=False)[0] == 200
            except OSError:
                return False

        if not wait_until(ready, timeout=timeout):
            raise AssertionError(f"dev not ready within {timeout}s:\n{self.stdout}\n{self.stderr}")

    def request(self, target: str, token: bool = True) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request("GET", target, headers={HEADER: self.token} if token else {})
            answer = conn.getresponse()
            return answer.status, answer.read()
        finally:
            conn.close()

    def get(self, target: str) -> dict[str, Any]:
        status, body = self.request(target)
        assert status == 200, (target, status, body)
        answer: dict[str, Any] = json.loads(body)
        return answer

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15) -> int:
        return stop_process(self.proc, sig, timeout, strict=True)  # type: ignore[return-value]

    def curl_lines(self) -> dict[str, str]:
        """The banner's commands, by their title line."""
        lines = self.stdout.splitlines()
        return {lines[i - 1].strip(): line.strip() for i, line in enumerate(lines) if line.startswith("    curl ")}


def start_dev(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Dev:
    port = free_port()
    argv = [sys.executable, "-m", "paramsecrets", "dev", "--port", str(port), "--token", TOKEN, *args]
    return Dev(argv, env or dev_env(tmp_path), tmp_path, port, TOKEN)


@pytest.fixture(scope="module")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Dev]]:
    """Both long-running processes of this module, started together (each spends 1 to 3 s loading
    moto, so side by side they cost one start):

    - "seeded": `paramsecrets dev --seed` in a hostile environment: a Lambda runtime API, a
      profile that does not exist, a real-looking session token. Dev mode must ignore all three,
      and keep the user's own extension setting (a debug log level).
    - "example": no --seed, a plain environment: the packaged example.
    """
    workdir = tmp_path_factory.mktemp("dev")
    seed_file = workdir / "itest-seed.toml"
    seed_file.write_text(SEED)
    # PYTHONHASHSEED: moto answers GetParameters in set() order; fixed, the get-many test below is
    # deterministic (with 1, moto lists /itest/multi:1 before /itest/multi).
    hostile = dev_env(workdir, AWS_LAMBDA_RUNTIME_API="127.0.0.1:9", AWS_PROFILE="no-such-profile",
                      AWS_SESSION_TOKEN="not-for-moto", PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL="debug",
                      PYTHONHASHSEED="1")
    started = {"seeded": start_dev(workdir, "--seed", str(seed_file), env=hostile)}
    try:
        started["example"] = start_dev(workdir)
        for process in started.values():
            process.wait_ready()
        yield started
    finally:
        for process in started.values():
            process.stop()


@pytest.fixture(scope="module")
def dev(processes: dict[str, Dev]) -> Iterator[Dev]:
    """The seeded process; it must still stop cleanly once the module is done with it."""
    yield processes["seeded"]
    code = processes["seeded"].stop()
    assert code == 0, processes["seeded"].stderr


def test_string(dev: Dev) -> None:
    parameter = dev.get("/systemsmanager/parameters/get?name=%2Fitest%2Fdb%2Fhost")["Parameter"]
    assert (parameter["Name"], parameter["Type"], parameter["Value"], parameter["Version"]) == (
        "/itest/db/host", "String", "itest-host", 1)
    assert parameter["ARN"] == "arn:aws:ssm:us-east-1:123456789012:parameter/itest/db/host"


def test_stringlist_is_the_raw_comma_value(dev: Dev) -> None:
    parameter = dev.get("/systemsmanager/parameters/get?name=%2Fitest%2Fflags")["Parameter"]
    assert (parameter["Type"], parameter["Value"]) == ("StringList", "alpha,beta,gamma")


def test_securestring_decrypted(dev: Dev) -> None:
    parameter = dev.get("/systemsmanager/parameters/get?name=%2Fitest%2Fdb%2Fpassword&withDecryption=true")
    assert (parameter["Parameter"]["Type"], parameter["Parameter"]["Value"]) == ("SecureString", "itest-param-secret")


def test_versions_and_labels(dev: Dev) -> None:
    name = quote("/itest/config", safe="")
    latest = dev.get(f"/systemsmanager/parameters/get?name={name}")["Parameter"]
    assert (latest["Value"], latest["Version"], latest["Selector"]) == ("cfg-v3", 3, None)
    second = dev.get(f"/systemsmanager/parameters/get?name={name}&version=2")["Parameter"]
    assert (second["Value"], second["Version"], second["Selector"]) == ("cfg-v2", 2, ":2")
    prod = dev.get(f"/systemsmanager/parameters/get?name={name}&label=prod")["Parameter"]
    assert (prod["Value"], prod["Version"], prod["Selector"]) == ("cfg-v2", 2, ":prod")
    canary = dev.get(f"/systemsmanager/parameters/get?name={quote('/itest/config:canary', safe='')}")["Parameter"]
    assert (canary["Value"], canary["Version"]) == ("cfg-v3", 3)
    first = dev.get(f"/systemsmanager/parameters/get?name={name}&version=1")["Parameter"]
    assert first["Value"] == "cfg-v1"


def test_json_secret(dev: Dev) -> None:
    secret = dev.get(f"/secretsmanager/get?secretId={quote('itest/db+primary@x=1', safe='')}")
    assert secret["Name"] == "itest/db+primary@x=1"
    assert json.loads(secret["SecretString"]) == {"username": "app", "password": "itest-json-secret", "port": 5432}
    assert (secret["SecretBinary"], secret["VersionStages"]) == (None, ["AWSCURRENT"])
    by_path = dev.get("/v1/" + quote("itest/db+primary@x=1", safe=""))  # the Secrets Manager Agent's route
    assert by_path["SecretString"] == secret["SecretString"]


def test_binary_secret(dev: Dev) -> None:
    secret = dev.get("/secretsmanager/get?secretId=itest%2Fcert")
    assert secret["SecretString"] is None
    assert base64.b64decode(secret["SecretBinary"]) == CERT


def test_secret_versions_and_stages(dev: Dev) -> None:
    base = "/secretsmanager/get?secretId=itest%2Fapi-key"
    current = dev.get(base)
    assert (current["SecretString"], current["VersionStages"]) == ("itest-key-2", ["AWSCURRENT"])
    previous = dev.get(base + "&versionStage=AWSPREVIOUS")
    assert (previous["SecretString"], previous["VersionId"]) == ("itest-key-1", API_KEY_V1_ID)
    assert previous["VersionStages"] == ["AWSPREVIOUS"]
    pending = dev.get(base + "&versionStage=AWSPENDING")
    assert (pending["SecretString"], pending["VersionStages"]) == ("itest-key-3", ["AWSPENDING"])
    assert dev.get(base + f"&versionId={API_KEY_V1_ID}")["SecretString"] == "itest-key-1"


def test_batch_and_path_reads(dev: Dev) -> None:
    many = dev.get("/systemsmanager/parameters/get-many?name=%2Fitest%2Fflags&name=%2Fitest%2Fdb%2Fhost"
                   "&name=%2Fitest%2Fnope")
    assert [p["Name"] for p in many["Parameters"]] == ["/itest/flags", "/itest/db/host"]
    assert many["InvalidParameters"] == ["/itest/nope"]
    by_path = dev.get("/systemsmanager/parameters/get-by-path?path=%2Fitest&withDecryption=true")
    assert {p["Name"]: p["Value"] for p in by_path["Parameters"]} == {
        "/itest/config": "cfg-v3", "/itest/db/host": "itest-host", "/itest/db/password": "itest-param-secret",
        "/itest/flags": "alpha,beta,gamma", "/itest/multi": "multi-v2"}


def test_get_many_with_a_name_and_its_older_version(dev: Dev) -> None:
    many = dev.get("/systemsmanager/parameters/get-many?name=%2Fitest%2Fmulti%3A1&name=%2Fitest%2Fmulti"
                   "&refreshNow=true")  # both fetched together, whatever other tests cached
    assert [(p["Value"], p["Selector"]) for p in many["Parameters"]] == [("multi-v1", ":1"), ("multi-v2", None)]
    assert dev.get("/systemsmanager/parameters/get?name=%2Fitest%2Fmulti")["Parameter"]["Value"] == "multi-v2"


def test_token_is_required(dev: Dev) -> None:
    status, body = dev.request("/systemsmanager/parameters/get?name=%2Fitest%2Fdb%2Fhost", token=False)
    assert (status, body) == (401, b"Bad session token or header key")  # as the AWS extension answers


def test_every_banner_curl_line_works_when_pasted(dev: Dev) -> None:
    lines = dev.curl_lines()
    assert set(lines) == {"a String parameter", "a SecureString, decrypted", "an older version of a parameter",
                          "a parameter by label (prod)", "several parameters at once", "every parameter under /itest",
                          "a secret", "the previous version of a secret"}
    answers = {}
    for title, line in lines.items():
        ran = subprocess.run(["bash", "-c", line], capture_output=True, timeout=20, text=True)
        assert ran.returncode == 0, (line, ran.stderr)
        answers[title] = json.loads(ran.stdout)
        assert "__type" not in answers[title], (line, ran.stdout)
    assert answers["a String parameter"]["Parameter"]["Value"] == "itest-host"
    assert answers["a SecureString, decrypted"]["Parameter"]["Value"] == "itest-param-secret"
    assert answers["an older version of a parameter"]["Parameter"]["Value"] == "cfg-v2"
    assert answers["a parameter by label (prod)"]["Parameter"]["Selector"] == ":prod"
    assert len(answers["several parameters at once"]["Parameters"]) == 3
    assert len(answers["every parameter under /itest"]["Parameters"]) == 5
    assert answers["a secret"]["Name"] == "itest/db+primary@x=1"  # '+' encoded, not read as a space
    assert answers["the previous version of a secret"]["SecretString"] == "itest-key-1"


def test_the_banners_sdk_lines_work_when_pasted(dev: Dev, tmp_path: Path) -> None:
    """An AWS SDK signing with the credentials the banner prints is answered through paramsecrets."""
    lines = dev.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Or with an AWS SDK"))
    exports = [line.strip() for line in lines[start:start + 8] if line.startswith("    export ")]
    assert len(exports) == 3 and any("AWS_SECRET_ACCESS_KEY=" in line for line in exports)
    read = ("import boto3; print(boto3.client('ssm').get_parameter(Name='/itest/db/host')['Parameter']['Value'])")
    script = "\n".join([*exports, f"exec {sys.executable} -c \"{read}\""])
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "AWS_PROFILE": "no-such-profile",
           "AWS_SESSION_TOKEN": "not-for-paramsecrets"}
    ran = subprocess.run(["bash", "-c", script], capture_output=True, timeout=60, text=True, env=env)
    assert (ran.returncode, ran.stdout.strip()) == (0, "itest-host"), ran.stderr


def test_banner_and_logs(dev: Dev) -> None:
    out = dev.stdout
    assert out.startswith("paramsecrets dev: starting the embedded AWS backend (moto) and seeding it from ")
    assert f"server   http://127.0.0.1:{dev.port}" in out
    assert f"token    {TOKEN}" in out
    assert "5 parameters" in out and "3 secrets" in out
    assert "/itest/config" in out and "String, 3 versions, labels prod=2 canary=3" in out
    assert "string, 3 versions: AWSPREVIOUS=1 AWSCURRENT=2 AWSPENDING=3" in out
    assert "DEBUG" in out  # the user's PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL was kept
    assert "registered as" not in out  # AWS_LAMBDA_RUNTIME_API was dropped: not an extension here
    for value in SECRET_VALUES:
        assert value not in out and value not in dev.stderr
    assert dev.stderr == ""


def test_a_binary_secret_by_reference_is_a_502_and_one_line_not_a_traceback(processes: dict[str, Dev]) -> None:
    """moto fails on /aws/reference/secretsmanager/<binary secret> (docs/dev.md, Limits): the
    detailed answer is 502 and the terminal shows one line, not moto's traceback."""
    process = processes["example"]
    conn = http.client.HTTPConnection("127.0.0.1", process.port, timeout=30)
    try:
        target = "/systemsmanager/parameters/get?name=%2Faws%2Freference%2Fsecretsmanager%2Fapp%2Ftls-cert"
        conn.request("GET", target + "&withDecryption=true",
                     headers={HEADER: process.token, "X-Paramsecrets-Profile": "detailed"})
        answer = conn.getresponse()
        status, body = answer.status, json.loads(answer.read())
    finally:
        conn.close()
    assert (status, body["__type"]) == (502, "HTTP500"), body  # an upstream 5xx, named by its status
    assert wait_until(lambda: "the embedded backend (moto) failed on a request and answered 500" in process.stderr,
                      timeout=30)
    assert "Traceback" not in process.stderr and "Traceback" not in process.stdout
    assert process.stderr.count("failed on a request") >= 1 and "TypeError" in process.stderr


def test_packaged_example_then_ctrl_c(processes: dict[str, Dev]) -> None:
    """No --seed: the packaged example. Ctrl-C (SIGINT) exits 0 and frees the port."""
    process = processes["example"]
    parameter = process.get("/systemsmanager/parameters/get?name=%2Fapp%2Fdb%2Fhost")["Parameter"]
    assert parameter["Value"] == "db.internal.example"
    assert "seeding it from the packaged example seed ..." in process.stdout
    assert "example.toml   (the packaged example: copy it to start your own)" in process.stdout
    # The banner's client lines work when pasted into a shell with the runner's PATH (which need not
    # hold the venv): the exports, then the get-parameter line.
    lines = process.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Or with the paramsecrets client"))
    pasted = [line.strip() for line in lines[start + 1:start + 6] if line.strip()]
    exports = [line for line in pasted if line.startswith("export ")]
    get = next(line for line in pasted if " get-parameter " in line)
    assert get.endswith(" get-parameter /app/db/host")
    ran = subprocess.run(["sh", "-c", "\n".join([*exports, get])], env=dev_env(process.workdir),
                         capture_output=True, text=True, timeout=30, cwd=process.workdir)
    assert (ran.returncode, ran.stdout) == (0, "db.internal.example"), ran.stderr
    code = process.stop(signal.SIGINT)
    assert code == 0, process.stderr
    assert process.stdout.rstrip().endswith("paramsecrets dev: stopped; the embedded backend and everything in it "
                                            "are gone.")
    assert "stopping (SIGINT)" in process.stdout
    assert port_is_free(process.port)


def test_invalid_seed_exits_2_before_anything_starts(tmp_path: Path) -> None:
    seed_file = tmp_path / "bad.toml"
    seed_file.write_text('[[secret]]\nname = "app/db"\nvalue = "x"\n\n[[secret]]\nname = "app/db"\nvalue = "y"\n')
    ran = subprocess.run([sys.executable, "-m", "paramsecrets", "dev", "--seed", str(seed_file), "--port",
                          str(free_port())], env=dev_env(tmp_path), capture_output=True, text=True, timeout=30)
    assert ran.returncode == 2
    assert ran.stdout == ""
    assert ran.stderr == (f"paramsecrets dev: seed error: {seed_file}: secret #2 (\"app/db\"): 'name' duplicates "
                          "secret #1; each secret appears once (use 'versions' for several values)\n")


def test_without_moto_it_says_how_to_install_it(tmp_path: Path) -> None:
    port = free_port()
    code = ("import sys; sys.modules['moto'] = None\n"
            "from paramsecrets.cli import main\n"
            f"raise SystemExit(main(['dev', '--port', '{port}']))\n")
    ran = subprocess.run([sys.executable, "-c", code], env=dev_env(tmp_path), capture_output=True, text=True,
                         timeout=30)
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr == ("paramsecrets dev: the embedded AWS backend needs moto, which is not installed.\n"
                          "Install it with: pip install 'moto[server,ssm,secretsmanager]>=5.1,<6'\n")
    assert ran.stdout == ""  # reported before the progress line promises a start
    assert port_is_free(port)


def test_a_broken_moto_install_is_reported_without_a_traceback(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['moto.server'] = None  # moto present, its server part not\n"
            "from paramsecrets.cli import main\n"
            f"raise SystemExit(main(['dev', '--port', '{free_port()}']))\n")
    ran = subprocess.run([sys.executable, "-c", code], env=dev_env(tmp_path), capture_output=True, text=True,
                         timeout=30)
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.startswith("paramsecrets dev: moto is installed but cannot be imported (")
    assert ran.stderr.endswith("Reinstall it with: pip install 'moto[server,ssm,secretsmanager]>=5.1,<6'\n")
    assert "Traceback" not in ran.stderr


def test_port_taken_after_the_check_is_reported_by_the_server(tmp_path: Path) -> None:
    """The early check can race another process; then the server's own refusal must reach the user."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        empty_seed = tmp_path / "empty.toml"
        empty_seed.write_text("# nothing: this test is about the port\n")
        code = ("import paramsecrets.dev.cli as dev\n"
                "dev.port_problem = lambda port: None  # lose the race on purpose\n"
                f"raise SystemExit(dev.main(['--port', '{port}', '--token', 't' * 16,\n"
                f"                           '--seed', {str(empty_seed)!r}]))\n")
        ran = subprocess.run([sys.executable, "-c", code], env=dev_env(tmp_path), capture_output=True, text=True,
                             timeout=30)
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert f"paramsecrets: configuration error: cannot listen on 127.0.0.1:{port}: Address already in use" \
        in ran.stderr
    assert ran.stderr.endswith("paramsecrets dev: the server exited with code 2 (its reason is above); the embedded "
                               "backend is stopped too.\n")
    assert "Traceback" not in ran.stderr


def test_make_dev_takes_a_port_variable(tmp_path: Path) -> None:
    """`make dev PORT=N` reaches `paramsecrets dev --port N` (shown here by N being busy)."""
    repo = Path(__file__).resolve().parents[2]
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        ran = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "dev", f"PORT={port}"],
                             cwd=repo, env=dev_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert ran.returncode != 0
    assert f"paramsecrets dev --port {port}" in ran.stdout
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use." in ran.stderr
    assert "(with make: make dev PORT=N)" in ran.stderr
