"""`Settings` and the `OPTIONS` table must agree: one annotated attribute per option, same type.

A new option is one `Option` row in config.py; this test fails when the row and the typed
attribute on `Settings` (what mypy checks callers against) drift apart.
"""

from __future__ import annotations

import typing

from paramsecrets import config


def _annotations() -> dict[str, object]:
    return {name: hint for name, hint in typing.get_type_hints(config.Settings).items()
            if name not in ("config_file", "sources")}


def test_every_option_has_a_typed_attribute_and_no_more() -> None:
    keys = [option.key for option in config.OPTIONS]
    assert len(keys) == len(set(keys)), "an option key appears twice in OPTIONS"
    assert set(_annotations()) == set(keys)


def test_every_default_has_its_attributes_type() -> None:
    hints = _annotations()
    for option in config.OPTIONS:
        expected = typing.get_origin(hints[option.key]) or hints[option.key]
        assert isinstance(option.default, expected), (option.key, option.default, expected)  # type: ignore[arg-type]


def test_every_environment_variable_is_named_once() -> None:
    names = [option.env for option in config.OPTIONS]
    assert len(names) == len(set(names))
    assert all(name == name.upper() for name in names)
