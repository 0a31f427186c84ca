"""Why INIT failed, said so that a user can act on it: the layer under the real RIE.

Issue 22, item 3: the port taken (here a free port this test holds itself, never 2773) fails
INIT through init/error, naming the likely holder: the AWS layer still attached, or another
extension.
"""

from __future__ import annotations

import socket
from pathlib import Path

from paramsecrets.testing.lambda_sandbox import LambdaSandbox


def _extension_errors(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith("[paramsecrets]") and " ERROR " in line]


def test_a_taken_port_names_the_aws_layer(make_sandbox, layer_dir: Path, lambda_env: dict[str, str]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        env = {**lambda_env, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port)}
        box: LambdaSandbox = make_sandbox("reader", layer_dir, env)
        status, body = box.invoke({})
        log = box.logs()
    assert status != 200 or b"error" in body.lower(), (status, body)
    assert "Lambda-Extension-Function-Error-Type:[Extension.ConfigError]" in log  # RIE's record of init/error
    errors = _extension_errors(log)
    assert any(f"cannot listen on 127.0.0.1:{port}: Address already in use" in line
               and "AWS Parameters and Secrets Lambda Extension layer is still attached" in line
               and "Cloud Extensions" in line for line in errors), errors
    assert "Traceback" not in log
