"""bench/fleet_sim.py runs (200 environments, 10 simulated minutes, a rotation at 400 s) and its
counts hold together. The 10,000-environment hour is a benchmark, run by hand (docs/fleet.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FLEET_SIM = Path(__file__).resolve().parents[2] / "bench" / "fleet_sim.py"


@pytest.mark.timeout(300)
def test_fleet_sim_quick_run(tmp_path: Path) -> None:
    out = tmp_path / "fleet_sim.json"
    done = subprocess.run([sys.executable, str(FLEET_SIM), "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr
    results = {result["mode"]: result for result in json.loads(out.read_text())["results"]}
    aws, ours = results["aws"], results["ours"]
    for result in (aws, ours):
        assert result["envs"] == 200 and not result["throttled"]  # 200 environments stay inside every quota
        assert all(window["failed"] == 0 for window in result["windows"].values())
        assert sum(window["reads"] for window in result["windows"].values()) > 0
    # Ours: one GetParameters per environment start instead of three GetParameter.
    assert ours["calls"].get("GetParameter", 0) == 0 and ours["calls"]["GetParameters"] >= 200
    assert aws["calls"]["GetParameter"] >= 3 * 200 and "GetParameters" not in aws["calls"]
    assert "DescribeSecret" not in aws["calls"] and ours["calls"]["DescribeSecret"] > 0
    # The rotation at 400 s: ours never answers the old value a minute later; the AWS layer's
    # behaviour keeps it for up to its TTL (300 s), past the end of this run.
    assert ours["old_reads_after_60s"] == 0 and ours["rotation_lag_max"] is not None
    assert aws["old_reads_after_60s"] > 0
