"""routes.percent_decode decodes by hand (no urllib.parse on the server's path): it must agree with
urllib.parse.unquote_to_bytes on every well-formed input, and refuse what is malformed."""

from __future__ import annotations

from urllib.parse import quote_from_bytes, unquote_to_bytes

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paramsecrets.api.routes import percent_decode


@given(st.binary(max_size=64), st.booleans())
def test_agrees_with_urllib(raw: bytes, plus_is_space: bool) -> None:
    encoded = quote_from_bytes(raw, safe="/+%").encode()
    if b"%" in raw:
        encoded = quote_from_bytes(raw, safe="/+").encode()
    expected = unquote_to_bytes(encoded.replace(b"+", b" ") if plus_is_space else encoded)
    try:
        text = expected.decode("utf-8")
    except UnicodeDecodeError:
        with pytest.raises(Exception, match="not valid UTF-8"):
            percent_decode(encoded, "name", plus_is_space)
        return
    assert percent_decode(encoded, "name", plus_is_space) == text


@pytest.mark.parametrize("raw", [b"%", b"a%2", b"%zz", b"%%41"])
def test_malformed_escapes_are_refused(raw: bytes) -> None:
    with pytest.raises(Exception, match="malformed percent-encoding"):
        percent_decode(raw, "name")


def test_mixed_case_hex() -> None:
    assert percent_decode(b"%2f%2F%e2%82%AC", "name") == "//€"
