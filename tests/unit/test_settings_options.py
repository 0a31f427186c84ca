"""`Settings` declares one typed attribute per `OPTIONS` row, and each row's default has that type:
a new option cannot be read as an attribute mypy does not know, nor declared without a row."""

from __future__ import annotations

import typing

from paramsecrets.config import OPTIONS, Settings


def test_settings_declares_exactly_the_options() -> None:
    declared = set(typing.get_type_hints(Settings))
    assert declared == {option.key for option in OPTIONS}


def test_each_default_has_the_declared_type() -> None:
    hints = typing.get_type_hints(Settings)
    for option in OPTIONS:
        hint = hints[option.key]
        expected = typing.get_origin(hint) or hint
        assert isinstance(option.default, expected), f"{option.key}: {option.default!r} is not {hint}"
        if expected is tuple:
            (item, _ellipsis) = typing.get_args(hint)
            assert all(isinstance(value, item) for value in option.default), option.key
