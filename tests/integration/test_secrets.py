"""GET /secretsmanager/get and the Agent-style /v1/<id> against a real server and moto."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import quote

from paramsecrets.testing.moto import MotoServer
from paramsecrets.testing.server import GO_DATE, ServerProcess
from tests.integration.conftest import Seeded

SECRET_KEYS = ["ARN", "CreatedDate", "Name", "SecretBinary", "SecretString", "VersionId", "VersionStages",
               "ResultMetadata"]
DATE = GO_DATE


def test_string_secret_has_the_aws_shape(server: ServerProcess, seeded: Seeded) -> None:
    answer = server.get("/secretsmanager/get?secretId=prod%2Fdb")
    assert answer.status == 200
    document = answer.json()
    assert list(document) == SECRET_KEYS
    assert document["Name"] == "prod/db"
    assert document["ARN"] == seeded.secret_arn
    assert json.loads(document["SecretString"]) == seeded.json_secret
    assert document["SecretBinary"] is None
    assert document["VersionId"] == seeded.secret_version
    assert document["VersionStages"] == ["AWSCURRENT"]
    assert document["ResultMetadata"] == {}
    assert DATE.match(document["CreatedDate"])
    assert answer.body.endswith(b'"VersionStages":["AWSCURRENT"],"ResultMetadata":{}}')


def test_binary_secret_is_base64(server: ServerProcess, seeded: Seeded) -> None:
    document = server.get("/secretsmanager/get?secretId=blob").json()
    assert document["SecretString"] is None
    assert base64.b64decode(document["SecretBinary"]) == seeded.binary


def test_by_arn_partial_arn_and_trailing_slash(server: ServerProcess, seeded: Seeded) -> None:
    partial = seeded.secret_arn.rsplit("-", 1)[0]
    for path in (f"/secretsmanager/get?secretId={quote(seeded.secret_arn, safe='')}",
                 f"/secretsmanager/get/?secretId={quote(partial, safe='')}",
                 "/secretsmanager/get/?secretId=prod/db"):
        answer = server.get(path)
        assert answer.status == 200, (path, answer.body)
        assert answer.json()["Name"] == "prod/db"


def test_version_stage_and_version_id(server: ServerProcess, seeded: Seeded, moto: MotoServer) -> None:
    assert server.get("/secretsmanager/get?secretId=rotating").json()["SecretString"] == "second"
    previous = server.get("/secretsmanager/get?secretId=rotating&versionStage=AWSPREVIOUS").json()
    assert previous["SecretString"] == "first"
    assert previous["VersionStages"] == ["AWSPREVIOUS"]
    by_id = server.get(f"/secretsmanager/get?secretId=rotating&versionId={previous['VersionId']}").json()
    assert by_id["SecretString"] == "first"


def test_v1_path_style(server: ServerProcess, seeded: Seeded) -> None:
    for path in ("/v1/prod/db", "/v1/prod%2Fdb"):
        answer = server.get(path)
        assert answer.status == 200, path
        assert answer.json()["Name"] == "prod/db"
    previous = server.get("/v1/rotating?versionStage=AWSPREVIOUS").json()
    assert previous["SecretString"] == "first"
    assert server.get("/v1/no-such-secret", detailed=True).status == 404
    # /v1/ and the classic route share the cache: same key, one upstream call.
    assert server.get("/secretsmanager/get?secretId=prod/db").cache == "hit"


def test_plus_in_a_query_is_a_space_but_not_in_a_v1_path(server: ServerProcess, moto: MotoServer) -> None:
    moto.client("secretsmanager").create_secret(Name="a+b", SecretString="plus")
    assert server.get("/secretsmanager/get?secretId=a%2Bb").json()["SecretString"] == "plus"
    assert server.get("/v1/a+b").json()["SecretString"] == "plus"
    # "a b", as Go's query parser reads it
    assert server.get("/secretsmanager/get?secretId=a+b", detailed=True).status == 404


def test_headers_of_a_secret_read_in_both_profiles(server: ServerProcess, seeded: Seeded) -> None:
    """The AWS extension's: Content-Type text/plain, Date, Content-Length; plus Age and the cache state."""
    miss = server.get("/secretsmanager/get?secretId=prod%2Fdb")
    hit = server.get("/secretsmanager/get?secretId=prod%2Fdb")
    detailed = server.get("/secretsmanager/get?secretId=prod%2Fdb", detailed=True)
    for answer, state in ((miss, "miss"), (hit, "hit"), (detailed, "hit")):
        assert answer.status == 200
        assert set(answer.headers) == {"content-type", "date", "content-length", "age", "x-paramsecrets-cache"}
        assert answer.headers["content-length"] == str(len(answer.body))
        assert answer.cache == state
        assert re.fullmatch(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT", answer.headers["date"])
    assert miss.headers["content-type"] == hit.headers["content-type"] == "text/plain; charset=utf-8"
    assert detailed.headers["content-type"] == "application/json"
    assert miss.body == hit.body == detailed.body
