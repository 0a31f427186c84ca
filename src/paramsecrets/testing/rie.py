"""Fetch the AWS Lambda Runtime Interface Emulator (RIE) for the Lambda tests.

The RIE is a static Go binary that AWS ships inside the `aws-sam-cli` wheel on PyPI. PyPI is
the one place we can download it from here, so this pulls that wheel with pip (no
dependencies), extracts the binary for this machine's architecture into `.cache/rie/` and
prints its path. A second run finds the binary and only prints.

    python -m paramsecrets.testing.rie            # this machine's arch
    python -m paramsecrets.testing.rie --arch arm64

Importable: `rie_path(arch=None) -> Path` does the same and returns the path.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

SAM_CLI_VERSION = "1.170.0"


def _test_cache() -> Path:
    """The checkout's ignored .cache/ (src/paramsecrets/testing -> the repo), else ./.cache."""
    checkout = Path(__file__).resolve().parents[3]
    return (checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()) / ".cache"


CACHE = _test_cache()
"""Downloads and venvs the tests make once and reuse (never committed)."""
CACHE_DIR = CACHE / "rie"
_MACHINE_TO_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


def machine_arch() -> str:
    """The RIE architecture name (x86_64 or arm64) for this machine."""
    machine = platform.machine().lower()
    try:
        return _MACHINE_TO_ARCH[machine]
    except KeyError:
        raise SystemExit(f"rie: unsupported machine {machine!r} (need x86_64 or arm64)") from None


def _download_wheel(dest: Path) -> Path:
    """Download the aws-sam-cli wheel with pip into `dest`; return the wheel's path."""
    wheels = sorted(dest.glob(f"aws_sam_cli-{SAM_CLI_VERSION}-*.whl"))
    if wheels:
        return wheels[0]
    dest.mkdir(parents=True, exist_ok=True)
    print(f"rie: downloading aws-sam-cli=={SAM_CLI_VERSION} from PyPI ...", file=sys.stderr, flush=True)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "--disable-pip-version-check", "-d", str(dest), f"aws-sam-cli=={SAM_CLI_VERSION}"],
        capture_output=True, text=True, check=False,
    )
    wheels = sorted(dest.glob(f"aws_sam_cli-{SAM_CLI_VERSION}-*.whl"))
    if proc.returncode != 0 or not wheels:
        raise SystemExit(f"rie: pip download failed:\n{proc.stderr.strip() or proc.stdout.strip()}")
    return wheels[0]


def rie_path(arch: str | None = None) -> Path:
    """Return the path of the RIE binary for `arch`, downloading and extracting it if needed."""
    arch = arch or machine_arch()
    if arch not in ("x86_64", "arm64"):
        raise ValueError(f"arch must be x86_64 or arm64, not {arch!r}")
    target = CACHE_DIR / f"aws-lambda-rie-{arch}"
    if target.is_file() and os.access(target, os.X_OK):
        return target
    wheel = _download_wheel(CACHE_DIR)
    member = f"samcli/local/rapid/aws-lambda-rie-{arch}"
    with zipfile.ZipFile(wheel) as zf:
        try:
            data = zf.read(member)
        except KeyError:
            raise SystemExit(f"rie: {member} not found in {wheel.name}") from None
    # Write to a temporary name then rename, so a concurrent or interrupted run never leaves
    # a half-written binary behind under the final name.
    fd, tmp = tempfile.mkstemp(dir=CACHE_DIR, prefix=target.name + ".")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o755)
    os.replace(tmp, target)
    return target


def main(argv: list[str] | None = None) -> int:
    """Command line: print the RIE path for this machine (or --arch)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=("x86_64", "arm64"), default=None)
    args = parser.parse_args(argv)
    print(rie_path(args.arch))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
