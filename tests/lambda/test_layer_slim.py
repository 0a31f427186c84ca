"""The built layer carries nothing its run never reads (layer_slim.py): ELF files without debug
sections or static symbols, no sources beside bytecode, within its size budget (both arches),
and tracebacks that still name file and line."""

from __future__ import annotations

import platform
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import Build

import paramsecrets
from paramsecrets.layer import elf_strip


@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_no_elf_file_keeps_debug_sections(build: Build, arch: str) -> None:
    info, lines = build(arch)
    checked = []
    with zipfile.ZipFile(info.path) as zf:
        for name in zf.namelist():
            data = zf.read(name)
            if not elf_strip.is_elf(data):
                continue
            names = [s.name for s in elf_strip.sections(data)]
            assert not [n for n in names if n.startswith((".debug", ".zdebug")) or n in (".symtab", ".strtab")], name
            checked.append(name)
    assert "paramsecrets/lib/_awscrt.abi3.so" in checked
    assert any(line.startswith("  slimmed: ") for line in lines)


ZIP_BUDGET = int(8.5 * 1048576)
UNPACKED_BUDGET = 20 * 1048576


@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_within_the_size_budget(build: Build, arch: str) -> None:
    info, _ = build(arch)
    assert info.zip_size <= ZIP_BUDGET, f"{info.zip_size / 1048576:.2f} MiB zipped"
    assert info.unpacked_size <= UNPACKED_BUDGET, f"{info.unpacked_size / 1048576:.2f} MiB unpacked"


@pytest.mark.skipif(platform.machine() != "x86_64", reason="runs the x86_64 layer's interpreter")
def test_tracebacks_name_file_and_line_without_sources(layer_dir: Path) -> None:
    """A sourceless layer still points at the file and line of each frame; only the source line
    printed under it is missing."""
    runtime = layer_dir / "paramsecrets" / "runtime"
    script = ("import sys; sys.path.insert(0, sys.argv[1])\n"
              "from paramsecrets.client import Client\n"
              "Client(port=0)\n")
    proc = subprocess.run(
        [str(runtime / "lib" / "ld-linux-x86-64.so.2"), "--inhibit-cache", "--library-path", str(runtime / "lib"),
         str(runtime / "bin" / "python3.11"), "-I", "-S", "-c", script, str(layer_dir / "paramsecrets" / "lib")],
        capture_output=True, text=True, timeout=60, env={"LC_ALL": "C.UTF-8"}, check=False)
    assert proc.returncode == 1
    frame = re.search(r'File "/opt/paramsecrets/lib/paramsecrets/client/__init__\.py", line (\d+), in __init__',
                      proc.stderr)
    assert frame, proc.stderr
    source = (Path(paramsecrets.__file__).parent / "client" / "__init__.py").read_text().splitlines()
    assert "port" in source[int(frame[1]) - 1]  # the line number is the raising line's
    assert proc.stderr.rstrip().endswith("ValueError: port 0 is not in 1-65535")
