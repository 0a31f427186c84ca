"""`make dist`: every release artifact into one folder (default dist/), from a checkout.

- the wheel and the sdist (`python -m build`), checked with `twine check --strict`;
- both layer zips, built `--strict` (only the exact locked files: a release never falls back to a
  newer Debian package), named `paramsecrets-layer-<arch>.zip`;
- a CycloneDX SBOM per layer (`paramsecrets-layer-<arch>.cdx.json`, sbom.py);
- `SHA256SUMS` over all of them, in `sha256sum -c` format.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from paramsecrets.layer.build import ARCHES, LayerBuildError, build_layer, cache_dir
from paramsecrets.layer.debian_fetch import DebianOptions
from paramsecrets.layer.sbom import build_sbom

CHECKOUT = Path(__file__).resolve().parents[3]
TIMEOUT_S = 900

Progress = Callable[[str], object]


class DistError(Exception):
    """A release step failed; the message says which and why."""


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise DistError(f"{what} failed:\n{(proc.stdout + proc.stderr).strip()[-3000:]}")


def packages(out: Path, source: Path = CHECKOUT, progress: Progress = print) -> list[Path]:
    """The wheel and the sdist into out, twine-checked; returns their paths."""
    if not (source / "pyproject.toml").is_file():
        raise DistError(f"{source} is not a checkout of paramsecrets (no pyproject.toml)")
    progress("building the wheel and the sdist (python -m build) ...")
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], "python -m build")
    built = sorted([*out.glob("paramsecrets-*.whl"), *out.glob("paramsecrets-*.tar.gz")])
    if len(built) != 2:
        raise DistError(f"python -m build made {[p.name for p in built]}, not one wheel and one sdist")
    _run([sys.executable, "-m", "twine", "check", "--strict", *map(str, built)], "twine check --strict")
    progress(f"  {', '.join(p.name for p in built)}: twine check --strict passed")
    return built


def write_sums(out: Path) -> Path:
    """SHA256SUMS over every file in out (but itself), sorted by name."""
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n"
             for p in sorted(out.iterdir()) if p.is_file() and p.name != "SHA256SUMS"]
    target = out / "SHA256SUMS"
    target.write_text("".join(lines), encoding="utf-8", newline="\n")
    return target


def make_dist(out: Path, progress: Progress = print) -> list[Path]:
    """Every artifact into a fresh `out`; returns them."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    artifacts = packages(out, progress=progress)
    for arch in sorted(ARCHES):
        zip_path = out / f"paramsecrets-layer-{arch}.zip"
        build_layer(arch, zip_path, progress=progress, debian=DebianOptions(strict=True))
        sbom_path = out / f"paramsecrets-layer-{arch}.cdx.json"
        sbom_path.write_text(json.dumps(build_sbom(zip_path, cache_dir()), indent=2) + "\n", encoding="utf-8",
                             newline="\n")
        progress(f"  wrote {sbom_path.name}")
        artifacts += [zip_path, sbom_path]
    artifacts.append(write_sums(out))
    progress(f"dist: {len(artifacts)} files in {out}")
    return artifacts


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else CHECKOUT / "dist"
    try:
        make_dist(out)
    except (DistError, LayerBuildError) as error:
        print(f"make dist: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
