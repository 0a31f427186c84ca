"""Which Debian mirrors the layer build downloads from.

Order: `--debian-mirror URL` (repeatable) or $PARAMSECRETS_DEBIAN_MIRROR (URLs separated by commas
or spaces) when given; otherwise the `deb` entries of this machine's apt sources whose suite is
the lock's release (bookworm, bookworm-updates, bookworm-security): one-line `sources.list` files
and deb822 `.sources` files. No host is built in: on a machine without apt sources the user names
a mirror (any Debian mirror works; see docs/layer.md).
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

ENV_MIRROR = "PARAMSECRETS_DEBIAN_MIRROR"
APT_DIR = Path("/etc/apt")
SCHEMES = ("https://", "http://")


class MirrorError(Exception):
    """No usable mirror; the message says how to name one."""


@dataclasses.dataclass(frozen=True)
class Mirror:
    """One archive root (the folder holding dists/ and pool/) and the suites it serves."""

    url: str
    suites: tuple[str, ...]


def _clean(url: str) -> str:
    url = url.strip()
    if not url.startswith(SCHEMES):
        raise MirrorError(f"Debian mirror {url!r}: only http:// and https:// URLs are supported")
    return url.rstrip("/")


def _one_line(text: str) -> list[tuple[str, str]]:
    """(uri, suite) of each `deb` line of a one-line sources.list (options in [...] skipped)."""
    found = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        line = re.sub(r"\[[^\]]*\]", " ", line)
        fields = line.split()
        if len(fields) >= 3 and fields[0] == "deb":
            found.append((fields[1], fields[2]))
    return found


def _deb822(text: str) -> list[tuple[str, str]]:
    """(uri, suite) of each enabled `Types: deb` stanza of a deb822 .sources file."""
    found = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for raw in stanza.splitlines():
            if raw.startswith("#"):
                continue
            if raw[:1].isspace() and key:
                fields[key] += " " + raw.strip()
                continue
            name, sep, value = raw.partition(":")
            if sep:
                key = name.strip().lower()
                fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                found.append((uri, suite))
    return found


def apt_mirrors(release: str, apt_dir: Path | None = None) -> list[Mirror]:
    """The archives of this machine's apt sources that serve `release` or its -updates/-security."""
    apt_dir = apt_dir or APT_DIR
    entries: list[tuple[str, str]] = []
    files = [apt_dir / "sources.list"]
    folder = apt_dir / "sources.list.d"
    if folder.is_dir():
        files += sorted(p for p in folder.iterdir() if p.suffix in (".list", ".sources"))
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        entries += _deb822(text) if path.suffix == ".sources" else _one_line(text)
    suites: dict[str, list[str]] = {}
    for uri, suite in entries:
        if not uri.startswith(SCHEMES) or not (suite == release or suite.startswith(release + "-")):
            continue
        listed = suites.setdefault(uri.rstrip("/"), [])
        if suite not in listed:
            listed.append(suite)
    return [Mirror(url, tuple(s)) for url, s in suites.items()]


def default_suites(release: str) -> tuple[str, ...]:
    return (release, f"{release}-updates", f"{release}-security")


def choose(release: str, given: list[str] | None = None, apt_dir: Path | None = None) -> list[Mirror]:
    """The mirrors to use: the given URLs, else $PARAMSECRETS_DEBIAN_MIRROR, else apt's sources."""
    urls = [u for item in (given or []) for u in re.split(r"[,\s]+", item) if u]
    if not urls:
        urls = [u for u in re.split(r"[,\s]+", os.environ.get(ENV_MIRROR, "")) if u]
    if urls:
        return [Mirror(_clean(url), default_suites(release)) for url in urls]
    mirrors = apt_mirrors(release, apt_dir)
    if not mirrors:
        raise MirrorError(
            f"no Debian mirror: this machine has no apt source for {release}. Name one with "
            f"--debian-mirror URL or {ENV_MIRROR}=URL (any Debian mirror, e.g. the one nearest to you "
            "from Debian's mirror list; add its -security archive too for the newest security updates)"
        )
    return mirrors
