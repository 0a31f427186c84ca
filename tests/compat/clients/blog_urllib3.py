"""A Python function's client as AWS's blog shows it: urllib3's PoolManager and json.loads.

Prints a JSON report of what it got for the test.
"""

import json
import os
from typing import Any

import urllib3

http = urllib3.PoolManager()
port = os.environ.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2773")


def retrieve_extension_value(url: str) -> urllib3.BaseHTTPResponse:
    url = "http://localhost:" + port + url
    headers: dict[str, Any] = {"X-Aws-Parameters-Secrets-Token": os.environ.get("AWS_SESSION_TOKEN")}
    return http.request("GET", url, headers=headers)


report: dict[str, dict[str, Any]] = {}
for key, path in (("plain", "/systemsmanager/parameters/get?name=%2Fcompat%2Fplain"),
                  ("secret", "/secretsmanager/get?secretId=compat%2Fdb"),
                  ("missing", "/systemsmanager/parameters/get?name=%2Fcompat%2Fmissing")):
    response = retrieve_extension_value(path)
    entry: dict[str, Any] = {"status": response.status, "contentType": response.headers.get("Content-Type"),
             "hasDate": "Date" in response.headers}
    if response.status == 200:
        document = json.loads(response.data)
        entry["value"] = document["Parameter"]["Value"] if "Parameter" in document else document["SecretString"]
    else:
        entry["body"] = response.data.decode()
    report[key] = entry
print(json.dumps(report))
