"""Unit tests of the get-parameter / get-secret commands in-process, against the stub server:
argument handling, output bytes and every exit code."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from paramsecrets.client import AWS_GENERIC_ERROR
from paramsecrets.client import cli as client_cli
from paramsecrets.testing.net import free_port
from tests.client.stub import Reply, Seen, StubServer, error_body, parameter_body, secret_body, stub_server

TOKEN = "cli-unit-token"
Cap = pytest.CaptureFixture[bytes]
BLOB = b"\x00\xffbinary\n\x80"

SECRETS = {
    "db": '{"username": "admin", "port": 5432, "opts": {"ssl": true}, "tags": ["a"]}',
    "plain": "just text",
    "list": "[1, 2]",
}


def answer(seen: Seen) -> Reply:
    query = dict(seen.query)
    if seen.route == "/systemsmanager/parameters/get":
        name = query["name"]
        if name == "/missing":
            return Reply(status=404, body=error_body("ParameterNotFound", "Parameter /missing not found."))
        if name == "/denied":
            return Reply(status=403, body=error_body("AccessDeniedException", "not allowed"))
        if name == "/aws":
            return Reply(status=400, body=AWS_GENERIC_ERROR.encode(), content_type="text/plain")
        if name == "/throttled":
            return Reply(status=429, body=error_body("ThrottlingException", "Rate exceeded"))
        if name == "/gateway":
            return Reply(status=502, body=error_body("BadGateway", "upstream down"))
        selector = f":{query['version']}" if "version" in query else (
            f":{query['label']}" if "label" in query else None)
        value = f"{name}|{query.get('withDecryption', '-')}|{selector}|{query.get('refreshNow', '-')}"
        return Reply(body=parameter_body(name, value, selector))
    if seen.route == "/secretsmanager/get":
        secret_id = query["secretId"]
        if secret_id == "bin":
            return Reply(body=secret_body("bin", binary=BLOB))
        if secret_id in SECRETS:
            return Reply(body=secret_body(secret_id, string=SECRETS[secret_id]))
        return Reply(status=404, body=error_body("ResourceNotFoundException", "no such secret"))
    return Reply(status=404, body=error_body("NotFound", "no route"))


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubServer]:
    with stub_server(answer) as server:
        monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(server.port))
        monkeypatch.setenv("PARAMSECRETS_CLIENT_RETRY_SECONDS", "0")
        monkeypatch.setenv("AWS_TOKEN", TOKEN)
        yield server


def run(capsysbinary: Cap, *argv: str) -> tuple[int, bytes, str]:
    code = client_cli.main(list(argv))
    captured = capsysbinary.readouterr()
    return code, captured.out, captured.err.decode()


def test_get_parameter_prints_the_raw_value(stub: StubServer, capsysbinary: Cap) -> None:
    assert run(capsysbinary, "get-parameter", "/app/x") == (0, b"/app/x|-|None|-", "")
    code, out, _ = run(capsysbinary, "get-parameter", "/app/x", "--decrypt", "--version", "3", "--refresh")
    assert (code, out) == (0, b"/app/x|true|:3|true")
    code, out, _ = run(capsysbinary, "get-parameter", "/app/x", "--label", "Prod")
    assert (code, out) == (0, b"/app/x|-|:Prod|-")
    assert stub.seen[0].headers["x-aws-parameters-secrets-token"] == TOKEN


def test_get_secret_prints_text_and_raw_binary(stub: StubServer, capsysbinary: Cap) -> None:
    assert run(capsysbinary, "get-secret", "plain") == (0, b"just text", "")
    assert run(capsysbinary, "get-secret", "bin") == (0, BLOB, "")
    run(capsysbinary, "get-secret", "plain", "--version-stage", "AWSPREVIOUS")
    run(capsysbinary, "get-secret", "plain", "--version-id", "v-1")
    assert stub.seen[-2].query == [("secretId", "plain"), ("versionStage", "AWSPREVIOUS")]
    assert stub.seen[-1].query == [("secretId", "plain"), ("versionId", "v-1")]


@pytest.mark.parametrize(("field", "printed"), [
    ("username", b"admin"),
    ("port", b"5432"),
    ("opts", b'{"ssl": true}'),
    ("tags", b'["a"]'),
])
def test_json_field(stub: StubServer, capsysbinary: Cap, field: str,
                    printed: bytes) -> None:
    assert run(capsysbinary, "get-secret", "db", "--json-field", field) == (0, printed, "")


@pytest.mark.parametrize(("secret", "field", "complaint"), [
    ("db", "password", "no such field"),
    ("plain", "x", "not JSON"),
    ("list", "x", "not an object"),
    ("bin", "x", "not JSON"),
])
def test_json_field_failures_exit_1_without_the_value(
        stub: StubServer, capsysbinary: Cap, secret: str, field: str,
        complaint: str) -> None:
    code, out, err = run(capsysbinary, "get-secret", secret, "--json-field", field)
    assert (code, out) == (1, b"")
    assert complaint in err and field in err
    assert "just text" not in err and "admin" not in err


@pytest.mark.parametrize(("argv", "code", "stderr_has"), [
    (["get-parameter", "/missing"], 3, "Parameter /missing not found."),
    (["get-secret", "nope"], 3, "ResourceNotFoundException"),
    (["get-parameter", "/denied"], 4, "AccessDeniedException"),
    (["get-parameter", "/aws"], 1, AWS_GENERIC_ERROR),
    (["get-parameter", "/throttled"], 1, "ThrottlingException"),
    (["get-parameter", "/gateway"], 5, "BadGateway"),
    (["get-parameter"], 2, "required: NAME"),
    (["get-parameter", "/a", "--version", "1", "--label", "x"], 2, "not allowed with"),
    (["get-parameter", "/a", "--version", "latest"], 2, "not a version number"),
    (["get-secret", "db", "--version-id", "a", "--version-stage", "b"], 2, "not allowed with"),
    (["get-secret", "db", "--bogus"], 2, "unrecognized arguments"),
    (["get-parameter", ""], 2, "argument NAME: must not be empty"),
    (["get-secret", ""], 2, "argument ID: must not be empty"),
    (["get-parameter", "/a", "--label", ""], 2, "argument --label: must not be empty"),
    (["get-secret", "db", "--version-stage", ""], 2, "argument --version-stage: must not be empty"),
    (["nothing"], 2, "usage"),
    ([], 2, "usage"),
])
def test_exit_codes(stub: StubServer, capsysbinary: Cap, argv: list[str],
                    code: int, stderr_has: str) -> None:
    got, out, err = run(capsysbinary, *argv)
    assert (got, out) == (code, b"")
    assert stderr_has in err
    assert TOKEN not in err


def test_bad_token_exits_4(stub: StubServer, capsysbinary: Cap,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    stub.responder = lambda seen: Reply(status=401, body=error_body(
        "Unauthorized", "Bad session token or header key"))
    code, _, err = run(capsysbinary, "get-parameter", "/a")
    assert code == 4 and "Bad session token or header key" in err


def test_unreachable_exits_5(capsysbinary: Cap,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(port))
    monkeypatch.setenv("PARAMSECRETS_CLIENT_RETRY_SECONDS", "0")
    monkeypatch.setenv("AWS_TOKEN", TOKEN)
    code, out, err = run(capsysbinary, "get-secret", "db")
    assert (code, out) == (5, b"")
    assert f"nothing is listening on 127.0.0.1:{port}" in err


def test_invalid_environment_is_a_usage_error(capsysbinary: Cap,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "99999")
    code, _, err = run(capsysbinary, "get-parameter", "/a")
    assert code == 2 and "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT" in err


def test_help_exits_0(capsysbinary: Cap) -> None:
    assert client_cli.get_parameter_main(["--help"]) == 0
    assert b"--json-field" in capsysbinary.readouterr().out


def test_entry_points_take_the_arguments_after_the_subcommand(
        stub: StubServer, capsysbinary: Cap) -> None:
    assert client_cli.get_parameter_main(["/z"]) == 0
    assert client_cli.get_secret_main(["plain", "--json-field", "k"]) == 1
    assert capsysbinary.readouterr().out == b"/z|-|None|-"


def test_json_field_keeps_unicode(stub: StubServer, capsysbinary: Cap) -> None:
    SECRETS["uni"] = json.dumps({"name": "zoë", "list": ["ü"]})
    try:
        assert run(capsysbinary, "get-secret", "uni", "--json-field", "name")[1] == "zoë".encode()
        assert run(capsysbinary, "get-secret", "uni", "--json-field", "list")[1] == '["ü"]'.encode()
    finally:
        del SECRETS["uni"]
