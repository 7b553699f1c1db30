"""The MiniMax Agent SSE turn (protocol doc, section 5.3): data lines, then frames to g4f chunks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

import pytest
from g4f import debug
from g4f.errors import PaymentRequiredError, RateLimitError, ResponseError
from g4f.providers.response import FinishReason, Reasoning, Usage
from hypothesis import given, settings
from hypothesis import strategies as st

from g4f_hailuo.protocols.agent.frames import DataLineDecoder, TurnInterpreter, TurnReader

MiB = 1024 * 1024


def decode(*chunks: bytes) -> list[str]:
    decoder = DataLineDecoder()
    frames: list[str] = []
    for chunk in chunks:
        frames += decoder.feed(chunk)
    return frames + decoder.close()


# -- DataLineDecoder ----------------------------------------------------------------------------


@pytest.mark.parametrize("space", [b" ", b""])
def test_a_long_frame_decodes_as_a_short_one_does(space: bytes) -> None:
    """Lines past the in-place size are decoded without a copy: the same text, the same
    replacement of invalid bytes, the one optional space after the colon removed."""
    value = ("智能体 reply " * 20_000).encode() + b"\xff\xe6\xb5" + b" end"
    stream = b"data:" + space + value + b"\n\n"
    for size in (7, 4096, 65_536, len(stream)):
        chunks = [stream[at : at + size] for at in range(0, len(stream), size)]
        assert decode(*chunks) == [value.decode("utf-8", "replace")]


@pytest.mark.parametrize(
    ("chunks", "frames"),
    [
        pytest.param([b"data:a\n\ndata:b\n\n"], ["a", "b"], id="lf"),
        pytest.param([b"data:a\r\n\r\ndata:b\r\n\r\n"], ["a", "b"], id="crlf"),
        pytest.param([b"data:a\r\rdata:b\r\r"], ["a", "b"], id="cr"),
        pytest.param([b"data:a\r", b"\ndata:b\r", b"\n"], ["a", "b"], id="crlf-split"),
        pytest.param([b"data:a\r", b"\n", b"\n", b"data:b\n"], ["a", "b"], id="crlf-split-then-blank"),
        pytest.param([b"data:a\n\r\ndata:b\r\n"], ["a", "b"], id="mixed"),
        pytest.param(
            [b'data:{"x":1}\ndata:{"x":2}\ndata:{"x":3}\n'],
            ['{"x":1}', '{"x":2}', '{"x":3}'],
            id="consecutive",
        ),
        pytest.param([b"data: a\ndata:b\ndata:  c\n"], ["a", "b", " c"], id="one-optional-space"),
        pytest.param([b"data:\ndata: \n"], ["", ""], id="empty-data"),
        pytest.param(
            [b"event: message\nid: 7\nretry: 10\n: comment\ndata\ndatum:x\n DATA:y\ndata:z\n"],
            ["z"],
            id="other-lines",
        ),
        pytest.param([b"data:last"], ["last"], id="close-flushes-last-line"),
        pytest.param([b"data:a\n", b"", b"data:b"], ["a", "b"], id="empty-chunk"),
        pytest.param([b"data:\xff\xfe ok\n"], ["\ufffd\ufffd ok"], id="bad-utf8-replaced"),
        pytest.param(["data:你好\n".encode()[:7], "data:你好\n".encode()[7:]], ["你好"], id="utf8-split"),
        pytest.param([b"data:x\r"], ["x"], id="cr-at-end-of-body"),
        pytest.param([], [], id="nothing"),
    ],
)
def test_decoder_table(chunks: list[bytes], frames: list[str]) -> None:
    assert decode(*chunks) == frames


def test_decoder_emits_a_cr_line_without_waiting_for_the_next_chunk() -> None:
    decoder = DataLineDecoder()
    assert decoder.feed(b"data:a\r") == ["a"]
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data:b\n") == ["b"]
    assert decoder.close() == []


def test_decoder_utf8_split_anywhere_in_a_character() -> None:
    raw = "data:é😀中\n".encode()
    for cut in range(len(raw) + 1):
        assert decode(raw[:cut], raw[cut:]) == ["é😀中"], cut


@pytest.mark.parametrize("line_end", [b"\n", b""])
def test_decoder_line_over_one_mib(line_end: bytes) -> None:
    body = "x" * (MiB + 12345) + "é"
    raw = b"data:" + body.encode() + line_end
    chunks = [raw[i : i + 65536] for i in range(0, len(raw), 65536)]
    assert decode(*chunks) == [body]


def test_decoder_work_is_linear_in_the_bytes() -> None:
    # 8 MiB in 256-byte chunks: rescanning or copying the buffer per chunk is ~10^11 byte steps.
    decoder = DataLineDecoder()
    piece = b"y" * 256
    started = time.perf_counter()
    assert decoder.feed(b"data:") == []
    for _ in range(8 * MiB // 256):
        assert decoder.feed(piece) == []
    frames = decoder.feed(b"\n")
    elapsed = time.perf_counter() - started
    assert len(frames) == 1
    assert len(frames[0]) == 8 * MiB
    assert elapsed < 3.0


SMALL_STREAM = b'data:{"a":1}\r\n\r\ndata: {"b":"\xc3\xa9"}\rdata:[DONE]\n: c\r\n\ndata:x\r\n'
SMALL_FRAMES = ['{"a":1}', '{"b":"é"}', "[DONE]", "x"]


def test_decoder_every_two_and_three_way_split() -> None:
    raw = SMALL_STREAM
    assert decode(raw) == SMALL_FRAMES
    for i in range(len(raw) + 1):
        assert decode(raw[:i], raw[i:]) == SMALL_FRAMES, i
        for j in range(i, len(raw) + 1):
            assert decode(raw[:i], raw[i:j], raw[j:]) == SMALL_FRAMES, (i, j)


_frame_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)
_line_end = st.sampled_from([b"\n", b"\r\n", b"\r"])


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(
        st.tuples(_frame_text, _line_end, st.booleans(), st.booleans(), st.booleans()), max_size=8
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=10),
)
def test_decoder_any_split_gives_the_same_frames(
    lines: list[tuple[str, bytes, bool, bool, bool]], cuts: list[int]
) -> None:
    raw = b""
    expected: list[str] = []
    for text, end, space, blank, comment in lines:
        raw += b"data:" + (b" " if space else b"") + text.encode() + end
        # one optional space after the colon is dropped, a second one is the frame's
        expected.append(text if space or not text.startswith(" ") else text[1:])
        if comment:
            raw += b": note" + end
        if blank:
            raw += end
    points = sorted({min(cut, len(raw)) for cut in cuts})
    chunks = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]
    assert decode(*chunks) == expected
    assert decode(raw) == expected


# -- TurnInterpreter ----------------------------------------------------------------------------


def chunk(role: str = "assistant", **fields: Any) -> str:
    return json.dumps({"type": 6, "agent_message_chunk": {"role": role, **fields}})


def message(role: str = "assistant", **fields: Any) -> str:
    return json.dumps({"type": 2, "agent_message": {"role": role, **fields}})


def norm(items: Iterable[Any]) -> list[tuple[str, Any]]:
    """g4f chunks by type and fields (Reasoning and friends have no __eq__)."""
    out: list[tuple[str, Any]] = []
    for item in items:
        if isinstance(item, str):
            out.append(("text", item))
        elif isinstance(item, Reasoning) and item.status:
            out.append(("status", item.status))
        elif isinstance(item, Reasoning):
            out.append(("reasoning", item.token))
        elif isinstance(item, Usage):
            out.append(("usage", item.get_dict()))
        elif isinstance(item, FinishReason):
            out.append(("finish", item.reason))
        else:
            raise AssertionError(f"unexpected chunk {item!r}")
    return out


def run(frames: Iterable[str]) -> tuple[list[tuple[str, Any]], TurnInterpreter]:
    """The whole turn: every chunk, finish()'s included (finish may raise)."""
    turn = TurnInterpreter()
    items: list[Any] = []
    for frame in frames:
        if turn.ended:
            break
        items += turn.on_frame(frame)
    items += turn.finish()
    return norm(items), turn


def run_until_error(frames: Iterable[str]) -> tuple[list[Any], Exception]:
    turn = TurnInterpreter()
    items: list[Any] = []
    for frame in frames:
        items += turn.on_frame(frame)
    with pytest.raises(Exception) as caught:
        turn.finish()
    return items, caught.value


USAGE = {"input_tokens": 11, "output_tokens": 7, "total_tokens": 18}
EXAMPLE_1 = [
    '{"type":10}',
    message("user", msg_content="Say hello"),
    chunk(thinking_content="A greeting."),
    chunk(msg_content="Hello"),
    chunk(msg_content="!", finish=True, finish_reason="stop", usage=USAGE),
    message(msg_id="9", msg_content="Hello!", thinking_content="A greeting.", finish_reason="stop"),
    "[DONE]",
]
STOP = ("finish", "stop")
USAGE_OUT = ("usage", {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18})


def test_example_exchange_1() -> None:
    items, turn = run(EXAMPLE_1)
    assert items == [("reasoning", "A greeting."), ("text", "Hello"), ("text", "!"), USAGE_OUT, STOP]
    assert turn.complete
    assert turn.ended
    assert turn.text_length == 6


def test_example_exchange_1_from_bytes_split_anywhere() -> None:
    raw = "".join(f"data:{frame}\n\n" for frame in EXAMPLE_1).encode()
    for size in (1, 3, 7, 64, len(raw)):
        reader = TurnReader()
        items: list[Any] = []
        for start in range(0, len(raw), size):
            items += reader.feed(raw[start : start + size])
        assert reader.ended
        items += reader.close()
        assert norm(items) == [
            ("reasoning", "A greeting."),
            ("text", "Hello"),
            ("text", "!"),
            USAGE_OUT,
            STOP,
        ]


def test_thinking_is_never_text() -> None:
    items, _ = run([chunk(thinking_content="secret plan"), chunk(msg_content="answer", finish=True)])
    assert [v for k, v in items if k == "text"] == ["answer"]
    assert [v for k, v in items if k == "reasoning"] == ["secret plan"]


def test_reasoning_content_counts_as_thinking() -> None:
    items, _ = run([chunk(reasoning_content="hmm"), chunk(msg_content="ok", finish=True)])
    assert items == [("reasoning", "hmm"), ("text", "ok"), STOP]


def test_echo_is_ignored_and_no_progress() -> None:
    turn = TurnInterpreter()
    for frame in (message("user", msg_content="Q"), chunk("user", msg_content="Q", finish=True)):
        assert turn.on_frame(frame) == []
        assert not turn.progressed
        assert not turn.complete
        assert not turn.ended


def test_repeat_of_the_whole_answer_is_dropped() -> None:
    frames = [chunk(msg_content="Hel"), chunk(msg_content="lo"), chunk(msg_content="Hello", finish=True)]
    items, turn = run(frames)
    assert items == [("text", "Hel"), ("text", "lo"), STOP]
    assert turn.text_length == 5


def test_a_chunk_equal_to_part_of_the_text_is_kept() -> None:
    items, _ = run([chunk(msg_content="ab"), chunk(msg_content="a"), chunk(msg_content="b", finish=True)])
    assert items == [("text", "ab"), ("text", "a"), ("text", "b"), STOP]


def test_type_2_only_turn() -> None:
    frames = [message(msg_content="Whole answer", thinking_content="Thought", usage=USAGE), "[DONE]"]
    items, turn = run(frames)
    assert items == [("reasoning", "Thought"), ("text", "Whole answer"), USAGE_OUT, STOP]
    assert turn.text_length == len("Whole answer")


def test_type_2_ends_the_turn() -> None:
    turn = TurnInterpreter()
    turn.on_frame(message(msg_content="done"))
    assert turn.ended
    assert turn.complete
    assert turn.on_frame(chunk(msg_content="late")) == []


@pytest.mark.parametrize(
    ("final", "expected_tail"),
    [
        ("Hello world", [("text", " world")]),  # longer: only the missing suffix
        ("Hello", []),  # equal: nothing more
        ("Goodbye, all", []),  # not an extension: the streamed text stands
        ("Hel", []),
    ],
)
def test_type_2_after_streamed_text(final: str, expected_tail: list[tuple[str, Any]]) -> None:
    frames = [
        chunk(thinking_content="t"),
        chunk(msg_content="Hello"),
        message(msg_content=final, thinking_content="t2"),
    ]
    items, _ = run(frames)
    assert items == [("reasoning", "t"), ("text", "Hello"), *expected_tail, STOP]


def test_type_2_thinking_adds_only_what_the_chunks_missed() -> None:
    frames = [chunk(thinking_content="ab"), message(msg_content="X", thinking_content="abc")]
    items, _ = run(frames)
    assert items == [("reasoning", "ab"), ("reasoning", "c"), ("text", "X"), STOP]


def test_frames_without_type() -> None:
    frames = [
        json.dumps({"agent_message_chunk": {"role": "assistant", "msg_content": "a"}}),
        json.dumps({"agent_message_chunk": {"msg_content": "b", "finish": True}}),  # no role either
    ]
    items, _ = run(frames)
    assert items == [("text", "a"), ("text", "b"), STOP]


@pytest.mark.parametrize("done", ["[DONE]", " [DONE] ", "[DONE]\t"])
def test_done_ends_the_turn(done: str) -> None:
    turn = TurnInterpreter()
    turn.on_frame(chunk(msg_content="hi"))
    assert not turn.complete
    assert turn.on_frame(done) == []
    assert turn.ended
    assert turn.complete
    assert norm(turn.finish()) == [STOP]


def test_finish_completes_but_reading_goes_on() -> None:
    turn = TurnInterpreter()
    turn.on_frame(chunk(msg_content="hi", finish=True))
    assert turn.complete
    assert not turn.ended
    assert norm(turn.on_frame(message(msg_content="hi there"))) == [("text", " there")]
    assert turn.ended
    assert norm(turn.finish()) == [STOP]


def test_finish_then_end_of_body_is_complete() -> None:
    items, _ = run([chunk(msg_content="hi"), chunk(finish=True, finish_reason="stop")])
    assert items == [("text", "hi"), STOP]


@pytest.mark.parametrize(
    ("frame", "progress"),
    [
        ('{"type":10}', False),
        ("{}", False),
        ("", False),
        ("   ", False),
        ('{"type":3,"other":1}', False),
        (message("user", msg_content="Q"), False),
        ("not json", False),
        ("[1,2]", False),
        (chunk(), False),  # an empty assistant chunk carries nothing
        (chunk(msg_content="x"), True),
        (chunk(thinking_content="x"), True),
        (chunk(tool_calls=[{"id": "1", "function": {"name": "f"}}]), True),
        (chunk(finish=True), True),
        (message(msg_content="x"), True),
        (message(msg_content=""), True),
    ],
)
def test_progress(frame: str, progress: bool) -> None:
    turn = TurnInterpreter()
    turn.on_frame(chunk(msg_content="before"))
    assert turn.progressed
    turn.on_frame(frame)
    assert turn.progressed is progress


def test_tool_calls_are_a_status_line_and_markup_passes_through_uninterpreted() -> None:
    frames = [
        chunk(
            tool_calls=[{"id": "1", "function": {"name": "search", "arguments": "{}"}}],
            finish_reason="tool_calls",
        ),
        chunk(msg_content="<minimax:tool_call>x</minimax:tool_call>", finish=True),
    ]
    items, _ = run(frames)
    # The call is a status line (issue 10: tool steps reach the user, never as answer text);
    # markup inside the text is not interpreted; finish_reason tool_calls → stop.
    assert items == [
        ("status", "Searching the web"),
        ("text", "<minimax:tool_call>x</minimax:tool_call>"),
        STOP,
    ]


def test_malformed_frames_are_skipped_and_logged_by_length(monkeypatch: pytest.MonkeyPatch) -> None:
    logged: list[str] = []
    monkeypatch.setattr(debug, "logging", True)
    monkeypatch.setattr(debug, "logs", [])
    monkeypatch.setattr(debug, "log_handler", lambda *text, file=None: logged.append(" ".join(text)))
    frames = ['{"msg_content": "SECRET', '"SECRET"', "[SECRET]", chunk(msg_content="ok", finish=True)]
    items, _ = run(frames)
    assert items == [("text", "ok"), STOP]
    assert len(logged) == 3
    assert all("SECRET" not in line for line in logged)
    assert str(len('{"msg_content": "SECRET')) in logged[0]


def error_turn(site_text: str) -> list[str]:
    """Example exchange 4."""
    return [
        chunk(msg_content="partial words", finish=True, finish_reason="error"),
        message(finish_reason="error", msg_content=site_text),
        "[DONE]",
    ]


@pytest.mark.parametrize(
    ("site_text", "expected"),
    [
        ("Token Plan limit reached, code 2056", RateLimitError),
        ("error 1400010161: not enough credits", PaymentRequiredError),
        ("chat is running", RateLimitError),
        ("model crashed", ResponseError),
    ],
)
def test_error_turn(site_text: str, expected: type[Exception]) -> None:
    items, error = run_until_error(error_turn(site_text))
    assert items == []  # never the error's text
    assert type(error) is expected
    assert site_text in str(error)


def test_error_on_the_type_2_message_only() -> None:
    frames = [message(finish_reason="error", msg_content="chat is running")]
    items, error = run_until_error(frames)
    assert items == []
    assert type(error) is RateLimitError


def test_error_text_from_chunks_when_no_type_2_came() -> None:
    items, error = run_until_error([chunk(finish_reason="error", msg_content="quota 2056 hit", finish=True)])
    assert items == []
    assert type(error) is RateLimitError


def test_error_after_streamed_text_still_raises() -> None:
    items, error = run_until_error(
        [chunk(msg_content="Hi"), chunk(finish=True, finish_reason="error"), message(msg_content="2056")]
    )
    assert norm(items) == [("text", "Hi")]
    assert type(error) is RateLimitError


def test_base_resp_frame_in_the_stream() -> None:
    frame = json.dumps({"base_resp": {"status_code": 1400010161, "status_msg": "no credits"}})
    turn = TurnInterpreter()
    assert turn.on_frame(frame) == []
    assert turn.progressed
    assert turn.ended
    with pytest.raises(PaymentRequiredError):
        turn.finish()


def test_broken_body_after_text() -> None:
    items, error = run_until_error([chunk(thinking_content="t"), chunk(msg_content="Hello")])
    assert norm(items) == [("reasoning", "t"), ("text", "Hello")]
    assert type(error) is ResponseError
    assert "incomplete after 5 characters" in str(error)


def test_broken_body_after_heartbeats_only() -> None:
    _, error = run_until_error(['{"type":10}', message("user", msg_content="Q")])
    assert type(error) is ResponseError
    assert "incomplete after 0 characters" in str(error)


def test_empty_body() -> None:
    _, error = run_until_error([])
    assert type(error) is ResponseError
    assert "empty response" in str(error)


@pytest.mark.parametrize(
    "frames",
    [["[DONE]"], [chunk(thinking_content="only thinking", finish=True)], [message(msg_content="")]],
)
def test_complete_without_text(frames: list[str]) -> None:
    _, error = run_until_error(frames)
    assert type(error) is ResponseError
    assert "without any answer text" in str(error)


@pytest.mark.parametrize(
    ("reason", "expected"), [("length", "length"), ("stop", "stop"), ("tool_calls", "stop"), (None, "stop")]
)
def test_finish_reason(reason: str | None, expected: str) -> None:
    items, _ = run([chunk(msg_content="x", finish=True, finish_reason=reason)])
    assert items == [("text", "x"), ("finish", expected)]


def test_length_on_the_chunk_survives_a_type_2_without_reason() -> None:
    items, _ = run([chunk(msg_content="x", finish=True, finish_reason="length"), message(msg_content="x")])
    assert items == [("text", "x"), ("finish", "length")]


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (USAGE, [USAGE_OUT]),
        ({"input_tokens": True, "output_tokens": "7", "total_tokens": 1.5}, []),
        ({"total_tokens": 9}, [("usage", {"total_tokens": 9})]),
        ("lots", []),
        (None, []),
    ],
)
def test_usage_only_when_reported(usage: Any, expected: list[tuple[str, Any]]) -> None:
    items, _ = run([chunk(msg_content="x", finish=True, usage=usage)])
    assert items == [("text", "x"), *expected, STOP]


def test_usage_from_the_type_2_message() -> None:
    items, _ = run([chunk(msg_content="x"), message(msg_content="x", usage=USAGE)])
    assert items == [("text", "x"), USAGE_OUT, STOP]


# -- TurnReader ---------------------------------------------------------------------------------


def test_reader_stops_at_the_end_and_reports_progress() -> None:
    reader = TurnReader()
    assert list(reader.feed(b'data:{"type":10}\n\n')) == []
    assert not reader.progressed
    assert norm(reader.feed(b"data:" + chunk(msg_content="hi").encode() + b"\n")) == [("text", "hi")]
    assert reader.progressed
    tail = b"data:[DONE]\ndata:" + chunk(msg_content="after the end").encode() + b"\n"
    assert list(reader.feed(tail)) == []
    assert reader.ended
    assert reader.complete
    assert list(reader.feed(b"data:" + chunk(msg_content="more").encode() + b"\n")) == []
    assert norm(reader.close()) == [STOP]
    assert reader.text_length == 2


def test_reader_close_yields_the_last_frame_before_raising() -> None:
    reader = TurnReader()
    body = b"data:" + chunk(msg_content="Hel").encode() + b"\ndata:" + chunk(msg_content="lo").encode()
    assert list(reader.feed(body)) == ["Hel"]  # the last line has no line end yet
    closing = reader.close()
    assert next(closing) == "lo"
    with pytest.raises(ResponseError, match="incomplete after 5 characters"):
        next(closing)


def test_a_type2_tool_step_does_not_end_the_turn():
    """An assistant message that only calls a tool comes before the answer: reading goes on."""
    interpreter = TurnInterpreter()
    interpreter.on_frame(
        '{"type":2,"agent_message":{"role":"assistant","finish_reason":"tool_calls",'
        '"tool_calls":[{"name":"web_search"}]}}'
    )
    assert interpreter.progressed and not interpreter.ended
    assert interpreter.on_frame(
        '{"type":6,"agent_message_chunk":{"role":"assistant","msg_content":"Hi",'
        '"finish":true,"finish_reason":"stop"}}'
    ) == ["Hi"]
    interpreter.on_frame(
        '{"type":2,"agent_message":{"role":"assistant","msg_content":"Hi","finish_reason":"stop"}}'
    )
    assert interpreter.ended
