"""The seed file: what each form turns into, and every refusal's message (file, entry, key, fix)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from paramsecrets.dev import seed
from paramsecrets.dev.seed import Parameter, SeedError

SOURCE = "seed.toml"


def parse(text: str) -> seed.Seed:
    return seed.parse(text, SOURCE)


def error_of(text: str) -> str:
    with pytest.raises(SeedError) as caught:
        parse(text)
    return str(caught.value)


# --- what each form becomes -----------------------------------------------------------------------

def test_every_parameter_form() -> None:
    result = parse("""
[[parameter]]
name = "/app/db/host"
value = "db.local"
description = "the host"

[[parameter]]
name = "/app/flags"
type = "StringList"
value = ["a", "b", "c"]

[[parameter]]
name = "/app/flags-text"
type = "StringList"
value = "x,y"

[[parameter]]
name = "/app/db/password"
type = "SecureString"
value = "pw"
kms_key_id = "alias/app"

[[parameter]]
name = "/app/config"
versions = ["v1", "v2", "v3"]
labels = { prod = 2, canary = 3, old = 1 }

[[parameter]]
name = "plain.name_1-x"
value = "top-level names need no slash"
""")
    assert result.source == SOURCE
    assert result.parameters == (
        Parameter("/app/db/host", "String", ("db.local",), (), "the host", None),
        Parameter("/app/flags", "StringList", ("a,b,c",)),
        Parameter("/app/flags-text", "StringList", ("x,y",)),
        Parameter("/app/db/password", "SecureString", ("pw",), kms_key_id="alias/app"),
        Parameter("/app/config", "String", ("v1", "v2", "v3"), (("prod", 2), ("canary", 3), ("old", 1))),
        Parameter("plain.name_1-x", "String", ("top-level names need no slash",)),
    )
    assert result.parameters[4].label_version("prod") == 2
    assert result.parameters[4].label_version("missing") is None
    assert result.secrets == ()


def test_stringlist_versions_mix_lists_and_strings() -> None:
    result = parse('[[parameter]]\nname = "/l"\ntype = "StringList"\nversions = [["a", "b"], "c,d"]\n')
    assert result.parameters[0].versions == ("a,b", "c,d")


def test_every_secret_form() -> None:
    raw = bytes(range(256))
    encoded = base64.b64encode(raw).decode()
    wrapped = "\n".join(encoded[i:i + 60] for i in range(0, len(encoded), 60))
    result = parse(f'''
[[secret]]
name = "app/text"
value = "s3cret"
description = "d"
kms_key_id = "alias/k"

[[secret]]
name = "app/db"
value = {{ username = "app", port = 5432, tls = true, nested = {{ a = [1, 2] }} }}

[[secret]]
name = "app/cert"
binary = """
{wrapped}
"""

[[secret]]
name = "app/key"
versions = [
  {{ value = "k1", id = "11111111-1111-1111-1111-111111111111" }},
  {{ value = "k2" }},
  {{ binary = "AAE=", stages = ["AWSPENDING", "blue"] }},
]
''')
    text, db, cert, key = result.secrets
    assert (text.name, text.description, text.kms_key_id) == ("app/text", "d", "alias/k")
    assert [(v.string, v.binary, v.kind, v.stages) for v in text.versions] == [("s3cret", None, "string", None)]
    assert json.loads(db.versions[0].string or "") == {"username": "app", "port": 5432, "tls": True,
                                                      "nested": {"a": [1, 2]}}
    assert db.versions[0].kind == "json"
    assert cert.versions[0].binary == raw and cert.versions[0].string is None and cert.current.kind == "binary"
    assert [v.string for v in key.versions] == ["k1", "k2", None]
    assert key.versions[2].binary == b"\x00\x01"
    assert key.versions[0].version_id == "11111111-1111-1111-1111-111111111111"
    assert key.versions[2].stages == ("AWSPENDING", "blue")
    assert key.final_stages() == {"AWSCURRENT": 1, "AWSPREVIOUS": 0, "AWSPENDING": 2, "blue": 2}
    assert key.current.string == "k2"


@pytest.mark.parametrize(("versions", "expected"), [
    ('[{ value = "a" }]', {"AWSCURRENT": 0}),
    ('[{ value = "a" }, { value = "b" }, { value = "c" }]', {"AWSCURRENT": 2, "AWSPREVIOUS": 1}),
    # the first version of a secret is always AWSCURRENT, whatever else it is given
    ('[{ value = "a", stages = ["AWSPENDING"] }]', {"AWSCURRENT": 0, "AWSPENDING": 0}),
    ('[{ value = "a" }, { value = "b", stages = ["AWSCURRENT", "blue"] }]',
     {"AWSCURRENT": 1, "AWSPREVIOUS": 0, "blue": 1}),
    ('[{ value = "a", stages = ["green"] }, { value = "b", stages = ["AWSPENDING"] }]',
     {"AWSCURRENT": 0, "green": 0, "AWSPENDING": 1}),
])
def test_final_stages_follow_secrets_manager(versions: str, expected: dict[str, int]) -> None:
    secret = parse(f'[[secret]]\nname = "s"\nversions = {versions}\n').secrets[0]
    assert secret.final_stages() == expected


def test_empty_file_is_an_empty_seed() -> None:
    assert parse("# nothing yet\n") == seed.Seed(SOURCE)


def test_repr_never_shows_values() -> None:
    result = parse('[[parameter]]\nname = "/p"\ntype = "SecureString"\nvalue = "hunter2-param"\n'
                   '[[secret]]\nname = "s"\nvalue = "hunter2-secret"\n')
    assert "hunter2" not in repr(result)


def test_packaged_example_has_every_kind() -> None:
    example = Path(seed.__file__).with_name("example.toml")
    result = seed.load(example)
    types = {p.type for p in result.parameters}
    assert types == {"String", "StringList", "SecureString"}
    assert any(len(p.versions) > 1 and p.labels for p in result.parameters)
    kinds = {s.current.kind for s in result.secrets}
    assert kinds == {"string", "json", "binary"}
    assert any("AWSPREVIOUS" in s.final_stages() for s in result.secrets)


def test_the_seed_in_the_docs_is_valid() -> None:
    docs = Path(__file__).parents[2] / "docs" / "dev.md"
    block = docs.read_text().split("## The seed file", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    result = seed.parse(block, "docs/dev.md")
    assert len(result.parameters) == 5 and len(result.secrets) == 3
    assert result.secrets[1].final_stages() == {"AWSCURRENT": 1, "AWSPREVIOUS": 0, "AWSPENDING": 2}


def test_a_file_that_is_not_utf8() -> None:
    with pytest.raises(SeedError) as caught:
        seed.parse(b'[[parameter]]\nname = "/a"\nvalue = "caf\xe9"\n', SOURCE)
    assert str(caught.value) == "seed.toml: not UTF-8 text (line 3); TOML files are UTF-8"


def test_load_reports_an_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(SeedError) as caught:
        seed.load(missing)
    assert str(caught.value) == f"{missing}: cannot read the seed file: No such file or directory"


# --- refusals: every message names the file, the entry and the key ---------------------------------

P = '[[parameter]]\nname = "/app/x"\n'   # a parameter entry's start, for brevity
S = '[[secret]]\nname = "app/s"\n'

ERRORS = [
    # the document
    ("[[parameter]\n", ["seed.toml: not valid TOML:"]),
    ('parameters = []\n', ["seed.toml: unknown top-level key 'parameters' (did you mean 'parameter'?); "
                           "the file holds [[parameter]] and [[secret]] tables"]),
    ('[parameter]\nname = "/x"\nvalue = "v"\n',
     ["seed.toml: 'parameter' must be an array of tables: write each one as [[parameter]]"]),
    ('secret = "x"\n', ["seed.toml: 'secret' must be an array of tables: write each one as [[secret]]"]),
    # keys and types
    (P + 'valeu = "v"\n', ["seed.toml: parameter #1 (\"/app/x\"): 'valeu' is not a known key (did you mean "
                           "'value'?); allowed: name, type, value, versions, labels, description, kms_key_id"]),
    ('[[parameter]]\nvalue = "v"\n', ["seed.toml: parameter #1: 'name' is missing"]),
    ('[[parameter]]\nname = 7\nvalue = "v"\n', ["seed.toml: parameter #1: 'name' must be a string, not an integer"]),
    (P + "value = 5432\n", ["seed.toml: parameter #1 (\"/app/x\"): 'value' must be a string, not an integer "
                            '(quote it: value = "5432")']),
    (P + "value = true\n", ["'value' must be a string, not a boolean (quote it: value = \"true\")"]),
    (P + "value = 1.5\n", ["'value' must be a string, not a float (quote it: value = \"1.5\")"]),
    (P + 'value = ["a"]\n', ["'value' must be a string, not an array"]),
    (P + 'value = "v"\ndescription = 3\n',
     ["parameter #1 (\"/app/x\"): 'description' must be a string, not an integer"]),
    (P + 'value = "v"\ndescription = "' + "d" * 1025 + '"\n', ["'description' is longer than 1024 characters"]),
    (P + 'value = ""\n', ["'value' is empty; Parameter Store needs at least one character"]),
    (P + 'value = "' + "x" * 8193 + '"\n', ["'value' is 8193 bytes; a parameter holds at most 8192"]),
    (P + 'value = "v"\nversions = ["a"]\n', ["parameter #1 (\"/app/x\"): give either 'value' or 'versions', not both"]),
    (P + 'description = "no value"\n', ["parameter #1 (\"/app/x\"): needs 'value' or 'versions'"]),
    (P + 'versions = "v1"\n', ["'versions' must be an array, not a string"]),
    (P + "versions = []\n", ["'versions' is empty; give at least one version"]),
    (P + 'versions = ["a", 2]\n', ["'versions[2]' must be a string, not an integer (quote it: \"2\")"]),
    # types
    (P + 'type = "string"\nvalue = "v"\n', ["parameter #1 (\"/app/x\"): 'type' 'string' is not a parameter type "
                                           "(did you mean 'String'?); allowed: String, StringList, SecureString"]),
    (P + 'type = "Secret"\nvalue = "v"\n', ["'type' 'Secret' is not a parameter type"]),
    (P + 'value = "v"\nkms_key_id = "alias/k"\n',
     ["parameter #1 (\"/app/x\"): 'kms_key_id' is only for type = \"SecureString\" (this one is String)"]),
    (P + 'type = "SecureString"\nvalue = "v"\nkms_key_id = " "\n',
     ["'kms_key_id' is empty; leave it out to use the default key"]),
    # StringList
    (P + 'type = "StringList"\nvalue = ["a", 1]\n', ["'value[2]' must be a string, not an integer (quote it: \"1\")"]),
    (P + 'type = "StringList"\nvalue = ["a", "b,c"]\n',
     ["'value[2]' contains a comma, which a StringList uses as its separator"]),
    (P + 'type = "StringList"\nvalue = ["a", ""]\n', ["'value[2]' is empty"]),
    (P + 'type = "StringList"\nvalue = []\n', ["'value' is an empty list"]),
    (P + 'type = "StringList"\nvalue = 3\n', ["'value' must be a string or an array of strings, not an integer"]),
    (P + 'type = "StringList"\nversions = ["a", ["b", 2]]\n', ["'versions[2][2]' must be a string, not an integer"]),
    # labels
    (P + 'value = "v"\nlabels = ["prod"]\n',
     ["'labels' must be a table of label = version number (e.g. labels = { prod = 1 }), not an array"]),
    (P + 'versions = ["a", "b"]\nlabels = { prod = 3 }\n',
     ["parameter #1 (\"/app/x\"): 'labels.prod' names version 3, but this parameter has versions 1 to 2"]),
    (P + 'value = "a"\nlabels = { prod = 2 }\n', ["'labels.prod' names version 2, but this parameter has version 1"]),
    (P + 'value = "a"\nlabels = { prod = 0 }\n', ["'labels.prod' names version 0"]),
    (P + 'value = "a"\nlabels = { prod = "1" }\n',
     ["'labels.prod' must be a version number (an integer), not a string"]),
    (P + 'value = "a"\nlabels = { prod = true }\n',
     ["'labels.prod' must be a version number (an integer), not a boolean"]),
    (P + 'value = "a"\nlabels = { 1st = 1 }\n', ["'labels.1st' is not a valid label: it starts with a digit"]),
    (P + 'value = "a"\nlabels = { "pro d" = 1 }\n',
     ["'labels.pro d' is not a valid label: only letters, digits and _ . - are allowed"]),
    (P + 'value = "a"\nlabels = { AWSprod = 1 }\n',
     ["'labels.AWSprod' is not a valid label: labels starting with 'aws' or 'ssm' (any case) are reserved by AWS"]),
    (P + 'value = "a"\nlabels = { "" = 1 }\n', ["'labels.' is not a valid label: it is empty"]),
    (P + 'value = "a"\nlabels = { ' + "l" * 101 + " = 1 }\n",
     ["is not a valid label: it is longer than 100 characters"]),
    (P + 'value = "a"\nlabels = { ' + ", ".join(f"l{i} = 1" for i in range(11)) + " }\n",
     ["'labels.l10' is one label too many: a version holds at most 10"]),
    # duplicates
    (P + 'value = "a"\n' + P + 'value = "b"\n',
     ["seed.toml: parameter #2 (\"/app/x\"): 'name' duplicates parameter #1; each parameter appears once "
      "(use 'versions' for several values)"]),
    (S + 'value = "a"\n' + S + 'value = "b"\n', ["seed.toml: secret #2 (\"app/s\"): 'name' duplicates secret #1"]),
    # secrets: keys, values
    (S + 'valu = "a"\n', ["seed.toml: secret #1 (\"app/s\"): 'valu' is not a known key (did you mean 'value'?); "
                          "allowed: name, value, binary, versions, description, kms_key_id"]),
    ('[[secret]]\nvalue = "a"\n', ["seed.toml: secret #1: 'name' is missing"]),
    (S + "value = 5\n", ["secret #1 (\"app/s\"): 'value' must be a string or a table (stored as JSON), not an "
                         'integer (quote it: value = "5")']),
    (S + 'value = ["a"]\n', ["'value' must be a string or a table (stored as JSON), not an array"]),
    (S + 'value = ""\n', ["secret #1 (\"app/s\"): 'value' is empty"]),
    (S + 'value = "' + "x" * 65537 + '"\n', ["'value' is 65537 bytes; a secret holds at most 65536"]),
    (S + "value = { when = 2024-01-01 }\n", ["'value' holds a TOML date/time, which JSON cannot hold; quote it"]),
    (S + "value = { x = nan }\n", ["'value' holds inf or nan, which JSON cannot hold"]),
    (S + 'value = "a"\nbinary = "AA=="\n', ["secret #1 (\"app/s\"): give either 'value' or 'binary', not both"]),
    (S + 'description = "x"\n', ["secret #1 (\"app/s\"): needs 'value', 'binary' or 'versions'"]),
    (S + 'value = "a"\nversions = [{ value = "b" }]\n', ["give either 'value' or 'versions', not both"]),
    (S + 'binary = "not base64!"\n', ["secret #1 (\"app/s\"): 'binary' is not valid base64"]),
    (S + "binary = 12\n", ["'binary' must be base64 text, not an integer"]),
    (S + 'binary = ""\n', ["'binary' is empty"]),
    (S + 'binary = "' + base64.b64encode(b"x" * 65537).decode() + '"\n',
     ["'binary' is 65537 bytes; a secret holds at most 65536"]),
    (S + 'value = "a"\nkms_key_id = 1\n', ["'kms_key_id' must be a string, not an integer"]),
    # secret versions
    (S + 'versions = ["a"]\n', ["secret #1 (\"app/s\"): 'versions[1]' must be a table like { value = \"...\" } or "
                                '{ binary = "..." }, not a string']),
    (S + 'versions = [{ value = "a", stage = ["x"] }]\n',
     ["'versions[1].stage' is not a known key (did you mean 'stages'?); allowed: value, binary, stages, id"]),
    (S + 'versions = [{ stages = ["x"] }]\n', ["'versions[1]' needs exactly one of 'value' or 'binary'"]),
    (S + 'versions = [{ value = "a", binary = "AA==" }]\n', ["'versions[1]' needs exactly one of 'value' or 'binary'"]),
    (S + 'versions = [{ value = 1 }]\n', ["'versions[1].value' must be a string or a table (stored as JSON), not an "
                                          'integer (quote it: "1")']),
    (S + 'versions = [{ binary = "%%" }]\n', ["'versions[1].binary' is not valid base64"]),
    (S + 'versions = [{ value = "a", id = "short" }]\n',
     ["'versions[1].id' must be 32 to 64 letters, digits or '-' (a UUID is fine)"]),
    (S + 'versions = [{ value = "a", id = 5 }]\n', ["'versions[1].id' must be a string, not an integer"]),
    (S + 'versions = [{ value = "a", id = "' + "a" * 32 + '" }, { value = "b", id = "' + "a" * 32 + '" }]\n',
     ["'versions[2].id' repeats the id of version 1"]),
    # stages
    (S + 'versions = [{ value = "a", stages = "AWSPENDING" }]\n',
     ["'versions[1].stages' must be an array of strings (e.g. [\"AWSPENDING\"]), not a string"]),
    (S + 'versions = [{ value = "a", stages = [1] }]\n', ["'versions[1].stages' holds an integer; stages are strings"]),
    (S + 'versions = [{ value = "a", stages = [] }]\n',
     ["'versions[1].stages' is empty; leave 'stages' out to make this version AWSCURRENT"]),
    (S + 'versions = [{ value = "a", stages = [' + ", ".join(f'"s{i}"' for i in range(21)) + "] }]\n",
     ["'versions[1].stages' has more than 20 stages"]),
    (S + 'versions = [{ value = "a", stages = [""] }]\n',
     ["'versions[1].stages' holds '': a stage is 1 to 256 characters"]),
    (S + 'versions = [{ value = "a" }, { value = "b", stages = ["AWSPREVIOUS"] }]\n',
     ["'versions[2].stages' holds AWSPREVIOUS, which Secrets Manager sets itself"]),
    (S + 'versions = [{ value = "a", stages = ["x", "x"] }]\n', ["'versions[1].stages' lists 'x' twice"]),
    (S + 'versions = [{ value = "a", stages = ["blue"] }, { value = "b", stages = ["blue"] }]\n',
     ["secret #1 (\"app/s\"): 'versions[2].stages' lists 'blue', already on version 1; a stage labels one version"]),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS, ids=[f"error{i}" for i in range(len(ERRORS))])
def test_refusal_message(text: str, expected: list[str]) -> None:
    message = error_of(text)
    assert message.startswith("seed.toml: ")
    for part in expected:
        assert part in message


INVALID_PARAMETER_NAMES = [
    ("", "it is empty"),
    ("/" + "a" * 1011, "it is longer than 1011 characters"),
    ("/app/db host", "it contains ' '; allowed: letters, digits and _ . - /"),
    ("/app/ключ", "it contains"),
    ("app/db", "a hierarchical name (one with '/') must start with '/'"),
    ("/app/db/", "it ends with '/'"),
    ("/app//db", "it has an empty level ('//')"),
    ("/" + "/".join("l" * 16), "it has more than 15 levels"),
    ("/aws/mine", "names starting with 'aws' or 'ssm' (any case) are reserved by AWS"),
    ("SSM-thing", "names starting with 'aws' or 'ssm' (any case) are reserved by AWS"),
]


@pytest.mark.parametrize(("name", "reason"), INVALID_PARAMETER_NAMES)
def test_invalid_parameter_names(name: str, reason: str) -> None:
    message = error_of(f'[[parameter]]\nname = {json.dumps(name)}\nvalue = "v"\n')
    assert f"'name' {name!r} is not a valid parameter name: {reason}" in message
    assert message.startswith("seed.toml: parameter #1")


@pytest.mark.parametrize("name", ["/a", "a", "/a/b.c/d-e/f_g", "/" + "/".join("l" * 15), "awkward", "/app/ssm"])
def test_valid_parameter_names(name: str) -> None:
    assert seed.parameter_name_problem(name) is None


@pytest.mark.parametrize(("name", "reason"), [
    ("", "it is empty"),
    ("s" * 513, "it is longer than 512 characters"),
    ("app/db key", "it contains ' '; allowed: letters, digits and / _ + = . @ -"),
    ("app#db", "it contains '#'"),
])
def test_invalid_secret_names(name: str, reason: str) -> None:
    message = error_of(f'[[secret]]\nname = {json.dumps(name)}\nvalue = "v"\n')
    assert f"'name' {name!r} is not a valid secret name: {reason}" in message


def test_valid_secret_name_with_every_allowed_symbol() -> None:
    assert parse('[[secret]]\nname = "a/b_c+d=e.f@g-h"\nvalue = "v"\n').secrets[0].name == "a/b_c+d=e.f@g-h"


def test_the_second_entry_is_named_by_position_and_name() -> None:
    message = error_of(P + 'value = "a"\n[[parameter]]\nname = "/app/y"\nvalue = 1\n')
    assert message.startswith("seed.toml: parameter #2 (\"/app/y\"): 'value'")


def test_every_problem_is_reported_in_one_run() -> None:
    with pytest.raises(SeedError) as caught:
        parse("""
paramter = 1

[[parameter]]
name = "/ok"
value = "fine"

[[parameter]]
name = "/a"
vlaue = "x"

[[parameter]]
name = "/b"
value = 5432

[[secret]]
name = "s"
value = "one"

[[secret]]
name = "s"
value = "two"
""")
    assert caught.value.problems == [
        "seed.toml: unknown top-level key 'paramter' (did you mean 'parameter'?); the file holds [[parameter]] "
        "and [[secret]] tables",
        "seed.toml: parameter #2 (\"/a\"): 'vlaue' is not a known key (did you mean 'value'?); allowed: name, type, "
        "value, versions, labels, description, kms_key_id",
        "seed.toml: parameter #3 (\"/b\"): 'value' must be a string, not an integer (quote it: value = \"5432\")",
        "seed.toml: secret #2 (\"s\"): 'name' duplicates secret #1; each secret appears once (use 'versions' for "
        "several values)",
    ]
    assert str(caught.value) == "\n".join(caught.value.problems)


def test_dev_prints_each_seed_problem_on_its_own_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from paramsecrets.dev import cli

    path = tmp_path / "two.toml"
    path.write_text('[[parameter]]\nname = "/a"\nvlaue = "x"\n\n[[secret]]\nvalue = "y"\n')
    assert cli.main(["--seed", str(path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert all(line.startswith(f"paramsecrets dev: seed error: {path}: ") for line in lines)
    assert "'vlaue' is not a known key (did you mean 'value'?)" in lines[0]
    assert "secret #1: 'name' is missing" in lines[1]
