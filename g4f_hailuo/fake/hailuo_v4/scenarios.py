r"""What the fake Hailuo server answers to a chat message (pure: no sockets, no clock).

``server`` owns the state (tokens, chats, counters) and the sockets; this module turns
"scenario + parameters + this chat turn" into a *plan*: either a plain HTTP reply
(:class:`HttpReply`) or the list of byte frames, pauses and aborts of an event stream
(:class:`StreamPlan`). Keeping it pure lets the tests pin the exact bytes without a server.
The directive grammar, the plan steps and the stock pages are shared with the agent fake
(``g4f_hailuo.fake.scenario_kit``); this module holds what is particular to ``/v4``.

A scenario is written ``NAME key=value ...`` (the server-wide default, ``FakeHailuo.scenario``)
or, inside a chat message, ``[[scenario:NAME key=value ...]]``. Values may be quoted
(``msg="try later"``). ``[[scenario: key=value]]`` without a name keeps the server's default
scenario and adds parameters to it. A message's last directive wins; all are removed from the
text the reply quotes and from the chat title.

Streamed scenarios (a chat is created/continued and the message recorded):

==============  ==============================================================================
normal          ``send_result``, ``frames`` cumulative ``message_result`` (last ``isEnd`` 0),
                ``close_chunk``
split_frames    normal, written in pieces of 1..7 bytes (``split=7``), a short ``pause`` after each
crlf            normal with every line ending ``\r\n`` (``crlf=1``)
giant_line      normal with ``size=1000000``
heartbeat       a data-only type-3 frame (``statusInfo.code`` = ``code``, default 1) before
                every message frame
heartbeat_stall ``send_result``, ``after`` (1) message frames, then only type-3 frames, one every
                0.2 s for ``seconds`` (30), then the rest
type8_end       normal frames, then data-only ``{"type":8,"data":{}}``; no ``close_chunk``
isend_only      normal frames (last ``isEnd`` 0), then the body ends
no_end          every message frame ``isEnd`` 1, then the body ends
follow_up       search links in the last message's ``extra``, then a type-4
                ``follow_up_question_result`` frame, then ``close_chunk``
fffd            each content cut before a non-ASCII character ends in U+FFFD (at least one:
                ``"Hailuo \ufffd"``); the next frame completes it
stream_error    ``send_result``, ``after`` (1) message frames, then a type-2 ``message_result``
                with ``statusInfo`` ``code`` (1000) / ``msg``; no end marker
banned          stream_error with code 22, ``after=0``
no_credits      stream_error with code 2200005, ``after=0``
drop            ``send_result``, ``after`` (1) message frames, then the TCP connection is aborted
stall_before    sleeps ``seconds`` (30) before the response headers, then normal
stall_during    ``send_result``, ``after`` (1) message frames, sleeps ``seconds`` (30), the rest
malformed_json  normal plus one broken ``data:`` line after the first message frame
invalid_utf8    normal plus, after the first message frame, a message frame whose content ends
                in half a UTF-8 character (``where=content``) or an unknown ``binary_noise``
                event with invalid bytes (``where=event``)
unknown_event   normal plus an ``event: something_new`` frame (type 42)
empty_200       HTTP 200 ``text/event-stream`` with an empty body (no chat)
==============  ==============================================================================

HTTP scenarios (no chat, nothing recorded in ``chats()``): ``http_400`` (the code-2 JSON),
``http_401`` (code 1004 JSON), ``http_403`` (a Cloudflare "Just a moment..." page with ``cf-``
headers), ``http_429`` (``Retry-After: retry``, default 7), ``http_500`` (JSON), ``http_502`` and
``http_503`` (nginx pages), ``html_200`` (a text/html page), ``json_200_error`` (HTTP 200 JSON
with ``statusInfo`` ``code`` / ``msg``).

Parameters for every scenario: ``frames``, ``size``, ``chars`` (ascii|cjk), ``ascii`` (1:
``\uXXXX`` escapes), ``delay`` (seconds between frames), ``split``/``pause``, ``crlf``,
``event`` (event name of error/heartbeat/type-8 frames), ``hold`` (seconds the body stays open
after its last frame, before it ends), ``prebuild`` (1: every frame is built before the
headers and written back to back; by default each is built as it is written, so a long reply's
first frame goes out at once), ``fail_first``/``fail_status`` (the first
N requests carrying this exact directive get that HTTP status, default 503), ``tag`` (ignored:
makes a directive, and so its ``fail_first`` counter, unique). See :class:`Params`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from g4f_hailuo.fake.common import EVENT_STREAM
from g4f_hailuo.fake.scenario_kit import (
    Abort,
    BaseParams,
    HttpReply,
    ScenarioSpec,
    ScenarioTable,
    Sleep,
    Step,
    StreamPlan,
    chat_title,
    cloudflare_reply,
    echo_of,
    finish_plan,
    html_reply,
    json_bytes,
    json_reply,
    nginx_page,
    pad,
    repeat_for,
    strip_directives,
)

__all__ = [
    "AUTH_ERROR_BODY",
    "BAD_REQUEST_BODY",
    "EVENT_STREAM",
    "FOLLOW_UP_QUESTION",
    "HOME_PAGE",
    "HTTP_SCENARIOS",
    "OK_STATUS",
    "SCENARIOS",
    "SEARCH_LINKS",
    "Abort",
    "ChatTurn",
    "HttpReply",
    "Params",
    "ScenarioSpec",
    "Sleep",
    "StreamPlan",
    "chat_not_found_plan",
    "chat_title",
    "echo_of",
    "failure_reply",
    "finish_plan",
    "http_reply",
    "json_bytes",
    "parse_spec",
    "reply_text",
    "resolve_spec",
    "sse_frame",
    "stream_plan",
    "strip_directives",
]

OK_STATUS = {"code": 0, "message": "成功"}
AUTH_ERROR_BODY = {"statusInfo": {"code": 1004, "message": "登录状态已失效，请重新登录"}}  # noqa: RUF001 (Chinese punctuation)
BAD_REQUEST_BODY = {"statusInfo": {"code": 2, "message": "请求异常，请检查请求参数"}, "data": {}}  # noqa: RUF001 (Chinese punctuation)
CHAT_NOT_FOUND = (1200002, "会话不存在 (chat not found)")
BUSY_MESSAGE = "服务繁忙，请稍后再试"  # noqa: RUF001 (Chinese punctuation)
FOLLOW_UP_QUESTION = "Would you like to know more about this topic?"
SEARCH_LINKS = [
    {"detail": "Example page A", "url": "https://example.com/a"},
    {"detail": "Example page B", "url": "https://example.com/b"},
]

# ---------------------------------------------------------------------------------------------
# Scenarios and their parameters


@dataclass(frozen=True)
class Params(BaseParams):
    """The shared parameters (:class:`BaseParams`) plus the ones only this protocol has."""

    ascii: int = 0  # 1: json.dumps(ensure_ascii=True), CJK as \uXXXX escapes
    code: int = 1000  # statusInfo.code of an error or heartbeat frame
    event: str = ""  # event name of error / heartbeat / type-8 frames (empty: default)
    where: str = "content"  # invalid_utf8: inside a message "content" or a separate "event"


# name -> parameter defaults that differ from Params()
SCENARIOS: dict[str, dict[str, Any]] = {
    "normal": {},
    "split_frames": {"split": 7},
    "crlf": {"crlf": 1},
    "giant_line": {"size": 1_000_000},
    "heartbeat": {"code": 1},
    "heartbeat_stall": {"code": 1},
    "type8_end": {},
    "isend_only": {},
    "no_end": {},
    "follow_up": {},
    "fffd": {},
    "stream_error": {},
    "banned": {"code": 22, "msg": "账号已被封禁", "after": 0},
    "no_credits": {"code": 2200005, "msg": "今日额度已用完，请明天再试", "after": 0},  # noqa: RUF001 (Chinese punctuation)
    "drop": {},
    "stall_before": {},
    "stall_during": {},
    "malformed_json": {},
    "invalid_utf8": {},
    "unknown_event": {},
    "html_200": {},
    "empty_200": {},
    "json_200_error": {},
    "http_400": {},
    "http_401": {},
    "http_403": {},
    "http_429": {},
    "http_500": {},
    "http_502": {},
    "http_503": {},
}
# Scenarios answered with a plain HTTP reply: no chat is created, no message recorded.
HTTP_SCENARIOS = frozenset(name for name in SCENARIOS if name.startswith(("http_", "html_", "json_")))
_TABLE = ScenarioTable(Params, SCENARIOS, {"where": ("content", "event")})


def parse_spec(text: str) -> ScenarioSpec[Params]:
    """Parse the server-wide form ``"NAME key=value ..."`` (an empty name means ``normal``)."""
    return _TABLE.parse(text)


def resolve_spec(msg_content: str, default: str) -> ScenarioSpec[Params]:
    """The scenario for one chat message: its last directive, else the server's default."""
    return _TABLE.resolve(msg_content, default)


# ---------------------------------------------------------------------------------------------
# The reply text


def reply_text(prompt: str, turn: int, params: BaseParams) -> str:
    """``Hailuo 海螺 (fake) reply #<turn>: you said "<echo>".``, padded/cut to ``size``."""
    return pad(f'Hailuo 海螺 (fake) reply #{turn}: you said "{echo_of(prompt)}".', params)


# ---------------------------------------------------------------------------------------------
# Plans


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


HOME_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Hailuo AI (fake)</title>'
    '</head><body><div id="root">Hailuo AI - fake server for tests</div></body></html>'
)


def http_reply(spec: ScenarioSpec[Params]) -> HttpReply | None:
    """The plain HTTP answer of an HTTP-level scenario, ``None`` for streamed scenarios."""
    p = spec.params
    name = spec.name
    if name == "http_400":
        return json_reply(400, BAD_REQUEST_BODY)
    if name == "http_401":
        return json_reply(401, AUTH_ERROR_BODY)
    if name == "http_403":
        return cloudflare_reply()
    if name == "http_429":
        body = {"statusInfo": {"code": 1002, "message": "请求过于频繁，请稍后再试"}, "data": {}}  # noqa: RUF001 (Chinese punctuation)
        return json_reply(429, body, {"Retry-After": str(p.retry)})
    if name == "http_500":
        return json_reply(500, {"statusInfo": {"code": 500, "message": "服务器内部错误"}, "data": {}})
    if name == "http_502":
        return html_reply(502, nginx_page(502, "Bad Gateway"))
    if name == "http_503":
        return html_reply(503, nginx_page(503, "Service Temporarily Unavailable"))
    if name == "html_200":
        return html_reply(200, HOME_PAGE)
    if name == "json_200_error":
        return json_reply(200, {"statusInfo": {"code": p.code, "message": p.msg or BUSY_MESSAGE}, "data": {}})
    return None


def failure_reply(status: int) -> HttpReply:
    """What a ``fail_first`` request gets: the ``http_<status>`` page, else a small JSON error."""
    name = f"http_{status}"
    if name in SCENARIOS:
        reply = http_reply(ScenarioSpec(name, Params(), name))
        assert reply is not None
        return reply
    return json_reply(status, {"statusInfo": {"code": status, "message": "fake failure"}, "data": {}})


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
