"""The layer's exec wrapper (/opt/paramsecrets/exec-wrapper) run for real: it starts the layer's own
Python, runs its arguments as the command in its place, and hands the command the environment the
function had (the launcher's own LD_PRELOAD and LC_ALL changes undone, its markers gone)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SHOW = 'printf "%s|%s|%s|%s" "${LD_PRELOAD-unset}" "${LC_ALL-unset}" "${_PARAMSECRETS_LAUNCHER-none}" "$$"'
PRELOAD = next((p for p in ("/lib/x86_64-linux-gnu/libm.so.6", "/lib/aarch64-linux-gnu/libm.so.6",
                            "/lib64/libm.so.6") if os.path.exists(p)), None)


def _wrapper(layer_dir: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([str(layer_dir / "paramsecrets" / "exec-wrapper"), "/bin/sh", "-c", SHOW],
                            env={"PATH": "/usr/bin:/bin", **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.mark.skipif(PRELOAD is None, reason="needs a libm to preload")
def test_the_command_gets_the_functions_own_environment(layer_dir: Path) -> None:
    assert PRELOAD is not None
    proc = _wrapper(layer_dir, {"LD_PRELOAD": PRELOAD, "LC_ALL": "POSIX"})
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out == f"{PRELOAD}|POSIX|none|{proc.pid}", "same pid, LD_PRELOAD and LC_ALL as they were"


def test_unset_variables_stay_unset(layer_dir: Path) -> None:
    proc = _wrapper(layer_dir, {})
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out == f"unset|unset|none|{proc.pid}"


def test_a_bad_mapping_stops_the_runtime_with_a_usage_error(layer_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    done = subprocess.run([str(layer_dir / "paramsecrets" / "exec-wrapper"), "/bin/sh", "-c", f"touch {marker}"],
                          env={"PATH": "/usr/bin:/bin", "PARAMSECRETS_ENV_DB": "ssm:/a:0"}, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "paramsecrets exec: error: PARAMSECRETS_ENV_DB: REF 'ssm:/a:0': version '0' is not a positive whole number"]
    assert not marker.exists()
