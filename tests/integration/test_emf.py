"""EMF metrics outside Lambda: the real server writes a document every EMF_INTERVAL seconds, with
the deltas of what it answered, valid by the EMF specification, and never a name."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from paramsecrets.testing.emf_spec import problems
from paramsecrets.testing.moto import wait_until
from paramsecrets.testing.server import ServerProcess
from tests.integration.conftest import Seeded


def documents(server: ServerProcess) -> list[dict[str, Any]]:
    lines = [line for line in server.output().splitlines() if line.startswith('{"_aws"')]
    for line in lines:
        assert problems(line) == [], line
    return [json.loads(line) for line in lines]


def test_documents_every_interval_outside_lambda(seeded: Seeded, start: Callable[..., ServerProcess]) -> None:
    server = start(PARAMETERS_SECRETS_EXTENSION_EMF_METRICS="true", PARAMETERS_SECRETS_EXTENSION_EMF_INTERVAL="1")
    for _ in range(3):
        assert server.get("/systemsmanager/parameters/get?name=/app/plain").status == 200
    assert server.get("/secretsmanager/get?secretId=nope").status == 400

    def counted() -> bool:
        main = [doc for doc in documents(server) if "CacheHits" in doc]
        counts_match: bool = sum(doc["CacheHits"] for doc in main) == 2 and sum(doc["CacheMisses"] for doc in main) == 2
        return counts_match

    assert wait_until(counted, timeout=30), server.output()
    found = documents(server)
    assert all(doc["Service"] == "paramsecrets" and "FunctionName" not in doc for doc in found)
    assert found[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "paramsecrets"
    assert wait_until(lambda: any(doc.get("ErrorCode") == "ResourceNotFoundException" for doc in documents(server)),
                      timeout=30)
    assert "/app/plain" not in "\n".join(json.dumps(doc) for doc in documents(server))


def test_a_document_at_the_stop(seeded: Seeded, start: Callable[..., ServerProcess]) -> None:
    server = start(PARAMETERS_SECRETS_EXTENSION_EMF_METRICS="true", PARAMETERS_SECRETS_EXTENSION_EMF_INTERVAL="3600",
                   PARAMETERS_SECRETS_EXTENSION_EMF_NAMESPACE="ns")
    for _ in range(2):
        assert server.get("/secretsmanager/get?secretId=prod/db").status == 200
    assert documents(server) == []
    assert server.stop() == 0
    main = [doc for doc in documents(server) if "CacheHits" in doc]
    assert [(doc["CacheHits"], doc["CacheMisses"]) for doc in main] == [(1, 1)]
    assert main[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ns"
