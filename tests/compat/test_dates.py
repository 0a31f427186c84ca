"""Dates exactly as the AWS extension prints them, checked against Go itself.

A Go program built from clients/go_dates decodes each epoch-seconds number as aws-sdk-go-v2
does (float64, then smithy-go's ParseEpochSeconds, from Debian's golang-github-aws-smithy-go-dev)
and encodes the instant with encoding/json (time.Time's MarshalJSON). `shapes.go_time_json`
must print the same text for every number: random doubles, millisecond instants (as AWS
returns them), whole seconds, and AWS's exponent notation; and all 1,000 millisecond fractions.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paramsecrets.cache.shapes import go_time_json
from tests.compat.conftest import go_build

# Go holds an instant as int64 nanoseconds: 1678-2261 is what smithy-go can represent.
LOW_S, HIGH_S = -9_000_000_000, 9_000_000_000


class GoDates:
    """The Go program, kept running: one number per line in, one JSON date per line out."""

    def __init__(self, binary: Path) -> None:
        self.proc = subprocess.Popen([str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def format(self, number_text: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(number_text + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().rstrip("\n")
        assert not line.startswith("error"), (number_text, line)
        printed: str = json.loads(line)
        return printed

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def go_dates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GoDates]:
    go = GoDates(go_build("go_dates", tmp_path_factory.mktemp("go")))
    yield go
    go.close()


def ours(number_text: str) -> str:
    printed: str = go_time_json(json.loads(number_text))
    return printed


doubles = st.floats(min_value=LOW_S, max_value=HIGH_S, allow_nan=False, allow_infinity=False)
millisecond_instants = st.integers(LOW_S * 1000, HIGH_S * 1000).map(lambda millis: millis / 1000)
NUMBER_TEXTS = st.one_of(
    doubles.map(repr),
    millisecond_instants.map(repr),
    millisecond_instants.map(lambda value: f"{value:.12E}"),  # AWS writes 1.668586960362E9
    st.integers(LOW_S, HIGH_S).map(str),  # whole seconds as a JSON integer
    st.integers(0, 2_000_000_000_000).map(lambda millis: repr(millis / 1000)),  # recent dates
)


@settings(max_examples=3000, deadline=None)
@given(NUMBER_TEXTS)
def test_dates_match_go(go_dates: GoDates, number_text: str) -> None:
    assert ours(number_text) == go_dates.format(number_text), number_text


def test_every_millisecond_fraction_matches_go(go_dates: GoDates) -> None:
    for millis in range(1000):
        text = repr(1668586960 + millis / 1000)
        assert ours(text) == go_dates.format(text), text
    assert ours("1668586960.36") == go_dates.format("1668586960.36") == "2022-11-16T08:22:40.36Z"
    assert ours("1668586960") == go_dates.format("1668586960") == "2022-11-16T08:22:40Z"
    assert ours("1.668586960362E9") == go_dates.format("1.668586960362E9") == "2022-11-16T08:22:40.362Z"
