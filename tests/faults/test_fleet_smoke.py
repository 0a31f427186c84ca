"""bench/fleet.py runs end to end (3 servers, 3 s, 5 parameters) and counts what really happened.

The full fleet (50 servers, 60 s) is a benchmark, run by hand; this only keeps the script honest.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from paramsecrets.testing.moto import MotoServer

FLEET = Path(__file__).resolve().parents[2] / "bench" / "fleet.py"


@pytest.mark.timeout(60)
def test_fleet_quick_run(moto: MotoServer, tmp_path: Path) -> None:
    out = tmp_path / "fleet.json"
    done = subprocess.run([sys.executable, str(FLEET), "--quick", "--moto", moto.url, "--json", str(out)],
                          capture_output=True, text=True, timeout=50)
    assert done.returncode == 0, done.stderr
    run = json.loads(out.read_text())
    results = {r["mode"]: r for r in run["results"]}
    assert set(results) == {"aws", "ours"}
    servers, parameters, seconds = 3, 5, 3
    for result in results.values():
        assert result["reads"] == servers * parameters * seconds
        assert result["errors"] == 0, result["error_kinds"]  # 15 calls stay inside a bucket of 40
        assert result["throttled"] == 0
        reported = sum(v for k, v in result["server_metrics"].items()
                       if k.startswith("paramsecrets_upstream_calls_total"))
        assert reported == result["upstream_calls"]  # the servers' /metrics agree with the proxy
    aws, ours = results["aws"], results["ours"]
    assert aws["by_operation"] == {"GetParameter": servers * parameters}  # one miss per name and server
    assert ours["by_operation"] == {"GetParameters": servers}  # one prefetch call per server
    assert ours["states"].get("miss", 0) <= servers  # at most each function's first read waited
    assert ours["server_metrics"]["paramsecrets_prefetched_total"] == servers * parameters
    assert "| aws (TTL 300 s) |" in done.stdout and "| ours (TTL 300 s) |" in done.stdout
