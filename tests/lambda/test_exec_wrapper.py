"""The layer's exec wrapper under the real RIE: values in the environment (and a file) before the
function's runtime starts, with no code change.

Each function runs chrooted in a root that holds nothing of the host's (busybox, the RIE, the
function, the layer at /opt read-only), started the way Lambda's managed runtimes start it: a
bootstrap that runs `$AWS_LAMBDA_EXEC_WRAPPER` first with the runtime's command line as its
arguments. The Python function's runtime is a CPython with awslambdaric mounted at /var/lang and
/var/runtime, as on Lambda; there is no Python on PATH, and the wrapper runs on the layer's own.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CALL_REPORT, FUNCTIONS, JSON_SECRET, SECURE_PARAM, SESSION_TOKEN, STRING_PARAM

from paramsecrets.testing.lambda_sandbox import (
    BareRootSandbox,
    _base_of,
    close_sandboxes,
    copy_with_libraries,
    runtime_venv,
    static_busybox,
)

NODE = shutil.which("node")
WRAPPER = "/opt/paramsecrets/exec-wrapper"
EXEC = FUNCTIONS / "exec"

pytestmark = pytest.mark.skipif(static_busybox() is None, reason="needs Debian busybox-static")

MAPPING = {
    "AWS_LAMBDA_EXEC_WRAPPER": WRAPPER,
    "PARAMSECRETS_ENV_DB_HOST": f"ssm:{STRING_PARAM[0]}",
    "PARAMSECRETS_ENV_DB_PASSWORD": f"ssm:{SECURE_PARAM[0]}",
    "PARAMSECRETS_ENV_DB_USER": f"secretsmanager:{JSON_SECRET[0]}#username",
    "PARAMSECRETS_FILES": f"/tmp/db.json=secretsmanager:{JSON_SECRET[0]}",
}
EXPECTED = {"DB_HOST": STRING_PARAM[1], "DB_PASSWORD": SECURE_PARAM[1], "DB_USER": JSON_SECRET[1]["username"]}


class RuntimeRootSandbox(BareRootSandbox):
    """A bare-root sandbox with host folders bind-mounted read-only inside it ({path in root: host
    folder}): a language runtime for the function, as Lambda mounts its own at /var/lang."""

    def __init__(self, *args: Any, binds: dict[str, Path], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.binds = binds
        for inside in binds:
            (self.root / inside.lstrip("/")).mkdir(parents=True, exist_ok=True)

    def _command(self) -> list[str]:
        command = super()._command()  # sh -c SCRIPT sh ROOT OPT ...: the root is $1
        mounts = "".join(
            f'mount --bind {shlex.quote(str(source))} "$1"{shlex.quote(inside)} && '
            f'mount -o remount,bind,ro "$1"{shlex.quote(inside)} && '
            for inside, source in self.binds.items())
        return [command[0], command[1], mounts + command[2], *command[3:]]


@pytest.fixture
def runtime_sandbox(request: pytest.FixtureRequest, sandbox_ok: None) -> Iterator[Callable[..., BareRootSandbox]]:
    made: list[BareRootSandbox] = []

    def _make(function_dir: Path, opt_dir: Path, env: dict[str, str], **kwargs: Any) -> BareRootSandbox:
        box = RuntimeRootSandbox(function_dir, opt_dir, env, **kwargs)
        made.append(box)
        return box.start()

    yield _make
    report = request.node.stash.get(CALL_REPORT, None)
    close_sandboxes(made, report is not None and report.failed)


def _function(tmp_path: Path, *extra: Path) -> Path:
    folder = tmp_path / "function"
    shutil.copytree(EXEC, folder)
    for path in extra:
        shutil.copy2(path, folder / path.name)
    return folder


def _python_runtime() -> tuple[dict[str, Path], dict[str, Path]]:
    """(files, binds) that give a bare root a Python runtime like Lambda's: the interpreter's
    prefix at /var/lang, awslambdaric at /var/runtime, and the C libraries they load."""
    venv_python = _runtime_python()
    base = _base_of(venv_python)
    prefix = base.parent.parent
    site = next((venv_python.parent.parent / "lib").glob("python3.*/site-packages"))
    files: dict[str, Path] = {}
    for binary in [base, *sorted(site.rglob("*.so")), *sorted((prefix / "lib").glob("python3.*/lib-dynload/*.so"))]:
        for inside, source in copy_with_libraries(str(binary)).items():
            if not inside.startswith(str(prefix)) and inside != str(binary):
                files[inside] = source
    return files, {"/var/lang": prefix, "/var/runtime": site}


def _runtime_python() -> Path:
    """The venv with awslambdaric that stands in for a Lambda Python runtime."""
    return runtime_venv(getattr(sys, "_base_executable", sys.executable))


def _python_env(lambda_env: dict[str, str]) -> dict[str, str]:
    return {**lambda_env, **MAPPING, "PYTHONPATH": "/var/runtime",
            "LD_LIBRARY_PATH": "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/task:/opt/lib"}


def _assert_filled(answer: dict[str, Any]) -> None:
    for phase in ("init", "invoke"):
        got = answer[phase]
        assert got["env"] == EXPECTED, got["env"]
        file = got["file"]
        assert (json.loads(file) if isinstance(file, str) else file) == JSON_SECRET[1]
        assert got.get("mapping", []) == [] and got.get("left", "") == "", "mapping variables reached the runtime"


def _assert_no_value_logged(log: str) -> None:
    lines = "\n".join(line for line in log.splitlines()
                      if line.startswith(("[paramsecrets]", "paramsecrets exec")))
    for value in (SECURE_PARAM[1], JSON_SECRET[1]["password"], SESSION_TOKEN):
        assert value not in lines, "a value or the token reached the log"


def _python_box(runtime_sandbox: Callable[..., BareRootSandbox], tmp_path: Path, layer_dir: Path, env: dict[str,
                str]) -> BareRootSandbox:
    files, binds = _python_runtime()
    python = f"/var/lang/bin/{_base_of(_runtime_python()).name}"
    box = runtime_sandbox(_function(tmp_path), layer_dir, env, files=files, binds=binds,
                          runtime=["/var/task/managed-bootstrap", python, "-m", "awslambdaric", "app.handler"])
    assert not [p for p in box.root.rglob("python*") if "var" not in p.parts], "no Python outside /var/lang"
    return box


def test_python_function_started_through_the_wrapper(runtime_sandbox: Callable[..., BareRootSandbox], layer_dir: Path,
                                                     lambda_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    box = _python_box(runtime_sandbox, tmp_path, layer_dir, _python_env(lambda_env))
    for _ in range(2):
        _assert_filled(box.invoke_json({}))
    assert box.find_process("run.py exec") is None, "the wrapper must have become the runtime"
    assert box.find_process("awslambdaric") is not None
    # The extension read the mapping's values itself (2 parameters, 1 secret) without waiting to be asked.
    assert "prefetched 3 values" in box.logs()
    _assert_no_value_logged(box.logs())


@pytest.mark.skipif(NODE is None, reason="needs Node.js")
def test_node_function_started_through_the_wrapper(runtime_sandbox: Callable[..., BareRootSandbox], layer_dir: Path,
                                                   lambda_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    assert NODE is not None
    files = {**copy_with_libraries(str(Path(NODE).resolve())), "/usr/bin/node": Path(NODE).resolve(),
             "/etc/hosts": FUNCTIONS / "node" / "hosts"}
    env = {**lambda_env, **MAPPING, "_HANDLER": "index.handler"}
    box = runtime_sandbox(_function(tmp_path, FUNCTIONS / "node" / "runtime.mjs"), layer_dir, env, files=files,
                          binds={}, runtime=["/var/task/managed-bootstrap", "/usr/bin/node", "/var/task/runtime.mjs"])
    assert not [p for p in box.root.rglob("python*")], "the root must hold no Python"
    for _ in range(2):
        _assert_filled(box.invoke_json({}))
    assert box.find_process("run.py exec") is None
    _assert_no_value_logged(box.logs())


def test_provided_function_through_its_bootstrap(runtime_sandbox: Callable[..., BareRootSandbox], layer_dir: Path,
                                                 lambda_env: dict[str, str],
                                                 tmp_path: Path) -> None:
    folder = _function(tmp_path)
    shutil.copy2(FUNCTIONS / "provided" / "bootstrap", folder / "loop")
    env = {**lambda_env, **{k: v for k, v in MAPPING.items() if k != "AWS_LAMBDA_EXEC_WRAPPER"},
           "_HANDLER": "envreader.handler"}
    box = runtime_sandbox(folder, layer_dir, env, binds={}, runtime=["/var/task/bootstrap"])
    assert not [p for p in box.root.rglob("python*")], "the root must hold no Python"
    for _ in range(2):
        _assert_filled(box.invoke_json({}))
    _assert_no_value_logged(box.logs())


def test_a_missing_value_fails_init_naming_the_ref(runtime_sandbox: Callable[..., BareRootSandbox], layer_dir: Path,
                                                   lambda_env: dict[str, str],
                                                   tmp_path: Path) -> None:
    env = {**_python_env(lambda_env), "PARAMSECRETS_ENV_API_KEY": "secretsmanager:paramsecrets-test/nope",
           "PARAMSECRETS_ENV_FEATURE": "ssm:/paramsecrets-test/missing"}
    box = _python_box(runtime_sandbox, tmp_path, layer_dir, env)
    status, body = box.invoke({})
    assert status != 200 or b"errorType" in body, body
    log = box.logs()
    assert "paramsecrets exec: cannot read secretsmanager:paramsecrets-test/nope: ResourceNotFoundException" in log
    assert "paramsecrets exec: cannot read ssm:/paramsecrets-test/missing: ParameterNotFound" in log
    assert "Paramsecrets.ExecError" in log, "the failure is reported to the Runtime API as an init error"
    assert "awslambdaric" not in "\n".join(box.processes().values()), "the runtime must not have started"
    _assert_no_value_logged(log)
