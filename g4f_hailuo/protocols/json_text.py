"""JSON frames parsed as ``json.loads`` does, in less time (pure).

Both protocols parse every frame of a reply; for a frame of a few hundred characters,
``json.loads`` spends about a third of its time around the C scanner (its argument checks and
two whitespace regex matches). Here the scanner runs first, and ``json.loads`` itself (its
rules and error messages, a byte order mark's too) only when it cannot parse the text as given.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["parse_json"]

_DECODER = json.JSONDecoder()
# The scanner that ``raw_decode`` calls (C's, where built): (value, end index) of the value that
# starts at an index; an attribute of every JSONDecoder since Python 2.6, not in the type stubs.
_scan: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_WHITESPACE = " \t\n\r"  # what JSON allows around a value (str.strip would take more)


def parse_json(text: str) -> Any:
    """``json.loads(text)``: the same value, and ``ValueError`` (``JSONDecodeError``) for the
    same texts. ``RecursionError`` for absurdly deep nesting, as there."""
    try:
        value, end = _scan(text, 0)
    except StopIteration:  # no value at the start (leading whitespace, say): the full rules
        return json.loads(text)
    if end != len(text) and text[end:].strip(_WHITESPACE):
        return json.loads(text)  # raises "Extra data"
    return value
