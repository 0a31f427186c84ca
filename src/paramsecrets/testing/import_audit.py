"""The import audit: run the built layer's entry points with a finder that reports every module
the layer cannot provide.

Why: the layer leaves out modules no path imports (layer_slim.py). A missing module in
production is a crash, or a silently different code path when the import is guarded. So the
tests run every entry point of an *audited copy* of the unpacked layer, whose run.py first puts
a last-resort finder at the end of sys.meta_path: the import system only asks it when no real
finder found the module, i.e. when the layer lacks it. It writes one line per such lookup to
stderr, at once (a process killed later still reports it), and at exit the modules loaded.

Everything else is the real layer: its launcher, loader, interpreter, bytecode and libraries.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import stat
from pathlib import Path

MARK = "PARAMSECRETS-IMPORT-AUDIT"

EXPECTED_ABSENT = {
    "_hashlib": "hashlib imports OpenSSL's hashes in a try and falls back to its built-in ones",
    "_ssl": "ssl is never imported by the server (AWS calls use awscrt's TLS); guarded where named",
    "ssl": "the server sets sys.modules['ssl'] = None before asyncio; guarded imports handle it",
    "_winapi": "Windows only, guarded by the standard library",
    "winreg": "Windows only, guarded by the standard library",
    "nt": "Windows only, guarded by the standard library",
    "_overlapped": "Windows only, guarded by the standard library",
    "msvcrt": "Windows only, guarded by the standard library",
    "bz2": "shutil, tarfile and zipfile probe for it in a try (the layer never compresses)",
    "lzma": "shutil, tarfile and zipfile probe for it in a try (the layer never compresses)",
    "tracemalloc": "warnings imports it in a try, only for a warning that names its source object",
    "java": "Jython, named by platform checks",
    "org": "Jython, named by platform checks",
}
"""Modules the layer lacks on purpose, whose every import is guarded (try/except ImportError).
A lookup of anything else fails the audit."""

WRAPPER = '''"""Audited run.py (tests only): reports imports the layer cannot satisfy, then runs the real one."""
import os
import sys


class _LayerLacks:
    """Last on sys.meta_path: asked only for modules no real finder has."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        os.write(2, ("{mark} missing " + name + "\\n").encode())
        return None


def _loaded():
    os.write(2, ("{mark} loaded " + " ".join(sorted(sys.modules)) + "\\n").encode())


def _reporting_before(replace):
    """`paramsecrets exec` replaces the process (os.execvpe): atexit never runs, so report first."""
    def replaced(*args):
        _loaded()
        return replace(*args)
    return replaced


sys.meta_path.append(_LayerLacks)
import atexit  # noqa: E402

atexit.register(_loaded)
os.execvpe = _reporting_before(os.execvpe)
_real = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run_real.py")
with open(_real, "rb") as _file:
    _code = compile(_file.read(), __file__, "exec")
exec(_code)
'''


def audited_copy(layer_dir: Path, dest: Path) -> Path:
    """A copy of the unpacked layer whose run.py reports what the layer lacks; returns `dest`."""
    shutil.copytree(layer_dir, dest, symlinks=True, copy_function=shutil.copy2)
    for root, dirs, _files in os.walk(dest):
        os.chmod(root, 0o755)
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
    run = dest / "paramsecrets" / "run.py"
    os.chmod(run, 0o644)
    os.replace(run, run.with_name("run_real.py"))
    run.write_text(WRAPPER.replace("{mark}", MARK), encoding="utf-8")
    for root, _dirs, files in os.walk(dest):  # read-only, as Lambda's /opt
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, stat.S_IMODE(os.stat(path).st_mode) & ~0o222)
    return dest


@dataclasses.dataclass
class Findings:
    """What the audited runs reported: modules looked up and missing, and modules loaded."""

    missing: set[str] = dataclasses.field(default_factory=set)
    loaded: set[str] = dataclasses.field(default_factory=set)
    runs: int = 0

    def add(self, output: str | bytes) -> Findings:
        """Fold one run's output in; returns the findings of that run alone."""
        text = output.decode("utf-8", "replace") if isinstance(output, bytes) else output
        one = Findings(runs=1)
        for match in re.finditer(rf"{MARK} (missing|loaded) ([^\n]*)", text):
            if match[1] == "missing":
                one.missing.add(match[2].strip())
            else:
                one.loaded.update(match[2].split())
        self.missing |= one.missing
        self.loaded |= one.loaded
        self.runs += 1
        return one

    def unexpected(self) -> list[str]:
        """Missing modules not in EXPECTED_ABSENT (their top-level package name decides)."""
        return sorted(name for name in self.missing if name.split(".")[0] not in EXPECTED_ABSENT)

    def reported(self, output: str | bytes) -> bool:
        """Whether the wrapper ran at all in that output (so a silent run cannot pass)."""
        text = output.decode("utf-8", "replace") if isinstance(output, bytes) else output
        return f"{MARK} loaded " in text
