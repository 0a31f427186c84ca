"""The `paramsecrets exec` REF grammar and its mapping from flags and the environment."""

from __future__ import annotations

import pytest

from paramsecrets.client.exec_cmd import _Usage, parse_arguments
from paramsecrets.client.exec_refs import (
    MAX_REF_CHARS,
    FileTarget,
    Ref,
    RefError,
    mapping_variables,
    parse_env_mapping,
    parse_file_mapping,
    parse_ref,
    plan_from,
    variable_for,
)

ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/app/db/host"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"


@pytest.mark.parametrize(("text", "ref"), [
    ("ssm:/app/db/host", Ref("ssm", "/app/db/host")),
    ("ssm:plain", Ref("ssm", "plain")),
    ("ssm:/app/v:3", Ref("ssm", "/app/v:3")),
    ("ssm:/app/v:Prod", Ref("ssm", "/app/v:Prod")),
    ("ssm:/app/v:prod-2", Ref("ssm", "/app/v:prod-2")),
    (f"ssm:{ARN}", Ref("ssm", ARN)),
    (f"ssm:{ARN}:7", Ref("ssm", f"{ARN}:7")),
    (f"ssm:{ARN}:Live", Ref("ssm", f"{ARN}:Live")),
    ("ssm:/app/json#user", Ref("ssm", "/app/json", "user")),
    ("ssm:/app/json:2#user", Ref("ssm", "/app/json:2", "user")),
    ("secretsmanager:prod/db", Ref("secretsmanager", "prod/db")),
    ("secretsmanager:prod/db#password", Ref("secretsmanager", "prod/db", "password")),
    (f"secretsmanager:{SECRET_ARN}", Ref("secretsmanager", SECRET_ARN)),
    (f"secretsmanager:{SECRET_ARN}#password", Ref("secretsmanager", SECRET_ARN, "password")),
    ("secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db",
     Ref("secretsmanager", "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db")),
    ("secretsmanager:a+b=c.d@e-f_g", Ref("secretsmanager", "a+b=c.d@e-f_g")),
    ("secretsmanager:s#a#b", Ref("secretsmanager", "s", "a#b")),
])
def test_every_form(text: str, ref: Ref) -> None:
    assert parse_ref(text) == ref
    assert str(ref) == text


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty REF (expected ssm:NAME or secretsmanager:ID, optionally #KEY)"),
    ("/app/db", "REF '/app/db' has no source: write ssm:NAME or secretsmanager:ID"),
    ("s3:bucket/key", "REF 's3:bucket/key': unknown source 's3' (expected ssm or secretsmanager)"),
    ("SSM:/a", "REF 'SSM:/a': unknown source 'SSM' (expected ssm or secretsmanager)"),
    ("secrets:db", "REF 'secrets:db': unknown source 'secrets' (expected ssm or secretsmanager)"),
    ("ssm:", "REF 'ssm:': the parameter name is empty"),
    ("ssm:#k", "REF 'ssm:#k': the parameter name is empty"),
    ("ssm::3", "REF 'ssm::3': the parameter name is empty"),
    ("secretsmanager:", "REF 'secretsmanager:': the secret id is empty"),
    ("secretsmanager:#password", "REF 'secretsmanager:#password': the secret id is empty"),
    ("ssm:/a#", "REF 'ssm:/a#': the JSON key after '#' is empty"),
    ("secretsmanager:db#", "REF 'secretsmanager:db#': the JSON key after '#' is empty"),
    ("ssm:/a:", "REF 'ssm:/a:': the version or label after ':' is empty"),
    ("ssm:/a:1:2", "REF 'ssm:/a:1:2': a parameter name takes one ':VERSION' or ':LABEL', not more"),
    ("ssm:/a:0", "REF 'ssm:/a:0': version '0' is not a positive whole number"),
    ("ssm:/a:3x", "REF 'ssm:/a:3x': version '3x' is not a positive whole number"),
    (f"ssm:{ARN}:", "REF 'ssm:" + ARN + ":': the version or label after ':' is empty"),
    ("ssm:arn:aws:s3:::bucket", "REF 'ssm:arn:aws:s3:::bucket': not a parameter ARN "
                                "(arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME[:VERSION|:LABEL])"),
    ("ssm:arn:aws:ssm:us-east-1:1:parameter/",
     "REF 'ssm:arn:aws:ssm:us-east-1:1:parameter/': not a parameter "
     "ARN (arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME[:VERSION|:LABEL])"),
    ("ssm:/a b", "REF 'ssm:/a b' contains whitespace or a control character"),
    ("ssm:/a\n", "REF 'ssm:/a\\n' contains whitespace or a control character"),
    ("secretsmanager:db\x00", "REF 'secretsmanager:db\\x00' contains whitespace or a control character"),
])
def test_every_malformed_form_has_its_message(text: str, message: str) -> None:
    with pytest.raises(RefError) as caught:
        parse_ref(text)
    assert str(caught.value) == message


def test_a_long_ref_is_refused_before_it_is_parsed_and_quoted_short() -> None:
    text = "ssm:/" + "a" * MAX_REF_CHARS
    with pytest.raises(RefError) as caught:
        parse_ref(text)
    message = str(caught.value)
    assert message.endswith(f"is longer than {MAX_REF_CHARS} characters")
    assert len(message) < 160


@pytest.mark.parametrize(("text", "expected"), [
    ("DB_HOST=ssm:/app/db/host", ("DB_HOST", Ref("ssm", "/app/db/host"))),
    ("_x1=secretsmanager:a=b#k", ("_x1", Ref("secretsmanager", "a=b", "k"))),
])
def test_env_mapping(text: str, expected: tuple[str, Ref]) -> None:
    assert parse_env_mapping(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("DB_HOST", "--env 'DB_HOST': expected NAME=REF"),
    ("=ssm:/a", "--env : the variable name is empty"),
    ("1X=ssm:/a", "--env 1X: '1X' is not a variable name (letters, digits and '_', not starting with a digit)"),
    ("A-B=ssm:/a", "--env A-B: 'A-B' is not a variable name (letters, digits and '_', not starting with a digit)"),
    ("X=/a", "--env X: REF '/a' has no source: write ssm:NAME or secretsmanager:ID"),
    ("X=", "--env X: empty REF (expected ssm:NAME or secretsmanager:ID, optionally #KEY)"),
])
def test_bad_env_mapping(text: str, message: str) -> None:
    with pytest.raises(RefError) as caught:
        parse_env_mapping(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(("text", "expected"), [
    ("/tmp/db.pw=secretsmanager:prod/db#password",
     FileTarget("/tmp/db.pw", Ref("secretsmanager", "prod/db", "password"))),
    ("/tmp/a=b.txt=ssm:/x", FileTarget("/tmp/a=b.txt", Ref("ssm", "/x"))),
    ("conf=secretsmanager:k=v", FileTarget("conf", Ref("secretsmanager", "k=v"))),
])
def test_file_mapping(text: str, expected: FileTarget) -> None:
    assert parse_file_mapping(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("/tmp/x", "--file '/tmp/x': expected PATH=REF (REF starting with ssm: or secretsmanager:)"),
    ("/tmp/x=vault:a", "--file '/tmp/x=vault:a': expected PATH=REF (REF starting with ssm: or secretsmanager:)"),
    ("=ssm:/a", "--file: the file path is empty"),
    ("/tmp/=ssm:/a", "--file '/tmp/': the path names a directory, not a file"),
    ("/tmp/x=ssm:/a#", "--file /tmp/x: REF 'ssm:/a#': the JSON key after '#' is empty"),
])
def test_bad_file_mapping(text: str, message: str) -> None:
    with pytest.raises(RefError) as caught:
        parse_file_mapping(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(("path", "name", "variable"), [
    ("/app/prod/", "/app/prod/db-host", "DB_HOST"),
    ("/app/prod", "/app/prod/db-host", "DB_HOST"),
    ("/app/prod/", "/app/prod/nested/api.key", "NESTED_API_KEY"),
    ("/app/", "/app/x", "X"),
])
def test_path_names_as_chamber_names_them(path: str, name: str, variable: str) -> None:
    assert variable_for(path, name) == variable


def test_plan_from_the_environment_and_flags() -> None:
    environ = {
        "PARAMSECRETS_ENV_DB_HOST": "ssm:/app/db/host",
        "PARAMSECRETS_ENV_API_KEY": "secretsmanager:prod/api#key",
        "PARAMSECRETS_FILES": "/tmp/a=ssm:/a, /tmp/b=secretsmanager:b#k ,",
        "PARAMSECRETS_PATH": "/app/prod/",
        "HOME": "/root",
    }
    plan = plan_from(environ, ["DB_HOST=ssm:/override", "EXTRA=ssm:/e"], ["/tmp/a=ssm:/a2"], ["/app/shared/"])
    assert plan.env == {"API_KEY": Ref("secretsmanager", "prod/api", "key"), "DB_HOST": Ref("ssm", "/override"),
                        "EXTRA": Ref("ssm", "/e")}
    assert plan.files == [FileTarget("/tmp/b", Ref("secretsmanager", "b", "k")),
                          FileTarget("/tmp/a", Ref("ssm", "/a2"))]
    assert plan.paths == ["/app/prod/", "/app/shared/"]
    assert plan.refs() == [Ref("secretsmanager", "prod/api", "key"), Ref("ssm", "/override"), Ref("ssm", "/e"),
                           Ref("secretsmanager", "b", "k"), Ref("ssm", "/a2")]
    assert sorted(mapping_variables(environ)) == ["PARAMSECRETS_ENV_API_KEY", "PARAMSECRETS_ENV_DB_HOST",
                                                  "PARAMSECRETS_FILES", "PARAMSECRETS_PATH"]


def test_every_problem_is_listed_at_once() -> None:
    environ = {"PARAMSECRETS_ENV_": "ssm:/a", "PARAMSECRETS_ENV_OK": "nope", "PARAMSECRETS_PATH": "app/"}
    with pytest.raises(RefError) as caught:
        plan_from(environ, ["1=ssm:/a"], ["/x"], [])
    assert str(caught.value).splitlines() == [
        "PARAMSECRETS_ENV_: the variable name is empty",
        "PARAMSECRETS_ENV_OK: REF 'nope' has no source: write ssm:NAME or secretsmanager:ID",
        "PARAMSECRETS_PATH 'app/': a parameter path starts with '/' (e.g. /app/prod/)",
        "--env 1: '1' is not a variable name (letters, digits and '_', not starting with a digit)",
        "--file '/x': expected PATH=REF (REF starting with ssm: or secretsmanager:)",
    ]


def test_no_value_in_a_message() -> None:
    """Messages quote REFs and names; a value never reaches the mapping code at all, and a REF
    that is mistakenly a value (a pasted secret) is quoted at most 80 characters."""
    pasted = "x" * 500
    with pytest.raises(RefError) as caught:
        plan_from({"PARAMSECRETS_ENV_DB": pasted}, [], [], [])
    assert pasted not in str(caught.value)


@pytest.mark.parametrize(("argv", "parsed"), [
    (["--", "env"], ([], [], [], ["env"])),
    (["env", "--env", "X"], ([], [], [], ["env", "--env", "X"])),
    (["--env", "A=ssm:/a", "--env=B=ssm:/b", "--file", "/f=ssm:/f", "--path=/p/", "--", "cmd", "-x"],
     (["A=ssm:/a", "B=ssm:/b"], ["/f=ssm:/f"], ["/p/"], ["cmd", "-x"])),
])
def test_arguments(argv: list[str], parsed: tuple[list[str], list[str], list[str], list[str]]) -> None:
    assert parse_arguments(argv) == parsed


@pytest.mark.parametrize(("argv", "message"), [
    ([], "no COMMAND to run (put it after --)"),
    (["--env", "A=ssm:/a"], "no COMMAND to run (put it after --)"),
    (["--env"], "--env needs a value"),
    (["--verbose", "--", "x"], "unknown option '--verbose'"),
])
def test_bad_arguments(argv: list[str], message: str) -> None:
    with pytest.raises(_Usage) as caught:
        parse_arguments(argv)
    assert str(caught.value) == message


def test_child_environment_removes_the_mapping_and_restores_the_launchers_changes() -> None:
    from paramsecrets.client.exec_cmd import Values, child_environment

    environ = {
        "PATH": "/usr/bin", "PARAMSECRETS_ENV_DB_HOST": "ssm:/app/db/host", "PARAMSECRETS_FILES": "/tmp/x=ssm:/x",
        "PARAMSECRETS_PATH": "/app/prod/", "PARAMSECRETS_CLIENT_RETRY_SECONDS": "1",
        "DB_HOST": "from-the-function", "API_TOKEN": "old",
        # What the layer's launcher leaves: LC_ALL forced, LD_PRELOAD dropped, the originals saved.
        "_PARAMSECRETS_LAUNCHER": "1", "LC_ALL": "C.UTF-8", "_PARAMSECRETS_SAVED_LD_PRELOAD": "/opt/lib/x.so",
    }
    plan = plan_from(environ, ["JSON_USER=secretsmanager:db#user"], [], [])
    values = Values({Ref("ssm", "/app/db/host"): "db.internal", Ref("secretsmanager", "db", "user"): '{"user": 7}'},
                    {"/app/prod/": {"/app/prod/db-host": "path.internal", "/app/prod/api.token": "new"}})
    env, failures = child_environment(environ, plan, values)
    assert failures == []
    assert env == {"PATH": "/usr/bin", "PARAMSECRETS_CLIENT_RETRY_SECONDS": "1", "DB_HOST": "db.internal",
                   "API_TOKEN": "new", "JSON_USER": "7", "LD_PRELOAD": "/opt/lib/x.so"}


def test_child_environment_refuses_what_cannot_be_a_variable() -> None:
    from paramsecrets.client.exec_cmd import Values, child_environment

    plan = plan_from({}, ["A=secretsmanager:bin", "B=ssm:/nul", "C=ssm:/list#k"], [], [])
    values = Values({Ref("secretsmanager", "bin"): b"\xff\xfe", Ref("ssm", "/nul"): "a\0b",
                     Ref("ssm", "/list", "k"): "[1, 2]"}, {})
    _, failures = child_environment({}, plan, values)
    assert [failure.line() for failure in failures] == [
        "paramsecrets exec: cannot read secretsmanager:bin (for A): BinaryValue (a binary secret that is not "
        "UTF-8 text cannot be a variable; use --file)",
        "paramsecrets exec: cannot read ssm:/nul (for B): NulInValue (a variable cannot hold a NUL character; "
        "use --file)",
        "paramsecrets exec: cannot read ssm:/list#k (for C): NotJsonObject (the value is JSON but not an object)",
    ]


def test_the_extension_knows_when_an_exec_wrapper_waits_for_it() -> None:
    from paramsecrets.process.boot import exec_waits_for_us

    assert exec_waits_for_us({"PARAMSECRETS_ENV_X": "ssm:/x"})
    assert exec_waits_for_us({"PARAMSECRETS_FILES": "/tmp/a=ssm:/a"})
    assert not exec_waits_for_us({"PARAMSECRETS_CLIENT_RETRY_SECONDS": "3", "AWS_LAMBDA_EXEC_WRAPPER": "/x"})
