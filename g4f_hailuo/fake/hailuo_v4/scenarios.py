r"""What the fake Hailuo server answers to a chat message (pure: no sockets, no clock).

``server`` owns the state (tokens, chats, counters) and the sockets; the scenario modules turn
"scenario + parameters + this chat turn" into a *plan*: either a plain HTTP reply
(:class:`HttpReply`) or the list of byte frames, pauses and aborts of an event stream
(:class:`StreamPlan`). Keeping them pure lets the tests pin the exact bytes without a server.
This module names the scenarios, parses their parameters and directives and answers the
HTTP-level ones (:func:`http_reply`, :func:`failure_reply`); ``stream_plans`` builds the event
streams (:func:`stream_plan`, :func:`chat_not_found_plan`, :func:`reply_text`), ``payloads``
holds the fixed JSON bodies and ``pages`` the HTML; all of them are importable from here too.
The directive grammar, the plan steps and the stock pages are shared with the agent fake
(``g4f_hailuo.fake.scenario_kit``); these modules hold what is particular to ``/v4``.

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
linger          the whole reply and ``close_chunk``, then the body stays open ``seconds`` (30)
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

from dataclasses import dataclass
from typing import Any

from g4f_hailuo.fake.hailuo_v4.pages import HOME_PAGE
from g4f_hailuo.fake.hailuo_v4.payloads import (
    AUTH_ERROR_BODY,
    BAD_REQUEST_BODY,
    BUSY_MESSAGE,
    CHAT_NOT_FOUND,
    FOLLOW_UP_QUESTION,
    OK_STATUS,
    SEARCH_LINKS,
)
from g4f_hailuo.fake.hailuo_v4.stream_plans import (
    ChatTurn,
    chat_not_found_plan,
    reply_text,
    sse_frame,
    stream_plan,
)
from g4f_hailuo.fake.http_helpers import EVENT_STREAM
from g4f_hailuo.fake.scenario_kit import (
    Abort,
    BaseParams,
    HttpReply,
    ScenarioSpec,
    ScenarioTable,
    Sleep,
    StreamPlan,
    chat_title,
    cloudflare_reply,
    echo_of,
    finish_plan,
    html_reply,
    json_bytes,
    json_reply,
    nginx_page,
    strip_directives,
)

__all__ = [
    "AUTH_ERROR_BODY",
    "BAD_REQUEST_BODY",
    "BUSY_MESSAGE",
    "CHAT_NOT_FOUND",
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
    "linger": {"seconds": 30},
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
# HTTP-level answers


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
