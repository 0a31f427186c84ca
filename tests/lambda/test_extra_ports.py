"""Extra ports under the real RIE: bound before `register` like the main one, so a function that
reads on the extra port during INIT (module-level code, no retry) is answered; a taken extra port
fails INIT with Extension.ConfigError naming the variable and the port."""

from __future__ import annotations

import socket
from pathlib import Path

from conftest import STRING_PARAM, MakeSandbox

from paramsecrets.testing.lambda_sandbox import LambdaSandbox
from paramsecrets.testing.net import free_port


def test_init_phase_read_on_an_extra_port(make_sandbox: MakeSandbox, layer_dir: Path, lambda_env: dict[str,
                                          str]) -> None:
    extra = free_port()
    env = {**lambda_env, "PARAMETERS_SECRETS_EXTENSION_EXTRA_PORTS": str(extra), "READER_PORT": str(extra),
           "INIT_PARAMETER": STRING_PARAM[0]}
    box: LambdaSandbox = make_sandbox("reader", layer_dir, env)
    answer = box.invoke_json({"parameters": [STRING_PARAM[0]]})
    assert answer["init_value"] == STRING_PARAM[1]
    assert answer["parameters"] == {STRING_PARAM[0]: STRING_PARAM[1]}
    assert f"serving on port {lambda_env['PARAMETERS_SECRETS_EXTENSION_HTTP_PORT']} and {extra}" in box.logs()


def test_taken_extra_port_fails_init_naming_it(make_sandbox: MakeSandbox, layer_dir: Path, lambda_env: dict[str,
                                               str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        taken = busy.getsockname()[1]
        env = {**lambda_env, "PARAMETERS_SECRETS_EXTENSION_EXTRA_PORTS": str(taken)}
        box: LambdaSandbox = make_sandbox("reader", layer_dir, env)
        status, body = box.invoke({})
    log = box.logs()
    assert status != 200 or b"error" in body.lower(), (status, body)
    assert "Lambda-Extension-Function-Error-Type:[Extension.ConfigError]" in log
    errors = [line for line in log.splitlines() if line.startswith("[paramsecrets]") and " ERROR " in line]
    assert any("PARAMETERS_SECRETS_EXTENSION_EXTRA_PORTS" in line and f"127.0.0.1:{taken}" in line
               for line in errors), errors
