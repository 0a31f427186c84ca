"""Reads a parameter and a secret through the layer, exactly as with the AWS extension."""

import json
import os
import urllib.parse
import urllib.request

ENDPOINT = "http://localhost:" + os.environ.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2773")


def _get(path):
    headers = {"X-Aws-Parameters-Secrets-Token": os.environ["AWS_SESSION_TOKEN"]}
    with urllib.request.urlopen(urllib.request.Request(ENDPOINT + path, headers=headers), timeout=5) as response:
        return json.loads(response.read())


def handler(event, context):
    name = urllib.parse.quote(os.environ["PARAMETER_NAME"], safe="")
    secret_id = urllib.parse.quote(os.environ["SECRET_ID"], safe="")
    parameter = _get(f"/systemsmanager/parameters/get?name={name}&withDecryption=true")["Parameter"]
    secret = json.loads(_get(f"/secretsmanager/get?secretId={secret_id}")["SecretString"])
    # Never return or log the secret itself: show that it was read.
    return {"greeting": parameter["Value"], "db_user": secret["username"], "password_length": len(secret["password"])}
