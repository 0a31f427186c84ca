"""EMF documents: deltas, few dimensions, never a name, and valid by the specification."""

from __future__ import annotations

import json
from typing import Any

from paramsecrets.metrics import Metrics
from paramsecrets.process.emf import EmfReporter
from paramsecrets.testing.emf_spec import problems


def written(reporter: EmfReporter, out: list[bytes]) -> list[dict[str, Any]]:
    out.clear()
    reporter.flush()
    lines = b"".join(out).decode().splitlines()
    for line in lines:
        assert problems(line) == [], line
    return [json.loads(line) for line in lines]


def test_deltas_dimensions_and_the_specification() -> None:
    metrics = Metrics()
    out: list[bytes] = []
    reporter = EmfReporter(metrics, "paramsecrets", {"AWS_LAMBDA_FUNCTION_NAME": "fn"}, out.append, lambda: 1700.5)
    metrics.hits, metrics.misses = 5, 2
    metrics.record_upstream("GetParameter", "ok")
    metrics.record_upstream("GetParameter", "ok")
    metrics.count_error("ParameterNotFound")
    first = written(reporter, out)
    main = first[0]
    assert main["_aws"]["Timestamp"] == 1700500
    assert main["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["FunctionName", "Service"]]
    assert (main["FunctionName"], main["Service"]) == ("fn", "paramsecrets")
    assert (main["CacheHits"], main["CacheMisses"]) == (5, 2)
    upstream = [doc for doc in first if "UpstreamCalls" in doc]
    assert [(d["Operation"], d["Outcome"], d["UpstreamCalls"]) for d in upstream] == [("GetParameter", "ok", 2)]
    assert [(d["ErrorCode"], d["Errors"]) for d in first if "Errors" in d] == [("ParameterNotFound", 1)]
    metrics.hits += 3
    second = written(reporter, out)
    assert len(second) == 1 and second[0]["CacheHits"] == 3 and second[0]["CacheMisses"] == 0


def test_outside_lambda_only_the_service_dimension() -> None:
    out: list[bytes] = []
    document = written(EmfReporter(Metrics(), "ns", {}, out.append), out)[0]
    assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Service"]]
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ns"


def test_the_checker_finds_what_the_specification_forbids() -> None:
    good: dict[str, Any] = {"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "n", "Dimensions": [["D"]],
                                                            "Metrics": [{"Name": "M", "Unit": "Count"}]}]},
            "D": "x", "M": 1}
    assert problems(json.dumps(good)) == []
    for broken in ({**good, "M": "1"}, {**good, "D": 3}, {k: v for k, v in good.items() if k != "M"},
                   {**good, "_aws": {"CloudWatchMetrics": good["_aws"]["CloudWatchMetrics"]}}):
        assert problems(json.dumps(broken))
    bad_unit = json.loads(json.dumps(good))
    bad_unit["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = "Things"
    assert problems(json.dumps(bad_unit))
