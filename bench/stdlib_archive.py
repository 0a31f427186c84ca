"""CPU of the extension's imports with the layer's standard library archive as built (the modules
`serve` imports stored, the rest deflated) against the same archive all deflated, same run.

    .venv/bin/python bench/stdlib_archive.py [--layer ZIP] [--runs 30]

Builds the x86_64 layer (or takes --layer), unpacks it twice: as built, and with
runtime/lib/python311.zip rewritten with every member deflated (the reference). Then, alternating
between the two, runs the layer's own interpreter (through its loader, as the launcher does) with
`pass` and with the server's imports, and takes each child's user + system CPU from wait4. Prints
the medians and the difference; the unpacked size of each archive too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import MIB, progress
from layer_memory import python_command, unpack

SERVE = ("import paramsecrets.process.boot, paramsecrets.process.lambda_ext, paramsecrets.process.app, "
         "paramsecrets.api.service, paramsecrets.api.routes, paramsecrets.api.dispatch, "
         "paramsecrets.api.sdk.protocol, paramsecrets.aws.clients, awscrt.auth, awscrt.http, awscrt.io")
ARCHIVE = Path("paramsecrets/runtime/lib/python311.zip")


def all_deflated(archive: Path) -> None:
    """Rewrite `archive` with every member deflated (what the layer shipped before)."""
    with zipfile.ZipFile(archive) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(archive, "w") as out:
        for info, data in members:
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, data, compresslevel=9)


def child_cpu_ms(opt: Path, code: str) -> float:
    path = str(opt / "paramsecrets" / "lib")
    argv = [*python_command(opt), "-c", f"import sys; sys.path.insert(0, {path!r})\n{code}"]
    pid = os.spawnve(os.P_NOWAIT, argv[0], argv, {"LC_ALL": "C.UTF-8"})
    _, status, usage = os.wait4(pid, 0)
    if status != 0:
        raise SystemExit(f"the layer's interpreter failed on {code!r} (status {status})")
    return (usage.ru_utime + usage.ru_stime) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layer", type=Path, help="a built x86_64 layer zip (default: build one)")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="stdlib-archive-") as tmp:
        work = Path(tmp)
        zip_path = args.layer
        if zip_path is None:
            from paramsecrets.layer.build import build_layer

            zip_path = work / "layer.zip"
            progress("building the x86_64 layer ...")
            build_layer("x86_64", zip_path, progress=lambda line: None)
        built = unpack(zip_path, work / "built")
        deflated = unpack(zip_path, work / "deflated")
        all_deflated(deflated / ARCHIVE)
        sizes = {"as built": (built / ARCHIVE).stat().st_size, "all deflated": (deflated / ARCHIVE).stat().st_size}
        for label, code in (("python -I -S -c pass", "pass"), ("the server's imports", SERVE)):
            times: dict[str, list[float]] = {"as built": [], "all deflated": []}
            for _ in range(args.runs):
                times["all deflated"].append(child_cpu_ms(deflated, code))
                times["as built"].append(child_cpu_ms(built, code))
            reference = statistics.median(times["all deflated"])
            ours = statistics.median(times["as built"])
            print(f"{label}: all deflated {reference:.1f} ms CPU, as built {ours:.1f} ms CPU: "
                  f"{ours - reference:+.1f} ms ({ours / reference:.2f}x), median of {args.runs}, alternating")
    print(f"python311.zip: as built {sizes['as built'] / MIB:.2f} MiB, all deflated {sizes['all deflated'] / MIB:.2f} "
          f"MiB ({(sizes['as built'] - sizes['all deflated']) / MIB:+.2f} MiB unpacked)")
    print(f"load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
