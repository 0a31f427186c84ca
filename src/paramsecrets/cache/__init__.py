"""The cache layer: what is held and when it is good. Keys (keys.py), the store (store.py), the
freshness rules as a pure function of an entry and the time (policy.py), loading with one flight
per key (reader.py, batching.py), remembered errors, revalidation, roles and the bodies it stores
(shapes.py). It imports the aws/ layer and the foundations below it, never api/ or process/.

Submodules are imported where they are used, never here: the cold start pays only for what it runs.
"""

__all__ = [
    "batching",
    "error_cache",
    "keys",
    "policy",
    "reader",
    "revalidation",
    "roles",
    "shapes",
    "store",
    "superseded",
]
