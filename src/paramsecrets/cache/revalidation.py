"""Revalidation by version (Secrets Manager): what a DescribeSecret answer says about a cached secret.

When a secret entry is due (TTL reached, or refresh ahead), the reader asks DescribeSecret
(quota 40,000/s) which version the entry's selector resolves to now, and calls GetSecretValue
(10,000/s) only when it differs from the version held; an unchanged entry gets a new TTL and keeps
its bytes. A pinned `versionId` never changes: its entry is simply extended, with no call. The
answer also gives the rotation schedule that caps the entry's life (paramsecrets.cache.policy.secret_ttl).
Pure functions of AWS's answer, so they are tested on numbers.
"""

from __future__ import annotations

from datetime import datetime

from paramsecrets.aws.upstream import Item
from paramsecrets.cache.keys import SecretKey

CURRENT = "AWSCURRENT"


def resolved_version(key: SecretKey, described: Item) -> str | None:
    """The version id `key`'s selector names now (`versionStage`, else AWSCURRENT), or None."""
    if key.version_id is not None:
        return key.version_id
    stage = key.version_stage or CURRENT
    stages = described.get("VersionIdsToStages")
    if not isinstance(stages, dict):
        return None
    for version_id, labels in stages.items():
        if isinstance(labels, list) and stage in labels:
            return str(version_id)
    return None


def next_rotation(described: Item) -> float | None:
    """NextRotationDate as epoch seconds when rotation is on (AWS JSON sends an epoch number;
    an ISO 8601 string is read too), else None."""
    if not described.get("RotationEnabled"):
        return None
    when = described.get("NextRotationDate")
    if isinstance(when, bool):
        return None
    if isinstance(when, (int, float)):
        return float(when)
    if isinstance(when, str) and len(when) <= 64:
        try:
            return datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None
