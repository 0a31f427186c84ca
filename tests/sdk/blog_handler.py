# ruff: noqa: SIM112 - the blog post's code, unchanged apart from these comments
# mypy: allow-untyped-defs
# The Secrets Manager handler as a widely copied 2018 blog post wrote it: a client and a
# GetSecretValue call on every invocation. Kept unchanged: paramsecrets must cache it as it is.
import json
import os

import boto3


def lambda_handler(event, context):
    client = boto3.client(service_name='secretsmanager')
    response = client.get_secret_value(SecretId=os.environ["SecretId"])
    secret = json.loads(response['SecretString'])
    return secret
