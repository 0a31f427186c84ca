"""Why INIT failed, said so that a user can act on it: the layer under the real RIE.

Issue 22, item 3: the port taken (here a free port this test holds itself, never 2773) fails
INIT through init/error, naming the likely holder: the AWS layer still attached, or another
extension. Item 2: AWS unreachable during INIT is named, with the fix a VPC function needs.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

from conftest import SECURE_PARAM, STRING_PARAM, MakeSandbox

from paramsecrets.testing.lambda_sandbox import LambdaSandbox, http_get


def _extension_errors(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith("[paramsecrets]") and " ERROR " in line]


def test_a_taken_port_names_the_aws_layer(make_sandbox: MakeSandbox, layer_dir: Path, lambda_env: dict[str,
                                          str]) -> None:
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


def test_init_reads_with_aws_unreachable_end_within_init_and_name_the_fix(
        make_sandbox: MakeSandbox, layer_dir: Path, lambda_env: dict[str, str], blackholed_port: int) -> None:
    """Issue 22, item 2, under the real RIE: the function reads two parameters at module level while
    AWS cannot be reached (connection attempts go unanswered, as in a VPC with no endpoint or NAT).
    Before, each read made 3 attempts of 3 s: 6 attempts, 18 s, past Lambda's 10 s INIT, and
    "SSM did not answer within 3s". Now both reads are answered within INIT, with at most 4
    attempts in all (the second read gets what is left), naming the cause and the fix."""
    env = {**lambda_env, "INIT_PARAMETERS": f"{STRING_PARAM[0]},{SECURE_PARAM[0]}",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{blackholed_port}",
           "PARAMETERS_SECRETS_EXTENSION_WARM_CONNECTIONS": "false"}
    box: LambdaSandbox = make_sandbox("init_reads", layer_dir, env)
    reads = box.invoke_json({})["init_reads"]
    # 502 when awscrt's connection timeout names it first, 504 when the attempt's own timeout does.
    assert len(reads) == 2 and all(read["status"] in (502, 504) for read in reads), reads
    first, second = (read["body"]["message"] for read in reads)
    hint = ("in Lambda, a function in a VPC needs an interface VPC endpoint (com.amazonaws.us-east-1.ssm) or a NAT "
            "gateway to reach SSM")
    assert first.startswith((f"could not connect to SSM at 127.0.0.1:{blackholed_port} within ",
                             f"could not reach AWS: the connection to 127.0.0.1:{blackholed_port} timed out: nothing "
                             "answered (AWS_IO_SOCKET_TIMEOUT)")), first
    assert first.endswith(hint), first
    assert second.endswith(hint) or second == "no time left in Lambda's INIT phase for a call to SSM", second

    port = int(env["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"])
    metrics = http_get(port, "/metrics", lambda_env["AWS_SESSION_TOKEN"])[1].decode()
    attempts = sum(int(count) for count in re.findall(
        r'paramsecrets_upstream_calls_total\{operation="GetParameter",outcome="\w+"\} (\d+)', metrics))
    assert 3 <= attempts <= 4, metrics
    assert "did not answer within" not in box.logs()
