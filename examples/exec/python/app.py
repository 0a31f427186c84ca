"""Python: configuration from the environment, filled by the exec wrapper before the runtime started."""

import os

DB_HOST = os.environ["DB_HOST"]  # read once, at INIT, like any plain setting
DB_PASSWORD = os.environ["DB_PASSWORD"]


def handler(event, context):
    # Never return or log DB_PASSWORD; its length shows it is there.
    return {"db_host": DB_HOST, "password_length": len(DB_PASSWORD)}
