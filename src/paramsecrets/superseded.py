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
the cache, so the cost of a fetch does not grow with the number of entries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from paramsecrets.cache import Cache
from paramsecrets.keys import Key, ParameterKey, PathKey
from paramsecrets.upstream import Item


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


def _forms(parameter: Item) -> tuple[list[ParameterKey], list[PathKey]]:
    names = [str(parameter.get(field)) for field in ("Name", "ARN") if parameter.get(field)]
    single = [ParameterKey(name, decrypt) for name in names for decrypt in (False, True)]
    name = str(parameter.get("Name") or "")
    paths = [PathKey(path, recursive, decrypt) for path in path_prefixes(name)
             for recursive in (True, False) for decrypt in (False, True)]
    return single, [key for key in paths if key.covers(name)]


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

    `keep` is the key the fetch itself is about to store (its old entry is replaced anyway).
    """
    latest: dict[str, object] = {}
    candidates: dict[Key, None] = {}  # ordered, without repeats
    for parameter in fetched:
        name = parameter.get("Name")
        if not name or parameter.get("Version") is None or parameter.get("Selector"):
            continue
        latest[str(name)] = parameter["Version"]
        single, paths = _forms(parameter)
        candidates.update(dict.fromkeys([*single, *paths]))
    dropped = 0
    for key in candidates:
        entry = cache.peek(key) if key != keep else None
        if entry is None:
            continue
        held = _versions(entry.wire)
        if any(name in held and held[name] != version for name, version in latest.items()):
            cache.discard(key)
            dropped += 1
    return dropped
