"""The attack suite: one deterministic regression test per defect an attack on the server found.

Load figures (floods, soaks, timings) live in bench/attack.py, never here.
"""

from __future__ import annotations

from tests.faults.conftest import proxy, serve  # noqa: F401 - the fault proxy in front of moto
from tests.integration.conftest import seeded  # noqa: F401 - the shared seed data fixture
from tests.sdk.conftest import sdk_server, start_sdk  # noqa: F401 - a server answering the SDK protocol
