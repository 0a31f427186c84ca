"""`paramsecrets dev` without moto: the banner, the environment it sets, and the early refusals."""

from __future__ import annotations

import os
import shlex
import socket
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from paramsecrets.dev import backend, cli, seed

SEED = seed.parse("""
[[parameter]]
name = "/svc/db/host"
value = "host-value-1"

[[parameter]]
name = "/svc/db/port"
value = "5432"

[[parameter]]
name = "/svc/pw"
type = "SecureString"
value = "param-secret-value"

[[parameter]]
name = "/svc/cfg"
versions = ["a", "b", "c"]
labels = { prod = 2 }

[[secret]]
name = "svc/plain+x@y=z"
value = "secret-text-value"

[[secret]]
name = "svc/json"
value = { password = "json-secret-value" }

[[secret]]
name = "svc/key"
versions = [{ value = "old-key-value" }, { value = "new-key-value" }]
""", "/tmp/seed.toml")
VALUES = ("host-value-1", "param-secret-value", "secret-text-value", "json-secret-value", "old-key-value",
          "new-key-value")


def commands(port: int = 2773, token: str = "tok") -> dict[str, list[str]]:
    """Title -> the curl line's argv, as a shell would split it."""
    return {title: shlex.split(line) for title, line in cli.curl_lines(SEED, port, token)}


def query(argv: list[str]) -> tuple[str, dict[str, list[str]]]:
    url = urlsplit(argv[-1])
    assert (url.scheme, url.hostname) == ("http", "127.0.0.1")
    return url.path, parse_qs(url.query, keep_blank_values=True)


def test_curl_lines_cover_each_kind_with_encoded_names() -> None:
    lines = commands(port=4000)
    assert list(lines) == ["a String parameter", "a SecureString, decrypted", "an older version of a parameter",
                           "a parameter by label (prod)", "several parameters at once", "every parameter under /svc",
                           "a secret", "the previous version of a secret"]
    for argv in lines.values():
        assert argv[:4] == ["curl", "-sS", "-H", "X-Aws-Parameters-Secrets-Token: tok"]
        assert argv[-1].startswith("http://127.0.0.1:4000/")
        assert "/" not in urlsplit(argv[-1]).query  # every name percent-encoded, '/' included
    assert query(lines["a String parameter"]) == ("/systemsmanager/parameters/get", {"name": ["/svc/db/host"]})
    assert query(lines["a SecureString, decrypted"])[1] == {"name": ["/svc/pw"], "withDecryption": ["true"]}
    assert query(lines["an older version of a parameter"])[1] == {"name": ["/svc/cfg"], "version": ["2"]}
    assert query(lines["a parameter by label (prod)"])[1] == {"name": ["/svc/cfg"], "label": ["prod"]}
    assert query(lines["several parameters at once"]) == (
        "/systemsmanager/parameters/get-many", {"name": ["/svc/db/host", "/svc/db/port", "/svc/cfg"]})
    assert query(lines["every parameter under /svc"]) == (
        "/systemsmanager/parameters/get-by-path", {"path": ["/svc"], "withDecryption": ["true"]})
    assert query(lines["a secret"])[1] == {"secretId": ["svc/json"]}  # a JSON secret is shown first
    assert query(lines["the previous version of a secret"])[1] == {"secretId": ["svc/key"],
                                                                   "versionStage": ["AWSPREVIOUS"]}


def test_plus_in_a_name_is_encoded_so_the_server_does_not_read_a_space() -> None:
    only = seed.parse('[[secret]]\nname = "a+b=c@d"\nvalue = "v"\n', "s.toml")
    [(_title, line)] = cli.curl_lines(only, 2773, "tok")
    assert line.endswith("/secretsmanager/get?secretId=a%2Bb%3Dc%40d'")


def test_a_token_with_shell_characters_survives_the_paste() -> None:
    token = "it's$HOME`x`"
    for _title, line in cli.curl_lines(SEED, 2773, token):
        assert shlex.split(line)[3] == f"X-Aws-Parameters-Secrets-Token: {token}"
    text = cli.banner(SEED, "http://127.0.0.1:1", "5.x", 2773, token, "AWS_TOKEN")
    export = next(line for line in text.splitlines() if "export AWS_TOKEN=" in line)
    assert shlex.split(export.strip()) == ["export", f"AWS_TOKEN={token}"]


def test_an_empty_seed_prints_no_curl_lines() -> None:
    assert cli.curl_lines(seed.Seed("e.toml"), 2773, "t") == []
    text = cli.banner(seed.Seed("e.toml"), "http://127.0.0.1:1", "5.x", 2773, "t", "AWS_TOKEN")
    assert "0 parameters" in text and "0 secrets" in text and "curl" not in text


def test_banner_lists_names_and_kinds_never_values() -> None:
    text = cli.banner(SEED, "http://127.0.0.1:5555", "5.2.5", 2900, "tok-123", "AWS_TOKEN")
    for value in VALUES:
        assert value not in text
    assert "server   http://127.0.0.1:2900" in text
    assert "token    tok-123" in text
    assert "backend  http://127.0.0.1:5555   (moto 5.2.5, region us-east-1" in text
    assert "seed     /tmp/seed.toml" in text
    assert "4 parameters" in text and "3 secrets" in text
    rows = {line.split()[0]: " ".join(line.split()[1:]) for line in text.splitlines() if line.startswith("    /svc")
            or line.startswith("    svc/")}
    assert rows == {"/svc/db/host": "String", "/svc/db/port": "String", "/svc/pw": "SecureString",
                    "/svc/cfg": "String, 3 versions, labels prod=2", "svc/plain+x@y=z": "string",
                    "svc/json": "JSON", "svc/key": "string, 2 versions: AWSPREVIOUS=1 AWSCURRENT=2"}
    assert "export PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=2900" in text  # the client's port, when not 2773
    assert "paramsecrets get-parameter /svc/db/host" in text


def test_banner_lists_at_most_twenty_of_a_kind() -> None:
    many = seed.parse("".join(f'[[parameter]]\nname = "/p{i:02}"\nvalue = "v"\n' for i in range(25)), "m.toml")
    text = cli.banner(many, "http://127.0.0.1:1", "5.x", 2773, "t", "AWS_TOKEN")
    assert "/p19" in text and "/p20" not in text and "... and 5 more" in text


def test_environment_points_aws_at_the_backend_and_leaves_extension_settings_alone() -> None:
    user = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "AWS_SESSION_TOKEN": "real-session",
            "AWS_PROFILE": "prod", "AWS_ENDPOINT_URL_SSM": "https://ssm.example", "NO_PROXY": "corp.example",
            "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE": "5"}
    changes = backend.environment(user, "http://127.0.0.1:7777", "AWS_TOKEN", "tok")
    for name in ("AWS_LAMBDA_RUNTIME_API", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        assert changes[name] is None
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
        assert changes[name] == "http://127.0.0.1:7777"
    assert changes["AWS_TOKEN"] == "tok"
    assert changes["AWS_REGION"] == "us-east-1"
    assert changes["NO_PROXY"] == "corp.example,127.0.0.1,localhost,::1"
    assert changes["no_proxy"] == "127.0.0.1,localhost,::1"
    assert not any(name.startswith("PARAMETERS_SECRETS_EXTENSION_") for name in changes)


def test_environment_puts_the_token_in_the_first_configured_variable() -> None:
    changes = backend.environment({}, "http://127.0.0.1:1", "AWS_SESSION_TOKEN", "tok")
    assert changes["AWS_SESSION_TOKEN"] == "tok"  # not removed: it is where the server looks first


def test_apply_environment_sets_and_removes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PS_DEV_TEST_GONE", "x")
    monkeypatch.delenv("PS_DEV_TEST_NEW", raising=False)
    backend.apply_environment({"PS_DEV_TEST_GONE": None, "PS_DEV_TEST_NEW": "y"})
    assert "PS_DEV_TEST_GONE" not in os.environ
    assert os.environ["PS_DEV_TEST_NEW"] == "y"
    monkeypatch.delenv("PS_DEV_TEST_NEW")


def test_missing_moto_is_found_without_importing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    assert backend.missing_problem() is None  # the test environment has moto
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "botocore" else object())
    assert backend.missing_problem() == ("the embedded AWS backend needs moto, which is not installed.\n"
                                         "Install it with: pip install 'moto[server,ssm,secretsmanager]>=5.1,<6'")


@pytest.mark.parametrize(("token", "problem"), [
    ("", "--token is empty"),
    ("a b", "--token must be printable ASCII without spaces (it travels in an HTTP header)"),
    ("tök", "--token must be printable ASCII without spaces (it travels in an HTTP header)"),
    ("file:///etc/token", "--token takes the token itself, not a file:// reference"),
])
def test_token_problems(token: str, problem: str) -> None:
    assert cli.token_problem(token) == problem


def test_token_ok() -> None:
    assert cli.token_problem("aZ0-_.~!$'-long-enough") is None
    assert "at least 16 characters" in (cli.token_problem("aZ0-_.~!$'") or "")


# --- early refusals, in process: they all happen before moto is imported --------------------------

@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PARAMETERS_SECRETS_EXTENSION_") or name in ("SSM_PARAMETER_STORE_TTL",
                                                                         "SECRETS_MANAGER_TTL"):
            monkeypatch.delenv(name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_seed_error_exits_2_naming_file_entry_and_key(clean_env: None, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[parameter]]\nname = "/a"\nvalue = "v"\ndescripton = "typo"\n')
    assert cli.main(["--seed", str(bad), "--port", str(free_port())]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"paramsecrets dev: seed error: {bad}: parameter #1 (\"/a\"): 'descripton' is not a known key "
                   "(did you mean 'description'?); allowed: name, type, value, versions, labels, description, "
                   "kms_key_id\n")


def test_missing_seed_file(clean_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--seed", str(tmp_path / "none.toml")]) == 2
    assert "none.toml: cannot read the seed file: No such file or directory" in capsys.readouterr().err


def test_busy_port_is_reported_before_moto_starts(clean_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        assert cli.main(["--port", str(port), "--token", "t" * 16]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # not even the progress line: nothing was started
    assert err.startswith(f"paramsecrets dev: cannot listen on 127.0.0.1:{port}: Address already in use.\n")
    assert "Pick a free port with --port N (with make: make dev PORT=N)." in err


def test_busy_port_from_the_environment_says_where_it_came_from(clean_env: None, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(sock.getsockname()[1]))
        assert cli.main(["--token", "t" * 16]) == 2
    assert "(from PARAMETERS_SECRETS_EXTENSION_HTTP_PORT)." in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["--port", "0"], "paramsecrets dev: configuration error: --port '0' is invalid: expected an integer from 1 "
                      "to 65535"),
    (["--log-level", "loud"], "paramsecrets dev: configuration error: --log-level 'loud' is invalid"),
    (["--token", "a b"], "paramsecrets dev: --token must be printable ASCII"),
])
def test_bad_options_exit_2(clean_env: None, args: list[str], message: str,
                            capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(args) == 2
    assert capsys.readouterr().err.startswith(message)


def test_bad_extension_setting_in_the_environment(clean_env: None, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "lots")
    assert cli.main(["--port", str(free_port())]) == 2
    assert "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE='lots' is invalid" in capsys.readouterr().err


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["--sead", "x.toml"])
    assert caught.value.code == 2
    assert "unrecognized arguments: --sead" in capsys.readouterr().err


def test_banner_client_lines_use_the_given_command() -> None:
    text = cli.banner(SEED, "http://127.0.0.1:1", "5.x", 2773, "t", "AWS_TOKEN", command=".venv/bin/paramsecrets")
    assert "    .venv/bin/paramsecrets get-parameter /svc/db/host" in text
    assert "    .venv/bin/paramsecrets get-secret " in text


def test_client_command_names_what_the_shell_can_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Far from tmp_path (a relative path would be longer): paths are shown whole. A checkout under
    # /tmp, next to pytest's tmp_path, would otherwise see them relative.
    monkeypatch.chdir(Path(os.sep, "usr", "bin"))
    venv_bin = tmp_path / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    python = venv_bin / "python"
    python.write_text("")
    assert cli.client_command({"PATH": "/usr/bin"}, str(python)) == f"{python} -m paramsecrets"  # no script
    script = venv_bin / "paramsecrets"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert cli.client_command({"PATH": "/usr/bin"}, str(python)) == str(script)  # not on PATH: its path
    assert cli.client_command({"PATH": f"/usr/bin:{venv_bin}"}, str(python)) == "paramsecrets"
    other = tmp_path / "other"
    other.mkdir()
    (other / "paramsecrets").write_text("#!/bin/sh\n")
    (other / "paramsecrets").chmod(0o755)
    assert cli.client_command({"PATH": f"{other}:{venv_bin}"}, str(python)) == str(script)  # another install first
    monkeypatch.chdir(tmp_path)  # nearby: relative to the working directory, which is shorter
    assert cli.client_command({"PATH": "/usr/bin"}, str(python)) == os.path.join("venv", "bin", "paramsecrets")


def test_banner_says_which_credentials_an_sdk_signs_with() -> None:
    from paramsecrets.dev.backend import ACCESS_KEY_ID, SECRET_ACCESS_KEY

    text = cli.banner(SEED, "http://127.0.0.1:5555", "5.2.5", 2900, "tok-123", "AWS_TOKEN")
    exports = [shlex.split(line.strip().split(";")[0]) for line in text.splitlines()
               if line.startswith("    export AWS_") and "AWS_TOKEN" not in line]
    assigned = dict(part.split("=", 1) for words in exports for part in words[1:])
    assert assigned == {"AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:2900",
                        "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:2900",
                        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}
    assert "unset AWS_SESSION_TOKEN AWS_PROFILE" in text
    assert "aws ssm get-parameter --name /svc/db/host" in text
