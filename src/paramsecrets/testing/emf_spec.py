"""The CloudWatch Embedded Metric Format specification's rules, as checks on one parsed log line.

Written from the specification (CloudWatch user guide, "Specification: Embedded metric format"),
independently of paramsecrets.process.emf, so a test holds our documents to what CloudWatch Logs accepts.
"""

from __future__ import annotations

import json
from typing import Any

UNITS = frozenset({
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes", "Bits",
    "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
    "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second",
    "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
})
MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_DIMENSIONS = 30
MAX_METRICS = 100
MAX_VALUES = 100


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def problems(line: str) -> list[str]:
    """Everything in `line` that breaks the specification (an empty list: a valid document)."""
    found: list[str] = []
    if len(line.encode()) > MAX_DOCUMENT_BYTES:
        found.append("larger than 1 MB")
    try:
        root = json.loads(line)
    except ValueError:
        return ["not a JSON text"]
    if not isinstance(root, dict):
        return ["the root is not an object"]
    meta = root.get("_aws")
    if not isinstance(meta, dict):
        return ["no _aws metadata object"]
    if set(meta) - {"Timestamp", "CloudWatchMetrics", "LogGroupName", "LogStreamName"}:
        found.append(f"unknown _aws members {sorted(set(meta) - {'Timestamp', 'CloudWatchMetrics'})}")
    stamp = meta.get("Timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp < 0:
        found.append("Timestamp is not a non-negative integer (milliseconds since the epoch)")
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        return [*found, "CloudWatchMetrics is not an array"]
    for index, directive in enumerate(directives):
        found += [f"directive {index}: {problem}" for problem in _directive(directive, root)]
    return found


def _directive(directive: Any, root: dict[str, Any]) -> list[str]:
    if not isinstance(directive, dict):
        return ["not an object"]
    found = []
    if set(directive) - {"Namespace", "Dimensions", "Metrics"}:
        found.append(f"unknown members {sorted(set(directive) - {'Namespace', 'Dimensions', 'Metrics'})}")
    namespace = directive.get("Namespace")
    if not isinstance(namespace, str) or not 1 <= len(namespace) <= 255 or not namespace.strip():
        found.append("Namespace is not a string of 1 to 255 characters")
    dimension_sets = directive.get("Dimensions")
    if not isinstance(dimension_sets, list):
        found.append("Dimensions is not an array")
        dimension_sets = []
    for dimension_set in dimension_sets:
        if not isinstance(dimension_set, list) or len(dimension_set) > MAX_DIMENSIONS:
            found.append(f"a dimension set is not an array of at most {MAX_DIMENSIONS} names")
            continue
        for name in dimension_set:
            if not isinstance(name, str) or not 1 <= len(name) <= 250:
                found.append(f"dimension name {name!r} is not a string of 1 to 250 characters")
                continue
            value = root.get(name)
            if not isinstance(value, str) or not 1 <= len(value) <= 1024:
                found.append(f"dimension {name!r} has no string value of 1 to 1024 characters in the root")
    metrics = directive.get("Metrics")
    if not isinstance(metrics, list) or len(metrics) > MAX_METRICS:
        return [*found, f"Metrics is not an array of at most {MAX_METRICS} definitions"]
    names = []
    for metric in metrics:
        if not isinstance(metric, dict) or set(metric) - {"Name", "Unit", "StorageResolution"}:
            found.append(f"metric definition {metric!r} has unknown members")
            continue
        name = metric.get("Name")
        if not isinstance(name, str) or not 1 <= len(name) <= 1024:
            found.append("a metric Name is not a string of 1 to 1024 characters")
            continue
        names.append(name)
        if "Unit" in metric and metric["Unit"] not in UNITS:
            found.append(f"metric {name!r} has the unknown unit {metric['Unit']!r}")
        if "StorageResolution" in metric and metric["StorageResolution"] not in (1, 60):
            found.append(f"metric {name!r} has a StorageResolution other than 1 or 60")
        value = root.get(name)
        values = value if isinstance(value, list) else [value]
        if not values or len(values) > MAX_VALUES or not all(_number(item) for item in values):
            found.append(f"metric {name!r} has no number (or array of at most {MAX_VALUES} numbers) in the root")
    if len(set(names)) != len(names):
        found.append("a metric name is defined twice")
    return found
