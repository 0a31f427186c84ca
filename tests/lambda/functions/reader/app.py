"""A function written like AWS's documentation examples for the Parameters and Secrets extension:
plain urllib, names URL-encoded, the session token in X-Aws-Parameters-Secrets-Token. No retries:
the server must answer during INIT and at every invoke."""

import json
import os
import time
import urllib.parse
import urllib.request
from typing import Any

# READER_PORT: a test's choice of port (an extra port, as Cloud Extensions' 5333); else the extension's,
# which every test sets to a free port (no fallback to 2773: a test that forgets it fails here).
PORT = os.environ.get("READER_PORT") or os.environ["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"]
HEADERS = {"X-Aws-Parameters-Secrets-Token": os.environ.get("AWS_SESSION_TOKEN", "")}


def _get(path: str) -> Any:
    request = urllib.request.Request(f"http://localhost:{PORT}{path}", headers=HEADERS)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def get_parameter(name: str) -> Any:
    quoted = urllib.parse.quote(name, safe="")
    return _get(f"/systemsmanager/parameters/get?name={quoted}&withDecryption=true")["Parameter"]["Value"]


def get_secret(secret_id: str) -> Any:
    quoted = urllib.parse.quote(secret_id, safe="")
    return _get(f"/secretsmanager/get?secretId={quoted}")["SecretString"]


# INIT phase: module-level code runs before the first invoke, while Lambda is still initialising.
INIT_NAME = os.environ.get("INIT_PARAMETER")
INIT_STARTED = time.time()
INIT_VALUE = get_parameter(INIT_NAME) if INIT_NAME else None


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {
        "parameters": {name: get_parameter(name) for name in event.get("parameters", [])},
        "secrets": {secret_id: get_secret(secret_id) for secret_id in event.get("secrets", [])},
        "init_value": INIT_VALUE,
        "pid": os.getpid(),
    }
