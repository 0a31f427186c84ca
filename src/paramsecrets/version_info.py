"""`paramsecrets version`: the package version and, inside the layer, what the layer bundles.

The layer's `paramsecrets/layer.json` (written by the builder) names every Debian package and
wheel inside; the running interpreter and C library report their own versions. Only `os`, `sys`
and `json` are imported: the layer keeps just the standard library modules the package imports.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import paramsecrets

MANIFEST_NAME = "layer.json"


def manifest_path() -> Path:
    """Where the layer's manifest sits relative to the package: /opt/paramsecrets/layer.json
    for /opt/paramsecrets/lib/paramsecrets/."""
    return Path(paramsecrets.__file__).resolve().parents[2] / MANIFEST_NAME


def _load_manifest() -> dict[str, object] | None:
    try:
        data = json.loads(manifest_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "debian" in data else None


def _glibc() -> str:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") or "unknown"
    except (ValueError, OSError, AttributeError):
        return "unknown"


def describe() -> list[str]:
    """Lines to print: `paramsecrets X`, then, from the layer, python, glibc, awscrt and the arch."""
    lines = [f"paramsecrets {paramsecrets.__version__}"]
    manifest = _load_manifest()
    if manifest is None:
        return lines
    versions: dict[str, str] = {}
    for key in ("debian", "wheels"):
        rows = manifest.get(key)
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict):
                versions[str(row.get("name"))] = str(row.get("version"))
    python = ".".join(map(str, sys.version_info[:3]))
    lines.append(f"layer: {manifest.get('arch', '?')}")
    lines.append(f"python {python} (Debian python3.11-minimal {versions.get('python3.11-minimal', '?')})")
    lines.append(f"{_glibc()} (Debian libc6 {versions.get('libc6', '?')})")
    lines.append(f"awscrt {versions.get('awscrt', '?')}")
    return lines
