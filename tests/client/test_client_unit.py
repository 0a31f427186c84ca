"""Unit tests of `paramsecrets.client` against a stdlib stub server: what goes on the wire,
how answers map to values and typed errors, token/port resolution, keep-alive, retry timing."""

from __future__ import annotations

import json
import os
import select
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paramsecrets import client as pc
from paramsecrets.client import (
    AccessDeniedError,
    BadRequestError,
    Client,
    NotFoundError,
    ParamSecretsError,
    ThrottledError,
    UnauthorizedError,
    UnavailableError,
)
from paramsecrets.testing.moto import wait_until
from paramsecrets.testing.net import free_port
from tests.client.stub import (
    PausingClock,
    Reply,
    Seen,
    StubServer,
    error_body,
    parameter_body,
    secret_body,
    stub_server,
)

TOKEN = "unit-token-9a8b7c"


def echo_parameter(seen: Seen) -> Reply:
    """Answer a parameter get with the decoded name as the value."""
    name = dict(seen.query)["name"]
    return Reply(body=parameter_body(name, f"value-of-{name}"))


def count_attempts(client: Client) -> list[int]:
    """A one-item list counting the client's exchanges (attempts, including refused ones)."""
    attempts = [0]
    exchange = client._exchange

    def counted(path: str, token: str | None) -> Any:
        attempts[0] += 1
        return exchange(path, token)

    client._exchange = counted  # type: ignore[method-assign]
    return attempts


@pytest.fixture(autouse=True, params=["http.client", "wire"])
def connection_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test twice: on http.client (the client's default) and on wire.RawConnection (what
    `paramsecrets exec` uses), so both transports keep the same keep-alive, retry and error rules."""
    if request.param == "wire":
        from paramsecrets.client.wire import RawConnection

        monkeypatch.setattr(pc, "_http_connection", RawConnection)
    return str(request.param)


def kept_connection_closed_by_peer(client: Client) -> bool:
    """True once the server's close (FIN) has arrived on the client's idle kept connection."""
    [conn] = client._idle
    sock: socket.socket | None = getattr(conn, "sock", None)  # both connection kinds keep theirs here
    assert sock is not None
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""


def make_client(stub: StubServer, **kwargs: object) -> Client:
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("retry_seconds", 0)
    return Client(port=stub.port, **kwargs)  # type: ignore[arg-type]


# ---- what goes on the wire ------------------------------------------------------------------


def test_parameter_request_encodes_name_and_sends_token() -> None:
    with stub_server(echo_parameter) as stub:
        value = make_client(stub).get_parameter("/app/db host:1")
    assert value == "value-of-/app/db host:1"
    [seen] = stub.seen
    assert seen.path == "/systemsmanager/parameters/get?name=%2Fapp%2Fdb%20host%3A1"
    assert seen.headers["x-aws-parameters-secrets-token"] == TOKEN
    assert seen.headers["x-paramsecrets-profile"] == "detailed"  # typed errors from a default server


def test_parameter_options_map_to_query() -> None:
    with stub_server(echo_parameter) as stub:
        client = make_client(stub)
        client.get_parameter("/p", decrypt=True, version=3, refresh=True)
        client.get_parameter("/p", label="Dev/1")
    assert stub.seen[0].query == [("name", "/p"), ("version", "3"), ("withDecryption", "true"),
                                  ("refreshNow", "true")]
    assert stub.seen[1].path.endswith("name=%2Fp&label=Dev%2F1")


def test_version_and_label_together_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="version or label"):
        Client(port=1, token=TOKEN).get_parameter("/p", version=1, label="x")


@pytest.mark.parametrize("bad", ["", None, 5])
def test_empty_or_non_string_name_is_a_value_error(bad: object) -> None:
    with pytest.raises(ValueError):
        Client(port=1, token=TOKEN).get_parameter(bad)  # type: ignore[arg-type]


def test_secret_request_and_options() -> None:
    def answer(seen: Seen) -> Reply:
        return Reply(body=secret_body("x", string="s3cret"))

    with stub_server(answer) as stub:
        client = make_client(stub)
        assert client.get_secret("prod/db ü") == "s3cret"
        client.get_secret("arn:aws:secretsmanager:us-east-1:1:secret:db", version_id="v1",
                          version_stage="AWSPREVIOUS", refresh=True)
    assert stub.seen[0].path == "/secretsmanager/get?secretId=prod%2Fdb%20%C3%BC"
    assert stub.seen[1].query == [("secretId", "arn:aws:secretsmanager:us-east-1:1:secret:db"),
                                  ("versionId", "v1"), ("versionStage", "AWSPREVIOUS"),
                                  ("refreshNow", "true")]


@settings(max_examples=100, deadline=None)
@given(name=st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40))
def test_any_name_round_trips_through_the_query(name: str) -> None:
    """Whatever the caller passes, the server decodes exactly that name, and no character
    of it can end the value early or be read as a separator."""
    encoded = pc._encode(name)
    assert all(c.isascii() and c not in "&=+#? /:" for c in encoded)
    seen = Seen("/systemsmanager/parameters/get?name=" + encoded, {}, 0)
    assert seen.query == [("name", name)]


def test_encode_matches_quote_with_nothing_safe() -> None:
    for name in ["/a/b", "a b", "x:1", "ünï", "a+b&c=d", "%2F"]:
        assert pc._encode(name) == quote(name, safe="")


# ---- answers to values ----------------------------------------------------------------------


def test_text_plain_success_is_parsed_as_json() -> None:
    """The AWS extension sends JSON labelled text/plain."""
    with stub_server(lambda s: Reply(body=parameter_body("/p", "v"), content_type="text/plain")) as stub:
        assert make_client(stub).get_parameter("/p") == "v"


def test_binary_secret_is_bytes_and_json_secret_parses() -> None:
    blob = bytes(range(256))

    def answer(seen: Seen) -> Reply:
        secret_id = dict(seen.query)["secretId"]
        if secret_id == "bin":
            return Reply(body=secret_body("bin", binary=blob))
        if secret_id == "jsonbin":
            return Reply(body=secret_body("jsonbin", binary=b'{"k": [1, 2]}'))
        return Reply(body=secret_body("db", string='{"username": "u", "password": "p"}'))

    with stub_server(answer) as stub:
        client = make_client(stub)
        assert client.get_secret("bin") == blob
        assert client.get_secret_json("db") == {"username": "u", "password": "p"}
        assert client.get_secret_json("jsonbin") == {"k": [1, 2]}


def test_non_json_secret_for_get_secret_json_names_no_value() -> None:
    with (
        stub_server(lambda s: Reply(body=secret_body("x", string="hunter2"))) as stub,
        pytest.raises(ParamSecretsError) as caught,
    ):
        make_client(stub).get_secret_json("x")
    assert "not JSON" in str(caught.value)
    assert "hunter2" not in str(caught.value) and "hunter2" not in repr(caught.value)


def test_non_json_success_body_is_not_quoted() -> None:
    with (
        stub_server(lambda s: Reply(body=b"supersecretvalue", content_type="text/plain")) as stub,
        pytest.raises(ParamSecretsError) as caught,
    ):
        make_client(stub).get_parameter("/p")
    assert type(caught.value) is ParamSecretsError
    assert "not JSON" in str(caught.value)
    assert "supersecretvalue" not in str(caught.value)


# ---- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "body", "cls", "code", "message"), [
    (404, error_body("ParameterNotFound", "Parameter /p not found."), NotFoundError,
     "ParameterNotFound", "Parameter /p not found."),
    (403, error_body("AccessDeniedException", "no"), AccessDeniedError, "AccessDeniedException", "no"),
    (401, error_body("Unauthorized", "Bad session token or header key"), UnauthorizedError,
     "Unauthorized", "Bad session token or header key"),
    (401, b"Bad session token or header key", UnauthorizedError, None,
     "Bad session token or header key"),
    (429, error_body("ThrottlingException", "Rate exceeded"), ThrottledError, "ThrottlingException",
     "Rate exceeded"),
    (502, error_body("BadGateway", "upstream unreachable"), UnavailableError, "BadGateway",
     "upstream unreachable"),
    (503, b"", UnavailableError, None, "the server is unavailable"),
    (504, error_body("GatewayTimeout", "slow"), UnavailableError, "GatewayTimeout", "slow"),
    (400, error_body("ValidationException", "bad name"), BadRequestError, "ValidationException",
     "bad name"),
    (400, pc.AWS_GENERIC_ERROR.encode(), ParamSecretsError, None, pc.AWS_GENERIC_ERROR),
    (500, error_body("InternalFailure", "bug"), ParamSecretsError, "InternalFailure", "bug"),
    (405, error_body("MethodNotAllowed", "GET only"), ParamSecretsError, "MethodNotAllowed", "GET only"),
])
def test_error_mapping(status: int, body: bytes, cls: type[ParamSecretsError], code: str | None,
                       message: str) -> None:
    with (
        stub_server(lambda s: Reply(status=status, body=body, content_type="text/plain")) as stub,
        pytest.raises(ParamSecretsError) as caught,
    ):
        make_client(stub).get_parameter("/p")
    error = caught.value
    assert type(error) is cls
    assert (error.status, error.code, error.message) == (status, code, message)
    assert "'/p'" in str(error) and str(status) in str(error)


def test_error_messages_never_hold_the_token() -> None:
    body = error_body("Weird", f"echo {TOKEN} back")
    with (
        stub_server(lambda s: Reply(status=400, body=body)) as stub,
        pytest.raises(BadRequestError) as caught,
    ):
        make_client(stub).get_parameter("/p")
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)
    assert "***" in caught.value.message


def test_long_error_text_is_bounded() -> None:
    with (
        stub_server(lambda s: Reply(status=500, body=b"x" * 5000, content_type="text/html")) as stub,
        pytest.raises(ParamSecretsError) as caught,
    ):
        make_client(stub).get_parameter("/p")
    assert len(caught.value.message) < 400


def test_missing_token_sends_no_header_and_says_where_to_look() -> None:
    def answer(seen: Seen) -> Reply:
        if "x-aws-parameters-secrets-token" in seen.headers:
            return Reply(body=parameter_body("/p", "v"))
        return Reply(status=401, body=error_body("Unauthorized", "Bad session token or header key"))

    with stub_server(answer) as stub:
        client = Client(port=stub.port, retry_seconds=0, environ={})
        with pytest.raises(UnauthorizedError) as caught:
            client.get_parameter("/p")
    assert "AWS_TOKEN, AWS_SESSION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN" in str(caught.value)


def test_timeout_is_unavailable() -> None:
    """The answer is held until the client has given up: a client that waited for it instead of
    its timeout would get the value (after a minute), not the error."""
    held = threading.Event()
    try:
        with stub_server(lambda s: Reply(body=parameter_body("/p", "v"), gate=held)) as stub:
            with pytest.raises(UnavailableError) as caught:
                make_client(stub, timeout=0.2).get_parameter("/p")
            held.set()
    finally:
        held.set()
    assert caught.value.code == "Timeout" and caught.value.status is None
    assert len(stub.seen) == 1


# ---- environment ----------------------------------------------------------------------------


def test_port_from_environment() -> None:
    assert pc.resolve_port({}) == 2773
    assert pc.resolve_port({"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": " 8080 "}) == 8080
    for bad in ["0", "65536", "http", "-1"]:
        with pytest.raises(ValueError, match="PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"):
            pc.resolve_port({"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": bad})
    assert Client(environ={"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "9999"}).port == 9999


def test_retry_seconds_from_environment() -> None:
    assert pc.resolve_retry_seconds({}) == 3.0
    assert pc.resolve_retry_seconds({"PARAMSECRETS_CLIENT_RETRY_SECONDS": "0.5"}) == 0.5
    for bad in ["-1", "nan", "inf", "soon"]:
        with pytest.raises(ValueError, match="PARAMSECRETS_CLIENT_RETRY_SECONDS"):
            pc.resolve_retry_seconds({"PARAMSECRETS_CLIENT_RETRY_SECONDS": bad})
    env = {"PARAMSECRETS_CLIENT_RETRY_SECONDS": "1.5"}
    assert Client(environ=env).retry_seconds == 1.5
    assert Client(environ=env, retry_seconds=0).retry_seconds == 0


def test_token_from_first_set_variable() -> None:
    assert pc.resolve_token({}) is None
    assert pc.resolve_token({"AWS_SESSION_TOKEN": "s", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "c"}) == "s"
    assert pc.resolve_token({"AWS_TOKEN": "t", "AWS_SESSION_TOKEN": "s"}) == "t"
    assert pc.resolve_token({"AWS_TOKEN": "", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "c"}) == "c"
    custom = {"PARAMETERS_SECRETS_EXTENSION_TOKEN_ENV": " MY_TOKEN , AWS_TOKEN",
              "AWS_TOKEN": "t", "MY_TOKEN": "m"}
    assert pc.resolve_token(custom) == "m"
    assert pc.resolve_token({**custom, "MY_TOKEN": ""}) == "t"
    assert pc.resolve_token({"PARAMETERS_SECRETS_EXTENSION_TOKEN_ENV": "ONLY", "AWS_TOKEN": "t"}) is None


def test_token_from_file_is_trimmed_and_reread_when_changed(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("  first-token\n")
    env = {"AWS_TOKEN": f"file://{token_file}"}
    assert pc.resolve_token(env) == "first-token"
    token_file.write_text("second-token-longer\n")
    assert pc.resolve_token(env) == "second-token-longer"


def test_unreadable_token_file_names_path_not_content(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(UnauthorizedError) as caught:
        pc.resolve_token({"AWS_SESSION_TOKEN": f"file://{missing}"})
    assert str(missing) in str(caught.value) and "AWS_SESSION_TOKEN" in str(caught.value)
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(UnauthorizedError, match="empty"):
        pc.resolve_token({"AWS_TOKEN": f"file://{empty}"})


def test_token_is_looked_up_on_every_call() -> None:
    """A token that appears later (SnapStart restore) or rotates is picked up."""
    env: dict[str, str] = {"AWS_SESSION_TOKEN": "old"}
    with stub_server(echo_parameter) as stub:
        client = Client(port=stub.port, retry_seconds=0, environ=env)
        client.get_parameter("/p")
        env["AWS_SESSION_TOKEN"] = "new"
        client.get_parameter("/p")
    assert [s.headers["x-aws-parameters-secrets-token"] for s in stub.seen] == ["old", "new"]


def test_default_client_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with stub_server(echo_parameter) as stub:
        monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(stub.port))
        monkeypatch.setenv("AWS_TOKEN", TOKEN)
        pc.set_default_client(None)
        try:
            assert pc.get_parameter("/x") == "value-of-/x"
            assert pc.default_client() is pc.default_client()
            assert pc.default_client().port == stub.port
        finally:
            pc.set_default_client(None)
    assert stub.seen[0].headers["x-aws-parameters-secrets-token"] == TOKEN


# ---- connections ----------------------------------------------------------------------------


def test_connection_is_kept_across_calls() -> None:
    with stub_server(echo_parameter) as stub:
        client = make_client(stub)
        for i in range(5):
            assert client.get_parameter(f"/p{i}") == f"value-of-/p{i}"
    assert len(stub.connections) == 1


def test_server_closing_a_kept_connection_is_retried_once_transparently() -> None:
    """The stub drops each connection after answering without `Connection: close`, as a
    server's idle timeout would; the next call must reconnect and succeed."""
    def answer(seen: Seen) -> Reply:
        return Reply(body=parameter_body("/p", "v"), close=True)

    with stub_server(answer) as stub:
        client = make_client(stub)
        for _ in range(3):
            assert client.get_parameter("/p") == "v"
            # Send the next request only once the close has reached the kept connection.
            assert wait_until(lambda: kept_connection_closed_by_peer(client), timeout=30)
    assert len(stub.seen) == 3
    assert len(stub.connections) == 3


def test_concurrent_calls_from_threads() -> None:
    with stub_server(echo_parameter) as stub:
        client = make_client(stub)
        results: dict[int, str] = {}
        errors: list[BaseException] = []

        def work(i: int) -> None:
            try:
                for j in range(10):
                    results[i * 100 + j] = client.get_parameter(f"/p{i}-{j}")
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    assert len(results) == 80 and results[305] == "value-of-/p3-5"


# ---- retry window ---------------------------------------------------------------------------


def test_nothing_listening_fails_after_the_window() -> None:
    """Back-off doubles from 50 ms (at most 500 ms) and the last pause ends exactly at the window."""
    port = free_port()
    client = Client(port=port, token=TOKEN, retry_seconds=0.6)
    clock = PausingClock().install(client)
    with pytest.raises(UnavailableError) as caught:
        client.get_parameter("/p")
    assert clock.pauses == pytest.approx([0.05, 0.1, 0.2, 0.25])
    assert caught.value.message.startswith(
        f"nothing is listening on 127.0.0.1:{port} — is the paramsecrets layer attached?")
    assert caught.value.status is None and caught.value.code == "NotListening"


def test_zero_window_tries_once() -> None:
    client = Client(port=free_port(), token=TOKEN, retry_seconds=0)
    clock = PausingClock().install(client)
    attempts = count_attempts(client)
    with pytest.raises(UnavailableError) as caught:
        client.get_parameter("/p")
    assert caught.value.code == "NotListening"
    assert clock.pauses == [] and attempts == [1]


def test_server_appearing_within_the_window_is_reached() -> None:
    """The server starts during the client's third pause; the fourth attempt reaches it."""
    port = free_port()
    stubs: list[StubServer] = []

    def start_at_third_pause(pause: int) -> None:
        if pause == 3:
            stubs.append(StubServer(echo_parameter, port=port).start())

    client = Client(port=port, token=TOKEN, retry_seconds=3)
    clock = PausingClock(start_at_third_pause).install(client)
    try:
        assert client.get_parameter("/late") == "value-of-/late"
    finally:
        for stub in stubs:
            stub.stop()
    assert clock.pauses == pytest.approx([0.05, 0.1, 0.2])
    assert [seen.route for seen in stubs[0].seen] == ["/systemsmanager/parameters/get"]


def test_aws_extension_not_ready_during_init_is_retried() -> None:
    answers = iter([Reply(status=400, body=b"not ready to serve traffic, please wait",
                          content_type="text/plain")] * 2)

    def answer(seen: Seen) -> Reply:
        return next(answers, Reply(body=parameter_body("/p", "v")))

    with stub_server(answer) as stub:
        assert make_client(stub, retry_seconds=2).get_parameter("/p") == "v"
    assert len(stub.seen) == 3


def test_refused_is_retried_but_other_socket_errors_are_not() -> None:
    """A server that accepts then resets (not a refusal) fails at once as UnavailableError."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def reset_once() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()  # linger 0: RST

    thread = threading.Thread(target=reset_once, daemon=True)
    thread.start()
    try:
        client = Client(port=port, token=TOKEN, retry_seconds=3)
        clock = PausingClock().install(client)
        with pytest.raises(UnavailableError) as caught:
            client.get_parameter("/p")
        assert caught.value.code == "ConnectionError"
        assert clock.pauses == []  # failed at once: no retry
    finally:
        thread.join(5)
        listener.close()


# ---- batches --------------------------------------------------------------------------------


def batch_parameters(seen: Seen, missing: frozenset[str] = frozenset()) -> Reply:
    if seen.route == "/systemsmanager/parameters/get-many":
        names = [v for k, v in seen.query if k == "name"]
        params = [json.loads(parameter_body(n, f"v{n}"))["Parameter"] for n in names if n not in missing]
        return Reply(body=json.dumps({"Parameters": params,
                                      "InvalidParameters": [n for n in names if n in missing],
                                      "ResultMetadata": {}}).encode())
    return Reply(status=404, body=error_body("NotFound", "no route"))


def test_get_parameters_chunks_by_100_and_keeps_names() -> None:
    names = [f"/app/p{i:03d}" for i in range(250)]
    with stub_server(batch_parameters) as stub:
        result = make_client(stub).get_parameters([*names, names[0]], decrypt=True, refresh=True)
    assert result == {n: f"v{n}" for n in names}
    sizes = [sum(1 for k, _ in s.query if k == "name") for s in stub.seen]
    assert sizes == [100, 100, 50]
    assert all(("withDecryption", "true") in s.query and ("refreshNow", "true") in s.query
               for s in stub.seen)
    assert all(len(s.path) < 8192 for s in stub.seen)


def test_get_parameters_chunks_long_names_by_size() -> None:
    names = ["/" + f"{i:04d}" + "x" * 1000 for i in range(20)]
    with stub_server(batch_parameters) as stub:
        result = make_client(stub).get_parameters(names)
    assert set(result) == set(names)
    assert len(stub.seen) > 1 and all(len(s.path) < 8192 for s in stub.seen)


def test_get_parameters_leaves_out_missing_names() -> None:
    with stub_server(lambda s: batch_parameters(s, frozenset({"/b"}))) as stub:
        result = make_client(stub).get_parameters(["/a", "/b", "/c"])
    assert result == {"/a": "v/a", "/c": "v/c"}


def test_get_parameters_matches_selectors_when_order_is_unknown() -> None:
    body = {"Parameters": [json.loads(parameter_body("/b", "vb:2", selector=":2"))["Parameter"],
                           json.loads(parameter_body("/a", "va"))["Parameter"]],
            "InvalidParameters": [], "ResultMetadata": {}}
    with stub_server(lambda s: Reply(body=json.dumps(body).encode())) as stub:
        result = make_client(stub).get_parameters(["/a", "/b:2", "/gone"])
    assert result == {"/a": "va", "/b:2": "vb:2"}


def test_get_parameters_falls_back_to_single_gets_on_a_server_without_the_route() -> None:
    """The AWS extension: no get-many (404, not our JSON), failures as a generic 400."""
    def aws_like(seen: Seen) -> Reply:
        if seen.route != "/systemsmanager/parameters/get":
            return Reply(status=404, body=b"404 page not found", content_type="text/plain")
        name = dict(seen.query)["name"]
        if name == "/missing":
            return Reply(status=404, body=error_body("ParameterNotFound", "gone"))
        return Reply(body=parameter_body(name, f"v{name}"), content_type="text/plain")

    with stub_server(aws_like) as stub:
        client = make_client(stub)
        assert client.get_parameters(["/a", "/missing", "/b"]) == {"/a": "v/a", "/b": "v/b"}
        assert client.get_parameters(["/c"]) == {"/c": "v/c"}
    routes = [s.route for s in stub.seen]
    assert routes.count("/systemsmanager/parameters/get-many") == 1  # remembered
    assert routes.count("/systemsmanager/parameters/get") == 4


def test_get_parameters_falls_back_on_the_aws_extensions_opaque_400_for_an_unknown_path() -> None:
    """The AWS extension answers an unknown path (our get-many) with its text/plain 400."""
    def aws_like(seen: Seen) -> Reply:
        if seen.route != "/systemsmanager/parameters/get":
            return Reply(status=400, body=pc.AWS_GENERIC_ERROR.encode(), content_type="text/plain")
        name = dict(seen.query)["name"]
        return Reply(body=parameter_body(name, f"v{name}"), content_type="text/plain")

    with stub_server(aws_like) as stub:
        assert make_client(stub).get_parameters(["/a", "/b"]) == {"/a": "v/a", "/b": "v/b"}
    assert [s.route for s in stub.seen].count("/systemsmanager/parameters/get-many") == 1


def test_get_parameters_raises_a_real_not_found_from_get_many() -> None:
    with (
        stub_server(lambda s: Reply(status=404, body=error_body("ParameterNotFound", "x"))) as stub,
        pytest.raises(NotFoundError),
    ):
        make_client(stub).get_parameters(["/a"])
    assert len(stub.seen) == 1


def test_get_parameters_by_path_query_and_result() -> None:
    body = {"Parameters": [json.loads(parameter_body("/app/a", "1"))["Parameter"],
                           json.loads(parameter_body("/app/x/b", "2"))["Parameter"]],
            "ResultMetadata": {}}
    with stub_server(lambda s: Reply(body=json.dumps(body).encode())) as stub:
        client = make_client(stub)
        assert client.get_parameters_by_path("/app/") == {"/app/a": "1", "/app/x/b": "2"}
        client.get_parameters_by_path("/app", recursive=False, decrypt=True, refresh=True)
    assert stub.seen[0].path == "/systemsmanager/parameters/get-by-path?path=%2Fapp%2F&recursive=true"
    assert stub.seen[1].query == [("path", "/app"), ("recursive", "false"), ("withDecryption", "true"),
                                  ("refreshNow", "true")]


def test_get_parameters_by_path_on_a_server_without_the_route() -> None:
    with (
        stub_server(lambda s: Reply(status=404, body=b"404 page not found",
                                     content_type="text/plain")) as stub,
        pytest.raises(NotFoundError, match="no get-by-path route"),
    ):
        make_client(stub).get_parameters_by_path("/app/")


def batch_secrets(seen: Seen) -> Reply:
    if seen.route == "/secretsmanager/get-many":
        ids = [v for k, v in seen.query if k == "secretId"]
        values, errors = [], []
        for secret_id in ids:
            if secret_id.startswith("missing"):
                errors.append({"SecretId": secret_id, "ErrorCode": "ResourceNotFoundException",
                               "Message": "nope"})
            elif secret_id.startswith("denied"):
                errors.append({"SecretId": secret_id, "ErrorCode": "AccessDeniedException",
                               "Message": "not yours"})
            elif secret_id.startswith("bin"):
                values.append(json.loads(secret_body(secret_id, binary=b"\x00\x01")))
            else:
                values.append(json.loads(secret_body(secret_id, string=f"s-{secret_id}")))
        return Reply(body=json.dumps({"SecretValues": values, "Errors": errors,
                                      "ResultMetadata": {}}).encode())
    return Reply(status=404, body=error_body("NotFound", "no route"))


def test_get_secrets_chunks_and_maps_ids() -> None:
    ids = [f"s{i}" for i in range(245)] + ["missing-1", "bin-1"]
    with stub_server(batch_secrets) as stub:
        result = make_client(stub).get_secrets(ids)
    assert result == {**{f"s{i}": f"s-s{i}" for i in range(245)}, "bin-1": b"\x00\x01"}
    assert [sum(1 for k, _ in s.query if k == "secretId") for s in stub.seen] == [100, 100, 47]


def test_get_secrets_raises_other_per_secret_errors() -> None:
    with (
        stub_server(batch_secrets) as stub,
        pytest.raises(AccessDeniedError) as caught,
    ):
        make_client(stub).get_secrets(["a", "denied-1"])
    assert caught.value.code == "AccessDeniedException" and "denied-1" in str(caught.value)


def test_get_secrets_falls_back_on_a_server_without_the_route() -> None:
    def aws_like(seen: Seen) -> Reply:
        if seen.route != "/secretsmanager/get":
            return Reply(status=404, body=b"404 page not found", content_type="text/plain")
        secret_id = dict(seen.query)["secretId"]
        return Reply(body=secret_body(secret_id, string=f"s-{secret_id}"), content_type="text/plain")

    with stub_server(aws_like) as stub:
        assert make_client(stub).get_secrets(["a", "b"]) == {"a": "s-a", "b": "s-b"}


def test_names_must_be_a_list_not_a_string() -> None:
    with pytest.raises(TypeError):
        Client(port=1, token=TOKEN).get_parameters("/a")
    assert Client(port=1, token=TOKEN).get_parameters([]) == {}


def test_module_imports_nothing_outside_the_standard_library() -> None:
    import sys

    source = Path(pc.__file__).read_text()
    imported = {line.split()[1].split(".")[0] for line in source.splitlines()
                if line.startswith(("import ", "from "))}
    assert imported - {"__future__"} <= set(sys.stdlib_module_names), imported
    assert pc.__file__.endswith(os.path.join("paramsecrets", "client", "__init__.py"))


@pytest.mark.parametrize(("text", "token", "masked"), [
    ("echo long-token-123 back", "long-token-123", "echo *** back"),
    ("inlong-token-123side", "long-token-123", "in***side"),  # long tokens: wherever they appear
    ("Parameter a not found", "a", "Parameter *** not found"),  # short: only standing alone
    ("Parameter /x not found", "e", "Parameter /x not found"),
    ("token=abc; x", "abc", "token=***; x"),
    ("abcdef abc-d", "abc", "abcdef abc-d"),
])
def test_token_masking_keeps_messages_readable(text: str, token: str, masked: str) -> None:
    from paramsecrets.client import mask_token

    assert mask_token(text, token) == masked


def test_a_one_letter_token_does_not_garble_errors() -> None:
    body = error_body("ParameterNotFound", "Parameter /app/config not found.")
    with (
        stub_server(lambda s: Reply(status=404, body=body)) as stub,
        pytest.raises(NotFoundError) as caught,
    ):
        make_client(stub, token="a").get_parameter("/app/config")
    assert caught.value.message == "Parameter /app/config not found."
