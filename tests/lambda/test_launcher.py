"""The launcher (extensions/paramsecrets) and run.py, run for real with stand-in interpreters:
which Python is chosen, the flags and extension name it passes, and the errors when none fits."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

SHELLS = [s for s in ("dash", "bash", "busybox") if shutil.which(s)]
"""Lambda's /bin/sh is bash on Amazon Linux; Debian's is dash. Both must run the launcher."""


def _stub(folder: Path, name: str) -> Path:
    """A fake interpreter that prints how it was called."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text('#!/bin/sh\necho "$0|$*"\n')
    path.chmod(0o755)
    return path


def _run(shell: str, launcher: Path, path: str, extra_env: dict[str, str] | None = None):
    exe = shutil.which(shell) or shell  # resolved here: the child's PATH is the one under test
    cmd = [exe, "sh", str(launcher)] if shell == "busybox" else [exe, str(launcher)]
    env = {"PATH": path, **(extra_env or {})}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)


@pytest.fixture
def launcher(layer_dir: Path) -> Path:
    return layer_dir / "extensions" / "paramsecrets"


@pytest.mark.parametrize("shell", SHELLS)
def test_prefers_versioned_names_over_python3(shell: str, launcher: Path, tmp_path: Path) -> None:
    _stub(tmp_path / "a", "python3")
    chosen = _stub(tmp_path / "b", "python3.12")
    _stub(tmp_path / "b", "python3.11")
    proc = _run(shell, launcher, f"{tmp_path / 'a'}:{tmp_path / 'b'}:/usr/bin:/bin")
    assert proc.returncode == 0, proc.stderr
    exe, args = proc.stdout.strip().split("|")
    assert exe == str(chosen)
    run_py = f"{launcher.parent}/../paramsecrets/run.py"
    assert args == f"-I -S {run_py} --extension-name paramsecrets"


@pytest.mark.parametrize("shell", SHELLS)
def test_paramsecrets_python_wins(shell: str, launcher: Path, tmp_path: Path) -> None:
    _stub(tmp_path / "a", "python3.13")
    forced = _stub(tmp_path / "forced", "mypython")
    proc = _run(shell, launcher, f"{tmp_path / 'a'}:/usr/bin:/bin", {"PARAMSECRETS_PYTHON": str(forced)})
    assert proc.stdout.split("|")[0] == str(forced)


def test_falls_back_to_python3_and_names_itself_after_its_file(launcher: Path, tmp_path: Path) -> None:
    """The extension name is the file name, whatever it is (Lambda refuses a mismatch)."""
    renamed = tmp_path / "opt" / "extensions" / "my-cache"
    renamed.parent.mkdir(parents=True)
    shutil.copy2(launcher, renamed)
    only = _stub(tmp_path / "bin", "python3")
    proc = _run("/bin/sh", renamed, str(tmp_path / "bin"))
    exe, args = proc.stdout.strip().split("|")
    assert exe == str(only) and args.endswith("--extension-name my-cache")


def test_no_python_at_all(launcher: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    proc = subprocess.run(
        ["/bin/sh", str(launcher)], env={"PATH": str(tmp_path / "empty")}, capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert proc.stdout.startswith("[paramsecrets] ") and "ERROR no Python 3.11+ found" in proc.stdout


def _old_python() -> str | None:
    """Any CPython older than 3.11 on this machine (pyenv keeps some), to run run.py with."""
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates = sorted(glob.glob(os.path.join(pyenv, "versions", "3.*", "bin", "python3.[0-9]")))
    candidates += sorted(glob.glob(os.path.join(pyenv, "versions", "3.*", "bin", "python3.1[0]")))
    candidates += [p for p in (shutil.which(f"python3.{m}") for m in range(6, 11)) if p]
    for path in candidates:
        proc = subprocess.run(
            [path, "-c", "import sys; print(sys.version_info >= (3, 11))"], capture_output=True, text=True
        )
        if proc.stdout.strip() == "False":
            return path
    return None


def test_run_py_on_an_old_python_says_so(layer_dir: Path) -> None:
    old = _old_python()
    if old is None:
        pytest.skip("no Python older than 3.11 on this machine to try run.py with")
    proc = subprocess.run(
        [old, "-I", "-S", str(layer_dir / "paramsecrets" / "run.py"), "--extension-name", "paramsecrets"],
        capture_output=True, text=True, timeout=30,
    )
    assert proc.returncode == 1
    assert "ERROR no Python 3.11+ found" in proc.stdout and "PARAMSECRETS_PYTHON" in proc.stdout
    assert "Traceback" not in proc.stderr
