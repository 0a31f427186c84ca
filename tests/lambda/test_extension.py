"""paramsecrets as a Lambda extension, end to end: the built layer mounted at /opt, the real RIE,
the real runtime client (awslambdaric) in a venv that has nothing else, and a real moto server.
The function's runtime is Python here; the extension runs on the layer's own Python all the same
(test_every_runtime.py runs it where no Python exists at all).

Contract §6: serve during INIT, answer AWS-style requests, report configuration errors through
init/error, leave promptly on SHUTDOWN, and come back after a timeout reset.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import JSON_SECRET, SECURE_PARAM, STRING_PARAM, MakeSandbox

from paramsecrets.testing.lambda_sandbox import BASE_PATH, LambdaSandbox, find_pythons, runtime_venv

PYTHONS = find_pythons()
EXTENSION = "paramsecrets/run.py"
BUNDLED = ("/opt/extensions/../paramsecrets/runtime/lib/ld-linux-x86-64.so.2 --inhibit-cache --library-path "
           "/opt/extensions/../paramsecrets/runtime/lib /opt/extensions/../paramsecrets/runtime/bin/python3.11 "
           "-I -S /opt/extensions/../paramsecrets/run.py serve --extension-name paramsecrets")
EVENT = {"parameters": [STRING_PARAM[0], SECURE_PARAM[0]], "secrets": [JSON_SECRET[0]]}
EXPECTED = {
    "parameters": {STRING_PARAM[0]: STRING_PARAM[1], SECURE_PARAM[0]: SECURE_PARAM[1]},
    "secrets": {JSON_SECRET[0]: json.dumps(JSON_SECRET[1])},
}


def _values(answer: dict[str, Any]) -> dict[str, Any]:
    return {"parameters": answer["parameters"], "secrets": answer["secrets"]}


def _assert_no_kill(log: str) -> None:
    """RIE logs these when an extension outlives its SHUTDOWN deadline and gets SIGKILLed."""
    assert "Sending SIGKILL to extension-paramsecrets" not in log
    assert not re.search(r"agent extension-paramsecrets-\d+ did not exit after deadline", log)


@pytest.mark.parametrize("python", PYTHONS, ids=[f"py{label}" for label, _ in PYTHONS])
def test_docs_style_function_reads_values(make_sandbox: MakeSandbox, layer_dir: Path, lambda_env: dict[str, str],
                                          python: tuple[str, str]) -> None:
    """Every Python runtime found (3.11+): the extension runs on the layer's interpreter, never
    on the function's, even with the function's python3 first on PATH."""
    runtime = runtime_venv(python[1])
    env = {**lambda_env, "PATH": f"{runtime.parent}:{BASE_PATH}"}
    box: LambdaSandbox = make_sandbox("reader", layer_dir, env, python=runtime)
    for _ in range(3):
        assert _values(box.invoke_json(EVENT)) == EXPECTED
    ext = box.find_process(EXTENSION)
    assert ext is not None, box.processes()
    assert box.processes()[ext] == BUNDLED
    assert "[paramsecrets] " in box.logs()
    for value in (SECURE_PARAM[1], JSON_SECRET[1]["password"], lambda_env["AWS_SESSION_TOKEN"]):
        assert value not in _extension_lines(box.logs()), "a secret or the token reached the log"


def _extension_lines(log: str) -> str:
    return "\n".join(line for line in log.splitlines() if line.startswith("[paramsecrets]"))


def test_init_phase_read(make_sandbox: MakeSandbox, layer_dir: Path, lambda_env: dict[str, str]) -> None:
    """Module-level code of the function (INIT) reads a parameter with no retry loop."""
    env = {**lambda_env, "INIT_PARAMETER": STRING_PARAM[0]}
    box: LambdaSandbox = make_sandbox("reader", layer_dir, env)
    answer = box.invoke_json({})
    assert answer["init_value"] == STRING_PARAM[1]
    assert "Init Duration" in box.logs() or "INIT REPORT" in box.logs()


def test_config_error_fails_init_with_the_variable(make_sandbox: MakeSandbox, layer_dir: Path, lambda_env: dict[str,
                                                   str]) -> None:
    env = {**lambda_env, "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE": "abc"}
    box: LambdaSandbox = make_sandbox("reader", layer_dir, env)
    status, body = box.invoke(EVENT)
    log = box.logs()
    assert status != 200 or b"error" in body.lower(), (status, body)
    assert "Lambda-Extension-Function-Error-Type:[Extension.ConfigError]" in log  # RIE's record of init/error
    errors = [ln for ln in log.splitlines() if ln.startswith("[paramsecrets]") and " ERROR " in ln]
    assert any("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE" in ln and "abc" in ln for ln in errors), errors
    assert "Traceback" not in log


def test_sigterm_sends_shutdown_and_exits_in_time(make_sandbox: MakeSandbox, layer_dir: Path, lambda_env: dict[str,
                                                  str]) -> None:
    box: LambdaSandbox = make_sandbox("reader", layer_dir, lambda_env)
    assert _values(box.invoke_json(EVENT)) == EXPECTED
    ext = box.find_process(EXTENSION)
    assert ext is not None
    ending = box.sigterm()
    log = box.logs()
    assert not ending.killed and ending.returncode == 0, ending
    assert re.search(r"Agent paramsecrets \([0-9a-f-]+\) is registered for the shutdown event", log)
    assert "Reset initiated: SandboxTerminated" in log
    _assert_no_kill(log)
    assert not re.search(r"Process extension-paramsecrets-\d+ exited: exit status [1-9]", log)
    assert ending.seconds < 2.0, "RIE waited for the extension's 2 s deadline"


def test_timeout_then_a_new_extension_serves(make_sandbox: MakeSandbox, layer_dir: Path, lambda_env: dict[str,
                                             str]) -> None:
    env = {**lambda_env, "AWS_LAMBDA_FUNCTION_TIMEOUT": "1"}
    box: LambdaSandbox = make_sandbox("reader", layer_dir, env)
    assert _values(box.invoke_json(EVENT)) == EXPECTED
    first = box.find_process(EXTENSION)
    status, body = box.invoke({"sleep": 3})
    assert b"Task timed out" in body, (status, body)
    assert _values(box.invoke_json(EVENT)) == EXPECTED
    second = box.find_process(EXTENSION)
    assert first is not None and second is not None and first != second
    log = box.logs()
    assert "Reset initiated: Timeout" in log
    _assert_no_kill(log)
