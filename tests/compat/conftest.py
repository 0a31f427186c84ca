"""Real clients, unchanged, against a default server: seed data and the Go toolchain.

Go programs are built at test time with Debian's golang-go, offline (GOPROXY=off, GOPATH mode),
with their caches under the repository's ignored .cache/go/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from paramsecrets.testing.moto import MotoServer

REPO = Path(__file__).resolve().parents[2]
CLIENTS = Path(__file__).resolve().parent / "clients"
GO = shutil.which("go")
GO_CACHE = REPO / ".cache" / "go"
DEBIAN_GOPATH = "/usr/share/gocode"  # Debian's Go library packages (golang-github-aws-smithy-go-dev)
HTML_VALUE = "<b>&'x'</b>"


def go_build(name: str, output_dir: Path) -> Path:
    """Build tests/compat/clients/<name> (a main package) into output_dir; the binary's path."""
    if GO is None:
        pytest.skip("go is not installed (Debian: golang-go; `make deps` installs it)")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(GO_CACHE),
           "GOCACHE": str(GO_CACHE / "build"), "GOPATH": f"{GO_CACHE / 'path'}{os.pathsep}{DEBIAN_GOPATH}",
           "GO111MODULE": "off", "GOPROXY": "off", "GOFLAGS": "", "CGO_ENABLED": "0"}
    binary = output_dir / name
    built = subprocess.run([GO, "build", "-o", str(binary), "."], cwd=CLIENTS / name, env=env,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    return binary


@pytest.fixture
def compat_seeded(moto: MotoServer) -> MotoServer:
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/compat/plain", Value="plain-value", Type="String")
    ssm.put_parameter(Name="/compat/html", Value=HTML_VALUE, Type="String")
    ssm.put_parameter(Name="/compat/secure", Value="secure-value", Type="SecureString")
    sm = moto.client("secretsmanager")
    sm.create_secret(Name="compat/db", SecretString='{"username":"admin","password":"pa55"}')
    sm.create_secret(Name="compat/blob", SecretBinary=bytes(range(256)))
    return moto
