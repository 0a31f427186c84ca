"""No secret value, parameter value or token in any log line, at any level (debug included)."""

from __future__ import annotations

import base64
from collections.abc import Callable

from paramsecrets.testing.moto import MotoServer
from paramsecrets.testing.server import TOKEN, TOKEN_HEADER, ServerProcess
from tests.integration.conftest import Seeded

VALUES = ("plain-value", "secure-value-42", "pa55-w0rd!", "first", "second", "a,b,c")


def test_debug_logs_hold_no_values_and_no_token(start: Callable[..., ServerProcess], seeded: Seeded,
                                                moto: MotoServer) -> None:
    session_token = "session-token-should-never-print"
    server = start(PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL="debug", AWS_SESSION_TOKEN=session_token,
                   PARAMETERS_SECRETS_EXTENSION_PREFETCH_PARAMETERS="/app/secure,/app/plain",
                   PARAMETERS_SECRETS_EXTENSION_PREFETCH_SECRETS="prod/db")
    reads = ["/systemsmanager/parameters/get?name=/app/secure&withDecryption=true",
             "/systemsmanager/parameters/get?name=/app/secure", "/systemsmanager/parameters/get?name=/app/plain",
             "/systemsmanager/parameters/get?name=/app/list", "/secretsmanager/get?secretId=prod/db",
             "/secretsmanager/get?secretId=blob", "/secretsmanager/get?secretId=rotating&versionStage=AWSPREVIOUS",
             "/v1/rotating", "/systemsmanager/parameters/get-by-path?path=/app/&withDecryption=true",
             "/systemsmanager/parameters/get-many?name=/app/secure&name=/nope&withDecryption=true",
             "/secretsmanager/get-many?secretId=prod/db&secretId=missing"]
    for path in reads:
        assert server.get(path).status == 200, path
    assert server.get("/systemsmanager/parameters/get?name=/missing").status == 400  # the AWS profile
    assert server.get("/systemsmanager/parameters/get?name=/missing", detailed=True).status == 404
    assert server.get("/systemsmanager/parameters/get?name=/app/plain", headers={TOKEN_HEADER: "a-wrong-guess"},
                      token=False).status == 401
    server.stop()
    output = server.output()
    assert "DEBUG" in output and "fetching" in output  # debug logging was really on
    # The detail of an opaque answer is in the log, with the status the client really got.
    assert "upstream error ParameterNotFound" in output and "(answered 400)" in output
    assert "(answered 404)" in output and "refused request: Unauthorized" in output
    for secret in (*VALUES, TOKEN, session_token, "a-wrong-guess", base64.b64encode(seeded.binary).decode()):
        assert secret not in output, f"{secret!r} leaked into the log"
