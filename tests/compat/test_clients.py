"""The clients people use with the AWS extension, unchanged, against a default paramsecrets.

Each program under clients/ is what a function would run (Python's urllib.request and urllib3 as
in AWS's examples, Node's http.request, a Go client on net/http and encoding/json); each prints
a report of what it saw. A default server must give them what the AWS extension gives: 200 with
the JSON labelled text/plain, `Date`, and 400 with the extension's sentence for a missing value.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from paramsecrets.testing.moto import MotoServer
from paramsecrets.testing.server import GO_DATE, ServerProcess
from tests.compat.conftest import CLIENTS, HTML_VALUE, go_build

AWS_TEXT = "an unexpected error occurred while executing request"
TEXT = "text/plain; charset=utf-8"
NODE = shutil.which("node")


def function_env(server: ServerProcess, aws_env: dict[str, str]) -> dict[str, str]:
    """What a Lambda function sees: the port and its session token, nothing of ours."""
    return {"PATH": aws_env["PATH"], "HOME": aws_env["HOME"], "AWS_SESSION_TOKEN": server.token,
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(server.port)}


def run(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def assert_ok(entry: dict[str, Any], value: str) -> None:
    assert entry["status"] == 200, entry
    assert entry["contentType"] == TEXT
    assert entry["hasDate"] is True
    assert entry["value"] == value


def assert_missing(entry: dict[str, Any]) -> None:
    assert entry["status"] == 400
    assert entry["body"] == AWS_TEXT


SECRET = '{"username":"admin","password":"pa55"}'


@pytest.mark.parametrize("client", ["blog_urllib3.py", "docs_urllib.py"])
def test_python_clients(server: ServerProcess, aws_env: dict[str, str], compat_seeded: MotoServer,
                        client: str) -> None:
    report = run([sys.executable, str(CLIENTS / client)], function_env(server, aws_env))
    assert_ok(report["plain"], "plain-value")
    assert_ok(report["secret"], SECRET)
    assert_missing(report["missing"])
    if "post" in report:
        assert report["post"] == {"status": 400, "body": AWS_TEXT}


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_node_http_request(server: ServerProcess, aws_env: dict[str, str], compat_seeded: MotoServer) -> None:
    report = run([NODE, str(CLIENTS / "node_http.js")], function_env(server, aws_env))  # type: ignore[list-item]
    assert_ok(report["plain"], "plain-value")
    assert GO_DATE.match(report["plain"]["date"])
    assert_ok(report["secret"], SECRET)
    assert report["missing"] == {"status": 400, "contentType": TEXT, "hasDate": True, "value": None}


def test_go_client(server: ServerProcess, aws_env: dict[str, str], compat_seeded: MotoServer,
                   tmp_path: Path) -> None:
    """encoding/json decodes every body into the SDK's shapes (dates as time.Time) and encodes it
    back to the same bytes; a missing parameter is a 400, which the client retries."""
    report = run([str(go_build("go_client", tmp_path))], function_env(server, aws_env))
    for key, value in (("plain", "plain-value"), ("html", HTML_VALUE), ("secure", "secure-value"),
                       ("secret", SECRET), ("binary", bytes(range(256)).decode("latin-1"))):
        entry = report[key]
        assert entry["status"] == 200, entry
        assert entry["roundTrip"] is True, entry.get("body") or entry.get("decodeFailed")
        assert entry["contentType"] == TEXT and entry["hasDate"] is True
        assert GO_DATE.match(entry["date"]), entry["date"]
        if key != "binary":
            assert entry["value"] == value
    missing = report["missing"]
    assert (missing["status"], missing["attempts"], missing["body"]) == (400, 3, AWS_TEXT)
