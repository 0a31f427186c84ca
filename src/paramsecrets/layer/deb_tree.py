"""The unpacked Debian tree's symlinks, kept in a table instead of on this machine's disk.

Why: the layer is built on any OS. Creating a symlink needs a privilege on Windows, and an
absolute link of a package (`/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/...`,
`sitecustomize.py -> /etc/python3.11/...`) would point into the building machine. So the
unpacked tree holds only folders and regular files, and every symlink of the packages is a row of
LINKS_FILE (`{"/lib/x86_64-linux-gnu/libz.so.1": "libz.so.1.2.13"}`, paths as on the target).
`resolve` follows those rows as if the tree were the root filesystem: that is how the build finds
the interpreter, the loader and the shared libraries behind their sonames, from the archive's
own metadata on every OS alike.

The layer zip itself holds no symlink: the build copies each resolved file under the name the
layer needs (runtime.py), and the zip's modes come from the layer's layout (build.py's
EXECUTABLES), never from the building machine's filesystem.
"""

from __future__ import annotations

import functools
import json
from collections import deque
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

LINKS_FILE = ".symlinks.json"
MAX_HOPS = 40
"""Linux's own limit on symlinks followed in one path lookup."""


class TreeError(Exception):
    """A path of the tree cannot be resolved; the message names it."""


def resolve(links: Mapping[str, str], path: str) -> PurePosixPath:
    """`path` (absolute, as on the target) with every symlink of `links` followed, as Linux would
    with the tree as its root: relative targets from the link's folder, `..` never above the root."""
    parts = deque(PurePosixPath(path).parts[1:])
    current = PurePosixPath("/")
    hops = 0
    while parts:
        part = parts.popleft()
        if part == "..":
            current = current.parent
            continue
        if part == ".":
            continue
        candidate = current / part
        target = links.get(str(candidate))
        if target is None:
            current = candidate
            continue
        hops += 1
        if hops > MAX_HOPS:
            raise TreeError(f"too many symlinks resolving {path}")
        link = PurePosixPath(target)
        if link.is_absolute():
            current = PurePosixPath("/")
            parts.extendleft(reversed(link.parts[1:]))
        else:
            parts.extendleft(reversed(link.parts))
    return current


def write_links(tree: Path, links: Mapping[str, str]) -> None:
    """Store the table in the tree (sorted: the same packages write the same file)."""
    (tree / LINKS_FILE).write_text(json.dumps(dict(sorted(links.items())), indent=1) + "\n",
                                   encoding="utf-8", newline="\n")


@functools.lru_cache(maxsize=8)
def _read(file: str, _mtime_ns: int) -> dict[str, str]:
    return dict(json.loads(Path(file).read_text(encoding="utf-8")))


def links(tree: Path) -> dict[str, str]:
    """The tree's symlink table (read once per version of the file: the build resolves hundreds of paths)."""
    file = tree / LINKS_FILE
    try:
        return _read(str(file), file.stat().st_mtime_ns)
    except OSError:
        raise TreeError(f"{tree} has no {LINKS_FILE}: not a tree unpacked by this version") from None


def host_path(tree: Path, path: str) -> Path:
    """Where `path` (absolute, as on the target) is in the unpacked tree on this machine."""
    return tree.joinpath(*resolve(links(tree), path).parts[1:])
