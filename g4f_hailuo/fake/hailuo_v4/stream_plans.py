"""The event streams the fake Hailuo server answers a chat message with (pure: no sockets, no clock).

:func:`stream_plan` turns a parsed scenario (:mod:`.scenarios` holds the names, parameters and
directives) and one chat turn (:class:`ChatTurn`) into a
:class:`~g4f_hailuo.fake.scenario_kit.StreamPlan`: the ``send_result`` frame, the cumulative
``message_result`` frames of :func:`reply_text` and the end marker, or the variation the scenario
names (one builder per streamed scenario; see the table in :mod:`.scenarios`).
:func:`chat_not_found_plan` answers a continuation of a chat the token does not own.
:func:`sse_frame` writes one ``event:``/``data:`` frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from g4f_hailuo.fake.hailuo_v4.payloads import (
    BUSY_MESSAGE,
    CHAT_NOT_FOUND,
    FOLLOW_UP_QUESTION,
    OK_STATUS,
    SEARCH_LINKS,
)
from g4f_hailuo.fake.scenario_kit import (
    Abort,
    BaseParams,
    ScenarioSpec,
    Sleep,
    Step,
    StreamPlan,
    echo_of,
    finish_plan,
    json_bytes,
    pad,
    repeat_for,
)

if TYPE_CHECKING:  # scenarios re-exports this module: import it for the annotations only
    from g4f_hailuo.fake.hailuo_v4.scenarios import Params

__all__ = ["ChatTurn", "chat_not_found_plan", "reply_text", "sse_frame", "stream_plan"]


def reply_text(prompt: str, turn: int, params: BaseParams) -> str:
    """``Hailuo 海螺 (fake) reply #<turn>: you said "<echo>".``, padded/cut to ``size``."""
    return pad(f'Hailuo 海螺 (fake) reply #{turn}: you said "{echo_of(prompt)}".', params)


@dataclass(frozen=True)
class ChatTurn:
    chat_id: str
    title: str
    user_msg_id: str
    system_msg_id: str
    prompt: str  # msgContent as received
    turn: int  # 1-based turn number in this chat


def sse_frame(event: str | None, data: Any, *, ensure_ascii: bool = False, eol: str = "\n") -> bytes:
    """``event: NAME`` (optional) and ``data: JSON`` lines, then a blank line."""
    text = data if isinstance(data, str) else json_bytes(data, ensure_ascii=ensure_ascii).decode("utf-8")
    lines = ([f"event: {event}"] if event else []) + [f"data: {text}"]
    return (eol.join(lines) + eol + eol).encode("utf-8")


class _Frames:
    """Builds the frames of one reply with the stream's JSON and line-ending settings."""

    def __init__(self, turn: ChatTurn, params: Params, text: str) -> None:
        self.turn = turn
        self.p = params
        self.text = text
        self.eol = "\r\n" if params.crlf else "\n"

    def frame(self, event: str | None, data: Any) -> bytes:
        return sse_frame(event, data, ensure_ascii=bool(self.p.ascii), eol=self.eol)

    def send_result(self) -> bytes:
        t = self.turn
        result = {
            "chatID": t.chat_id,
            "chatTitle": t.title,
            "userMsgID": t.user_msg_id,
            "systemMsgID": t.system_msg_id,
        }
        return self.frame("send_result", {"type": 1, "statusInfo": OK_STATUS, "data": {"sendResult": result}})

    def message_data(self, content: str, is_end: int, extra: Any = None) -> dict[str, Any]:
        result: dict[str, Any] = {"chatID": self.turn.chat_id, "msgID": self.turn.system_msg_id}
        result.update(isEnd=is_end, content=content)
        if extra is not None:
            result["extra"] = extra
        return {"type": 2, "statusInfo": OK_STATUS, "data": {"messageResult": result}}

    def message(self, content: str, is_end: int, extra: Any = None) -> bytes:
        return self.frame("message_result", self.message_data(content, is_end, extra))

    def contents(self) -> list[str]:
        """The cumulative contents, one per message frame."""
        return list(self.iter_contents())

    def iter_contents(self) -> Iterator[str]:
        text = self.text
        n = max(1, min(self.p.frames, len(text)))
        return (text[: len(text) * i // n] for i in range(1, n + 1))

    def messages(
        self, contents: list[str] | None = None, *, last_is_end: int = 0, extra: Any = None
    ) -> list[bytes]:
        return list(self.iter_messages(contents, last_is_end=last_is_end, extra=extra))

    def iter_messages(
        self, contents: list[str] | None = None, *, last_is_end: int = 0, extra: Any = None
    ) -> Iterator[bytes]:
        """The message frames, each built when it is needed."""
        cuts = iter(self.iter_contents() if contents is None else contents)
        content = next(cuts)
        for following in cuts:
            yield self.message(content, 1)
            content = following
        yield self.message(content, last_is_end, extra)

    def close_chunk(self) -> bytes:
        return self.frame("close_chunk", "{}")

    def status_frame(self, default_event: str | None, type_: int, code: int, message: str) -> bytes:
        data = {"type": type_, "statusInfo": {"code": code, "message": message}, "data": {}}
        return self.frame(self.p.event or default_event, data)


def _normal(f: _Frames) -> Iterator[Step]:
    yield f.send_result()
    yield from f.iter_messages()
    yield f.close_chunk()


def _heartbeat(f: _Frames) -> list[Step]:
    steps: list[Step] = [f.send_result()]
    for frame in f.messages():
        steps += [f.status_frame(None, 3, f.p.code, f.p.msg or "生成中"), frame]
    return [*steps, f.close_chunk()]


def _heartbeat_stall(f: _Frames) -> list[Step]:
    messages = f.messages()
    beats = repeat_for(f.status_frame(None, 3, f.p.code, f.p.msg or "生成中"), f.p.seconds)
    return [f.send_result(), *messages[: f.p.after], *beats, *messages[f.p.after :], f.close_chunk()]


def _type8_end(f: _Frames) -> list[Step]:
    return [f.send_result(), *f.messages(), f.frame(f.p.event or None, {"type": 8, "data": {}})]


def _isend_only(f: _Frames) -> list[Step]:
    return [f.send_result(), *f.messages()]


def _no_end(f: _Frames) -> list[Step]:
    return [f.send_result(), *f.messages(last_is_end=1)]


def _follow_up(f: _Frames) -> list[Step]:
    search = {"netSearchStatus": {"linkDetail": SEARCH_LINKS}}
    question = {"chatID": f.turn.chat_id, "msgID": f.turn.system_msg_id, "content": FOLLOW_UP_QUESTION}
    data = {"type": 4, "statusInfo": OK_STATUS, "data": {"messageResult": question, "extra": search}}
    return [
        f.send_result(),
        *f.messages(extra=search),
        f.frame("follow_up_question_result", data),
        f.close_chunk(),
    ]


def _fffd(f: _Frames) -> list[Step]:
    """Every non-final content cut just before a non-ASCII character ends in U+FFFD."""
    text = f.text
    contents = [c + "\ufffd" if len(c) < len(text) and ord(text[len(c)]) > 127 else c for c in f.contents()]
    first = next((i for i, ch in enumerate(text) if ord(ch) > 127), None)
    if first is not None and not any(c.endswith("\ufffd") for c in contents):
        cut = text[:first] + "\ufffd"
        contents.insert(sum(len(c) <= first for c in contents), cut)
    return [f.send_result(), *f.messages(contents), f.close_chunk()]


def _stream_error(f: _Frames) -> list[Step]:
    error = f.status_frame("message_result", 2, f.p.code, f.p.msg or BUSY_MESSAGE)
    return [f.send_result(), *f.messages()[: f.p.after], error]


def _drop(f: _Frames) -> list[Step]:
    return [f.send_result(), *f.messages()[: f.p.after], Abort()]


def _stall_during(f: _Frames) -> list[Step]:
    messages = f.messages()
    return [
        f.send_result(),
        *messages[: f.p.after],
        Sleep(f.p.seconds),
        *messages[f.p.after :],
        f.close_chunk(),
    ]


def _linger(f: _Frames) -> list[Step]:
    """The whole reply and its end marker, then the body stays open ``seconds`` more."""
    return [f.send_result(), *f.messages(), f.close_chunk(), Sleep(f.p.seconds)]


def _with_extra_frame(f: _Frames, extra: bytes) -> list[Step]:
    """The normal stream with ``extra`` after the first message frame."""
    first, *rest = f.messages()
    return [f.send_result(), first, extra, *rest, f.close_chunk()]


def _malformed_json(f: _Frames) -> list[Step]:
    broken = f.frame(
        "message_result", '{"type":2,"statusInfo":{"code":0,"message":"成功"},"data":{"messageRes'
    )
    return _with_extra_frame(f, broken)


_MARK = "@@INVALID-UTF8@@"
_INVALID = b"\xe6\xb5"  # the first two of the three bytes of 海


def _invalid_utf8(f: _Frames) -> list[Step]:
    if f.p.where == "event":
        bad = f.frame("binary_noise", {"type": 99, "statusInfo": OK_STATUS, "data": {"blob": _MARK}})
    else:  # the first cumulative content followed by half a character
        bad = f.message(f.contents()[0] + _MARK, 1)
    return _with_extra_frame(f, bad.replace(_MARK.encode(), _INVALID))


def _unknown_event(f: _Frames) -> list[Step]:
    data = {"type": 42, "statusInfo": OK_STATUS, "data": {"something": "new", "items": [1, 2, 3]}}
    return _with_extra_frame(f, f.frame("something_new", data))


_BUILDERS: dict[str, Callable[[_Frames], Iterable[Step]]] = {
    "heartbeat": _heartbeat,
    "heartbeat_stall": _heartbeat_stall,
    "type8_end": _type8_end,
    "isend_only": _isend_only,
    "no_end": _no_end,
    "follow_up": _follow_up,
    "fffd": _fffd,
    "stream_error": _stream_error,
    "banned": _stream_error,
    "no_credits": _stream_error,
    "drop": _drop,
    "stall_during": _stall_during,
    "linger": _linger,
    "malformed_json": _malformed_json,
    "invalid_utf8": _invalid_utf8,
    "unknown_event": _unknown_event,
}


def stream_plan(spec: ScenarioSpec[Params], turn: ChatTurn) -> StreamPlan:
    """The event stream answering ``turn`` under ``spec``."""
    frames = _Frames(turn, spec.params, reply_text(turn.prompt, turn.turn, spec.params))
    steps = _BUILDERS.get(spec.name, _normal)(frames)
    stall = spec.params.seconds if spec.name == "stall_before" else 0.0
    return finish_plan(steps, spec.params, stall)


def chat_not_found_plan(chat_id: str, params: Params) -> StreamPlan:
    """A continuation with a chatID this token does not own: one error frame, then the end."""
    code, message = CHAT_NOT_FOUND
    data = {"type": 1, "statusInfo": {"code": code, "message": message}, "data": {}}
    eol = "\r\n" if params.crlf else "\n"
    return finish_plan([sse_frame("send_result", data, ensure_ascii=bool(params.ascii), eol=eol)], params)
