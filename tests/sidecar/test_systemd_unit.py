"""examples/systemd/paramsecrets.service: `systemd-analyze verify` clean, hardened, and its
environment is one the server accepts (with the credential path standing in for systemd's)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "examples" / "systemd" / "paramsecrets.service"
EXEC = "/opt/paramsecrets/bin/paramsecrets"
HARDENING = ("DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
             "PrivateDevices=yes", "CapabilityBoundingSet=", "RestrictAddressFamilies=AF_INET AF_INET6",
             "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes", "ProtectKernelTunables=yes",
             "RestrictNamespaces=yes", "LockPersonality=yes", "UMask=0077")


def directives() -> list[tuple[str, str]]:
    out = []
    for line in UNIT.read_text().splitlines():
        if line.strip() and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.append((key.strip(), value.strip()))
    return out


def environment() -> dict[str, str]:
    env: dict[str, str] = {}
    for key, value in directives():
        if key == "Environment":
            env.update(dict(item.split("=", 1) for item in shlex.split(value)))
    return env


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed (make deps)")
def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    """verify checks that ExecStart's program exists: the copy points at this checkout's command,
    the one line that differs from the example."""
    text = UNIT.read_text()
    assert text.count(EXEC) == 1  # ExecStart
    command = Path(sys.executable).with_name("paramsecrets")
    assert command.exists()
    copy = tmp_path / "paramsecrets.service"
    copy.write_text(text.replace(f"ExecStart={EXEC}", f"ExecStart={command}"))
    done = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_it_is_hardened_and_stops_on_sigterm() -> None:
    lines = [f"{key}={value}" for key, value in directives()]
    for option in HARDENING:
        assert any(line.startswith(option) for line in lines), option
    assert "KillSignal=SIGTERM" in lines and "ExecStart=" + EXEC + " serve" in lines


def test_its_environment_starts_the_server(tmp_path: Path) -> None:
    """The token comes from the credential LoadCredential= hands over; with that path mapped to a
    real file, `config check` accepts the unit's environment."""
    credential = dict(value.split(":", 1) for key, value in directives() if key == "LoadCredential")
    env = environment()
    assert env["AWS_TOKEN"] == f"file:///run/credentials/paramsecrets.service/{next(iter(credential))}"
    token = tmp_path / "token"
    token.write_text("unit-test-token-0123456789\n")
    env.update(AWS_TOKEN=f"file://{token}", AWS_REGION="eu-west-1", PATH="/usr/bin:/bin", HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "paramsecrets", "config", "check"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"from AWS_TOKEN (file {token})" in done.stdout


def install_lines() -> list[str]:
    """The shell lines of the unit's install comment (as the README and docs/sidecar.md repeat them)."""
    lines = UNIT.read_text().split("[Unit]", 1)[0].splitlines()
    return [line[len("#   "):] for line in lines if line.startswith("#   ")]


def test_the_install_lines_work_on_a_host_without_etc_paramsecrets(tmp_path: Path) -> None:
    """Pasted in order on a fresh host, the lines that set up /etc/paramsecrets succeed: the folder is
    made before the token is written into it. (/etc is a temporary folder here; the venv and the
    systemctl lines are left out: they need the network and systemd.)"""
    etc = tmp_path / "etc"
    etc.mkdir()
    setup = [line.replace("/etc/", f"{etc}/") for line in install_lines() if "/etc/paramsecrets" in line
             and not line.startswith(("python3", "cp "))]
    assert any("token" in line for line in setup)
    done = subprocess.run(["bash", "-euc", "\n".join(setup)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, (setup, done.stderr)
    token = etc / "paramsecrets" / "token"
    assert oct(token.stat().st_mode & 0o777) == "0o600" and len(token.read_text().strip()) == 48
