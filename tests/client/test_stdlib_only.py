"""`paramsecrets.client` and the client commands need nothing but the standard library: proven
in a fresh venv (no pip, no site-packages) that sees only our source tree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from paramsecrets.testing.net import free_port

SRC = Path(__file__).resolve().parents[2] / "src"

PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
try:
    import awscrt  # noqa: F401
    third_party = True
except ImportError:
    third_party = False
from paramsecrets import client
from paramsecrets.client import cli as client_cli
from paramsecrets.client import Client, UnavailableError
try:
    Client(port=int(sys.argv[2]), token="t", retry_seconds=0).get_parameter("/x")
    outcome = "answered"
except UnavailableError as error:
    outcome = error.code
loaded = sorted(m for m in sys.modules if m.startswith("paramsecrets"))
print(json.dumps({"third_party": third_party, "outcome": outcome, "loaded": loaded,
                  "prefix": sys.prefix}))
"""


def test_client_imports_in_a_bare_venv(tmp_path: Path) -> None:
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    done = subprocess.run([str(python), "-c", PROBE, str(SRC), str(free_port())],
                          capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["prefix"] == str(venv)
    assert result["third_party"] is False  # the venv really has no dependencies
    assert result["outcome"] == "NotListening"
    assert result["loaded"] == ["paramsecrets", "paramsecrets.client", "paramsecrets.client.cli",
                                "paramsecrets.client.exit_codes"]

    command = subprocess.run([str(python), "-m", "paramsecrets.client.cli", "get-secret", "x"],
                             capture_output=True, text=True, timeout=30,
                             env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(SRC),
                                  "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(free_port()),
                                  "PARAMSECRETS_CLIENT_RETRY_SECONDS": "0"})
    assert command.returncode == 5, command.stderr
    assert "nothing is listening" in command.stderr
