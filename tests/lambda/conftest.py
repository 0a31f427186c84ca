"""Fixtures for the Lambda tests: the layer (built once per session), a seeded moto server,
runtime venvs and the RIE sandbox from paramsecrets.testing.lambda_sandbox."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from paramsecrets.layer.build import LayerInfo, build_layer
from paramsecrets.layer.debian_fetch import DebianOptions
from paramsecrets.testing.lambda_sandbox import (
    LambdaSandbox,
    close_sandboxes,
    find_pythons,
    make_read_only,
    sandbox_problem,
    unpack_layer,
)
from paramsecrets.testing.moto import start_moto
from paramsecrets.testing.net import free_port

HERE = Path(__file__).resolve().parent

FUNCTIONS = HERE / "functions"
MACHINE_ARCH = "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"

# What the seeded backend holds; tests compare against these.
STRING_PARAM = ("/paramsecrets-test/plain", "plain-value")
SECURE_PARAM = ("/paramsecrets-test/secure", "s3cr3t-secure-value")
JSON_SECRET: tuple[str, dict[str, Any]] = (
    "paramsecrets-test/db", {"username": "admin", "password": "hunter2", "port": 5432})
SESSION_TOKEN = "test-session-token-0123456789"

# The fixtures' types, for the tests' signatures.
Build = Callable[[str], tuple[LayerInfo, list[str]]]
MakeSandbox = Callable[..., LambdaSandbox]

# Where pytest_runtest_makereport keeps a test's call-phase report, for fixtures to read at teardown.
CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.fixture(scope="session")
def pythons() -> list[tuple[str, str]]:
    """(label, path) of every CPython 3.11+ on this machine: the Python runtimes to test."""
    return find_pythons()


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """build(arch) -> (LayerInfo, progress lines), built at most once per arch per session."""
    layer_builds: dict[str, tuple[LayerInfo, list[str]]] = {}

    def _build(arch: str) -> tuple[LayerInfo, list[str]]:
        if arch not in layer_builds:
            lines: list[str] = []
            out = tmp_path_factory.mktemp(f"layer-{arch}") / f"paramsecrets-layer-{arch}.zip"
            # A test build: if Debian withdrew a locked version, build with the newest (loudly).
            info = build_layer(arch, out, progress=lines.append, debian=DebianOptions(allow_newer=True))
            layer_builds[arch] = (info, lines)
        return layer_builds[arch]

    return _build


@pytest.fixture(scope="session")
def layer_dir(build: Build, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The layer for this machine, unpacked: what Lambda puts at /opt."""
    yield from _unpacked(build, MACHINE_ARCH, tmp_path_factory)


@pytest.fixture(scope="session")
def arm64_layer_dir(build: Build, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The arm64 layer, unpacked."""
    yield from _unpacked(build, "arm64", tmp_path_factory)


def _unpacked(build: Build, arch: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    info, _ = build(arch)
    dest = unpack_layer(info.path, tmp_path_factory.mktemp(f"opt-{arch}"))
    make_read_only(dest)  # as Lambda's /opt: nothing can cache bytecode there
    os.chmod(dest, 0o555)  # /opt itself too (mktemp made it 0700): Lambda's user is not root
    yield dest
    os.chmod(dest, 0o755)
    for root, dirs, _files in os.walk(dest):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)


@pytest.fixture(scope="session")
def sandbox_ok() -> None:
    """Skip (with the reason) where the RIE sandbox's namespaces cannot be made."""
    problem = sandbox_problem()
    if problem:
        pytest.skip(problem)


# ---------------------------------------------------------------- moto


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real moto server in its own process (its state is not shared with in-process mocks),
    seeded with a String and a SecureString parameter and a JSON secret."""
    server = start_moto(tmp_path_factory.mktemp("moto"))
    try:
        ssm = server.client("ssm")
        ssm.put_parameter(Name=STRING_PARAM[0], Value=STRING_PARAM[1], Type="String")
        ssm.put_parameter(Name=SECURE_PARAM[0], Value=SECURE_PARAM[1], Type="SecureString")
        server.client("secretsmanager").create_secret(Name=JSON_SECRET[0], SecretString=json.dumps(JSON_SECRET[1]))
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def lambda_env(moto_endpoint: str) -> dict[str, str]:
    """The environment RIE passes to the runtime and the extension: region, fake credentials with
    the session token the server checks, the moto endpoint, and a free port for the server (a
    fixed 2773 could collide with other work on this machine; the function reads the same
    variable, as AWS's examples do)."""
    return {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(free_port()),
        "PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL": "debug",
    }


@pytest.fixture
def make_sandbox(request: pytest.FixtureRequest, sandbox_ok: None) -> Iterator[MakeSandbox]:
    """make_sandbox(function, opt_dir, env, python=None) -> a started LambdaSandbox.

    Every sandbox made is stopped at teardown, even when the test fails, and its RIE log is
    printed for a failed test.
    """
    made: list[LambdaSandbox] = []

    def _make(function: str | Path, opt_dir: Path | None, env: dict[str, str], **kwargs: Any) -> LambdaSandbox:
        folder = FUNCTIONS / function if isinstance(function, str) else function
        box = LambdaSandbox(folder, opt_dir, env, **kwargs)
        made.append(box)
        return box.start()

    yield _make
    report = request.node.stash.get(CALL_REPORT, None)
    close_sandboxes(made, report is not None and report.failed)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep the call phase's report on the item, so fixtures can tell a failed test at teardown."""
    report = yield
    if report.when == "call":
        item.stash[CALL_REPORT] = report
    return report
