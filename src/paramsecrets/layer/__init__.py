"""The Lambda layer's builder and release tooling: the build (build.py), its pinned inputs (lock.py,
files/layer.lock.json), the bundled runtime (runtime.py), Debian packages without apt (debian_*.py,
ar_unpack.py), what is left out (slim.py, elf_strip.py), publishing, SBOMs and `make dist`.
The server never imports it, and the layer does not ship it.
"""

__all__ = [
    "ar_unpack",
    "build",
    "debian_fetch",
    "debian_index",
    "debian_sources",
    "dist",
    "elf_strip",
    "lock",
    "publish",
    "release_notes",
    "runtime",
    "sbom",
    "slim",
]
