"""CrtRuntime's start-up choices: which credentials provider, and which trust store for TLS.

With both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set (always, in Lambda) the environment
provider is used without building the default chain, whose own TLS context costs ~12 ms of CPU
per start; the credentials are the ones the chain would have found first. Where the host has no
CA trust store, the first TLS context falls back on the layer's own bundle.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from awscrt.auth import AwsCredentialsProvider
from awscrt.io import ClientBootstrap, ClientTlsContext

from paramsecrets.aws import transport, trust
from paramsecrets.aws.endpoints import Endpoint
from paramsecrets.aws.errors import Kind, UpstreamError
from paramsecrets.aws.transport import CrtRuntime, has_environment_keys

KEYS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_SESSION_TOKEN": "session-token-example"}


@pytest.mark.parametrize(("environ", "expected"), [
    (KEYS, True),
    ({"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"}, True),
    ({"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE"}, False),
    ({"AWS_SECRET_ACCESS_KEY": "secret"}, False),
    ({"AWS_ACCESS_KEY_ID": " ", "AWS_SECRET_ACCESS_KEY": "secret"}, False),
    ({"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": ""}, False),
    ({"AWS_PROFILE": "dev", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds"}, False),
    ({}, False),
])
def test_environment_keys_need_both_variables(environ: dict[str, str], expected: bool) -> None:
    assert has_environment_keys(environ) is expected


def test_environment_keys_skip_the_default_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)

    def no_chain(*_args: object) -> AwsCredentialsProvider:
        raise AssertionError("the default chain must not be built when the environment has both keys")

    monkeypatch.setattr(AwsCredentialsProvider, "new_default_chain", no_chain)
    runtime = CrtRuntime()
    credentials = runtime.credentials.get_credentials().result(timeout=5)
    assert credentials.access_key_id == KEYS["AWS_ACCESS_KEY_ID"]
    assert credentials.session_token == KEYS["AWS_SESSION_TOKEN"]


def test_without_environment_keys_the_default_chain_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []
    real_chain = AwsCredentialsProvider.new_default_chain

    def counting_chain(bootstrap: ClientBootstrap) -> AwsCredentialsProvider:
        built.append(bootstrap)
        return real_chain(bootstrap)

    monkeypatch.setattr(AwsCredentialsProvider, "new_default_chain", counting_chain)
    runtime = CrtRuntime(environ={"AWS_PROFILE": "nobody"})
    assert built == [runtime.bootstrap]


def test_no_trust_store_falls_back_on_the_layer_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = Path(trust.__file__).parent / "bundle.pem"  # never read: the fake context below records the path
    asked: list[str | None] = []

    def fake_context(ca_path: str | None) -> ClientTlsContext:
        asked.append(ca_path)
        if ca_path is None:
            raise RuntimeError(f"{trust.TRUST_STORE_NOT_FOUND}: no default trust store")
        return "context" + ca_path

    monkeypatch.setattr(transport, "tls_context", fake_context)
    monkeypatch.setattr(trust, "bundled_ca_file", lambda: str(bundle))
    runtime = CrtRuntime(environ=KEYS)
    assert runtime.tls == "context" + str(bundle)
    assert runtime.tls == "context" + str(bundle)  # built once
    assert asked == [None, str(bundle)]
    assert runtime.ca_file == str(bundle)


def test_an_explicit_ca_bundle_is_never_replaced(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def failing_context(ca_path: str | None) -> ClientTlsContext:
        raise RuntimeError(f"{trust.TRUST_STORE_NOT_FOUND}: {ca_path}")

    monkeypatch.setattr(transport, "tls_context", failing_context)
    monkeypatch.setattr(trust, "bundled_ca_file", lambda: str(tmp_path / "layer.pem"))
    runtime = CrtRuntime(str(tmp_path / "mine.pem"), environ=KEYS)
    with pytest.raises(RuntimeError, match=r"mine\.pem"):
        _ = runtime.tls


def test_other_tls_errors_are_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_context(ca_path: str | None) -> ClientTlsContext:
        raise RuntimeError("AWS_IO_FILE_VALIDATION_FAILURE")

    monkeypatch.setattr(transport, "tls_context", broken_context)
    runtime = CrtRuntime(environ=KEYS)
    with pytest.raises(RuntimeError, match="FILE_VALIDATION"):
        _ = runtime.tls


def test_a_tls_context_that_cannot_be_built_is_a_clear_upstream_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A TLS context first needed at a connection (STS over HTTPS while SSM is plain HTTP, say)
    fails the call with AwsClientUnavailable and its reason, never an unexpected exception."""
    def no_trust_store(ca_path: str | None) -> ClientTlsContext:
        raise RuntimeError(f"1173 ({trust.TRUST_STORE_NOT_FOUND})")

    monkeypatch.setattr(transport, "tls_context", no_trust_store)
    monkeypatch.setattr(trust, "bundled_ca_file", lambda: None)
    client = transport.AwsJsonTransport(transport.SSM, Endpoint("https", "ssm.example.invalid", 443), "us-east-1",
                                        CrtRuntime(environ=KEYS), max_connections=1)
    with pytest.raises(UpstreamError) as caught:
        asyncio.run(client._connect())
    assert caught.value.kind is Kind.UNAVAILABLE and caught.value.code == "AwsClientUnavailable"
    assert trust.TRUST_STORE_NOT_FOUND in str(caught.value)
    failure = asyncio.run(client.warm())  # the warm-up reports it as its failure, not as a success
    assert failure is not None and trust.TRUST_STORE_NOT_FOUND in failure
