"""Run a command in a private network namespace (root + `unshare`), so a test can listen on a
non-loopback address without putting anything on this machine's real networks.

Inside, `lo` is up and also carries PRIVATE_ADDRESS, an address outside 127.0.0.0/8 that the
server treats as "the network", reachable only from inside the namespace.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

PRIVATE_ADDRESS = "10.200.0.1"
SETUP = f"ip link set lo up && ip addr add {PRIVATE_ADDRESS}/32 dev lo && exec \"$@\""


@functools.cache
def unavailable() -> str | None:
    """Why private namespaces cannot be used here, or None."""
    if os.geteuid() != 0:
        return "needs root for a private network namespace"
    if not (shutil.which("unshare") and shutil.which("ip")):
        return "needs unshare and ip (util-linux, iproute2)"
    probe = subprocess.run(["unshare", "--net", "sh", "-c", SETUP, "sh", "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        return f"cannot create a network namespace: {probe.stderr.decode(errors='replace').strip()}"
    return None


def run(argv: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`argv` inside a fresh network namespace; its output captured as text."""
    return subprocess.run(["unshare", "--net", "sh", "-c", SETUP, "sh", *argv], env=env, capture_output=True,
                          text=True, timeout=timeout)
