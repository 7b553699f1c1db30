"""Both protocols' frame parser (``protocols.json_text.parse_json``) is ``json.loads`` for any text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from g4f_hailuo.protocols.json_text import parse_json

_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)
_AROUND = st.sampled_from(["", " ", "\n", "\t\r\n", "\u00a0", "x", ",", "}", " 1", "\x00"])


def _outcome(parse: Any, text: str) -> tuple[str, Any]:
    try:
        return "value", parse(text)
    except ValueError as error:  # the same error, with the same message and position
        return "error", str(error)


@given(_VALUES, _AROUND, _AROUND)
@example({"a": [1, {"b": "海"}]}, "", "")
@example({"a": 1}, " ", "")  # leading whitespace: not the scanner's
@example({"a": 1}, "", " x")  # extra data after the value
def test_a_json_value_with_anything_around_it_parses_as_json_loads_does(
    value: Any, before: str, after: str
) -> None:
    text = before + json.dumps(value, ensure_ascii=False) + after
    assert _outcome(parse_json, text) == _outcome(json.loads, text)


@given(st.text(max_size=40))
@example("")
@example("\ufeff{}")  # json.loads names the byte order mark
@example("[1,2")
@example('"\\ud800"')
@example("NaN")
def test_any_text_parses_or_fails_as_json_loads_does(text: str) -> None:
    assert _outcome(parse_json, text) == _outcome(json.loads, text)


def test_absurd_nesting_is_a_recursion_error_as_in_json_loads() -> None:
    with pytest.raises(RecursionError):
        parse_json("[" * 200_000)
