"""Property-based tests of the decoder and the interpreter together, the way the
provider's read loop drives them (``run_bytes``).

- Generated Hailuo streams (any answer text, any number of cumulative frames,
  LF/CRLF/CR per line, heartbeats, comments, unknown and malformed frames, each
  end-of-stream convention, escaped or raw UTF-8): every byte split gives the
  same output, and that output is the whole answer, then ``FinishReason``.
- Any truncation of such a stream (a dropped connection): either the whole
  answer, or a g4f error after a prefix of it; never a truncated answer marked
  complete.
- The decoder agrees with a plain, non-incremental reference parser on any
  bytes, split anywhere.
- Arbitrary bytes, and streams of random JSON frames with random mutations,
  raise nothing but g4f errors.
"""

from __future__ import annotations

import json
import re
from typing import Any

from g4f.errors import G4FError
from g4f.providers.response import FinishReason
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from g4f_hailuo._sse import ServerEvent, decode_events
from g4f_hailuo._stream import ReplyInterpreter, ReplyReader

OK = {"code": 0, "message": "成功"}
CHAT_ID = "242830597915504644"
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run_bytes(chunks: list[bytes]) -> tuple[list[Any], G4FError | None]:
    """The provider's read loop (``HailuoAI.create_authed``) without the socket."""
    reader = ReplyReader(ReplyInterpreter(account="sha256:acct", prompt="hello"))
    out: list[Any] = []
    try:
        for data in chunks:
            out.extend(reader.feed(data))
            if reader.ended:
                break
        out.extend(reader.close())
    except G4FError as error:
        return out, error
    return out, None


def split_at(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(stream) + 1) for c in cuts})
    return [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]


def normalized(chunks: list[Any]) -> list[Any]:
    return [(type(c).__name__, c if isinstance(c, str) else sorted(vars(c).items())) for c in chunks]


def text_of(chunks: list[Any]) -> str:
    return "".join(c for c in chunks if isinstance(c, str))


# -- generated Hailuo streams --------------------------------------------------------------------

answers = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=60)
line_ends = st.sampled_from([b"\n", b"\r\n", b"\r"])


def frame_lines(event: str | None, data: Any, ensure_ascii: bool) -> list[bytes]:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=ensure_ascii)
    lines = [f"event: {event}".encode()] if event else []
    return [*lines, b"data: " + text.encode("utf-8"), b""]


def message(content: str, is_end: int) -> dict[str, Any]:
    result = {"chatID": CHAT_ID, "msgID": "2", "isEnd": is_end, "content": content}
    return {"type": 2, "statusInfo": OK, "data": {"messageResult": result}}


SEND_RESULT = {"type": 1, "statusInfo": OK, "data": {"sendResult": {"chatID": CHAT_ID, "chatTitle": "t"}}}
NOISE = [
    [b": keep-alive", b""],
    [b"id: 7", b"retry: 100", b""],
    frame_lines(None, {"type": 3, "statusInfo": {"code": 1, "message": "busy"}, "data": {}}, True),
    frame_lines("something_new", {"type": 42, "statusInfo": OK, "data": {"x": [1, 2]}}, True),
    frame_lines("message_result", '{"type":2,"statusInfo":{"code":0,"message":"成功"},"data":{"mess', True),
]


@st.composite
def hailuo_streams(draw: st.DrawFn) -> tuple[bytes, str]:
    """``(bytes, answer)`` of a stream that ends well."""
    answer = draw(answers)
    cuts = sorted(set(draw(st.lists(st.integers(1, len(answer)), max_size=6))) | {len(answer)})
    ensure_ascii = draw(st.booleans())
    ending = draw(st.sampled_from(["close_chunk", "type8", "isend0"]))
    frames: list[list[bytes]] = [frame_lines("send_result", SEND_RESULT, ensure_ascii)]
    for i, cut in enumerate(cuts):
        last = i == len(cuts) - 1
        is_end = 0 if last and (ending == "isend0" or draw(st.booleans())) else 1
        if draw(st.integers(0, 3)) == 0:
            frames.append(draw(st.sampled_from(NOISE)))
        frames.append(frame_lines("message_result", message(answer[:cut], is_end), ensure_ascii))
    if ending == "close_chunk":
        frames.append(frame_lines("close_chunk", "{}", ensure_ascii))
    elif ending == "type8":
        frames.append(frame_lines(draw(st.sampled_from([None, "message_result"])), {"type": 8}, ensure_ascii))
    out = bytearray()
    previous = b"\n"
    for line in (line for frame in frames for line in frame):
        end = draw(line_ends)
        if previous == b"\r" and not line and end == b"\n":
            end = b"\r\n"  # a bare LF right after a CR would join it as one line end
        out += line + end
        previous = end
    return bytes(out), answer


@FUZZ
@given(hailuo_streams(), st.lists(st.integers(min_value=0), max_size=16))
def test_every_byte_split_of_a_valid_stream_gives_the_same_whole_answer(stream_answer, cuts):
    stream, answer = stream_answer
    whole, error = run_bytes([stream])
    assert error is None
    assert text_of(whole) == answer and isinstance(whole[-1], FinishReason)
    split, error = run_bytes(split_at(stream, cuts))
    assert error is None
    assert normalized(split) == normalized(whole)


@FUZZ
@given(hailuo_streams())
def test_one_byte_at_a_time_gives_the_same_output(stream_answer):
    stream, _ = stream_answer
    whole, _ = run_bytes([stream])
    single, error = run_bytes([stream[i : i + 1] for i in range(len(stream))])
    assert error is None and normalized(single) == normalized(whole)


@FUZZ
@given(hailuo_streams(), st.data())
def test_a_truncated_stream_is_never_passed_off_as_complete(stream_answer, data):
    stream, answer = stream_answer
    cut = data.draw(st.integers(0, len(stream)), label="cut")
    chunks = split_at(stream[:cut], data.draw(st.lists(st.integers(min_value=0), max_size=6), label="splits"))
    out, error = run_bytes(chunks)
    text = text_of(out)
    if error is None:
        assert text == answer and isinstance(out[-1], FinishReason)
    else:
        assert answer.startswith(text), "only text of the answer, in order"
        assert not any(isinstance(c, FinishReason) for c in out)


@FUZZ
@given(hailuo_streams(), st.data())
def test_an_in_stream_error_raises_after_a_prefix_of_the_answer(stream_answer, data):
    stream, answer = stream_answer
    events = decode_events([stream])
    at = data.draw(st.integers(1, len(events) - 1), label="error at")
    code = data.draw(st.sampled_from([2, 22, 1000, 2200005]), label="code")
    error_frame = {"type": 2, "statusInfo": {"code": code, "message": "no"}, "data": {}}
    events.insert(at, ServerEvent("message_result", json.dumps(error_frame)))
    raw = b"".join(f"event: {e.event}\ndata: {e.data}\n\n".encode() for e in events)
    out, error = run_bytes([raw])
    assert answer.startswith(text_of(out))
    if error is None:  # the end marker came before the error frame
        assert text_of(out) == answer
    else:
        assert f"Hailuo error {code}" in str(error)
        assert not any(isinstance(c, FinishReason) for c in out)


# -- the decoder against a reference parser -----------------------------------------------------------


def reference_events(stream: bytes) -> list[ServerEvent]:
    """The same rules, written the obvious way: split the whole body into lines first."""
    events: list[ServerEvent] = []
    name = ""
    data: list[str] = []
    *lines, rest = re.split(rb"\r\n|\r|\n", stream)
    for line in [*lines, rest] if rest else lines:
        if not line:
            if data:
                events.append(ServerEvent(name or "message", "\n".join(data)))
            name, data = "", []
            continue
        if line.startswith(b":"):
            continue
        field, _, value = line.partition(b":")
        value = value[1:] if value.startswith(b" ") else value
        if field == b"data":
            data.append(value.decode("utf-8", "replace"))
        elif field == b"event":
            name = value.decode("utf-8", "replace")
    if data:
        events.append(ServerEvent(name or "message", "\n".join(data)))
    return events


sse_pieces = st.sampled_from(
    [
        b"data",
        b"event",
        b"id",
        b"retry",
        b":",
        b": ",
        b" ",
        b"\n",
        b"\r",
        b"\r\n",
        b"x",
        b"{}",
        b"\xe6\xb5\xb7",
        b"\xe6",
        b"\xff",
    ]
)
sse_soup = st.lists(sse_pieces, max_size=60).map(b"".join)


@FUZZ
@given(st.one_of(sse_soup, st.binary(max_size=300)), st.lists(st.integers(min_value=0), max_size=16))
@example(b"data: a\r\r\ndata: b\n\n", [8])
@example(b"data: a\r", [8])
def test_the_decoder_agrees_with_a_reference_parser(stream, cuts):
    assert decode_events(split_at(stream, cuts)) == reference_events(stream)


# -- nothing but g4f errors ---------------------------------------------------------------------------

KEYS = ["type", "statusInfo", "code", "message", "data", "sendResult", "messageResult", "chatID"]
KEYS += ["chatTitle", "content", "isEnd", "extra", "netSearchStatus", "linkDetail", "url", "detail"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=16,
)


@st.composite
def odd_frames(draw: st.DrawFn) -> bytes:
    """Frames shaped like Hailuo's, with any JSON in any place."""
    frame: dict[str, Any] = {
        "type": draw(st.sampled_from([1, 2, 3, 4, 8]) | json_values),
        "statusInfo": draw(
            st.fixed_dictionaries({"code": json_values, "message": json_values}) | json_values
        ),
    }
    inner = {
        "chatID": draw(json_values | st.just(CHAT_ID)),
        "content": draw(json_values | st.text(max_size=20)),
        "isEnd": draw(st.sampled_from([0, 1]) | json_values),
        "extra": draw(json_values),
    }
    frame["data"] = draw(
        st.sampled_from(["sendResult", "messageResult"]).map(lambda key: {key: inner}) | json_values
    )
    event = draw(
        st.sampled_from(["send_result", "message_result", "follow_up_question_result", "close_chunk"])
        | st.text(max_size=8)
    )
    return f"event: {event}\ndata: {json.dumps(frame)}\n\n".encode("utf-8", "surrogatepass")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    stream = bytearray(b"".join(draw(st.lists(odd_frames(), min_size=1, max_size=6))))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(stream)))
        action = draw(st.sampled_from(["insert", "delete", "flip"]))
        if action == "insert":
            stream[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif at < len(stream):
            if action == "delete":
                del stream[at]
            else:
                stream[at] ^= draw(st.integers(1, 255))
    return bytes(stream)


@FUZZ
@given(
    st.one_of(st.binary(max_size=600), sse_soup, mutated()), st.lists(st.integers(min_value=0), max_size=8)
)
@example(b"data: " + b"[" * 100_000 + b"]" * 100_000 + b"\n\n", [])
@example(b'data: {"type":2,"data":{"messageResult":{"chatID":' + b"9" * 5000 + b"}}}\n\n", [])
@example(b'data: {"type":2,"statusInfo":{"code":1e999,"message":null}}\n\n', [])
def test_any_bytes_raise_nothing_but_g4f_errors(stream, cuts):
    out, error = run_bytes(split_at(stream, cuts))  # anything else propagates and fails the test
    assert error is None or isinstance(error, G4FError)
    assert all(isinstance(c, str) or hasattr(c, "__dict__") for c in out)
