"""The embedded backend in this process: what `apply_seed` writes, read back with botocore, and how
a refusal from the backend is reported."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from paramsecrets.dev import backend, seed

SEED = seed.parse("""
[[parameter]]
name = "/b/cfg"
description = "versioned"
versions = ["one", "two", "three"]
labels = { prod = 2, stable = 2, canary = 3 }

[[parameter]]
name = "/b/pw"
type = "SecureString"
value = "pw"
kms_key_id = "alias/b"

[[parameter]]
name = "/b/big"
value = "%s"

[[parameter]]
name = "/b/list"
type = "StringList"
value = ["x", "y"]

[[secret]]
name = "b/key"
description = "rotated"
kms_key_id = "alias/b"
versions = [
  { value = "k1", id = "aaaaaaaa-0000-4000-8000-000000000001" },
  { value = "k2", id = "aaaaaaaa-0000-4000-8000-000000000002" },
  { binary = "AAEC", id = "aaaaaaaa-0000-4000-8000-000000000003", stages = ["AWSPENDING", "blue"] },
]
""" % ("z" * 5000), "b.toml")


@pytest.fixture(scope="module")
def running() -> Iterator[backend.Backend]:
    started = backend.start()
    try:
        backend.apply_seed(started.url, SEED)
        yield started
    finally:
        started.stop()


def client(url: str, service: str) -> Any:
    return backend._client(service, url)


def test_parameter_versions_labels_and_attributes(running: backend.Backend) -> None:
    ssm = client(running.url, "ssm")
    history = ssm.get_parameter_history(Name="/b/cfg")["Parameters"]
    assert [(h["Version"], h["Value"], sorted(h.get("Labels", []))) for h in history] == [
        (1, "one", []), (2, "two", ["prod", "stable"]), (3, "three", ["canary"])]
    assert {h.get("Description") for h in history} == {"versioned"}
    secure = ssm.get_parameter_history(Name="/b/pw", WithDecryption=True)["Parameters"]
    assert [(h["Type"], h["Value"], h["KeyId"]) for h in secure] == [("SecureString", "pw", "alias/b")]
    big = ssm.get_parameter_history(Name="/b/big")["Parameters"][0]
    assert (len(big["Value"]), big["Tier"]) == (5000, "Advanced")  # over 4 KiB: the Advanced tier
    listed = ssm.get_parameter(Name="/b/list")["Parameter"]
    assert (listed["Type"], listed["Value"]) == ("StringList", "x,y")


def test_secret_versions_stages_and_attributes(running: backend.Backend) -> None:
    secrets = client(running.url, "secretsmanager")
    described = secrets.describe_secret(SecretId="b/key")
    assert (described["Description"], described["KmsKeyId"]) == ("rotated", "alias/b")
    stages = {vid[-1]: sorted(s) for vid, s in described["VersionIdsToStages"].items()}
    assert stages == {"1": ["AWSPREVIOUS"], "2": ["AWSCURRENT"], "3": ["AWSPENDING", "blue"]}
    assert secrets.get_secret_value(SecretId="b/key", VersionStage="blue")["SecretBinary"] == b"\x00\x01\x02"
    # what seed.Secret.final_stages predicted, version for version
    predicted = SEED.secrets[0].final_stages()
    assert {stage: str(index + 1) for stage, index in predicted.items()} == {
        stage: number for number, held in stages.items() for stage in held}


def test_a_refusal_names_the_entry_and_never_the_value(running: backend.Backend) -> None:
    again = seed.parse('[[secret]]\nname = "b/key"\nvalue = "value-never-shown"\n', "again.toml")
    with pytest.raises(backend.SeedingError) as caught:
        backend.apply_seed(running.url, again)
    message = str(caught.value)
    assert message.startswith('again.toml: secret "b/key": the backend refused it: ')
    assert "ResourceExistsException" in message
    assert "value-never-shown" not in message


def test_stop_closes_the_port_and_is_idempotent() -> None:
    started = backend.start()
    port = urlsplit(started.url).port
    assert urlsplit(started.url).hostname == "127.0.0.1"
    started.stop()
    started.stop()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port or 0), timeout=1):
        pass
