"""The pure SSE decoder: the spec's edge cases in a table, and any split of the bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from g4f_hailuo.protocols.hailuo_v4.sse import ServerEvent, SSEDecoder, decode_events

E = ServerEvent

CASES = [
    ("lf", b"event: a\ndata: 1\n\n", [E("a", "1")]),
    ("crlf", b"event: a\r\ndata: 1\r\n\r\n", [E("a", "1")]),
    ("cr", b"event: a\rdata: 1\r\r", [E("a", "1")]),
    ("mixed", b"event: a\r\ndata: 1\n\rdata: 2\r\n\n", [E("a", "1"), E("message", "2")]),
    ("default name", b"data: x\n\n", [E("message", "x")]),
    ("several data lines", b"data: a\ndata: b\ndata:\n\n", [E("message", "a\nb\n")]),
    ("one space stripped", b"data:  two\ndata:none\n\n", [E("message", " two\nnone")]),
    ("comment ignored", b": ping\n\ndata: x\n\n", [E("message", "x")]),
    ("id and retry ignored", b"id: 7\nretry: 10\ndata: x\n\n", [E("message", "x")]),
    ("field without colon", b"data\n\n", [E("message", "")]),
    ("no data, no event", b"event: lonely\n\n", []),
    ("name resets", b"event: a\ndata: 1\n\ndata: 2\n\n", [E("a", "1"), E("message", "2")]),
    ("unterminated last event", b"event: a\ndata: 1\n", [E("a", "1")]),
    ("unterminated last line", b"event: a\ndata: 1", [E("a", "1")]),
    ("invalid utf-8 replaced", b"data: \xff\xfeok\n\n", [E("message", "\ufffd\ufffdok")]),
    ("utf-8 kept", "data: 海螺\n\n".encode(), [E("message", "海螺")]),
    ("empty", b"", []),
]


@pytest.mark.parametrize(("stream", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decoder_table(stream, expected):
    assert decode_events([stream]) == expected


@pytest.mark.parametrize(("stream", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_byte_by_byte_gives_the_same_events(stream, expected):
    assert decode_events([bytes([b]) for b in stream]) == expected


def test_cr_at_chunk_end_then_lf_is_one_line_end():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n\r") == [E("message", "a")]  # the LF ends "data: a"; CR is the blank line
    assert decoder.feed(b"\n") == []  # belongs to that CR: no second blank line
    assert decoder.feed(b"data: b\n\n") == [E("message", "b")]


def test_a_one_megabyte_line_in_small_chunks():
    payload = b"x" * 1_048_576
    stream = b"event: message_result\ndata: " + payload + b"\n\n"
    chunks = [stream[i : i + 4096] for i in range(0, len(stream), 4096)]
    (event,) = decode_events(chunks)
    assert event.event == "message_result" and len(event.data) == len(payload)


VALID = (
    'event: send_result\ndata: {"type":1,"data":{"sendResult":{"chatID":"1"}}}\n\n'
    'event: message_result\r\ndata: {"type":2,"content":"海螺"}\r\n\r\n'
    ": comment\rdata: a\rdata: b\r\r"
    "event: close_chunk\ndata: {}\n\n"
).encode()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(VALID)), max_size=12))
def test_any_split_of_a_valid_stream_gives_the_same_events(cuts):
    points = sorted(set(cuts))
    chunks = [VALID[a:b] for a, b in zip([0, *points], [*points, len(VALID)], strict=True)]
    assert decode_events(chunks) == decode_events([VALID])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512), st.integers(min_value=1, max_value=64))
def test_arbitrary_bytes_never_raise(data, size):
    events = decode_events([data[i : i + size] for i in range(0, len(data), size)])
    assert all(isinstance(e.data, str) and isinstance(e.event, str) for e in events)


@pytest.mark.parametrize("space", [b" ", b""])
def test_a_long_line_decodes_as_a_short_one_does(space: bytes) -> None:
    """Lines past the in-place size are decoded without a copy: the same text, the same
    replacement of invalid bytes, the one optional space after the colon removed."""
    value = ("海螺 reply " * 20_000).encode() + b"\xff\xe6\xb5" + b" end"
    stream = b"event: message_result\ndata:" + space + value + b"\n\n"
    expected = [E("message_result", value.decode("utf-8", "replace"))]
    for size in (7, 4096, 65_536, len(stream)):
        assert decode_events([stream[at : at + size] for at in range(0, len(stream), size)]) == expected
