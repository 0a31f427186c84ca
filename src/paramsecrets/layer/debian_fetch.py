"""Download the layer's pinned Debian packages over HTTP(S), with no apt, dpkg or root.

For each pinned .deb, in order, until one gives the pinned SHA-256:
1. the content-addressed cache (`<cache>/debs/sha256/<hex>.deb`): a machine that built once never
   needs the archive again for the same lock;
2. each mirror (debian_sources.choose), at the lock's pool path (and, for a security update, the
   main archive's pool path, where a point release moves it); a row without a pool path is looked
   up in the mirror's Packages index;
3. Debian's snapshot archive, by package name and version (its `mr/binary/.../binfiles` API, then
   `file/<sha1>`), said loudly: this is how a lock survives Debian replacing a version;
4. only when allowed (a test build, `--allow-newer`; never with `--strict`): the newest version of
   the same package from the mirrors' indexes, with a loud warning.

A file whose SHA-256 differs from the lock is refused wherever it came from, and a mismatch is
never a reason to fall back to another version.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import lzma
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from paramsecrets.layer import debian_index, debian_sources
from paramsecrets.layer.debian_sources import Mirror, MirrorError
from paramsecrets.layer.lock import DEBIAN_ARCH, Pinned, sha256_of

Progress = Callable[[str], object]

ENV_SNAPSHOT = "PARAMSECRETS_DEBIAN_SNAPSHOT"
DEFAULT_SNAPSHOT = "https://snapshot.debian.org"
"""Debian's snapshot archive (one service, not a mirror); `--debian-snapshot ''` turns it off."""
ENV_ALLOW_NEWER = "PARAMSECRETS_LAYER_ALLOW_NEWER"
TIMEOUT_S = 60
MAX_DEB_BYTES = 256 * 1048576
MAX_INDEX_BYTES = 512 * 1048576
CHUNK = 1 << 16
USER_AGENT = "paramsecrets-layer-build"


class FetchError(Exception):
    """A pinned package could not be had; the message is meant for the user as is."""


class _NotThere(Exception):
    """404/410: the file is not at this URL."""


@dataclasses.dataclass(frozen=True)
class DebianOptions:
    """Where packages come from: mirrors (None: environment, then apt sources), the snapshot
    archive's base URL (None: environment, then Debian's; empty: off), and whether a test build
    may use the newest version when the pinned one can be had nowhere."""

    mirrors: tuple[str, ...] | None = None
    snapshot: str | None = None
    allow_newer: bool = False
    strict: bool = False

    def snapshot_url(self) -> str:
        url = self.snapshot if self.snapshot is not None else os.environ.get(ENV_SNAPSHOT, DEFAULT_SNAPSHOT)
        return url.strip().rstrip("/")

    def newer_allowed(self) -> bool:
        if self.strict:
            return False
        return self.allow_newer or os.environ.get(ENV_ALLOW_NEWER, "") in ("1", "true", "yes")


def _mib(size: int) -> str:
    return f"{size / 1048576:.1f} MiB"


def _get(url: str, sink: Callable[[bytes], object], limit: int, progress: Progress | None = None,
         label: str = "") -> int:
    """Stream url into sink; return the byte count. Raises _NotThere for 404/410, OSError otherwise."""
    if not url.startswith(("https://", "http://")):
        raise OSError(f"unsupported URL {url}")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            total = int(response.headers.get("Content-Length") or 0)
            if total > limit:
                raise OSError(f"{url} is {total} bytes, over the limit of {limit}")
            if progress and total:
                progress(f"  downloading {label} ({_mib(total)}) from {url}")
            got = 0
            next_mark = 25
            while True:
                block = response.read(CHUNK)
                if not block:
                    break
                got += len(block)
                if got > limit:
                    raise OSError(f"{url} sent over {limit} bytes")
                sink(block)
                if progress and total > 1048576 and next_mark < 100 and got * 100 >= next_mark * total:
                    progress(f"    {label}: {got * 100 // total}% of {_mib(total)}")
                    next_mark += 25
            return got
    except urllib.error.HTTPError as error:
        if error.code in (404, 410):
            raise _NotThere(f"{url}: HTTP {error.code}") from None
        raise OSError(f"{url}: HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise OSError(f"{url}: {error.reason}") from None


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def index_url(url: str) -> str:
    """The URL to read an index from: https, even when the mirror was given as http.

    A pinned file is checked against the lock, so any transport will do for it; an index is what
    decides which file and checksum are trusted (a lock refresh, a test build's newest version), and
    apt's signature on it (InRelease) is not checked here: TLS must vouch for it. Loopback http (a
    test's stand-in mirror) stays as it is."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit(":", 1)[0] if not rest.startswith("[") else rest.split("]", 1)[0] + "]"
    if scheme == "http" and host not in LOOPBACK_HOSTS:
        return "https://" + rest
    return url


def _get_bytes(url: str, limit: int) -> bytes:
    parts: list[bytes] = []
    _get(url, parts.append, limit)
    return b"".join(parts)


class DebFetcher:
    """Fetches pinned .debs for one build; indexes are read at most once per build."""

    def __init__(self, cache: Path, release: str, options: DebianOptions, progress: Progress) -> None:
        self.folder = cache / "debs" / "sha256"
        self.release = release
        self.options = options
        self.progress = progress
        self._mirrors: list[Mirror] | None = None
        self._indexes: dict[tuple[str, str, str], list[debian_index.Record]] = {}

    # ------------------------------------------------------------ public

    def fetch(self, item: Pinned, arch: str) -> tuple[Pinned, Path]:
        """(the package actually used, its verified .deb): the pinned one, or, only when allowed,
        the newest version of the same package."""
        cached = self._cached(item)
        if cached:
            return item, cached
        debian_arch = "all" if item.filename.endswith("_all.deb") else DEBIAN_ARCH[arch]
        label = f"{item.name} {item.version} ({debian_arch})"
        problems: list[str] = []
        mismatch: str | None = None
        mirrors = self._mirrors_or_reason(problems)
        for url in self._mirror_urls(item, arch, mirrors, problems):
            result, problem = self._try(url, item, label)
            if result:
                return item, result
            if problem and "does not match the lock" in problem:
                mismatch = mismatch or problem
            if problem:
                problems.append(problem)
        snapshot = self.options.snapshot_url()
        if snapshot:
            result, problem = self._from_snapshot(snapshot, item, debian_arch, label)
            if result:
                self._loud(f"NOTICE: {label} is gone from the mirror; fetched the pinned file from the "
                           f"snapshot archive {snapshot} (SHA-256 verified, identical to the lock)")
                return item, result
            if problem and "does not match the lock" in problem:
                mismatch = mismatch or problem
            problems.append(problem or "snapshot archive: no file")
        else:
            problems.append("snapshot archive: turned off")
        if mismatch:
            raise FetchError(mismatch)
        if self.options.newer_allowed() and mirrors:
            newer = self._newest(item, arch, mirrors)
            if newer:
                self._loud(
                    f"WARNING: {label} can be had nowhere; this TEST build uses the newest "
                    f"{newer.name} {newer.version} instead. The layer is NOT the locked one; a release "
                    "build (`layer build --strict`) refuses this."
                )
                got = self.fetch(newer, arch)
                return got
        raise FetchError(self._nowhere(label, problems))

    # ------------------------------------------------------------ sources

    def _cached(self, item: Pinned) -> Path | None:
        path = self.folder / f"{item.sha256}.deb"
        if path.is_file():
            if sha256_of(path) == item.sha256:
                return path
            path.unlink()  # a damaged cache entry: fetch again
        return None

    def _mirrors_or_reason(self, problems: list[str]) -> list[Mirror]:
        if self._mirrors is None:
            try:
                given = list(self.options.mirrors) if self.options.mirrors else None
                self._mirrors = debian_sources.choose(self.release, given)
            except MirrorError as error:
                problems.append(str(error))
                self._mirrors = []
        return self._mirrors

    def _mirror_urls(self, item: Pinned, arch: str, mirrors: list[Mirror], problems: list[str]) -> list[str]:
        paths = []
        if item.pool:
            paths.append(item.pool)
            if item.pool.startswith("pool/updates/"):
                paths.append("pool/" + item.pool.removeprefix("pool/updates/"))
        urls = [f"{m.url}/{urllib.parse.quote(p)}" for p in paths for m in mirrors]
        if not urls:
            for mirror in mirrors:
                for record in self._records(mirror, arch, problems):
                    if record.get("Package") == item.name and record.get("Version") == item.version:
                        urls.append(f"{mirror.url}/{urllib.parse.quote(record['Filename'])}")
        return urls

    def _try(self, url: str, item: Pinned, label: str) -> tuple[Path | None, str | None]:
        """Download url into the cache if it has the pinned SHA-256; (path, None) or (None, why)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".download-")
        try:
            with os.fdopen(fd, "wb") as out:
                def sink(block: bytes) -> None:
                    digest.update(block)
                    out.write(block)

                try:
                    size = _get(url, sink, MAX_DEB_BYTES, self.progress, label)
                except _NotThere as error:
                    return None, str(error)
                except OSError as error:
                    return None, str(error)
            got = digest.hexdigest()
            if got != item.sha256:
                return None, (
                    f"{item.filename}: SHA-256 {got} does not match the lock ({item.sha256}); refusing it "
                    f"(from {url}). Debian never ships two files under one version: the mirror, or "
                    "something between it and you, served other bytes. Try another mirror."
                )
            target = self.folder / f"{item.sha256}.deb"
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
            self.progress(f"    {label}: {_mib(size)}, SHA-256 matches the lock")
            return target, None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _from_snapshot(self, base: str, item: Pinned, debian_arch: str, label: str) -> tuple[Path | None, str | None]:
        name = urllib.parse.quote(item.name, safe="")
        version = urllib.parse.quote(item.version, safe="")
        url = f"{base}/mr/binary/{name}/{version}/binfiles"
        try:
            listing = json.loads(_get_bytes(url, 1 << 20))
        except _NotThere:
            return None, f"snapshot archive: no {label} ({url})"
        except (OSError, ValueError) as error:
            return None, f"snapshot archive: {error}"
        rows = listing.get("result") if isinstance(listing, dict) else None
        hashes = [row.get("hash") for row in (rows if isinstance(rows, list) else [])
                  if isinstance(row, dict) and row.get("architecture") == debian_arch]
        if not hashes or not all(isinstance(h, str) and h.isalnum() for h in hashes):
            return None, f"snapshot archive: no {debian_arch} file for {label}"
        problem = None
        for sha1 in hashes:
            result, problem = self._try(f"{base}/file/{sha1}", item, label)
            if result:
                return result, None
        return None, problem

    def _records(self, mirror: Mirror, arch: str, problems: list[str]) -> list[debian_index.Record]:
        records: list[debian_index.Record] = []
        for suite in mirror.suites:
            key = (mirror.url, suite, DEBIAN_ARCH[arch])
            if key not in self._indexes:
                url = index_url(f"{mirror.url}/dists/{suite}/main/binary-{DEBIAN_ARCH[arch]}/Packages.xz")
                try:
                    text = lzma.decompress(_get_bytes(url, MAX_INDEX_BYTES)).decode("utf-8", "replace")
                    self._indexes[key] = list(debian_index.parse_packages(text))
                except _NotThere:
                    self._indexes[key] = []
                except (OSError, lzma.LZMAError) as error:
                    problems.append(f"index {url}: {error}")
                    self._indexes[key] = []
            records += self._indexes[key]
        return records

    def _newest(self, item: Pinned, arch: str, mirrors: list[Mirror]) -> Pinned | None:
        best: tuple[Mirror, debian_index.Record] | None = None
        problems: list[str] = []
        for mirror in mirrors:
            for record in self._records(mirror, arch, problems):
                if record.get("Package") != item.name or not {"Version", "Filename", "SHA256"} <= record.keys():
                    continue
                if best is None or debian_index.compare_versions(record["Version"], best[1]["Version"]) > 0:
                    best = (mirror, record)
        if best is None:
            return None
        record = best[1]
        return Pinned(item.name, record["Version"], Path(record["Filename"]).name, record["SHA256"],
                      record["Filename"])

    def newest(self, name: str, arch: str) -> Pinned | None:
        """The newest `name` for `arch` in the mirrors' indexes (what apt would pick), or None."""
        problems: list[str] = []
        mirrors = self._mirrors_or_reason(problems)
        if not mirrors:
            raise FetchError("; ".join(problems))
        probe = Pinned(name, "", "", "")
        found = self._newest(probe, arch, mirrors)
        if found is None and problems:
            raise FetchError("; ".join(problems))
        return found

    # ------------------------------------------------------------ messages

    def _loud(self, message: str) -> None:
        bar = "!" * 78
        self.progress(bar)
        self.progress(message)
        self.progress(bar)
        if self.progress is not print:
            print(message, file=sys.stderr)

    def _nowhere(self, label: str, problems: list[str]) -> str:
        tried = "\n  ".join(problems) or "no mirror and no snapshot archive"
        return (
            f"{label} can be had nowhere:\n  {tried}\n"
            "Check the mirror (--debian-mirror URL or PARAMSECRETS_DEBIAN_MIRROR) and that the snapshot "
            f"archive answers (--debian-snapshot URL or {ENV_SNAPSHOT}); a test build may take the newest "
            "version with --allow-newer. Only if Debian withdrew this version for good, pin a new one in "
            "a reviewed change (`paramsecrets layer lock`)."
        )
