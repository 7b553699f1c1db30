"""The pure stream interpreter: Hailuo events in, g4f chunks out."""

from __future__ import annotations

import json

import pytest
from g4f.errors import BadRequestError, MissingAuthError, PaymentRequiredError, ResponseError
from g4f.providers.response import FinishReason, Sources, SuggestedFollowups, TitleGeneration, Usage
from hypothesis import given, settings
from hypothesis import strategies as st

from g4f_hailuo._conversation import Conversation
from g4f_hailuo.protocols.hailuo_v4.sse import ServerEvent, decode_events
from g4f_hailuo.protocols.hailuo_v4.stream import ReplyInterpreter, estimate_tokens

OK = {"code": 0, "message": "成功"}


def send_result(chat_id="242830597915504644", title="自我介绍"):
    data = {"sendResult": {"chatID": chat_id, "chatTitle": title, "userMsgID": "1", "systemMsgID": "2"}}
    return ServerEvent("send_result", json.dumps({"type": 1, "statusInfo": OK, "data": data}))


def message(content, is_end=1, chat_id="242830597915504644", extra=None):
    result = {"chatID": chat_id, "msgID": "2", "isEnd": is_end, "content": content}
    if extra is not None:
        result["extra"] = extra
    return ServerEvent(
        "message_result", json.dumps({"type": 2, "statusInfo": OK, "data": {"messageResult": result}})
    )


CLOSE = ServerEvent("close_chunk", "{}")


def run(events, **options):
    interpreter = ReplyInterpreter(account="sha256:acct", prompt="hello", **options)
    out = []
    for event in events:
        out.extend(interpreter.on_event(event))
        if interpreter.ended:
            break
    out.extend(interpreter.finish())
    return out


def text(chunks):
    return "".join(c for c in chunks if isinstance(c, str))


def test_doc_example_stream():
    out = run([send_result(), message("我是海螺"), message("我是海螺AI，由MiniMax研发。", is_end=0), CLOSE])  # noqa: RUF001
    assert isinstance(out[0], TitleGeneration) and out[0].title == "自我介绍"
    assert isinstance(out[1], Conversation)
    assert (out[1].token, out[1].chatID, out[1].characterID) == ("sha256:acct", "242830597915504644", "1")
    assert [c for c in out if isinstance(c, str)] == ["我是海螺", "AI，由MiniMax研发。"]  # noqa: RUF001
    assert isinstance(out[-2], Usage) and isinstance(out[-1], FinishReason) and out[-1].reason == "stop"


def test_cumulative_content_yields_only_new_suffixes():
    out = run([send_result(), message("a"), message("ab"), message("ab"), message("abc", is_end=0), CLOSE])
    assert [c for c in out if isinstance(c, str)] == ["a", "b", "c"]


def test_trailing_replacement_char_is_held_back_until_completed():
    out = run(
        [send_result(), message("你好\ufffd"), message("你好世\ufffd"), message("你好世界", is_end=0), CLOSE]
    )
    assert [c for c in out if isinstance(c, str)] == ["你好", "世", "界"]


def test_replacement_char_in_the_final_answer_is_kept():
    assert text(run([send_result(), message("a\ufffd"), message("a\ufffd", is_end=0), CLOSE])) == "a\ufffd"


def test_heartbeats_with_error_codes_are_ignored():
    beat = ServerEvent("message", json.dumps({"type": 3, "statusInfo": {"code": 1, "message": "beat"}}))
    assert text(run([send_result(), beat, message("x", is_end=0), beat, CLOSE])) == "x"


@pytest.mark.parametrize(
    "end",
    [CLOSE, ServerEvent("message", '{"type":8,"data":{}}')],
    ids=["close_chunk", "type 8"],
)
def test_end_markers_stop_reading(end):
    interpreter = ReplyInterpreter(account="a")
    out = interpreter.on_event(message("done")) + interpreter.on_event(end)
    assert interpreter.ended
    assert text(out + interpreter.finish()) == "done"


def test_is_end_zero_then_end_of_body_is_complete():
    assert text(run([send_result(), message("a"), message("ab", is_end=0)])) == "ab"


def test_end_of_body_without_an_end_marker_is_an_error_not_an_answer():
    interpreter = ReplyInterpreter(account="a")
    assert text(interpreter.on_event(message("partial"))) == "partial"
    with pytest.raises(ResponseError, match="incomplete"):
        interpreter.finish()


def test_empty_body_is_an_error():
    with pytest.raises(ResponseError, match="empty response"):
        ReplyInterpreter(account="a").finish()


def test_end_marker_without_text_is_an_error():
    with pytest.raises(ResponseError, match="without any answer"):
        run([send_result(), CLOSE])


@pytest.mark.parametrize(
    ("code", "error"),
    [(1000, ResponseError), (2, BadRequestError), (22, MissingAuthError), (2200005, PaymentRequiredError)],
)
def test_in_stream_status_codes_raise_with_the_servers_message(code, error):
    bad = ServerEvent(
        "message_result", json.dumps({"type": 2, "statusInfo": {"code": code, "message": "服务繁忙"}})
    )
    interpreter = ReplyInterpreter(account="a")
    interpreter.on_event(send_result())
    with pytest.raises(error, match="服务繁忙"):
        interpreter.on_event(bad)


def test_status_codes_sent_as_strings_are_read_as_numbers():
    """``"0"`` is success, not an error; ``"1000"`` is the error 1000."""
    ok = {"code": "0", "message": "成功"}
    data = {"messageResult": {"chatID": "1", "msgID": "2", "isEnd": 0, "content": "fine"}}
    good = ServerEvent("message_result", json.dumps({"type": 2, "statusInfo": ok, "data": data}))
    assert text(run([send_result(), good, CLOSE])) == "fine"
    busy = {"code": "1000", "message": "忙"}
    bad = ServerEvent("message_result", json.dumps({"type": 2, "statusInfo": busy}))
    interpreter = ReplyInterpreter(account="a")
    with pytest.raises(ResponseError, match="Hailuo error 1000: 忙"):
        interpreter.on_event(bad)


def test_malformed_and_unknown_frames_are_skipped():
    events = [
        send_result(),
        ServerEvent("message_result", '{"type":2,"data":'),
        ServerEvent("new_thing", "{}"),
        ServerEvent("message_result", "[1,2]"),
        message("ok", is_end=0),
        CLOSE,
    ]
    assert text(run(events)) == "ok"


def test_follow_up_gives_sources_and_suggestions():
    links = {"netSearchStatus": {"linkDetail": [{"detail": "A page", "url": "https://example.com/a"}]}}
    follow = ServerEvent(
        "follow_up_question_result",
        json.dumps(
            {
                "type": 4,
                "statusInfo": OK,
                "data": {
                    "messageResult": {"content": "What next?\nAnd then?"},
                    "extra": {
                        "netSearchStatus": {
                            "linkDetail": [
                                {"detail": "B", "url": "https://example.com/b"},
                                {"detail": "dup", "url": "https://example.com/a"},
                            ]
                        }
                    },
                },
            }
        ),
    )
    out = run([send_result(), message("x", is_end=0, extra=links), follow, CLOSE])
    (sources,) = [c for c in out if isinstance(c, Sources)]
    assert [s["url"] for s in sources.list] == ["https://example.com/a", "https://example.com/b"]
    assert sources.list[0]["title"] == "A page"
    (followups,) = [c for c in out if isinstance(c, SuggestedFollowups)]
    assert followups.suggestions == ["What next?", "And then?"]
    assert isinstance(out[-1], FinishReason)


def test_conversation_not_returned_when_not_asked():
    out = run([send_result(), message("x", is_end=0), CLOSE], return_conversation=False)
    assert not any(isinstance(c, Conversation) for c in out)


def test_usage_is_estimated():
    (usage,) = [
        c
        for c in run([send_result(), message("海螺" * 10 + "abcd" * 5, is_end=0), CLOSE])
        if isinstance(c, Usage)
    ]
    assert usage.completion_tokens == 25 and usage.prompt_tokens == estimate_tokens("hello") == 2
    assert usage.total_tokens == 27


def _stream_bytes(answer: str, steps: int) -> bytes:
    frames = [send_result()] + [
        message(answer[: len(answer) * (i + 1) // steps], is_end=1) for i in range(steps)
    ]
    frames += [message(answer, is_end=0), CLOSE]
    return b"".join(f"event: {f.event}\ndata: {f.data}\n\n".encode() for f in frames)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=40), st.integers(1, 6), st.lists(st.integers(0, 5000), max_size=10))
def test_any_byte_split_gives_the_same_answer(answer, steps, cuts):
    stream = _stream_bytes(answer, steps)
    points = sorted({c % (len(stream) + 1) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    assert text(run(decode_events(chunks))) == answer


@given(st.text(), st.integers(min_value=0, max_value=3))
def test_the_token_estimate_of_any_text_is_the_same_however_long(text: str, repeat: int) -> None:
    """Encoded in pieces, the estimate still counts every character once (a long answer
    spans many pieces: the text is repeated past the piece size)."""
    text = text * (1 + repeat * 20_000 // max(1, len(text)))
    size = len(text.encode("utf-8", "replace"))
    wide = min(len(text), (size - len(text)) // 2)
    assert estimate_tokens(text) == wide + (len(text) - wide + 3) // 4
