"""The route table: every GET route is one row, its parser makes reads of the row's kind, and the
README's HTTP API table names it. A new row without a case here fails `test_every_row_has_a_case`."""

from __future__ import annotations

from pathlib import Path

import pytest

from paramsecrets.api.routes import (
    EXACT_ROWS,
    ROUTE_TABLE,
    ParametersRead,
    ReadKind,
    RequestError,
    RouteRow,
    SecretRead,
    SecretsRead,
    find_row,
    parse_target,
    signing_service,
)
from paramsecrets.aws.errors import Kind, UpstreamError

README = Path(__file__).resolve().parents[2] / "README.md"

# One valid target per row (keyed by the row's path) and the read kind it makes.
CASES: dict[bytes, bytes] = {
    b"/systemsmanager/parameters/get": b"/systemsmanager/parameters/get?name=/a",
    b"/systemsmanager/parameters/get-many": b"/systemsmanager/parameters/get-many?name=/a&name=/b",
    b"/systemsmanager/parameters/get-by-path": b"/systemsmanager/parameters/get-by-path?path=/app",
    b"/secretsmanager/get": b"/secretsmanager/get?secretId=s",
    b"/secretsmanager/get-many": b"/secretsmanager/get-many?secretId=a&secretId=b",
    b"/v1/": b"/v1/prod/db",
    b"/secretsmanager/": b"/secretsmanager/prod/db",
    b"/ping": b"/ping",
    b"/metrics": b"/metrics",
}


def test_every_row_has_a_case() -> None:
    assert {row.path for row in ROUTE_TABLE} == set(CASES)
    assert len({row.path for row in ROUTE_TABLE}) == len(ROUTE_TABLE)  # one row per route


@pytest.mark.parametrize("row", ROUTE_TABLE, ids=lambda row: row.path.decode())
def test_a_row_parses_to_its_kind(row: RouteRow) -> None:
    target = CASES[row.path]
    assert find_row(target.partition(b"?")[0]) is not None
    assert find_row(target.partition(b"?")[0])[0] is row  # type: ignore[index]
    for strict in (True, False):
        assert parse_target(target, strict).kind is row.kind


@pytest.mark.parametrize("row", ROUTE_TABLE, ids=lambda row: row.path.decode())
def test_the_readme_names_every_row(row: RouteRow) -> None:
    shown = row.path.decode() + ("<" if row.prefix else "")
    assert f"| `{shown}" in README.read_text(), f"add a row for {shown} to the README's HTTP API table"


def test_exact_rows_take_a_trailing_slash_but_open_ones_do_not() -> None:
    assert EXACT_ROWS[b"/secretsmanager/get-many/"].kind is ReadKind.BATCH
    assert b"/ping/" not in EXACT_ROWS and b"/metrics/" not in EXACT_ROWS
    with pytest.raises(RequestError) as caught:
        parse_target(b"/ping/")
    assert caught.value.status == 404


def test_exact_rows_win_over_prefix_rows() -> None:
    """`/secretsmanager/get-many` is the batch route, not a secret named `get-many`."""
    assert isinstance(parse_target(b"/secretsmanager/get-many?secretId=a"), SecretsRead)
    assert parse_target(b"/secretsmanager/get-manyx") == SecretRead("get-manyx", None, None)


def test_a_batch_read_names_its_keys_and_renders_its_body() -> None:
    read = ParametersRead(("/a", "/b"), False)
    key, alternate = read.key_of("/a")
    assert (key.decrypt, alternate is not None and alternate.decrypt) == (False, True)  # type: ignore[union-attr]
    body = read.render([b'{"Parameter":{"Name":"/a"},"ResultMetadata":{}}'],
                       [("/b", UpstreamError(Kind.NOT_FOUND, "ParameterNotFound", "gone", per_item=True))])
    assert body == b'{"Parameters":[{"Name":"/a"}],"InvalidParameters":["/b"],"ResultMetadata":{}}'
    secrets = SecretsRead(("s",))
    assert secrets.key_of("s")[1] is None
    assert secrets.render([], [("s", UpstreamError(Kind.NOT_FOUND, "ResourceNotFoundException", "gone"))]) == (
        b'{"SecretValues":[],"Errors":[{"SecretId":"s","ErrorCode":"ResourceNotFoundException",'
        b'"Message":"gone"}],"ResultMetadata":{}}')


def test_every_read_names_its_signing_service_and_open_routes_none() -> None:
    for row in ROUTE_TABLE:
        assert (row.signing is None) == row.open, row.path
    assert signing_service(b"/systemsmanager/parameters/get") == "ssm"
    assert signing_service(b"/v1/db") == signing_service(b"/secretsmanager/db") == "secretsmanager"
    assert signing_service(b"/systemsmanager/nope") == "ssm"  # no row: judged by its family
    assert signing_service(b"/ping") is None and signing_service(b"/elsewhere") is None
