"""The examples run for real against a real server and moto: the Node.js handler under node,
the Python handler (installed and vendored), the shell handler (paramsecrets CLI and curl+jq)
and the shell custom runtime's bootstrap under the Lambda Runtime Interface Emulator."""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from paramsecrets.client import AWS_GENERIC_ERROR
from paramsecrets.testing.moto import MotoServer, wait_until
from paramsecrets.testing.net import free_port, wait_for_http
from paramsecrets.testing.server import ServerProcess, start_server

Start = Callable[..., ServerProcess]

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
CLIENT_PY = REPO / "src" / "paramsecrets" / "client" / "__init__.py"
NODE = shutil.which("node")
PARAMETER = "/app/config/db-host"
SECRET = "prod/db+blue green:ü"  # `+`, space, `:` and non-ASCII: all must be URL-encoded


@pytest.fixture
def examples_seeded(moto: MotoServer) -> MotoServer:
    moto.client("ssm").put_parameter(Name=PARAMETER, Value="db.internal", Type="String")
    moto.client("secretsmanager").create_secret(
        Name=SECRET, SecretString=json.dumps({"username": "app_user", "password": "not-to-be-printed"}))
    return moto


def function_env(server: ServerProcess, aws_env: dict[str, str], **extra: str) -> dict[str, str]:
    """What a function sees: the port and token, its own settings; no AWS endpoint needed."""
    return {"PATH": aws_env["PATH"], "HOME": aws_env["HOME"],
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(server.port),
            "AWS_SESSION_TOKEN": server.token, "CONFIG_PARAMETER": PARAMETER, "DB_SECRET_ID": SECRET,
            **extra}


# ---- Node.js --------------------------------------------------------------------------------

NODE_RUN = """
// Count the example's requests on stderr (one line each), so tests can count retries.
const realFetch = globalThis.fetch;
globalThis.fetch = (...args) => { process.stderr.write("fetch\\n"); return realFetch(...args); };
const { handler } = await import(process.argv[1]);
try {
  console.log(JSON.stringify(await handler({})));
} catch (error) {
  console.log(JSON.stringify({ name: error.name, status: error.status, code: error.code,
                               message: error.message }));
}
"""


def node_command() -> list[str]:
    assert NODE is not None
    return [NODE, "--input-type=module", "-e", NODE_RUN, (EXAMPLES / "node" / "index.mjs").as_uri()]


def run_node(env: dict[str, str], attempts: list[int] | None = None) -> dict[str, object]:
    """Run the example's handler once; `attempts` receives how many requests it made."""
    done = subprocess.run(node_command(), env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    if attempts is not None:
        attempts.append(done.stderr.count("fetch\n"))
    report: dict[str, object] = json.loads(done.stdout)
    return report


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_node_example(server: ServerProcess, aws_env: dict[str, str], examples_seeded: MotoServer) -> None:
    result = run_node(function_env(server, aws_env))
    assert result["statusCode"] == 200
    assert json.loads(str(result["body"])) == {"dbHost": "db.internal", "dbUser": "app_user"}


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_node_example_errors(server: ServerProcess, aws_env: dict[str, str],
                             examples_seeded: MotoServer, tmp_path: Path) -> None:
    missing = run_node(function_env(server, aws_env, CONFIG_PARAMETER="/app/missing"))
    assert missing["name"] == "ParamSecretsError"
    assert (missing["status"], missing["code"]) == (404, "ParameterNotFound")
    token_file = tmp_path / "token"
    token_file.write_text("wrong\n")
    denied = run_node(function_env(server, aws_env, AWS_SESSION_TOKEN=f"file://{token_file}"))
    assert (denied["status"], denied["code"]) == (401, "Unauthorized")
    # Back-off 50, 100, 200, 400 ms: a 0.5 s window allows at most 5 tries whatever the machine's
    # speed (the default 3 s, 10), so a sixth would mean the variable was ignored.
    attempts: list[int] = []
    gone = run_node(function_env(server, aws_env, PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=str(free_port()),
                                 PARAMSECRETS_CLIENT_RETRY_SECONDS="0.5"), attempts)
    assert "nothing is listening" in str(gone["message"])
    assert 1 <= attempts[0] <= 5


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_node_example_retries_until_the_server_listens(aws_env: dict[str, str], examples_seeded: MotoServer,
                                                       tmp_path: Path) -> None:
    """Refused twice (nothing listening yet), then the server starts: the handler gets its values."""
    port = free_port()
    log = tmp_path / "node-stderr.txt"
    env = {"PATH": aws_env["PATH"], "HOME": aws_env["HOME"], "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port),
           "AWS_SESSION_TOKEN": aws_env["AWS_TOKEN"], "CONFIG_PARAMETER": PARAMETER, "DB_SECRET_ID": SECRET,
           "PARAMSECRETS_CLIENT_RETRY_SECONDS": "120"}
    with open(log, "w") as stderr:
        node = subprocess.Popen(node_command(), env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    server = None
    try:
        assert wait_until(lambda: log.read_text().count("fetch\n") >= 2, timeout=30), log.read_text()
        assert node.poll() is None  # still retrying
        server = start_server(aws_env, tmp_path, port=port, wait=False)
        out, _ = node.communicate(timeout=120)
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()
        if server is not None:
            server.stop()
    result = json.loads(out)
    assert result["statusCode"] == 200, result
    assert json.loads(str(result["body"])) == {"dbHost": "db.internal", "dbUser": "app_user"}


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_node_example_opts_in_to_detailed_errors(server: ServerProcess, aws_env: dict[str, str],
                                                 examples_seeded: MotoServer) -> None:
    """The server answers like the AWS extension by default; the example asks for detailed errors."""
    ok = run_node(function_env(server, aws_env))
    assert ok["statusCode"] == 200
    failed = run_node(function_env(server, aws_env, DB_SECRET_ID="nope"))
    assert (failed["status"], failed["code"]) == (404, "ResourceNotFoundException")
    assert AWS_GENERIC_ERROR not in str(failed["message"])


# ---- Python ---------------------------------------------------------------------------------

PYTHON_RUN = "import json, app; print(json.dumps(app.handler({}, None)))"


def test_python_example(server: ServerProcess, aws_env: dict[str, str], examples_seeded: MotoServer) -> None:
    done = subprocess.run([sys.executable, "-c", PYTHON_RUN], cwd=EXAMPLES / "python",
                          env=function_env(server, aws_env), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"db_host": "db.internal", "db_user": "app_user", "new_ui": False}


def test_python_example_runs_from_any_directory(server: ServerProcess, aws_env: dict[str, str],
                                               examples_seeded: MotoServer, tmp_path: Path) -> None:
    """As its README says: `python path/to/app.py` from an unrelated working directory."""
    done = subprocess.run([sys.executable, str(EXAMPLES / "python" / "app.py")], cwd=tmp_path,
                          env=function_env(server, aws_env), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert json.loads(json.loads(done.stdout)["body"])["db_host"] == "db.internal"


def test_python_example_with_the_client_vendored(server: ServerProcess, aws_env: dict[str, str],
                                                 examples_seeded: MotoServer, tmp_path: Path) -> None:
    """The README's other way: client.py copied next to app.py; no site-packages at all."""
    examples_seeded.client("ssm").put_parameter(Name="/app/flags/new-ui", Value="on", Type="String")
    task = tmp_path / "task"
    task.mkdir()
    shutil.copy(EXAMPLES / "python" / "app.py", task / "app.py")
    shutil.copy(CLIENT_PY, task / "paramsecrets_client.py")
    done = subprocess.run([sys.executable, "-S", "-c", PYTHON_RUN], cwd=task,
                          env=function_env(server, aws_env), capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert json.loads(json.loads(done.stdout)["body"])["new_ui"] is True


# ---- shell ----------------------------------------------------------------------------------


def paramsecrets_on_path(tmp_path: Path) -> str:
    """A `paramsecrets` command on PATH, as a user with the package installed has."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    wrapper = bin_dir / "paramsecrets"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m paramsecrets "$@"\n')
    wrapper.chmod(0o755)
    return str(bin_dir)


def run_shell_handler(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = f'. "{EXAMPLES / "shell" / "function.sh"}"; handler "{{}}"'
    return subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("mode", ["cli", "curl"])
def test_shell_handler(server: ServerProcess, aws_env: dict[str, str], examples_seeded: MotoServer,
                       tmp_path: Path, mode: str) -> None:
    if mode == "curl" and not (shutil.which("curl") and shutil.which("jq")):
        pytest.skip("curl and jq are needed for the curl mode")
    env = function_env(server, aws_env)
    if mode == "cli":
        env["PATH"] = paramsecrets_on_path(tmp_path) + os.pathsep + env["PATH"]
    else:
        assert shutil.which("paramsecrets", path=env["PATH"]) is None
    done = run_shell_handler(env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"db_host": "db.internal", "db_user": "app_user"}


@pytest.mark.parametrize("mode", ["cli", "curl"])
def test_shell_handler_failure_says_why(server: ServerProcess, aws_env: dict[str, str],
                                        examples_seeded: MotoServer, tmp_path: Path, mode: str) -> None:
    if mode == "curl" and not (shutil.which("curl") and shutil.which("jq")):
        pytest.skip("curl and jq are needed for the curl mode")
    env = function_env(server, aws_env, CONFIG_PARAMETER="/app/missing")
    if mode == "cli":
        env["PATH"] = paramsecrets_on_path(tmp_path) + os.pathsep + env["PATH"]
    done = run_shell_handler(env)
    assert done.returncode != 0 and done.stdout == ""
    assert "ParameterNotFound" in done.stderr


# ---- the custom runtime under the Runtime Interface Emulator --------------------------------


def rie_binary() -> Path | None:
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower())
    path = REPO / ".cache" / "rie" / f"aws-lambda-rie-{arch}"
    return path if arch and path.is_file() else None


@pytest.fixture
def shell_function(start: Callable[..., ServerProcess], aws_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """RIE running examples/shell/bootstrap as a custom runtime; yields the invoke URL. Errors are
    not remembered (ERROR_TTL=0, the AWS layer's way), so an invoke right after a value is created
    reads it."""
    server = start(PARAMETERS_SECRETS_EXTENSION_ERROR_TTL="0")
    rie = rie_binary()
    if rie is None:
        pytest.skip("no Runtime Interface Emulator in .cache/rie (run `make rie`)")
    if not (shutil.which("curl") and shutil.which("jq")):
        pytest.skip("the bootstrap needs curl, and the handler jq when paramsecrets is not on PATH")
    task = tmp_path / "task"
    task.mkdir()
    for name in ("bootstrap", "function.sh"):
        shutil.copy2(EXAMPLES / "shell" / name, task / name)
    port = free_port()
    env = function_env(server, aws_env, _HANDLER="function.handler", LAMBDA_TASK_ROOT=str(task))
    log = open(tmp_path / "rie.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(rie), "--runtime-interface-emulator-address", f"127.0.0.1:{port}",
         "--runtime-api-address", f"127.0.0.1:{free_port()}", str(task / "bootstrap")],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", timeout=10, process=proc)
        yield f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # RIE and the runtime it started: our own group
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def invoke(url: str) -> dict[str, object]:
    request = urllib.request.Request(url, data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, object] = json.loads(response.read())
        return answer


def test_shell_bootstrap_under_rie(shell_function: str, examples_seeded: MotoServer) -> None:
    assert invoke(shell_function) == {"db_host": "db.internal", "db_user": "app_user"}
    assert invoke(shell_function) == {"db_host": "db.internal", "db_user": "app_user"}  # warm


def test_shell_bootstrap_reports_handler_errors(shell_function: str, moto: MotoServer) -> None:
    """Nothing examples_seeded: the handler fails, the bootstrap posts an error naming no value, and
    the same runtime serves the next invoke once the values exist."""
    result = invoke(shell_function)
    assert result.get("errorType") == "HandlerError"
    moto.client("ssm").put_parameter(Name=PARAMETER, Value="db.internal", Type="String")
    moto.client("secretsmanager").create_secret(Name=SECRET, SecretString='{"username": "u"}')
    assert invoke(shell_function) == {"db_host": "db.internal", "db_user": "u"}


# ---- defaults: "try it locally" against `paramsecrets dev`'s packaged seed ----------------------


@pytest.fixture
def dev_seeded(moto: MotoServer) -> MotoServer:
    """moto holding exactly what `paramsecrets dev` seeds when given no --seed."""
    from paramsecrets.dev import backend
    from paramsecrets.dev.cli import load_seed

    backend.apply_seed(moto.url, load_seed(None))
    return moto


def test_every_example_runs_with_its_defaults_against_the_dev_seed(
        server: ServerProcess, aws_env: dict[str, str], dev_seeded: MotoServer, tmp_path: Path) -> None:
    """No CONFIG_PARAMETER or DB_SECRET_ID set: each example's defaults name entries of the dev seed."""
    env = function_env(server, aws_env)
    del env["CONFIG_PARAMETER"], env["DB_SECRET_ID"]
    done = subprocess.run([sys.executable, "-c", PYTHON_RUN], cwd=EXAMPLES / "python",
                          env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert json.loads(json.loads(done.stdout)["body"]) == {"db_host": "db.internal.example", "db_user": "app",
                                                           "new_ui": False}
    shell_env = dict(env, PATH=paramsecrets_on_path(tmp_path) + os.pathsep + env["PATH"])
    shell = run_shell_handler(shell_env)
    assert shell.returncode == 0, shell.stderr
    assert json.loads(shell.stdout) == {"db_host": "db.internal.example", "db_user": "app"}
    if NODE is not None:
        result = run_node(env)
        assert json.loads(str(result["body"])) == {"dbHost": "db.internal.example", "dbUser": "app"}
