"""Remove debugging information and the static symbol table from ELF shared objects, in Python.

Why: awscrt's wheel ships `_awscrt.abi3.so` with its DWARF debug sections and its full symbol
table (about 4.6 MiB of its 11.5 MiB); nothing at run time reads them. The layer is built on any
machine with a Python, so binutils' `strip` is not a build dependency: this module does the same
job for the files the layer ships.

What is removed (sections no loader and no program header refer to):
    .debug_* / .zdebug_*   DWARF: source lines and variables, for a debugger
    .symtab / .strtab      the static symbol table, for a debugger or `nm` (the dynamic symbol
                           table .dynsym, which the loader uses, is kept)
    .rel[a].debug_*        relocations that only apply to the sections above
What is lost: a debugger or a core dump shows addresses instead of names for awscrt's internal
functions, and no source lines. Exported symbols still resolve.

How: every byte the program headers load stays at its offset (nothing loadable moves, so no
address changes); the non-loaded sections that are kept (.comment, .shstrtab, ...) are written
after it, then a new section header table whose sh_link/sh_info indices are renumbered. Files
this module cannot rewrite safely (32-bit, big-endian, extended section numbering, a removed
section still referenced, a kept loadable section that would be renumbered) are left as they are.
"""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_PHDR = struct.Struct("<IIQQQQQQ")

SHF_ALLOC = 0x2
SHF_INFO_LINK = 0x40
SHT_NOBITS = 8
SHT_RELA = 4
SHT_REL = 9
SHT_SYMTAB = 2
SHN_LORESERVE = 0xFF00

REMOVED_PREFIXES = (".debug", ".zdebug", ".gnu.debuglto_")
REMOVED_NAMES = frozenset({".symtab", ".strtab"})


class ElfStripError(Exception):
    """The file cannot be stripped safely; it is left unchanged."""


@dataclasses.dataclass
class Section:
    """One section header, decoded."""

    name: str
    sh_name: int
    sh_type: int
    sh_flags: int
    sh_addr: int
    sh_offset: int
    sh_size: int
    sh_link: int
    sh_info: int
    sh_addralign: int
    sh_entsize: int

    def pack(self) -> bytes:
        return _SHDR.pack(self.sh_name, self.sh_type, self.sh_flags, self.sh_addr, self.sh_offset,
                          self.sh_size, self.sh_link, self.sh_info, self.sh_addralign, self.sh_entsize)

    @property
    def in_file(self) -> bool:
        return self.sh_type != SHT_NOBITS and self.sh_size > 0

    @property
    def info_is_section(self) -> bool:
        """sh_info names a section (relocations, SHF_INFO_LINK); for other types it is a count."""
        return bool(self.sh_flags & SHF_INFO_LINK) or self.sh_type in (SHT_REL, SHT_RELA)


def _removable(name: str) -> bool:
    return name.startswith(REMOVED_PREFIXES) or name in REMOVED_NAMES


def is_elf(data: bytes) -> bool:
    return data[:4] == b"\x7fELF"


def sections(data: bytes) -> list[Section]:
    """The section headers of a 64-bit little-endian ELF file, with their names."""
    if not is_elf(data) or data[4] != 2 or data[5] != 1:
        raise ElfStripError("not a 64-bit little-endian ELF file")
    header = _EHDR.unpack_from(data, 0)
    shoff, shentsize, shnum, shstrndx = header[6], header[11], header[12], header[13]
    if shoff == 0 or shnum == 0 or shstrndx >= SHN_LORESERVE or shentsize != _SHDR.size:
        raise ElfStripError("no section headers, or extended section numbering")
    if shoff + shnum * shentsize > len(data):
        raise ElfStripError("section header table past the end of the file")
    raw = [_SHDR.unpack_from(data, shoff + i * shentsize) for i in range(shnum)]
    names_at = raw[shstrndx][4]

    def name(offset: int) -> str:
        start = names_at + offset
        return data[start:data.index(b"\0", start)].decode("ascii", "replace")

    return [Section(name(r[0]), *r) for r in raw]


def _removed_indices(table: list[Section]) -> set[int]:
    removed = {i for i, s in enumerate(table) if i and _removable(s.name) and not s.sh_flags & SHF_ALLOC}
    # Relocation sections that only patch removed sections go with them.
    removed |= {i for i, s in enumerate(table)
                if s.info_is_section and s.sh_info in removed and not s.sh_flags & SHF_ALLOC}
    return removed


def strip(data: bytes) -> bytes:
    """`data` without its debug sections and static symbol table (unchanged when there are none)."""
    table = sections(data)
    removed = _removed_indices(table)
    if not removed:
        return data
    header = list(_EHDR.unpack_from(data, 0))
    phoff, phentsize, phnum, shstrndx = header[5], header[9], header[10], header[13]
    if shstrndx in removed:
        raise ElfStripError("the section name table would be removed")
    kept = [i for i in range(len(table)) if i not in removed]
    renumber = {old: new for new, old in enumerate(kept)}
    first_removed = min(removed)
    if any(table[i].sh_flags & SHF_ALLOC for i in kept if i > first_removed):
        # .dynsym's st_shndx names loadable sections by index: they must keep their numbers.
        raise ElfStripError("a loadable section comes after a removed one")

    # Everything loaded (program headers, loadable sections) stays where it is.
    end = max(_EHDR.size, phoff + phnum * phentsize)
    for i in range(phnum):
        segment = _PHDR.unpack_from(data, phoff + i * phentsize)
        end = max(end, segment[2] + segment[5])  # p_offset + p_filesz
    for i in kept:
        section = table[i]
        if section.sh_flags & SHF_ALLOC and section.in_file:
            end = max(end, section.sh_offset + section.sh_size)
    out = bytearray(data[:end])

    new_headers: list[Section] = []
    for i in kept:
        section = dataclasses.replace(table[i])
        if section.sh_link:
            if section.sh_link in removed:
                raise ElfStripError(f"{section.name} links to a removed section")
            section.sh_link = renumber[section.sh_link]
        if section.info_is_section and section.sh_info:
            if section.sh_info in removed:
                raise ElfStripError(f"{section.name} refers to a removed section")
            section.sh_info = renumber[section.sh_info]
        if section.in_file and section.sh_offset + section.sh_size > end:
            # A kept non-loaded section past the loaded bytes (.comment, .shstrtab): move it up.
            if section.sh_flags & SHF_ALLOC:
                raise ElfStripError(f"{section.name} is loaded but outside every segment")
            _pad(out, section.sh_addralign)
            payload = data[section.sh_offset:section.sh_offset + section.sh_size]
            section.sh_offset = len(out)
            out += payload
        new_headers.append(section)

    _pad(out, 8)
    header[6] = len(out)  # e_shoff
    header[12] = len(new_headers)  # e_shnum
    header[13] = renumber[shstrndx]  # e_shstrndx
    for section in new_headers:
        out += section.pack()
    out[:_EHDR.size] = _EHDR.pack(*header)
    return bytes(out)


def _pad(out: bytearray, align: int) -> None:
    if align > 1 and len(out) % align:
        out += b"\0" * (align - len(out) % align)


def strip_file(path: Path) -> int:
    """Strip `path` in place when it is an ELF file with something to remove; returns bytes saved.

    A file that cannot be rewritten safely is left unchanged (0 saved)."""
    data = path.read_bytes()
    if not is_elf(data):
        return 0
    try:
        stripped = strip(data)
    except ElfStripError:
        return 0
    if stripped is data:
        return 0
    path.write_bytes(stripped)
    return len(data) - len(stripped)
