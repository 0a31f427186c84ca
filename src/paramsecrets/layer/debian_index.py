"""Debian archive indexes: parse a `Packages` file and compare Debian versions (dpkg's rules).

Used where the lock alone is not enough: to find a package's pool path when a lock row has none,
to pin the newest versions (`paramsecrets layer lock`), and for a test build's fallback to the
newest version when the pinned file can be had nowhere.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

Record = dict[str, str]


def parse_packages(text: str) -> Iterator[Record]:
    """The stanzas of a Packages file as {field: value} (continuation lines joined)."""
    for block in re.split(r"\n\s*\n", text):
        record: Record = {}
        key = ""
        for line in block.splitlines():
            if line[:1].isspace() and key:
                record[key] += "\n" + line.strip()
                continue
            name, sep, value = line.partition(":")
            if sep:
                key = name.strip()
                record[key] = value.strip()
        if "Package" in record:
            yield record


def _order(char: str) -> int:
    """dpkg's character order in the non-digit parts: ~ before everything, letters before others."""
    if char == "~":
        return -1
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _compare_part(a: str, b: str) -> int:
    while a or b:
        a_text = re.match(r"[^0-9]*", a).group()  # type: ignore[union-attr]
        b_text = re.match(r"[^0-9]*", b).group()  # type: ignore[union-attr]
        a, b = a[len(a_text):], b[len(b_text):]
        for i in range(max(len(a_text), len(b_text))):
            ca = _order(a_text[i]) if i < len(a_text) else 0
            cb = _order(b_text[i]) if i < len(b_text) else 0
            if ca != cb:
                return -1 if ca < cb else 1
        a_num = re.match(r"[0-9]*", a).group()  # type: ignore[union-attr]
        b_num = re.match(r"[0-9]*", b).group()  # type: ignore[union-attr]
        a, b = a[len(a_num):], b[len(b_num):]
        if int(a_num or 0) != int(b_num or 0):
            return -1 if int(a_num or 0) < int(b_num or 0) else 1
    return 0


def _split(version: str) -> tuple[int, str, str]:
    epoch, sep, rest = version.partition(":")
    if not sep:
        epoch, rest = "0", version
    upstream, sep, revision = rest.rpartition("-")
    if not sep:
        upstream, revision = rest, ""
    return int(epoch or 0), upstream, revision


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as Debian version a sorts before, with or after b (epoch, upstream, revision)."""
    ea, ua, ra = _split(a)
    eb, ub, rb = _split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _compare_part(ua, ub) or _compare_part(ra, rb)


version_key = functools.cmp_to_key(compare_versions)
