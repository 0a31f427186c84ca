"""A layer built without running the layer's interpreter (`--build-python host`, what a macOS,
Windows or other-arch machine does) works, and with a CPython 3.11 compiling, equals the native
build byte for byte.

- Host build vs native build, both arches: the same zip (SHA-256); on a difference the test
  names the members that differ.
- The builder run by each other CPython here (3.12, 3.13), compiling with a 3.11: the same zip.
- The two tables a host build relies on (the interpreter's built-in and frozen modules) are the
  layer interpreter's own, asked of it here.
- With no CPython 3.11 (`--compiler none`) the layer ships sources: its server, run by the
  layer's own interpreter from a read-only copy with the import audit's finder, serves a
  parameter and a secret from moto and looks up no module the layer lacks; `--strict` refuses
  such a build.
- `auto` picks the host path where the layer's interpreter cannot run; `layer` there is refused.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.parse
import zipfile
from pathlib import Path

import pytest
from conftest import JSON_SECRET, MACHINE_ARCH, SECURE_PARAM, SESSION_TOKEN, Build

import paramsecrets
from paramsecrets.layer import build as layer
from paramsecrets.layer import host_python
from paramsecrets.layer import runtime as layer_runtime
from paramsecrets.layer import slim as layer_slim
from paramsecrets.layer.build import build_layer
from paramsecrets.layer.debian_fetch import DebianOptions
from paramsecrets.layer.lock import load as load_lock
from paramsecrets.layer.lock import sha256_of
from paramsecrets.testing.import_audit import Findings, audited_copy
from paramsecrets.testing.lambda_sandbox import BASE_PATH, http_get, unpack_layer, wait_for
from paramsecrets.testing.net import free_port

pytestmark = pytest.mark.timeout(900)

TOKEN = "host-build-token-0123456789abcdef"
TEST_BUILD = DebianOptions(allow_newer=True)


def _differing_members(first: Path, second: Path) -> list[str]:
    """Member names whose bytes differ (or that only one zip has), for the failure message."""
    with zipfile.ZipFile(first) as a, zipfile.ZipFile(second) as b:
        names = sorted(set(a.namelist()) | set(b.namelist()))
        return [n for n in names if n not in a.namelist() or n not in b.namelist() or a.read(n) != b.read(n)]


@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_host_build_equals_the_native_build(
    build: Build,
    arch: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compiler = host_python.find_compiler()
    if compiler is None:
        pytest.skip("no CPython 3.11 on this machine: a host build ships sources (see the test below)")
    native, _ = build(arch)
    monkeypatch.setenv(host_python.ENV_BUILD_PYTHON, "host")  # what a machine that cannot run it does
    lines: list[str] = []
    host = build_layer(arch, tmp_path / "host.zip", progress=lines.append, debian=TEST_BUILD)
    assert any("host build: the layer's interpreter is never run" in line for line in lines), lines
    assert not any("imported all" in line for line in lines)  # that check runs the layer's Python
    differing = _differing_members(native.path, host.path)
    assert host.sha256 == native.sha256 and not differing, (
        f"a host build with {host_python.describe(compiler)} differs from the native build in {differing}")


def test_any_python_311_or_newer_runs_the_host_build(
    build: Build,
    tmp_path: Path,
    pythons: list[tuple[str,
    str]],
) -> None:
    """The builder itself on each other CPython here (3.12, 3.13: modulefinder of that version over
    the layer's 3.11 sources), compiling with a 3.11: the same zip as the native build."""
    others = [(label, path) for label, path in pythons if label != "3.11"]
    compiler = host_python.find_compiler()
    if not others or compiler is None:
        pytest.skip("needs a CPython other than 3.11 to run the builder and a 3.11 to compile")
    native, _ = build(MACHINE_ARCH)
    source_root = Path(paramsecrets.__file__).resolve().parents[1]
    script = ("import sys; sys.path.insert(0, sys.argv.pop(1)); from paramsecrets.layer.build import main; "
              "raise SystemExit(main(sys.argv[1:]))")
    env = {**os.environ, "PARAMSECRETS_CACHE_DIR": str(layer.cache_dir()), "PARAMSECRETS_LAYER_ALLOW_NEWER": "1"}
    for label, python in others:
        out = tmp_path / f"layer-{label}.zip"
        proc = subprocess.run([python, "-I", "-c", script, str(source_root), "--build-python", "host",
                               "--compiler", compiler[0], "--arch", MACHINE_ARCH, "-o", str(out)],
                              capture_output=True, text=True, timeout=600, check=False, env=env)
        assert proc.returncode == 0, (label, proc.stderr[-2000:])
        assert sha256_of(out) == sha256_of(native.path), (  # digests: pytest would diff megabytes for minutes
            f"built by Python {label}: differs in {_differing_members(native.path, out)}")


def test_the_host_builds_tables_are_the_layer_interpreters(tmp_path: Path) -> None:
    """BUILTIN_MODULES and FROZEN_311 against the layer's own interpreter (this machine's arch)."""
    if not layer_runtime.runs_here():
        pytest.skip("the layer's interpreter cannot run on this machine")
    lock = load_lock()
    cache = layer.cache_dir()
    runtime, command = layer_runtime.host_runtime(lock, cache, lambda _line: None, TEST_BUILD)
    proc = subprocess.run([*command, "-I", "-S", "-c", "import sys; print(' '.join(sys.builtin_module_names))"],
                          capture_output=True, text=True, timeout=60, check=True)
    assert tuple(proc.stdout.split()) == host_python.BUILTIN_MODULES
    frozen = set(layer_slim.frozen_modules(runtime / layer_runtime.STDLIB, command))
    assert frozen - {"__phello__.spam"} == set(host_python.FROZEN_311) - layer_slim.LANDMARKS


def _serve(opt: Path, moto_endpoint: str, home: Path, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {"PATH": BASE_PATH, "HOME": str(home), "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
           "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
           "AWS_SESSION_TOKEN": SESSION_TOKEN, "AWS_ENDPOINT_URL": moto_endpoint, "AWS_TOKEN": TOKEN}
    proc = subprocess.Popen([str(opt / "bin" / "paramsecrets"), "serve", "--port", str(port)], env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(lambda: http_get(port, "/ping", TOKEN)[0] == 200, proc, log, timeout=120)
    return proc, port


def test_a_sources_layer_serves_from_moto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> None:
    """No CPython 3.11 to compile with: the layer ships .py files and still works on its own
    interpreter (which compiles them in memory: /opt is read-only)."""
    if not layer_runtime.runs_here() or MACHINE_ARCH != layer_runtime.HOST_ARCH:
        pytest.skip("the layer's interpreter cannot run on this machine")
    monkeypatch.setenv(host_python.ENV_BUILD_PYTHON, "host")
    monkeypatch.setenv(host_python.ENV_COMPILER, host_python.NO_COMPILER)
    lines: list[str] = []
    info = build_layer(MACHINE_ARCH, tmp_path / "sources.zip", progress=lines.append, debian=TEST_BUILD)
    assert any(line.startswith("  WARNING: no CPython 3.11") for line in lines), lines
    with zipfile.ZipFile(info.path) as archive:
        names = archive.namelist()
    assert not [n for n in names if n.endswith(".pyc")]
    assert "paramsecrets/lib/paramsecrets/cli.py" in names
    assert "paramsecrets/runtime/lib/python3.11/os.py" in names
    assert "paramsecrets/runtime/lib/python3.11/codecs.py" not in names  # frozen: pruned as in a native build

    opt = audited_copy(unpack_layer(info.path, tmp_path / "unpacked"), tmp_path / "opt")
    log = tmp_path / "serve.log"
    proc, port = _serve(opt, moto_endpoint, tmp_path, log)
    try:
        quoted = urllib.parse.quote(SECURE_PARAM[0], safe="")
        status, body = http_get(port, f"/systemsmanager/parameters/get?name={quoted}&withDecryption=true", TOKEN)
        assert status == 200 and json.loads(body)["Parameter"]["Value"] == SECURE_PARAM[1]
        status, body = http_get(port, f"/secretsmanager/get?secretId={urllib.parse.quote(JSON_SECRET[0], safe='')}",
                                TOKEN)
        assert status == 200 and json.loads(json.loads(body)["SecretString"]) == JSON_SECRET[1]
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, log.read_text(errors="replace")[-2000:]
    output = log.read_bytes()
    findings = Findings()
    findings.add(output)
    assert findings.reported(output), output[-2000:]
    assert not findings.unexpected(), f"the sources layer looked for modules it lacks: {findings.unexpected()}"
    assert SECURE_PARAM[1].encode() not in output  # no value in the log, compiled or not


def test_strict_refuses_a_sources_layer(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(host_python.ENV_COMPILER, host_python.NO_COMPILER)
    code = layer.main(["--build-python", "host", "--strict", "-o", str(tmp_path / "x.zip")])
    err = capsys.readouterr().err
    assert code == 2 and not (tmp_path / "x.zip").exists()
    assert "needs bytecode" in err and "python3.11" in err and "Traceback" not in err


def test_a_compiler_that_is_not_311_is_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    pythons: list[tuple[str,
    str]],
) -> None:
    other = next((path for label, path in pythons if label != "3.11"), None)
    if other is None:
        pytest.skip("no CPython other than 3.11 here")
    code = layer.main(["--build-python", "host", "--compiler", other, "-o", str(tmp_path / "x.zip")])
    err = capsys.readouterr().err
    assert code == 2 and "not CPython 3.11's" in err and "Traceback" not in err


def test_auto_builds_on_the_host_where_the_layer_cannot_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(layer_runtime, "runs_here", lambda: False)
    code = layer.main(["--build-python", "layer", "-o", str(tmp_path / "refused.zip")])
    assert code == 2 and "use --build-python host" in capsys.readouterr().err
    lines: list[str] = []
    info = build_layer(MACHINE_ARCH, tmp_path / "auto.zip", progress=lines.append, debian=TEST_BUILD)
    assert info.path.is_file()
    assert any("host build: the layer's interpreter is never run" in line for line in lines), lines
