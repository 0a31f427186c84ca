"""What the extension imports before Lambda's `next` is on every cold start's path.

`boot` and the modules it uses to validate the configuration (config, tokens, aws.settings and what
they import, listen, lambda_ext, log) must stay on the interpreter's start-up modules: importing
`collections`, `re`, `typing`, `dataclasses`, `ipaddress` or `asyncio` costs milliseconds of CPU
that a 128 MB function, with a fraction of a core, pays many times over (docs/performance.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
HEAVY = ("collections", "re", "typing", "dataclasses", "ipaddress", "asyncio", "json", "enum", "socket",
         "urllib", "email", "http", "tomllib", "inspect", "functools")

PROBE = f"""
import sys
sys.path.insert(0, {str(SRC)!r})
import paramsecrets.process.boot, paramsecrets.process.lambda_ext, paramsecrets.config, paramsecrets.api.tokens
import paramsecrets.aws.settings, paramsecrets.process.listen, paramsecrets.log
if sys.argv[1:] == ["validate"]:  # what boot runs before `next`, in a typical Lambda environment
    import os
    settings = paramsecrets.config.load(os.environ, {{}}, None)
    paramsecrets.api.tokens.resolve(settings.token_env, os.environ)
    paramsecrets.aws.settings.resolve_aws(os.environ, settings.http_port)
print(" ".join(sorted(sys.modules)))
"""
LAMBDA_ENV = {"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
              "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
              "AWS_SESSION_TOKEN": "a-session-token-of-some-length", "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}


def loaded_modules(*args: str, env: dict[str, str] | None = None) -> set[str]:
    return set(subprocess.run([sys.executable, "-I", "-S", "-c", PROBE, *args], check=True, capture_output=True,
                              text=True, env=env).stdout.split())


def test_nothing_heavy_is_imported_before_next() -> None:
    loaded = loaded_modules()
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize("extra", [
    {},
    {"AWS_ENDPOINT_URL": "http://localhost:2773"},  # the SDK protocol's setting: points back at us
    {"AWS_ENDPOINT_URL_SSM": "https://ssm.example.internal:8443/x"},
], ids=["plain", "sdk-protocol-endpoint", "endpoint-override"])
def test_validating_a_lambda_configuration_imports_nothing_heavy(tmp_path: Path, extra: dict[str, str]) -> None:
    """Lambda has no ~/.aws/config: the profile reader must not load configparser (and re) for nothing,
    and an endpoint URL is read without urllib.parse."""
    loaded = loaded_modules("validate", env={**LAMBDA_ENV, "HOME": str(tmp_path), **extra})
    assert not loaded & {*HEAVY, "configparser"}, sorted(loaded & {*HEAVY, "configparser"})


def test_an_aws_config_file_is_still_read(tmp_path: Path) -> None:
    """The check above is not vacuous: with a config file present, the profile reader does load it."""
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "config").write_text("[default]\nregion = eu-west-1\n")
    loaded = loaded_modules("validate", env={**LAMBDA_ENV, "HOME": str(tmp_path)})
    assert "configparser" in loaded
