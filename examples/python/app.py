"""Example Lambda handler (Python) reading configuration through the paramsecrets layer.

The values come from the local server on 127.0.0.1:2773, which caches them: calling it on
every invocation costs a loopback round trip, not an AWS API call, and picks up rotations as
soon as the cache entry expires. Nothing here needs boto3 or any package: `paramsecrets.client`
is one standard-library file.

Environment (set on the function):
  CONFIG_PARAMETER  an SSM parameter name (default /app/db/host, as in `paramsecrets dev`'s seed)
  FEATURE_FLAG      an optional SSM parameter, e.g. /app/flags/new-ui ("on"/"off")
  DB_SECRET_ID      (default app/db) a Secrets Manager secret holding {"username": ..., "password": ...}
"""

from __future__ import annotations

import json
import os
from typing import Any

try:
    from paramsecrets.client import NotFoundError, get_parameter, get_secret_json
except ImportError:  # the one file vendored next to this one as paramsecrets_client.py
    from paramsecrets_client import NotFoundError, get_parameter, get_secret_json  # type: ignore[no-redef]

CONFIG_PARAMETER = os.environ.get("CONFIG_PARAMETER", "/app/db/host")
FEATURE_FLAG = os.environ.get("FEATURE_FLAG", "/app/flags/new-ui")
DB_SECRET_ID = os.environ.get("DB_SECRET_ID", "app/db")


def feature_enabled() -> bool:
    """An optional flag: a missing parameter means "off" rather than a failed invocation."""
    try:
        return get_parameter(FEATURE_FLAG) == "on"
    except NotFoundError:
        return False


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    db_host = get_parameter(CONFIG_PARAMETER)
    credentials = get_secret_json(DB_SECRET_ID)
    # Use credentials["password"] to connect; never return or log it.
    body = {"db_host": db_host, "db_user": credentials["username"], "new_ui": feature_enabled()}
    return {"statusCode": 200, "body": json.dumps(body)}


if __name__ == "__main__":  # `python path/to/app.py` from any directory: one invocation, printed
    print(json.dumps(handler({}, None)))
