"""Cache behaviour, proven by counting the calls moto records (README: Cache)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from paramsecrets.testing.moto import MotoServer, wait_until
from paramsecrets.testing.server import ServerProcess
from tests.integration.conftest import Seeded

GET_PARAMETER = "AmazonSSM.GetParameter"
GET_SECRET = "secretsmanager.GetSecretValue"
PLAIN = "/systemsmanager/parameters/get?name=/app/plain"


def test_n_reads_inside_the_ttl_make_one_call(server: ServerProcess, seeded: Seeded, moto: MotoServer) -> None:
    answers = [server.get(PLAIN) for _ in range(25)]
    assert all(answer.status == 200 for answer in answers)
    assert [answer.cache for answer in answers] == ["miss"] + ["hit"] * 24
    assert moto.count(GET_PARAMETER) == 1
    for _ in range(10):
        assert server.get("/secretsmanager/get?secretId=prod/db").status == 200
    assert moto.count(GET_SECRET) == 1


def test_each_selector_is_its_own_entry(server: ServerProcess, seeded: Seeded, moto: MotoServer) -> None:
    queries = ["name=/app/versioned", "name=/app/versioned&version=1", "name=/app/versioned&label=Dev",
               "name=/app/secure", "name=/app/secure&withDecryption=true"]
    for _ in range(3):
        for query in queries:
            assert server.get(f"/systemsmanager/parameters/get?{query}").status == 200
    assert moto.count(GET_PARAMETER) == len(queries)
    for _ in range(2):
        for query in ("secretId=rotating", "secretId=rotating&versionStage=AWSPREVIOUS"):
            server.get(f"/secretsmanager/get?{query}")
    assert moto.count(GET_SECRET) == 2


def test_equivalent_request_forms_share_an_entry(server: ServerProcess, seeded: Seeded, moto: MotoServer) -> None:
    for query in ("name=/app/versioned&version=1", "name=%2Fapp%2Fversioned%3A1", "name=/app/versioned:1"):
        assert server.get(f"/systemsmanager/parameters/get/?{query}").status == 200
    # withDecryption makes no difference to a String, so its answer fills both entries.
    server.get(PLAIN + "&withDecryption=true")
    assert server.get(PLAIN).cache == "hit"
    assert moto.count(GET_PARAMETER) == 2


@pytest.mark.parametrize("settings", [
    {"SSM_PARAMETER_STORE_TTL": "0"},
    {"PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED": "FALSE"},
    {"PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE": "0"},
])
def test_cache_off_makes_every_read_a_call(start: Callable[..., ServerProcess], seeded: Seeded,
                                           moto: MotoServer, settings: dict[str, str]) -> None:
    server = start(**settings)
    answers = [server.get(PLAIN) for _ in range(5)]
    assert [answer.cache for answer in answers] == ["miss"] * 5
    assert moto.count(GET_PARAMETER) == 5


def test_ttl_zero_for_one_service_leaves_the_other_cached(start: Callable[..., ServerProcess], seeded: Seeded,
                                                          moto: MotoServer) -> None:
    server = start(SECRETS_MANAGER_TTL="0")
    for _ in range(3):
        server.get(PLAIN)
        server.get("/secretsmanager/get?secretId=prod/db")
    assert moto.count(GET_PARAMETER) == 1
    assert moto.count(GET_SECRET) == 3


def test_refresh_now_fetches_and_updates_the_entry(server: ServerProcess, seeded: Seeded, moto: MotoServer) -> None:
    assert server.get(PLAIN).json()["Parameter"]["Value"] == "plain-value"
    moto.client("ssm").put_parameter(Name="/app/plain", Value="changed", Type="String", Overwrite=True)
    assert server.get(PLAIN).json()["Parameter"]["Value"] == "plain-value"  # cached
    refreshed = server.get(PLAIN + "&refreshNow=true")
    assert refreshed.cache == "refresh"
    assert refreshed.json()["Parameter"]["Value"] == "changed"
    after = server.get(PLAIN)
    assert after.cache == "hit" and after.json()["Parameter"]["Value"] == "changed"
    assert moto.count(GET_PARAMETER) == 2
    secret = server.get("/v1/prod/db?refreshNow=TRUE")
    assert secret.status == 200 and secret.cache == "refresh"


def test_refresh_now_returns_the_error_not_the_old_value(server: ServerProcess, seeded: Seeded,
                                                         moto: MotoServer) -> None:
    assert server.get(PLAIN).status == 200
    moto.client("ssm").delete_parameter(Name="/app/plain")
    assert server.get(PLAIN + "&refreshNow=true", detailed=True).status == 404
    assert server.get(PLAIN, detailed=True).status == 404  # the failed refresh also dropped nothing stale into view


def test_expiry_follows_a_changed_value(start: Callable[..., ServerProcess], seeded: Seeded,
                                        moto: MotoServer) -> None:
    server = start(SSM_PARAMETER_STORE_TTL="1", PARAMETERS_SECRETS_EXTENSION_REFRESH_AHEAD="false")
    assert server.get(PLAIN).json()["Parameter"]["Value"] == "plain-value"
    moto.client("ssm").put_parameter(Name="/app/plain", Value="new-value", Type="String", Overwrite=True)
    assert server.get(PLAIN).json()["Parameter"]["Value"] == "plain-value"
    assert wait_until(lambda: server.get(PLAIN).json()["Parameter"]["Value"] == "new-value", timeout=3)
    assert moto.count(GET_PARAMETER) == 2


def test_errors_are_not_cached_with_error_ttl_0(start: Callable[..., ServerProcess], moto: MotoServer) -> None:
    """ERROR_TTL=0 is the AWS layer's behaviour (remembered errors: tests/integration/test_freshness.py)."""
    server = start(PARAMETERS_SECRETS_EXTENSION_ERROR_TTL="0")
    for _ in range(3):
        assert server.get("/systemsmanager/parameters/get?name=/later", detailed=True).status == 404
    assert moto.count(GET_PARAMETER) == 3
    moto.client("ssm").put_parameter(Name="/later", Value="now", Type="String")
    assert server.get("/systemsmanager/parameters/get?name=/later").json()["Parameter"]["Value"] == "now"


def test_lru_bounded_by_count(start: Callable[..., ServerProcess], moto: MotoServer) -> None:
    ssm = moto.client("ssm")
    for index in range(3):
        ssm.put_parameter(Name=f"/lru/{index}", Value=f"v{index}", Type="String")
    server = start(PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE="2")
    moto.clear_calls()
    for index in (0, 1, 0, 2):  # 1 is now least recently used and goes when 2 arrives
        server.get(f"/systemsmanager/parameters/get?name=/lru/{index}")
    assert server.get("/systemsmanager/parameters/get?name=/lru/0").cache == "hit"
    assert server.get("/systemsmanager/parameters/get?name=/lru/2").cache == "hit"
    assert server.get("/systemsmanager/parameters/get?name=/lru/1").cache == "miss"
    assert moto.count(GET_PARAMETER) == 4


def test_lru_bounded_by_bytes(start: Callable[..., ServerProcess], moto: MotoServer) -> None:
    ssm = moto.client("ssm")
    for index in range(20):
        ssm.put_parameter(Name=f"/big/{index}", Value=(str(index) * 4000)[:4000], Type="String")
    server = start(PARAMETERS_SECRETS_EXTENSION_CACHE_MAX_BYTES="65536")
    for index in range(20):
        assert server.get(f"/systemsmanager/parameters/get?name=/big/{index}").status == 200
    metrics = server.get("/metrics", token=False).body.decode()
    held = int(next(line.split()[1] for line in metrics.splitlines() if line.startswith("paramsecrets_cache_bytes ")))
    entries = int(next(line.split()[1] for line in metrics.splitlines()
                        if line.startswith("paramsecrets_cache_entries ")))
    assert held <= 65536 and 10 <= entries < 20
    assert server.get("/systemsmanager/parameters/get?name=/big/19").cache == "hit"
    assert server.get("/systemsmanager/parameters/get?name=/big/0").cache == "miss"



def test_refresh_now_on_one_form_reaches_every_form(server: ServerProcess, seeded: Seeded, moto: MotoServer) -> None:
    """refreshNow on the plain form of a String: the decrypted form, the get-many entry and the
    get-by-path listing read with decryption all answer the new value afterwards."""
    many = "/systemsmanager/parameters/get-many?name=/app/plain&name=/app/list&withDecryption=true"
    by_path = "/systemsmanager/parameters/get-by-path?path=/app/&withDecryption=true"

    def plain_in(answer_json: dict[str, list[dict[str, str]]]) -> str:
        return next(p["Value"] for p in answer_json["Parameters"] if p["Name"] == "/app/plain")

    assert server.get(PLAIN + "&withDecryption=true").json()["Parameter"]["Value"] == "plain-value"
    assert server.get(PLAIN).cache == "hit"
    assert plain_in(server.get(many).json()) == "plain-value"
    assert plain_in(server.get(by_path).json()) == "plain-value"
    moto.client("ssm").put_parameter(Name="/app/plain", Value="changed", Type="String", Overwrite=True)
    refreshed = server.get(PLAIN + "&refreshNow=true")
    assert (refreshed.json()["Parameter"]["Value"], refreshed.cache) == ("changed", "refresh")
    decrypted = server.get(PLAIN + "&withDecryption=true")
    assert (decrypted.json()["Parameter"]["Value"], decrypted.cache) == ("changed", "hit")
    assert plain_in(server.get(many).json()) == "changed"
    assert plain_in(server.get(by_path).json()) == "changed"
    assert moto.count(GET_PARAMETER) == 2
