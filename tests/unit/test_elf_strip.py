"""elf_strip: awscrt's real extension module (it ships with DWARF and a static symbol table) is
stripped in Python, still loads and works in a fresh interpreter, and readelf (when this machine
has binutils) sees a well-formed file without the removed sections."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from paramsecrets.layer import elf_strip

AWSCRT_SO = next(Path(p) for p in sys.path if (Path(p) / "_awscrt.abi3.so").is_file()) / "_awscrt.abi3.so"
READELF = shutil.which("readelf")


@pytest.fixture(scope="module")
def stripped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("stripped")
    target = folder / "_awscrt.abi3.so"
    shutil.copyfile(AWSCRT_SO, target)
    saved = elf_strip.strip_file(target)
    assert saved > 0 and target.stat().st_size + saved == AWSCRT_SO.stat().st_size
    return target


def _names(path: Path) -> list[str]:
    return [s.name for s in elf_strip.sections(path.read_bytes())]


def test_the_wheel_ships_debug_sections() -> None:
    """The premise: without this, the test below would prove nothing."""
    names = _names(AWSCRT_SO)
    assert ".debug_info" in names and ".symtab" in names


def test_debug_sections_and_static_symbols_are_gone(stripped: Path) -> None:
    names = _names(stripped)
    assert not [n for n in names if n.startswith(".debug") or n in (".symtab", ".strtab")]
    for kept in (".dynsym", ".dynstr", ".text", ".rodata", ".eh_frame", ".dynamic", ".shstrtab"):
        assert kept in names


def test_loaded_bytes_do_not_move(stripped: Path) -> None:
    """Every section the loader maps keeps its offset, address and bytes."""
    before, after = AWSCRT_SO.read_bytes(), stripped.read_bytes()
    old = {s.name: s for s in elf_strip.sections(before)}
    for section in elf_strip.sections(after):
        if section.sh_flags & elf_strip.SHF_ALLOC:
            twin = old[section.name]
            assert (section.sh_offset, section.sh_addr, section.sh_size) == \
                   (twin.sh_offset, twin.sh_addr, twin.sh_size)
            if section.in_file:
                span = slice(section.sh_offset, section.sh_offset + section.sh_size)
                assert after[span] == before[span], section.name
    # The program headers are byte-identical.
    phoff, phentsize, phnum = struct.unpack_from("<Q", before, 32)[0], *struct.unpack_from("<HH", before, 54)
    assert after[phoff:phoff + phentsize * phnum] == before[phoff:phoff + phentsize * phnum]


def test_the_stripped_module_loads_and_signs(stripped: Path) -> None:
    """A new interpreter imports awscrt with the stripped _awscrt first on its path and uses it."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import _awscrt\n"
        "assert _awscrt.__file__.startswith(sys.argv[1]), _awscrt.__file__\n"
        "from awscrt import crypto\n"
        "h = crypto.Hash.sha256_new(); h.update(b'abc')\n"
        "print(h.digest().hex())\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(stripped.parent)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.skipif(READELF is None, reason="binutils' readelf is not installed")
def test_readelf_reads_it_without_complaint(stripped: Path) -> None:
    assert READELF is not None
    proc = subprocess.run([READELF, "-a", "-W", str(stripped)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    assert ".debug_info" not in proc.stdout and ".symtab" not in proc.stdout
    assert "_awscrt" in proc.stdout  # PyInit__awscrt, in the dynamic symbols


def test_stripping_twice_changes_nothing(stripped: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.so"
    shutil.copyfile(stripped, again)
    assert elf_strip.strip_file(again) == 0
    assert again.read_bytes() == stripped.read_bytes()


def test_files_it_cannot_rewrite_are_left_alone(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_bytes(b"not an ELF file")
    assert elf_strip.strip_file(text) == 0 and text.read_bytes() == b"not an ELF file"
    elf32 = tmp_path / "elf32.so"
    elf32.write_bytes(b"\x7fELF\x01\x01\x01" + bytes(60))
    assert elf_strip.strip_file(elf32) == 0
    with pytest.raises(elf_strip.ElfStripError, match="64-bit little-endian"):
        elf_strip.strip(elf32.read_bytes())
    truncated = tmp_path / "truncated.so"
    truncated.write_bytes(AWSCRT_SO.read_bytes()[:4096])
    assert elf_strip.strip_file(truncated) == 0
