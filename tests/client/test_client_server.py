"""The Python client against a real `paramsecrets serve` process and a real moto backend:
every function, every error type, URL-encoding, binary secrets, keep-alive and the retry window."""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from paramsecrets.client import (
    AWS_GENERIC_ERROR,
    AccessDeniedError,
    BadRequestError,
    Client,
    NotFoundError,
    ParamSecretsError,
    ThrottledError,
    UnauthorizedError,
    UnavailableError,
    default_client,
    get_parameter,
    get_parameters,
    get_parameters_by_path,
    get_secret,
    get_secret_json,
    get_secrets,
    set_default_client,
)
from paramsecrets.testing.fault_proxy import FaultProxy
from paramsecrets.testing.moto import MotoServer, wait_until
from paramsecrets.testing.net import free_port
from paramsecrets.testing.server import ServerProcess, start_server
from tests.client.stub import PausingClock

Start = Callable[..., ServerProcess]
BLOB = bytes(range(256)) * 3


def client_for(server: ServerProcess, **kwargs: Any) -> Client:
    kwargs.setdefault("retry_seconds", 0)
    return Client(port=server.port, token=server.token, **kwargs)


@pytest.fixture
def client(server: ServerProcess) -> Iterator[Client]:
    with client_for(server) as c:
        yield c


@pytest.fixture
def ssm(moto: MotoServer) -> Any:
    return moto.client("ssm")


@pytest.fixture
def sm(moto: MotoServer) -> Any:
    return moto.client("secretsmanager")


# ---- parameters -----------------------------------------------------------------------------


def test_parameter_types(client: Client, ssm: Any) -> None:
    ssm.put_parameter(Name="/app/db/host", Value="db.internal", Type="String")
    ssm.put_parameter(Name="/app/hosts", Value="a,b,c", Type="StringList")
    ssm.put_parameter(Name="/app/db/password", Value="pa55word", Type="SecureString")
    assert client.get_parameter("/app/db/host") == "db.internal"
    assert client.get_parameter("/app/hosts") == "a,b,c"
    assert client.get_parameter("/app/db/password", decrypt=True) == "pa55word"
    assert client.get_parameter("/app/db/password") != "pa55word"  # ciphertext without decrypt


def test_parameter_versions_labels_and_arn(client: Client, ssm: Any) -> None:
    ssm.put_parameter(Name="/app/v", Value="one", Type="String")
    ssm.put_parameter(Name="/app/v", Value="two", Type="String", Overwrite=True)
    ssm.label_parameter_version(Name="/app/v", ParameterVersion=1, Labels=["Prod"])
    assert client.get_parameter("/app/v") == "two"
    assert client.get_parameter("/app/v", version=1) == "one"
    assert client.get_parameter("/app/v", version="2") == "two"
    assert client.get_parameter("/app/v", label="Prod") == "one"
    assert client.get_parameter("/app/v:1") == "one"
    assert client.get_parameter("/app/v:Prod") == "one"
    arn = ssm.get_parameter(Name="/app/v")["Parameter"]["ARN"]
    assert client.get_parameter(arn) == "two"


def test_parameter_names_with_url_special_characters(client: Client, ssm: Any) -> None:
    """`/`, `.`, `-`, `_` are what SSM allows; each goes through percent-encoded."""
    name = "/app/a.b-c_d/e"
    ssm.put_parameter(Name=name, Value="special", Type="String")
    assert client.get_parameter(name) == "special"
    ssm.put_parameter(Name="no-slash.name", Value="flat", Type="String")
    assert client.get_parameter("no-slash.name") == "flat"


def test_parameter_not_found_and_version_not_found(client: Client, ssm: Any) -> None:
    ssm.put_parameter(Name="/app/v", Value="one", Type="String")
    with pytest.raises(NotFoundError) as caught:
        client.get_parameter("/app/missing")
    assert (caught.value.status, caught.value.code) == (404, "ParameterNotFound")
    assert "'/app/missing'" in str(caught.value)
    with pytest.raises(NotFoundError) as caught:
        client.get_parameter("/app/v", version=9)
    assert caught.value.code == "ParameterVersionNotFound"


def test_parameter_names_ssm_rejects(client: Client) -> None:
    """SSM names can't hold spaces or unicode. The name must still arrive intact (not a 400
    for a malformed URL, not a mangled name): moto answers ParameterNotFound quoting it (real
    SSM would say ValidationException, a BadRequestError)."""
    for name in ["/app/with space", "/app/ünïcode", "/app/semi;colon+plus"]:
        with pytest.raises(NotFoundError) as caught:
            client.get_parameter(name)
        assert (caught.value.status, caught.value.code) == (404, "ParameterNotFound")
        assert name in caught.value.message


def test_bad_version_is_a_bad_request(client: Client) -> None:
    with pytest.raises(BadRequestError) as caught:
        client.get_parameter("/app/x", version=0)
    assert (caught.value.status, caught.value.code) == (400, "BadRequest")
    assert "version" in caught.value.message


def test_refresh_skips_the_cache(client: Client, ssm: Any, moto: MotoServer) -> None:
    ssm.put_parameter(Name="/app/r", Value="old", Type="String")
    assert client.get_parameter("/app/r") == "old"
    ssm.put_parameter(Name="/app/r", Value="new", Type="String", Overwrite=True)
    moto.clear_calls()
    assert client.get_parameter("/app/r") == "old"  # cached
    assert moto.count("AmazonSSM.GetParameter") == 0
    assert client.get_parameter("/app/r", refresh=True) == "new"
    assert moto.count("AmazonSSM.GetParameter") == 1
    assert client.get_parameter("/app/r") == "new"


def test_get_parameters_many_chunks_and_missing(client: Client, ssm: Any, moto: MotoServer) -> None:
    names = [f"/app/many/p{i:03d}" for i in range(130)]
    for name in names:
        ssm.put_parameter(Name=name, Value=f"v-{name}", Type="String")
    ssm.put_parameter(Name="/app/many/secure", Value="s3", Type="SecureString")
    moto.clear_calls()
    asked = [*names, "/app/many/missing", "/app/many/secure"]
    result = client.get_parameters(asked, decrypt=True)
    assert result == {**{n: f"v-{n}" for n in names}, "/app/many/secure": "s3"}
    assert list(result) == [n for n in asked if n != "/app/many/missing"]
    assert moto.count("AmazonSSM.GetParameter") == 0  # batched upstream, not one by one
    assert moto.count("AmazonSSM.GetParameters") >= 14


def test_get_parameters_by_path(client: Client, ssm: Any) -> None:
    ssm.put_parameter(Name="/svc/a", Value="1", Type="String")
    ssm.put_parameter(Name="/svc/deep/b", Value="2", Type="String")
    ssm.put_parameter(Name="/svc/deep/c", Value="3", Type="SecureString")
    ssm.put_parameter(Name="/other/x", Value="no", Type="String")
    result = client.get_parameters_by_path("/svc/", decrypt=True)
    assert result == {"/svc/a": "1", "/svc/deep/b": "2", "/svc/deep/c": "3"}
    assert client.get_parameters_by_path("/svc", recursive=False) == {"/svc/a": "1"}
    assert client.get_parameters_by_path("/nothing/") == {}


# ---- secrets --------------------------------------------------------------------------------


def test_secret_string_binary_and_json(client: Client, sm: Any) -> None:
    sm.create_secret(Name="prod/db", SecretString='{"username": "admin", "password": "pw"}')
    sm.create_secret(Name="prod/blob", SecretBinary=BLOB)
    assert client.get_secret("prod/db") == '{"username": "admin", "password": "pw"}'
    assert client.get_secret_json("prod/db") == {"username": "admin", "password": "pw"}
    value = client.get_secret("prod/blob")
    assert isinstance(value, bytes) and value == BLOB


@pytest.mark.parametrize("secret_id", [
    "prod/db+x=y@z.w-v_u",
    "with space/and:colon",
    "ünïcödé/秘密",
    "a%2Fb?c&d#e",
])
def test_secret_ids_are_url_encoded(client: Client, sm: Any, secret_id: str) -> None:
    """Each id reaches AWS exactly: `+` is not a space, `%2F` is not a slash, `?&#` split nothing."""
    sm.create_secret(Name=secret_id, SecretString=f"value of {secret_id}")
    assert client.get_secret(secret_id) == f"value of {secret_id}"


def test_secret_versions_and_arn(client: Client, sm: Any) -> None:
    first = sm.create_secret(Name="rotating", SecretString="v1")
    sm.put_secret_value(SecretId="rotating", SecretString="v2")
    assert client.get_secret("rotating") == "v2"
    assert client.get_secret("rotating", version_stage="AWSPREVIOUS") == "v1"
    assert client.get_secret("rotating", version_id=first["VersionId"]) == "v1"
    assert client.get_secret(first["ARN"]) == "v2"


def test_secret_not_found(client: Client) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.get_secret("nope")
    assert (caught.value.status, caught.value.code) == (404, "ResourceNotFoundException")
    assert "'nope'" in str(caught.value)


def test_secret_json_of_a_non_json_secret(client: Client, sm: Any) -> None:
    sm.create_secret(Name="plain", SecretString="hunter2")
    with pytest.raises(ParamSecretsError) as caught:
        client.get_secret_json("plain")
    assert "hunter2" not in str(caught.value)


def test_get_secrets_many(client: Client, sm: Any, moto: MotoServer) -> None:
    ids = [f"batch/s{i}" for i in range(25)]
    for secret_id in ids:
        sm.create_secret(Name=secret_id, SecretString=f"v-{secret_id}")
    sm.create_secret(Name="batch/bin", SecretBinary=b"\x00\x01\x02")
    moto.clear_calls()
    result = client.get_secrets([*ids, "batch/missing", "batch/bin"])
    assert result == {**{s: f"v-{s}" for s in ids}, "batch/bin": b"\x00\x01\x02"}
    assert moto.count("secretsmanager.GetSecretValue") == 0


def test_refresh_for_secrets(client: Client, sm: Any) -> None:
    sm.create_secret(Name="r", SecretString="old")
    assert client.get_secret("r") == "old"
    sm.put_secret_value(SecretId="r", SecretString="new")
    assert client.get_secret("r") == "old"
    assert client.get_secret("r", refresh=True) == "new"


# ---- token ----------------------------------------------------------------------------------


def test_wrong_token_is_unauthorized(server: ServerProcess) -> None:
    with pytest.raises(UnauthorizedError) as caught:
        Client(port=server.port, token="wrong-token", retry_seconds=0).get_parameter("/x")
    error = caught.value
    assert (error.status, error.code) == (401, "Unauthorized")
    assert error.message == "Bad session token or header key"
    assert "wrong-token" not in str(error) and server.token not in str(error)


def test_no_token_is_unauthorized_with_a_hint(server: ServerProcess) -> None:
    client = Client(port=server.port, retry_seconds=0, environ={})
    with pytest.raises(UnauthorizedError) as caught:
        client.get_parameter("/x")
    assert "AWS_TOKEN, AWS_SESSION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN" in str(caught.value)


def test_token_from_environment_and_file(server: ServerProcess, ssm: Any, tmp_path: Path) -> None:
    ssm.put_parameter(Name="/t", Value="ok", Type="String")
    port = str(server.port)
    env = {"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": port, "AWS_CONTAINER_AUTHORIZATION_TOKEN": server.token}
    assert Client(environ=env, retry_seconds=0).get_parameter("/t") == "ok"
    token_file = tmp_path / "token"
    token_file.write_text(server.token + "\n")
    env = {"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": port, "PARAMETERS_SECRETS_EXTENSION_TOKEN_ENV": "MY_T",
           "MY_T": f"file://{token_file}", "AWS_TOKEN": "not-this-one"}
    assert Client(environ=env, retry_seconds=0).get_parameter("/t") == "ok"


def test_module_functions_use_the_environment(server: ServerProcess, ssm: Any, sm: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ssm.put_parameter(Name="/m/a", Value="1", Type="String")
    ssm.put_parameter(Name="/m/b", Value="2", Type="String")
    sm.create_secret(Name="m/s", SecretString='{"k": "v"}')
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(server.port))
    monkeypatch.setenv("AWS_SESSION_TOKEN", server.token)
    monkeypatch.delenv("AWS_TOKEN", raising=False)
    set_default_client(None)
    try:
        assert get_parameter("/m/a") == "1"
        assert get_parameters(["/m/a", "/m/b"]) == {"/m/a": "1", "/m/b": "2"}
        assert get_parameters_by_path("/m/") == {"/m/a": "1", "/m/b": "2"}
        assert get_secret("m/s") == '{"k": "v"}'
        assert get_secret_json("m/s") == {"k": "v"}
        assert get_secrets(["m/s"]) == {"m/s": '{"k": "v"}'}
        assert default_client().port == server.port
    finally:
        set_default_client(None)


# ---- upstream failures through the real server ----------------------------------------------


@pytest.mark.parametrize(("code", "error_type", "status"), [
    ("AccessDeniedException", AccessDeniedError, 403),
    ("ThrottlingException", ThrottledError, 429),
])
def test_upstream_refusals_are_typed(start: Start, proxy: FaultProxy, code: str, error_type: type[ParamSecretsError],
                                    status: int) -> None:
    server = start(AWS_ENDPOINT_URL=proxy.url)
    proxy.fail(400, code=code, message="refused", operation="AmazonSSM.GetParameter")
    with pytest.raises(error_type) as caught:
        client_for(server).get_parameter("/app/x")
    assert (caught.value.status, caught.value.code) == (status, code)


def test_upstream_down_is_unavailable(start: Start, proxy: FaultProxy) -> None:
    server = start(AWS_ENDPOINT_URL=proxy.url)
    proxy.fail(500, operation="secretsmanager.GetSecretValue")
    with pytest.raises(UnavailableError) as caught:
        client_for(server).get_secret("db")
    assert caught.value.status == 502


@pytest.mark.parametrize("mode", ["aws", None])
def test_typed_errors_from_a_server_in_the_aws_profile(start: Start, ssm: Any, mode: str | None) -> None:
    """The server answers like the AWS extension by default (an opaque 400); the client asks
    for the detailed profile per request, so its errors stay typed. (Against the AWS extension
    itself the opaque 400 is a plain ParamSecretsError: test_client_unit.py.)"""
    server = start(**({"PARAMETERS_SECRETS_EXTENSION_ERROR_MODE": mode} if mode else {}))
    ssm.put_parameter(Name="/ok", Value="fine", Type="String")
    client = client_for(server)
    assert client.get_parameter("/ok") == "fine"
    calls: tuple[tuple[Callable[[], object], str], ...] = (
        (lambda: client.get_parameter("/missing"), "ParameterNotFound"),
        (lambda: client.get_secret("missing"), "ResourceNotFoundException"))
    for call, code in calls:
        with pytest.raises(NotFoundError) as caught:
            call()
        assert (caught.value.status, caught.value.code) == (404, code)
        assert caught.value.message != AWS_GENERIC_ERROR


# ---- connections and the retry window -------------------------------------------------------


def test_one_connection_for_many_calls(client: Client, ssm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ssm.put_parameter(Name="/k", Value="v", Type="String")
    connects: list[object] = []
    real = socket.create_connection

    def counting(*args: Any, **kwargs: Any) -> socket.socket:
        connects.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", counting)
    for _ in range(20):
        assert client.get_parameter("/k") == "v"
    assert len(connects) == 1


def test_reconnects_after_the_server_restarts(aws_env: dict[str, str], tmp_path: Path, ssm: Any) -> None:
    """A kept connection closed by a server that went away is replaced transparently."""
    ssm.put_parameter(Name="/k", Value="v", Type="String")
    port = free_port()
    first = start_server(aws_env, tmp_path, port=port)
    try:
        client = Client(port=port, token=first.token, retry_seconds=0)
        assert client.get_parameter("/k") == "v"
    finally:
        first.stop()
    second = start_server(aws_env, tmp_path, port=port)
    try:
        assert client.get_parameter("/k") == "v"
    finally:
        second.stop()


def test_server_started_after_the_first_call_is_reached(aws_env: dict[str, str], tmp_path: Path,
                                                        ssm: Any) -> None:
    ssm.put_parameter(Name="/late", Value="worth the wait", Type="String")
    port = free_port()
    client = Client(port=port, token=aws_env["AWS_TOKEN"], retry_seconds=120)
    outcome: dict[str, Any] = {}
    pauses: list[float] = []
    pause = client._sleep

    def counted_pause(seconds: float) -> None:
        pauses.append(seconds)
        pause(seconds)

    client._sleep = counted_pause

    def call() -> None:
        try:
            outcome["value"] = client.get_parameter("/late")
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=call)
    thread.start()
    assert wait_until(lambda: len(pauses) >= 2, timeout=30), "the client never retried"
    assert thread.is_alive() and not outcome  # refused twice, still retrying
    server = start_server(aws_env, tmp_path, port=port, wait=False)
    try:
        thread.join(120)
        assert outcome.get("value") == "worth the wait", outcome
    finally:
        server.stop()


def test_nothing_listening_fails_after_the_configured_window(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("PARAMSECRETS_CLIENT_RETRY_SECONDS", "1.5")
    client = Client(port=port, token="t")
    clock = PausingClock().install(client)
    with pytest.raises(UnavailableError) as caught:
        client.get_parameter("/x")
    assert sum(clock.pauses) == pytest.approx(1.5)  # the window from the environment, not the default 3 s
    assert str(caught.value).startswith(
        f"nothing is listening on 127.0.0.1:{port} — is the paramsecrets layer attached?")
    assert "(retried for 1.5 s)" in str(caught.value)


def test_binary_secret_round_trip_matches_base64(client: Client, sm: Any, server: ServerProcess) -> None:
    """The bytes are the base64 the server sent, decoded: nothing lost or added."""
    sm.create_secret(Name="b", SecretBinary=b"\xff\x00" * 1000)
    raw = server.get("/secretsmanager/get?secretId=b").json()["SecretBinary"]
    assert client.get_secret("b") == base64.b64decode(raw) == b"\xff\x00" * 1000
