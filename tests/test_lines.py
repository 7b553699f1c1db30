"""The line splitter both protocols' event decoders stand on (``protocols.lines``)."""

from __future__ import annotations

import time

from hypothesis import example, given
from hypothesis import strategies as st

from g4f_hailuo.protocols.lines import LineSplitter

# Bytes rich in line ends, so that CR, LF and CRLF meet chunk boundaries often.
_BODIES = st.lists(
    st.sampled_from([b"\n", b"\r", b"\r\n", b"a", b"data: x", "海".encode(), b""]), max_size=40
)


def _lines(chunks: list[bytes]) -> list[bytes]:
    splitter = LineSplitter()
    lines = [bytes(line) for chunk in chunks for line in splitter.feed(chunk)]
    last = splitter.close()
    return lines + ([last] if last is not None else [])


@given(_BODIES, st.lists(st.integers(min_value=0, max_value=200), max_size=8))
@example([b"a\r", b"\nb\n"], [])
@example([b"a\r\r\n"], [])
def test_any_split_gives_the_lines_of_the_whole_body(parts: list[bytes], cuts: list[int]) -> None:
    body = b"".join(parts)
    points = sorted({min(cut, len(body)) for cut in cuts})
    chunks = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    # bytes.splitlines ends lines at LF, CR and CRLF, as the event-stream format does.
    assert _lines(chunks) == body.splitlines()


def test_a_crlf_split_across_reads_is_one_line_end() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"one\r") == [b"one"]
    assert splitter.feed(b"\ntwo\n") == [b"two"]  # no empty line from the LF


def test_a_long_line_in_small_reads_takes_linear_time() -> None:
    """4 MB in 4,000 reads: linear work is a few milliseconds; a splitter that copied or
    searched the whole line on every read would move about 8 GB, seconds."""
    splitter = LineSplitter()
    piece = b"x" * 1000
    started = time.perf_counter()
    for _ in range(4000):
        assert splitter.feed(piece) == []
    assert [len(line) for line in splitter.feed(b"\r\n")] == [4_000_000]
    assert time.perf_counter() - started < 0.5
