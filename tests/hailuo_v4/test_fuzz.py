"""Property-based tests of the decoder and the interpreter together, the way the
provider's read loop drives them (``run_bytes``).

- Generated Hailuo streams (any answer text, any number of cumulative frames,
  LF/CRLF/CR per line, heartbeats, comments, unknown and malformed frames, each
  end-of-stream convention, escaped or raw UTF-8, non-final frames cut inside a
  multi-byte character, i.e. ending in U+FFFD or its first bytes): every byte
  split gives the same output, and that output is the whole answer, then
  ``FinishReason``; no text delta but the last ends in U+FFFD.
- Any truncation of such a stream (a dropped connection): either the whole
  answer, or a g4f error after a prefix of it; never a truncated answer marked
  complete.
- The decoder agrees with a plain, non-incremental reference parser on any
  bytes, split anywhere.
- Arbitrary bytes, streams of random JSON frames with random mutations, and
  valid streams with any JSON in place of one or more values at any depth
  (``data.messageResult.extra.netSearchStatus``, ``statusInfo.code``, ...)
  raise nothing but g4f errors.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

from g4f.errors import G4FError
from g4f.providers.response import FinishReason
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from g4f_hailuo.protocols.hailuo_v4.sse import ServerEvent, decode_events
from g4f_hailuo.protocols.hailuo_v4.stream import REPLACEMENT_CHAR, ReplyInterpreter, ReplyReader

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


def assert_no_half_character_passed_on(chunks: list[Any], *, complete: bool) -> None:
    """Only the last delta of a complete reply may end in U+FFFD: a trailing U+FFFD
    of a non-final frame is half a character, which the next frame completes."""
    deltas = [c for c in chunks if isinstance(c, str)]
    passed_on = deltas[:-1] if complete else deltas
    assert not any(d.endswith(REPLACEMENT_CHAR) for d in passed_on), deltas


# -- generated Hailuo streams --------------------------------------------------------------------

answers = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=60)
line_ends = st.sampled_from([b"\n", b"\r\n", b"\r"])


def frame_lines(event: str | None, data: Any, ensure_ascii: bool) -> list[bytes]:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=ensure_ascii)
    lines = [f"event: {event}".encode()] if event else []
    return [*lines, b"data: " + text.encode("utf-8"), b""]


def message(content: str, is_end: int, extra: Any = None) -> dict[str, Any]:
    result: dict[str, Any] = {"chatID": CHAT_ID, "msgID": "2", "isEnd": is_end, "content": content}
    if extra is not None:
        result["extra"] = extra
    return {"type": 2, "statusInfo": OK, "data": {"messageResult": result}}


def message_lines(content: str, is_end: int, ensure_ascii: bool, tail: bytes = b"") -> list[bytes]:
    """A ``message_result`` frame; ``tail``: raw bytes appended to its ``content``."""
    lines = frame_lines("message_result", message(content, is_end), ensure_ascii)
    if tail:
        data = lines[-2]
        assert data.endswith(b'"}}}')  # content is the last value of messageResult
        lines[-2] = data[:-4] + tail + data[-4:]
    return lines


@st.composite
def half_characters(draw: st.DrawFn, ch: str) -> tuple[str, bytes]:
    """What a frame cut inside ``ch`` (non-ASCII) ends with, as ``(text, raw bytes)``:
    U+FFFD as JSON text (escaped or not), or the first bytes of ``ch``'s UTF-8 encoding,
    which the decoder turns into U+FFFD."""
    encoded = ch.encode("utf-8")
    if draw(st.booleans()):
        return REPLACEMENT_CHAR, b""
    return "", encoded[: draw(st.integers(1, len(encoded) - 1))]


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
        # As the site does (the fake server's "fffd" scenario): a non-final frame cut inside a
        # multi-byte character ends in U+FFFD; the next frame has the whole character.
        half, tail = "", b""
        if not last and ord(answer[cut]) > 127 and draw(st.integers(0, 2)):
            half, tail = draw(half_characters(answer[cut]))
        frames.append(message_lines(answer[:cut] + half, is_end, ensure_ascii, tail))
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


def half_character_example(tail: str, raw: bytes = b"") -> tuple[bytes, str]:
    """The fake server's "fffd" scenario: ``Hailuo \ufffd`` (or raw half bytes), then ``Hailuo 海螺``."""
    frames = [
        frame_lines("send_result", SEND_RESULT, False),
        message_lines("Hailuo " + tail, 1, False, raw),
        message_lines("Hailuo 海螺", 0, False),
    ]
    return b"".join(line + b"\n" for frame in frames for line in frame), "Hailuo 海螺"


@FUZZ
@given(hailuo_streams(), st.lists(st.integers(min_value=0), max_size=16))
@example(half_character_example(REPLACEMENT_CHAR), [])
@example(half_character_example("", "海".encode()[:2]), [60])
def test_every_byte_split_of_a_valid_stream_gives_the_same_whole_answer(stream_answer, cuts):
    stream, answer = stream_answer
    whole, error = run_bytes([stream])
    assert error is None
    assert text_of(whole) == answer and isinstance(whole[-1], FinishReason)
    assert_no_half_character_passed_on(whole, complete=True)
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
    assert_no_half_character_passed_on(out, complete=error is None)
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


# -- valid streams with a wrong value anywhere -----------------------------------------------------

SEARCH = {
    "netSearchStatus": {
        "linkDetail": [
            {"detail": "Example page A", "url": "https://example.com/a"},
            {"detail": "Example page B", "url": "https://example.com/b"},
        ]
    }
}
SEND_RESULT_FULL = {
    "type": 1,
    "statusInfo": OK,
    "data": {"sendResult": {"chatID": CHAT_ID, "chatTitle": "t", "userMsgID": "1", "systemMsgID": "2"}},
}
FOLLOW_UP_MESSAGE = {"chatID": CHAT_ID, "msgID": "2", "content": "Why?\nHow?", "extra": SEARCH}


def valid_frames(answer: str, end: str) -> list[tuple[str | None, Any]]:
    """``(event, payload)`` of a whole reply: every kind of frame the site sends, search links included."""
    half = answer[: max(1, len(answer) // 2)]
    end_frame: tuple[str | None, Any] = ("close_chunk", {}) if end == "close_chunk" else (None, {"type": 8})
    return [
        ("send_result", SEND_RESULT_FULL),
        ("message_result", message(half, 1, SEARCH)),
        (None, {"type": 3, "statusInfo": {"code": 1, "message": "busy"}, "data": {}}),
        ("message_result", message(answer, 0, SEARCH)),
        (
            "follow_up_question_result",
            {"type": 4, "statusInfo": OK, "data": {"messageResult": FOLLOW_UP_MESSAGE, "extra": SEARCH}},
        ),
        end_frame,
    ]


def value_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value, as a path of keys and list indices (the root first)."""
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from value_paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from value_paths(inner, (*prefix, index))


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    out = copy.deepcopy(value)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = new
    return out


@st.composite
def streams_with_wrong_values(draw: st.DrawFn) -> bytes:
    """A valid reply in which one to four values, anywhere, are replaced by any JSON.

    Each replacement picks a place *kind* first (the frame's type and the path with list
    indices left out, e.g. ``4:data.extra.netSearchStatus.linkDetail.#.url``), so that
    every kind gets its share however many copies of it the reply holds."""
    frames = valid_frames(draw(answers), draw(st.sampled_from(["close_chunk", "type8"])))
    kinds: dict[str, list[tuple[int, tuple[Any, ...]]]] = {}
    for i, (event, payload) in enumerate(frames):
        for path in value_paths(payload):
            kind = ".".join("#" if isinstance(step, int) else step for step in path)
            kinds.setdefault(f"{event or payload.get('type')}:{kind}", []).append((i, path))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(sorted(kinds)), label="kind")
        i, path = draw(st.sampled_from(kinds[kind]))
        event, payload = frames[i]
        try:
            frames[i] = (event, replaced(payload, path, draw(json_values, label=kind)))
        except (KeyError, IndexError, TypeError):  # an earlier replacement removed that place
            continue
    return encoded(frames, draw(st.booleans()))


def encoded(frames: list[tuple[str | None, Any]], ensure_ascii: bool = False) -> bytes:
    lines = [line for event, payload in frames for line in frame_lines(event, payload, ensure_ascii)]
    return b"\n".join(lines) + b"\n"


def with_wrong_value(frame: int, path: str, value: Any) -> bytes:
    """A valid reply with ``value`` at ``path`` (dotted; digits are list indices) of one frame."""
    frames = valid_frames("a reply", "close_chunk")
    event, payload = frames[frame]
    steps = tuple(int(step) if step.isdigit() else step for step in path.split("."))
    frames[frame] = (event, replaced(payload, steps, value))
    return encoded(frames)


@FUZZ
@given(streams_with_wrong_values(), st.lists(st.integers(min_value=0), max_size=8))
@example(with_wrong_value(0, "data.sendResult.chatTitle", ["t"]), [])
@example(with_wrong_value(0, "data.sendResult", "x"), [])
@example(with_wrong_value(1, "data.messageResult.extra.netSearchStatus", [1]), [])
@example(with_wrong_value(3, "data.messageResult.extra.netSearchStatus.linkDetail.0", "u"), [])
@example(with_wrong_value(3, "data.messageResult.extra.netSearchStatus.linkDetail.1.url", {}), [])
@example(with_wrong_value(4, "data.messageResult", "Why?"), [])
@example(with_wrong_value(4, "data.extra.netSearchStatus.linkDetail", {"url": "x"}), [])
@example(with_wrong_value(3, "statusInfo", {"code": 1, "message": None}), [])
@example(with_wrong_value(3, "statusInfo.code", [1]), [])
@example(with_wrong_value(3, "type", None), [])
def test_wrong_typed_values_deep_in_valid_frames_raise_nothing_but_g4f_errors(stream, cuts):
    out, error = run_bytes(split_at(stream, cuts))  # anything else propagates and fails the test
    assert error is None or isinstance(error, G4FError)
    assert all(isinstance(c, str) or hasattr(c, "__dict__") for c in out)
    if error is None:
        assert isinstance(out[-1], FinishReason)
