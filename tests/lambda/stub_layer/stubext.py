"""Minimal Lambda extension on the standard library: register, log each event, exit on SHUTDOWN.

Used by test_harness.py to prove the RIE harness mechanics apart from paramsecrets.
"""

import json
import os
import sys
import urllib.request

BASE = "http://{}/2020-01-01/extension".format(os.environ["AWS_LAMBDA_RUNTIME_API"])


def main() -> int:
    body = json.dumps({"events": ["INVOKE", "SHUTDOWN"]}).encode()
    request = urllib.request.Request(
        BASE + "/register", data=body, method="POST", headers={"Lambda-Extension-Name": "stubext"}
    )
    with urllib.request.urlopen(request) as response:
        ident = response.headers["Lambda-Extension-Identifier"]
    print("stubext registered", flush=True)
    while True:
        request = urllib.request.Request(BASE + "/event/next", headers={"Lambda-Extension-Identifier": ident})
        with urllib.request.urlopen(request) as response:
            event = json.load(response)
        print("stubext event", event["eventType"], event.get("shutdownReason", ""), flush=True)
        if event["eventType"] == "SHUTDOWN":
            return 0


if __name__ == "__main__":
    sys.exit(main())
