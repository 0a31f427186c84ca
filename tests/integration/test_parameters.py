"""GET /systemsmanager/parameters/get against a real server and a real moto, over real HTTP."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from paramsecrets.testing.moto import MotoServer
from paramsecrets.testing.server import GO_DATE, Response, ServerProcess
from tests.integration.conftest import Seeded

ROUTE = "/systemsmanager/parameters/get"
DATE = GO_DATE
PARAMETER_KEYS = ["ARN", "DataType", "LastModifiedDate", "Name", "Selector", "SourceResult", "Type", "Value",
                  "Version"]


def get(server: ServerProcess, query: str, route: str = ROUTE, detailed: bool = False) -> Response:
    return server.get(f"{route}?{query}", detailed=detailed)


def test_string_parameter_has_the_aws_shape(server: ServerProcess, seeded: Seeded) -> None:
    answer = get(server, "name=%2Fapp%2Fplain")
    assert answer.status == 200
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"  # as the AWS extension labels it
    assert get(server, "name=%2Fapp%2Fplain", detailed=True).headers["content-type"] == "application/json"
    document = answer.json()
    assert list(document) == ["Parameter", "ResultMetadata"]
    assert document["ResultMetadata"] == {}
    parameter = document["Parameter"]
    assert list(parameter) == PARAMETER_KEYS
    assert parameter["Name"] == "/app/plain"
    assert parameter["Value"] == "plain-value"
    assert parameter["Type"] == "String"
    assert parameter["DataType"] == "text"
    assert parameter["Version"] == 1
    assert parameter["Selector"] is None and parameter["SourceResult"] is None
    assert parameter["ARN"].endswith(":parameter/app/plain")
    assert DATE.match(parameter["LastModifiedDate"])
    # Compact JSON exactly as the Go extension writes it: no spaces after separators.
    assert answer.body.startswith(b'{"Parameter":{"ARN":"arn:aws:ssm:us-east-1:')
    assert b'"Selector":null,"SourceResult":null,"Type":"String","Value":"plain-value","Version":1},' \
           b'"ResultMetadata":{}}' in answer.body


def test_name_encoded_or_not_and_trailing_slash_route(server: ServerProcess, seeded: Seeded) -> None:
    for query, route in (("name=/app/plain", ROUTE), ("name=%2Fapp%2Fplain", ROUTE),
                         ("name=%2fapp%2fplain", ROUTE + "/"), ("name=plain-top-level", ROUTE)):
        answer = get(server, query, route)
        assert answer.status == 200, (query, route, answer.body)
        assert answer.json()["Parameter"]["Value"] in ("plain-value", "top")


def test_string_list_is_the_raw_comma_joined_value(server: ServerProcess, seeded: Seeded) -> None:
    parameter = get(server, "name=/app/list").json()["Parameter"]
    assert parameter["Type"] == "StringList"
    assert parameter["Value"] == "a,b,c"


def test_secure_string_decrypted_only_when_asked(server: ServerProcess, seeded: Seeded) -> None:
    decrypted = get(server, "name=/app/secure&withDecryption=true").json()["Parameter"]
    assert decrypted["Type"] == "SecureString"
    assert decrypted["Value"] == "secure-value-42"
    for flag in ("TRUE", "True", "t", "T", "1"):  # Go's strconv.ParseBool
        assert get(server, f"name=/app/secure&withDecryption={flag}").json()["Parameter"]["Value"] == "secure-value-42"
    assert get(server, "name=/app/secure&withDecryption=tRuE").status == 400  # not a Go boolean
    for flag in ("tRuE", "1"):  # the detailed profile also takes true/false in any case
        answer = get(server, f"name=/app/secure&withDecryption={flag}", detailed=True)
        assert answer.json()["Parameter"]["Value"] == "secure-value-42"
    encrypted = get(server, "name=/app/secure").json()["Parameter"]
    # moto's "ciphertext" is the plaintext with a prefix; what matters is that it is not the plain answer.
    assert encrypted["Value"] != "secure-value-42"
    assert get(server, "name=/app/secure&withDecryption=false").json()["Parameter"]["Value"] == encrypted["Value"]


@pytest.mark.parametrize(("query", "value", "selector", "version"), [
    ("name=/app/versioned&version=1", "one", ":1", 1),
    ("name=/app/versioned&label=Dev", "two", ":Dev", 2),
    ("name=%2Fapp%2Fversioned%3A1", "one", ":1", 1),
    ("name=/app/versioned:Dev", "two", ":Dev", 2),
    ("name=/app/versioned", "three", None, 3),
    # version and label both given: the first in the URL wins, as AWS documents.
    ("name=/app/versioned&label=Dev&version=1", "two", ":Dev", 2),
    ("name=/app/versioned&version=1&label=Dev", "one", ":1", 1),
])
def test_version_and_label_selectors(server: ServerProcess, seeded: Seeded, query: str, value: str,
                                     selector: str | None, version: int) -> None:
    parameter = get(server, query).json()["Parameter"]
    assert parameter["Value"] == value
    assert parameter["Selector"] == selector
    assert parameter["Version"] == version
    assert parameter["Name"] == "/app/versioned"


def test_arn_and_arn_with_selector(server: ServerProcess, seeded: Seeded) -> None:
    arn = get(server, "name=/app/versioned").json()["Parameter"]["ARN"]
    assert get(server, "name=" + quote(arn, safe="")).json()["Parameter"]["Value"] == "three"
    answer = get(server, "name=" + quote(arn + ":1", safe="")).json()["Parameter"]
    assert (answer["Value"], answer["Selector"]) == ("one", ":1")


def test_reference_to_a_secret_passes_through(server: ServerProcess, seeded: Seeded) -> None:
    parameter = get(server, "name=/aws/reference/secretsmanager/prod/db&withDecryption=true").json()["Parameter"]
    assert parameter["Type"] == "SecureString"
    assert parameter["Version"] == 0
    assert isinstance(parameter["SourceResult"], str)
    assert '"pa55-w0rd!"' in parameter["Value"]


def test_public_service_parameter_passes_through(server: ServerProcess, moto: MotoServer) -> None:
    name = "/aws/service/global-infrastructure/regions/us-east-1/longName"
    parameter = get(server, "name=" + quote(name, safe="")).json()["Parameter"]
    assert parameter["Value"] == "US East (N. Virginia)"


def test_json_escaping_matches_go(server: ServerProcess, seeded: Seeded) -> None:
    answer = get(server, "name=/app/html")
    assert answer.json()["Parameter"]["Value"] == "<b>&'x'</b>"
    assert b'"Value":"\\u003cb\\u003e\\u0026\'x\'\\u003c/b\\u003e"' in answer.body


def test_age_and_cache_headers(server: ServerProcess, seeded: Seeded) -> None:
    first = get(server, "name=/app/plain")
    second = get(server, "name=/app/plain")
    assert first.cache == "miss" and second.cache == "hit"
    assert first.headers["age"] == "0"
    assert int(second.headers["age"]) in (0, 1)
    assert first.body == second.body
