"""Which cached forms of a parameter a fresh answer from AWS makes out of date.

A parameter can sit in the cache under several keys at once: read with and without decryption,
by name and by ARN, and inside the listing of every path that covers it (get-by-path stores the
listing as one entry). A fetch refreshes only the key it was made for; without this, a
`refreshNow=true` on the plain form of a String left the `withDecryption=true` form (or the
get-many or get-by-path entries) answering the old value until their own TTL.

The rule: after a fetch, every other cached form of the same parameter whose `Version` differs
from the one AWS just sent is dropped, so its next read asks AWS again (or, for a String, is
answered by the fresh entry, which serves both decryption forms). Forms holding the same version
hold the same value and stay. Forms that name a version (`/a:3`) never change and stay; forms
that name a label (`/a:prod`) may or may not follow the change, and stay until their own TTL.

The candidates are found by direct lookups (both decryption forms of the name and the ARN; every
path prefix of the name, recursive or not, with or without its trailing `/`), never by scanning
the cache, so the cost of a fetch does not grow with the number of entries. A candidate listing
that does not hold the name (a non-recursive one of a higher folder) holds no version of it, so
it is left alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from paramsecrets.aws.upstream import Item
from paramsecrets.cache.keys import Key, ParameterKey, PathKey
from paramsecrets.cache.store import Cache


def path_prefixes(name: str) -> list[str]:
    """`/a/b/c` -> `/`, `/a`, `/a/`, `/a/b`, `/a/b/`: every path whose listing may hold `name`."""
    found = []
    at = name.find("/")
    while at != -1:
        if at:
            found.append(name[:at])
        found.append(name[:at + 1])
        at = name.find("/", at + 1)
    return found


def _versions(wire: bytes) -> dict[str, object]:
    """Name -> Version in an entry's AWS fields (one item, or a path's list of items)."""
    try:
        held = json.loads(wire) if wire else None
    except ValueError:
        return {}
    items = held if isinstance(held, list) else [held]
    return {str(item.get("Name")): item.get("Version") for item in items if isinstance(item, dict)}


def drop_superseded(cache: Cache, fetched: Iterable[Item], keep: Key | None = None) -> int:
    """Drop the cached forms of the `fetched` parameters that hold another version; how many.

    `keep` is the key the fetch itself is about to store (its old entry is replaced anyway). The
    work is a few dictionary lookups per fetched parameter, plus one per path prefix shared by
    them and one JSON parse per path listing actually cached.
    """
    latest: dict[str, object] = {}
    candidates: dict[Key, None] = {}  # ordered, without repeats
    folders: set[str] = set()
    for parameter in fetched:
        name = parameter.get("Name")
        if not name or parameter.get("Version") is None or parameter.get("Selector"):
            continue
        latest[str(name)] = parameter["Version"]
        for form in (name, parameter.get("ARN")):
            if form:
                candidates[ParameterKey(str(form), False)] = None
                candidates[ParameterKey(str(form), True)] = None
        folders.add(str(name).rpartition("/")[0] + "/")
    for folder in folders:
        for path in path_prefixes(folder):
            for recursive in (True, False):
                for decrypt in (False, True):
                    candidates[PathKey(path, recursive, decrypt)] = None
    if keep is not None:
        candidates.pop(keep, None)  # the fetch's own key: its old entry is replaced anyway
    dropped = 0
    for key, entry in cache.peek_each(candidates):
        held = _versions(entry.wire)
        if any(name in latest and latest[name] != version for name, version in held.items()):
            cache.discard(key)
            dropped += 1
    return dropped
