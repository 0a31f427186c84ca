"""Two reads at module level (INIT) that may fail: each outcome is kept for the first invoke, so
INIT itself never fails and the extension stays up to be asked for its metrics."""

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

PORT = os.environ["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"]  # a free port, set by every test
HEADERS = {"X-Aws-Parameters-Secrets-Token": os.environ.get("AWS_SESSION_TOKEN", ""),
           "X-Paramsecrets-Profile": "detailed"}


def read(name: str) -> dict[str, Any]:
    quoted = urllib.parse.quote(name, safe="")
    request = urllib.request.Request(f"http://localhost:{PORT}/systemsmanager/parameters/get?name={quoted}",
                                     headers=HEADERS)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return {"status": response.status}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "body": json.loads(error.read())}


INIT_READS = [read(name) for name in os.environ.get("INIT_PARAMETERS", "").split(",") if name]


def handler(event: object, context: object) -> dict[str, Any]:
    return {"init_reads": INIT_READS}
