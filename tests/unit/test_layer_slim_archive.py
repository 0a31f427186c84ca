"""The layer's standard library archive stores uncompressed exactly what `serve` imports before it
answers (paramsecrets.layer.slim.SERVE_STDLIB): a module added to the server's import graph would
otherwise be inflated at every cold start, and one it no longer imports would cost unpacked size
for nothing. Checked on this machine's Python 3.11 (the layer's own is checked by the layer tests);
the interpreter runs isolated, with only the package and awscrt on its path."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import awscrt

import paramsecrets
from paramsecrets.layer import slim

SERVE = ("paramsecrets.process.boot", "paramsecrets.process.lambda_ext", "paramsecrets.process.app",
         "paramsecrets.api.service", "paramsecrets.api.routes", "paramsecrets.api.dispatch",
         "paramsecrets.api.sdk.protocol", "paramsecrets.aws.clients", "awscrt.auth", "awscrt.http", "awscrt.io")
NOT_ON_THE_LAYERS_PATH = frozenset({"ssl", "base64", "struct"})
"""asyncio imports `ssl` in a `try`: the layer ships no `ssl` (awscrt brings its own TLS), so there
neither it nor what it imports (base64, struct) is loaded."""
LISTING = """
import json, sys
sys.path[:0] = sys.argv[1:3]
from paramsecrets.process.deferred import SERVE_DEFERRED, defer
defer(SERVE_DEFERRED)  # as `serve` does before its imports: placeholders have no origin
for name in sys.argv[3:]:
    __import__(name)
print(json.dumps({name: getattr(getattr(module, "__spec__", None), "origin", None)
                  for name, module in list(sys.modules.items())}))
"""


def stdlib_modules_serve_imports() -> set[str]:
    package_root = str(Path(paramsecrets.__file__).parent.parent)
    awscrt_root = str(Path(awscrt.__file__).parent.parent)
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", LISTING, package_root, awscrt_root, *SERVE],
                          capture_output=True, text=True, check=True, timeout=120)
    origins: dict[str, str | None] = json.loads(proc.stdout)
    stdlib = str(Path(sysconfig.get_paths()["stdlib"]).resolve())
    return {name for name, origin in origins.items()
            if origin and origin.endswith(".py") and str(Path(origin).resolve()).startswith(stdlib + "/")
            and "site-packages" not in origin}


def test_the_archive_stores_exactly_what_serve_imports() -> None:
    # os.pyc stays a file: the interpreter's landmark.
    imported = stdlib_modules_serve_imports() - {"os"} - NOT_ON_THE_LAYERS_PATH
    assert imported - slim.SERVE_STDLIB == set(), "add these to SERVE_STDLIB"
    assert slim.SERVE_STDLIB - imported == set(), "serve no longer imports these: drop them from SERVE_STDLIB"


def test_serve_modules_are_stored_and_the_rest_deflated(tmp_path: Path) -> None:
    stdlib = tmp_path / "python3.11"
    for name in ("json/__init__.pyc", "json/decoder.pyc", "argparse.pyc", "os.pyc"):
        (stdlib / name).parent.mkdir(parents=True, exist_ok=True)
        (stdlib / name).write_bytes(b"x" * 4096)
    slim.stdlib_into_archive(stdlib)
    with zipfile.ZipFile(tmp_path / slim.STDLIB_ARCHIVE) as archive:
        kinds = {info.filename: info.compress_type for info in archive.infolist()}
    assert kinds == {"argparse.pyc": zipfile.ZIP_DEFLATED, "json/__init__.pyc": zipfile.ZIP_STORED,
                     "json/decoder.pyc": zipfile.ZIP_STORED}
    assert (stdlib / "os.pyc").is_file()
