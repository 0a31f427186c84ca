"""Every command explains itself with --help, and README's commands table lists every command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from paramsecrets import cli

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "paramsecrets", *args], capture_output=True, text=True, timeout=60)


def test_serve_help_lists_its_options() -> None:
    done = run("serve", "--help")
    assert done.returncode == 0 and done.stderr == ""
    for option in ("--config FILE", "--port N", "--listen ADDRESS", "--log-level LEVEL", "--extension-name NAME"):
        assert option in done.stdout
    assert "SIGTERM" in done.stdout


def test_serve_usage_error_goes_to_stderr() -> None:
    done = run("serve", "--bogus")
    assert done.returncode == 2 and done.stdout == ""
    assert "unknown option '--bogus'" in done.stderr


@pytest.mark.parametrize(("group", "subcommand"), [("layer", "build"), ("layer", "lock"), ("layer", "publish"),
                                                  ("config", "check")])
def test_command_groups_answer_help_and_say_what_is_missing(group: str, subcommand: str) -> None:
    done = run(group, "--help")
    assert done.returncode == 0
    assert f" paramsecrets {group} {subcommand} [options]" in done.stdout and done.stdout.startswith("usage: ")
    assert f"\n  {subcommand} " in done.stdout  # listed with what it does
    bare = run(group)
    assert bare.returncode == 2 and "a subcommand is needed" in bare.stderr
    wrong = run(group, "nope")
    assert wrong.returncode == 2 and "unknown subcommand 'nope'" in wrong.stderr


@pytest.mark.parametrize("argv", [["layer", "build", "--help"], ["layer", "lock", "--help"],
                                  ["layer", "publish", "--help"], ["config", "check", "--help"], ["dev", "--help"],
                                  ["get-parameter", "--help"], ["get-secret", "--help"], ["version", "--help"]])
def test_every_subcommand_has_a_described_help(argv: list[str]) -> None:
    done = run(*argv)
    assert done.returncode == 0
    usage, _, rest = done.stdout.partition("\n\n")
    assert usage.startswith("usage: ") and rest.split("\n")[0].strip()  # a description after the usage


def readme_commands() -> str:
    text = (REPO / "README.md").read_text()
    return text[text.index("## Commands"):text.index("## Examples")]


def test_readme_commands_table_lists_every_command_and_client_option() -> None:
    table = readme_commands()
    commands = re.findall(r"^  (\S+(?: build| lock| check)?)\s{2,}", cli.USAGE, re.M)
    assert "layer lock" in commands
    assert "version" in commands and "serve" in commands
    for command in commands:
        assert f"`paramsecrets {command}" in table, command
    for option in ("--refresh", "--listen ADDRESS", "--json-field KEY", "--extension-name NAME"):
        assert option in table


def test_version_help_prints_help_not_the_version() -> None:
    done = run("version", "--help")
    assert done.returncode == 0 and done.stdout.startswith("usage: paramsecrets version")
    assert run("version").stdout.startswith("paramsecrets ")
    wrong = run("version", "--bogus")
    assert wrong.returncode == 2 and "unexpected argument '--bogus'" in wrong.stderr


def test_serve_help_documents_the_extension_name_and_the_top_help_layer_lock() -> None:
    serve = run("serve", "--help").stdout
    assert "--extension-name NAME" in serve and "Lambda" in serve.split("--extension-name NAME", 1)[1][:200]
    assert "layer lock" in run("--help").stdout and "layer lock" in run("layer", "--help").stdout
