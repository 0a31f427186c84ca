"""A Python function's client with the standard library only: urllib.request, as in AWS's
documentation examples; an HTTPError carries the status of a failed read.

Prints a JSON report of what it got for the test.
"""

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

port = os.environ.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2773")


def get(path: str) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request("http://localhost:" + port + path,
                                     headers={"X-Aws-Parameters-Secrets-Token": os.environ["AWS_SESSION_TOKEN"]})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


report: dict[str, dict[str, Any]] = {}
for key, path in (("plain", "/systemsmanager/parameters/get?name=" + urllib.parse.quote("/compat/plain", safe="")),
                  ("secret", "/secretsmanager/get?secretId=" + urllib.parse.quote("compat/db", safe="")),
                  ("missing", "/systemsmanager/parameters/get?name=" + urllib.parse.quote("/compat/missing", safe="")),
                  ("post", None)):
    if path is None:  # a method other than GET
        request = urllib.request.Request("http://localhost:" + port + "/secretsmanager/get?secretId=compat%2Fdb",
                                         data=b"{}", method="POST",
                                         headers={"X-Aws-Parameters-Secrets-Token": os.environ["AWS_SESSION_TOKEN"]})
        try:
            urllib.request.urlopen(request, timeout=10)
            report[key] = {"status": 200}
        except urllib.error.HTTPError as error:
            report[key] = {"status": error.code, "body": error.read().decode()}
        continue
    status, headers, body = get(path)
    entry: dict[str, Any] = {"status": status, "contentType": headers.get("Content-Type"), "hasDate": "Date" in headers}
    if status == 200:
        entry["value"] = body["Parameter"]["Value"] if "Parameter" in body else body["SecretString"]
    else:
        entry["body"] = body
    report[key] = entry
print(json.dumps(report))
