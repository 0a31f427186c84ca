"""A Python handler that reads its configuration from the environment and a file, as code written
for plain environment variables does: the exec wrapper filled them before the runtime started."""

import os
from typing import Any

NAMES = ("DB_HOST", "DB_PASSWORD", "DB_USER")


def snapshot() -> dict[str, Any]:
    with open("/tmp/db.json", encoding="utf-8") as handle:
        file = handle.read()
    return {"env": {name: os.environ.get(name) for name in NAMES}, "file": file,
            "mapping": sorted(k for k in os.environ if k.startswith(("PARAMSECRETS_ENV_", "_PARAMSECRETS"))
                              or k == "PARAMSECRETS_FILES")}


AT_INIT = snapshot()  # module level: the INIT phase


def handler(event: object, context: object) -> dict[str, Any]:
    return {"init": AT_INIT, "invoke": snapshot(), "pid": os.getpid()}
