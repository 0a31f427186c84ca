"""The built layer carries nothing its run never reads: ELF files without debug sections or
static symbols (both arches)."""

from __future__ import annotations

import zipfile

import pytest

from paramsecrets import elf_strip


@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_no_elf_file_keeps_debug_sections(build, arch: str) -> None:
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
