"""What the extension imports before Lambda's `next` is on every cold start's path.

`boot` and the modules it uses to validate the configuration (config, tokens, aws.settings and what
they import, listen, lambda_ext, log) must stay on the interpreter's start-up modules: importing
`collections`, `re`, `typing`, `dataclasses`, `ipaddress` or `asyncio` costs milliseconds of CPU
that a 128 MB function, with a fraction of a core, pays many times over (docs/performance.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
HEAVY = ("collections", "re", "typing", "dataclasses", "ipaddress", "asyncio", "json", "enum", "socket",
         "urllib", "email", "http", "tomllib", "inspect", "functools")

PROBE = f"""
import sys
sys.path.insert(0, {str(SRC)!r})
import paramsecrets.boot, paramsecrets.lambda_ext, paramsecrets.config, paramsecrets.tokens
import paramsecrets.aws.settings, paramsecrets.listen, paramsecrets.log
print(" ".join(sorted(sys.modules)))
"""


def test_nothing_heavy_is_imported_before_next() -> None:
    loaded = set(subprocess.run([sys.executable, "-I", "-S", "-c", PROBE], check=True, capture_output=True,
                                text=True).stdout.split())
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
