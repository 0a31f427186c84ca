"""The launcher (extensions/paramsecrets) and the command (bin/paramsecrets), run for real: they
start the layer's own Python through the layer's own loader whatever the environment holds, and
never a Python of the function's, of PATH or of the current directory."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import paramsecrets

SHELLS = [s for s in ("dash", "bash", "busybox") if shutil.which(s)]
"""Lambda's /bin/sh is bash on Amazon Linux; Debian's is dash; busybox in the bare-root tests."""


def _decoy(folder: Path, name: str, marker: Path) -> Path:
    """A fake interpreter that leaves a marker if anything runs it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f'#!/bin/sh\necho "$0" >> {marker}\nexit 99\n')
    path.chmod(0o755)
    return path


def _run(shell: str, script: Path, args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which(shell) or shell  # resolved here: the child's PATH is the one under test
    cmd = [exe, "sh", str(script), *args] if shell == "busybox" else [exe, str(script), *args]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def _hostile_environment(tmp_path: Path, shell: str) -> tuple[dict[str, str], Path]:
    """Pythons everywhere a search could look (PATH, an empty PATH element meaning the current
    directory, PARAMSECRETS_PYTHON, PYTHONHOME/PYTHONPATH) and, for the static busybox shell
    (a dynamic shell would load them itself), a bogus libc on LD_LIBRARY_PATH and a missing
    LD_PRELOAD library: none of it may be used."""
    marker = tmp_path / "decoys-run"
    cwd = tmp_path / "cwd"
    for name in ("python3", "python3.11", "python3.12", "python3.13"):
        _decoy(tmp_path / "bin", name, marker)
        _decoy(cwd, name, marker)
    bogus = tmp_path / "libs"
    bogus.mkdir()
    (bogus / "libc.so.6").write_bytes(b"not a library")
    env = {
        "PATH": f":{tmp_path / 'bin'}:/usr/bin:/bin",
        "PARAMSECRETS_PYTHON": str(tmp_path / "bin" / "python3.12"),
        "PYTHONHOME": str(tmp_path), "PYTHONPATH": str(cwd),
    }
    if shell == "busybox":
        env.update({"LD_LIBRARY_PATH": str(bogus), "LD_PRELOAD": str(bogus / "missing.so")})
    return env, marker


@pytest.mark.parametrize("shell", SHELLS)
def test_launcher_starts_the_bundled_python_only(shell: str, layer_dir: Path, tmp_path: Path) -> None:
    env, marker = _hostile_environment(tmp_path, shell)
    proc = _run(shell, layer_dir / "extensions" / "paramsecrets", ["--help"], env, tmp_path / "cwd")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: paramsecrets serve"), proc.stdout  # boot's own help, on stdout
    assert not marker.exists(), f"a decoy Python ran: {marker.read_text()}"
    assert "ld.so" not in proc.stderr, proc.stderr  # LD_PRELOAD was dropped before the loader ran


@pytest.mark.parametrize("shell", SHELLS)
def test_command_runs_on_the_bundled_python(shell: str, layer_dir: Path, tmp_path: Path) -> None:
    env, marker = _hostile_environment(tmp_path, shell)
    proc = _run(shell, layer_dir / "bin" / "paramsecrets", ["version"], env, tmp_path / "cwd")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"paramsecrets {paramsecrets.__version__}"
    assert lines[2].startswith("python 3.11.2 (Debian python3.11-minimal "), "the layer's own Python answers"
    assert not marker.exists()


def test_command_with_a_bare_environment(layer_dir: Path, tmp_path: Path) -> None:
    """Run directly (no shell in between) with only PATH set: the client's own help comes back."""
    script = layer_dir / "bin" / "paramsecrets"
    proc = subprocess.run([str(script), "get-parameter", "--help"], env={"PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "usage: paramsecrets get-parameter" in proc.stdout, proc.stderr


def test_builder_commands_are_refused_inside_the_layer(layer_dir: Path) -> None:
    proc = subprocess.run([str(layer_dir / "bin" / "paramsecrets"), "layer", "build"],
                          env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "`layer` is not available inside the Lambda layer" in proc.stderr
