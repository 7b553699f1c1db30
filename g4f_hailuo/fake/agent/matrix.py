"""The fake MiniMax Agent site's older chat API (Gen A, protocol ``matrix``; ``minimax-agent-protocol.md``
sections 6 and 9), and the switch that takes its session API away.

Routes (``/matrix/api/v1/chat`` abbreviated ``…``), each with the strict checks of every other
route (token, ``user_id``, signature) and a numeric ``device_id``:

- ``POST …/send_msg`` ``{msg_type, text, chat_type, attachments, …}`` (+ ``chat_id``, a number or a
  string, to continue): ``{chat_id, msg_id (the user's), agent_pod_ip, chat_language, base_resp}``,
  ids as JSON integers. A chat of another token: 404 ``session not found``; another reply of the
  account still running: base_resp ``chat is running``.
- ``POST …/get_chat_detail`` ``{chat_id}``: ``chat{chat_id, chat_title, chat_status, chat_type}`` and
  ``messages[]``. The reply grows by one step per poll (and by one a second when nobody polls):
  an acknowledgement placeholder (``placeholder=1``), a tool step without text (``tool=1``), then
  the answer's ``msg_content`` and ``extra_info.thinking_content`` (``think=1``) growing
  cumulatively over ``frames`` polls, then a second message with a new ``msg_id`` (``second=1``);
  ``chat_status`` 1, then 2 on the last step (never with ``finish=0``). Each poll's arrival
  (``time.monotonic``) is kept in the chat's ``polls``.
- ``POST …/list_chat`` ``{page_size, workspace_storage_mode}`` (+ ``next_page_index_id``): newest first.
- ``POST …/delete_chat`` ``{chat_id}``: base_resp ``chat is running`` while the reply runs (and for the
  first ``busy_deletes`` calls); attempts are kept in ``deletes``.

Scenarios: those of :mod:`.scenarios` (the HTTP ones and the refusals answer ``send_msg``; the
others are a normal reply) and ``placeholder``, ``tool_step``, ``two_messages``, ``agentic`` (all
three and thinking), ``unfinished``, ``busy_delete``.

``FakeAgent.session_routes``: True (the default) serves ``/minimax-cloud``; False answers every
one of its routes with the app page (200), ``"404"`` with a 404 page.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from g4f_hailuo.fake import scenario_kit as kit
from g4f_hailuo.fake.agent import scenarios as sc
from g4f_hailuo.fake.agent.checks import BAD_DEVICE_ID, SESSION_NOT_FOUND, Rejection
from g4f_hailuo.fake.agent.state import MSG_ID_BASE, OK, AgentAccount
from g4f_hailuo.fake.common import RecordedRequest, html_response, http_response, json_response

if TYPE_CHECKING:
    from g4f_hailuo.fake.agent.server import FakeAgent

__all__ = [
    "BUSY_CODE",
    "CHAT_API",
    "PLACEHOLDER_TEXT",
    "MatrixChat",
    "MatrixParams",
    "add_matrix_routes",
    "answer_for",
    "second_text",
]

CHAT_API = "/matrix/api/v1/chat"
SESSION_API = "/minimax-cloud/"
CHAT_ID_BASE = 600_000_000_000_000
BUSY_CODE = 1400010200  # our pick: the site's code for "chat is running" was never captured
PLACEHOLDER_TEXT = "收到 (fake): working on it."
BACKGROUND_STEP = 1.0  # seconds per step of a reply nobody polls (it still ends)
RUNNING, DONE = 1, 2
TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "web_search", "arguments": '{"query": "fake weather"}'},
}
_REFUSALS = {
    "busy": (BUSY_CODE, sc.BUSY_TEXT),
    "error_credits": (1400010161, sc.CREDITS_TEXT),
    "error_quota": (2056, sc.QUOTA_TEXT),
}


@dataclass(frozen=True)
class MatrixParams(sc.Params):
    placeholder: int = 0  # 1: an acknowledgement message first
    tool: int = 0  # 1: a tool step (no text, a tool_call) before the answer
    second: int = 0  # 1: a second message (a new msg_id) after the answer
    finish: int = 1  # 0: the reply never ends (chat_status stays 1)
    busy_deletes: int = 0  # the first N delete_chat calls answer "chat is running"


SCENARIOS: dict[str, dict[str, Any]] = {
    **sc.SCENARIOS,
    "placeholder": {"placeholder": 1},
    "tool_step": {"tool": 1},
    "two_messages": {"second": 1},
    "agentic": {"placeholder": 1, "tool": 1, "second": 1, "think": 1},
    "unfinished": {"finish": 0},
    "busy_delete": {"busy_deletes": 1},
}
_TABLE = kit.ScenarioTable(MatrixParams, SCENARIOS)

Snapshot = tuple[tuple[dict[str, Any], ...], int]  # the assistant messages and chat_status


def answer_for(prompt: str, turn: int) -> str:
    """The answer's text (``FakeAgent.reply_for`` for the scenarios only Gen A knows)."""
    return sc.reply_text(prompt, turn, _TABLE.resolve(prompt, "normal").params)


def second_text(turn: int) -> str:
    """The text of the ``second=1`` message of turn ``turn``."""
    return f"(fake) follow-up #{turn}: anything else?"


@dataclass
class MatrixReply:
    snapshots: list[Snapshot]
    started: float  # time.monotonic() of the send
    served: int = 0  # polls answered


@dataclass
class MatrixChat:
    chat_id: str
    title: str
    created_ms: int
    messages: list[dict[str, Any]] = field(default_factory=list)  # those of finished turns
    reply: MatrixReply | None = None  # the reply being written
    turns: int = 0
    busy_deletes: int = 0
    deleted: bool = False
    sends: list[float] = field(default_factory=list)  # time.monotonic() of each send_msg
    polls: list[float] = field(default_factory=list)  # ... of each get_chat_detail
    deletes: list[float] = field(default_factory=list)  # ... of each delete_chat

    def view(self, now: float, *, poll: bool = False) -> tuple[list[dict[str, Any]], int]:
        """The messages and ``chat_status`` now; a poll moves the reply one step on."""
        reply = self.reply
        if reply is None:
            return list(self.messages), DONE
        step = max(reply.served, int((now - reply.started) / BACKGROUND_STEP))
        assistant, status = reply.snapshots[min(step, len(reply.snapshots) - 1)]
        reply.served += poll
        shown = [*self.messages, *assistant]
        if status == DONE:
            self.messages, self.reply = shown, None
        return shown, status

    def running(self, now: float) -> bool:
        return not self.deleted and self.view(now)[1] != DONE


def _message(msg_id: str, msg_type: int, text: str, thinking: str = "", **extra: Any) -> dict[str, Any]:
    info = {"thinking_content": thinking} if msg_type == 2 else {}
    return {"msg_id": int(msg_id), "msg_type": msg_type, "msg_content": text, "extra_info": info, **extra}


def _cut(text: str, step: int, steps: int) -> str:
    return text[: len(text) * step // steps]


def _snapshots(
    new_id: Callable[[int], str], params: MatrixParams, text: str, thinking: str, turn: int
) -> list[Snapshot]:
    """The reply's steps (each the assistant messages so far and the status)."""
    before: list[dict[str, Any]] = []
    snapshots: list[Snapshot] = []
    if params.placeholder:
        before.append(_message(new_id(MSG_ID_BASE), 2, PLACEHOLDER_TEXT))
        snapshots.append((tuple(before), RUNNING))
    if params.tool:
        before.append(_message(new_id(MSG_ID_BASE), 2, "", tool_call=[TOOL_CALL]))
        snapshots.append((tuple(before), RUNNING))
    answer_id, steps = new_id(MSG_ID_BASE), params.frames
    for step in range(1, steps + 1):
        answer = _message(answer_id, 2, _cut(text, step, steps), _cut(thinking, step, steps))
        snapshots.append(((*before, answer), RUNNING))
    if params.second:
        before.append(snapshots[-1][0][-1])
        second_id, follow = new_id(MSG_ID_BASE), second_text(turn)
        for step in (1, 2):
            snapshots.append(((*before, _message(second_id, 2, _cut(follow, step, 2))), RUNNING))
    if params.finish:
        snapshots[-1] = (snapshots[-1][0], DONE)
    return snapshots


def _refusal(code: int, text: str) -> web.Response:
    return json_response({"base_resp": {"status_code": code, "status_msg": text}})


def _bad(error: str) -> web.Response:
    return json_response({"error": error}, 400)


_Handler = Callable[[web.Request, RecordedRequest, AgentAccount], Awaitable[web.StreamResponse]]


class _Routes:
    def __init__(self, fake: FakeAgent) -> None:
        self.fake = fake

    def spec(self, text: str) -> kit.ScenarioSpec[MatrixParams]:
        default = self.fake.scenario
        known = default.split()[0] in SCENARIOS if default.split() else True
        return _TABLE.resolve(text, default if known else "normal")

    def chat(self, account: AgentAccount, body: Any) -> MatrixChat | None:
        chat_id = body.get("chat_id") if isinstance(body, dict) else None
        chat = account.chats.get(str(chat_id)) if isinstance(chat_id, (int, str)) else None
        return None if chat is None or chat.deleted else chat

    async def send(
        self, request: web.Request, record: RecordedRequest, account: AgentAccount
    ) -> web.Response:
        body, now = record.json, time.monotonic()
        if not isinstance(body, dict) or body.get("msg_type") != 1 or not isinstance(body.get("text"), str):
            return _bad("invalid params: msg_type 1 and text are required")
        if body.get("chat_type", 1) not in (0, 1, 2) or not isinstance(body.get("attachments", []), list):
            return _bad("invalid params: chat_type or attachments")
        text: str = body["text"]
        try:
            spec = self.spec(text)
        except ValueError as exc:
            return _bad(f"fake server: {exc}")
        record.scenario = spec.name
        if self.fake.fails_first(f"{spec.key}\0{text}", spec.params.fail_first):
            return http_response(sc.failure_reply(spec.params.fail_status))
        planned = sc.http_reply(kit.ScenarioSpec[sc.Params](spec.name, spec.params, spec.key))
        if planned is not None:
            return http_response(planned)
        busy = any(chat.running(now) for chat in account.chats.values())
        refusal = "busy" if busy else "error_credits" if account.credits <= 0 else spec.name
        if refusal in _REFUSALS:
            record.scenario = refusal
            return _refusal(*_REFUSALS[refusal])
        chat = self.chat(account, body) if "chat_id" in body else self.new_chat(account, text)
        if chat is None:
            return json_response(SESSION_NOT_FOUND, 404)
        chat.turns += 1
        chat.busy_deletes = spec.params.busy_deletes
        chat.sends.append(now)
        user_id = self.fake.new_id(MSG_ID_BASE)
        chat.messages.append(_message(user_id, 1, text))
        params = spec.params
        thinking = sc.thinking_text(text) if params.think else ""
        answer = sc.reply_text(text, chat.turns, params)
        chat.reply = MatrixReply(_snapshots(self.fake.new_id, params, answer, thinking, chat.turns), now)
        account.turns += 1
        return json_response(
            {
                "chat_id": int(chat.chat_id),
                "msg_id": int(user_id),
                "agent_pod_ip": "10.0.0.7",
                "chat_language": "zh" if self.fake.region == "cn" else "en",
                "base_resp": OK,
            }
        )

    def new_chat(self, account: AgentAccount, text: str) -> MatrixChat:
        chat_id = self.fake.new_id(CHAT_ID_BASE)
        chat = MatrixChat(chat_id, kit.chat_title(text), int(self.fake.clock() * 1000))
        account.chats[chat_id] = chat
        return chat

    async def detail(
        self, request: web.Request, record: RecordedRequest, account: AgentAccount
    ) -> web.Response:
        chat = self.chat(account, record.json)
        if chat is None:
            return json_response(SESSION_NOT_FOUND, 404)
        now = time.monotonic()
        chat.polls.append(now)
        messages, status = chat.view(now, poll=True)
        info = {"chat_id": int(chat.chat_id), "chat_title": chat.title, "chat_status": status, "chat_type": 1}
        return json_response({"chat": info, "messages": messages, "base_resp": OK})

    async def listing(
        self, request: web.Request, record: RecordedRequest, account: AgentAccount
    ) -> web.Response:
        body = record.json if isinstance(record.json, dict) else {}
        size = body.get("page_size")
        if not isinstance(size, int) or size < 1:
            return _bad("invalid params: page_size")
        chats = [chat for chat in reversed(account.chats.values()) if not chat.deleted]
        after = body.get("next_page_index_id")
        if after is not None:
            ids = [chat.chat_id for chat in chats]
            chats = chats[ids.index(str(after)) + 1 :] if str(after) in ids else []
        page = chats[:size]
        listed = [
            {
                "chat_id": int(c.chat_id),
                "chat_title": c.title,
                "chat_type": 1,
                "create_timestamp": c.created_ms,
            }
            for c in page
        ]
        more = len(chats) > size
        following = int(page[-1].chat_id) if more else None
        return json_response(
            {"chats": listed, "has_more": more, "next_page_index_id": following, "base_resp": OK}
        )

    async def delete(
        self, request: web.Request, record: RecordedRequest, account: AgentAccount
    ) -> web.Response:
        chat = self.chat(account, record.json)
        if chat is None:
            return json_response(SESSION_NOT_FOUND, 404)
        now = time.monotonic()
        chat.deletes.append(now)
        if chat.running(now) or chat.busy_deletes:
            chat.busy_deletes = max(chat.busy_deletes - 1, 0)
            return _refusal(BUSY_CODE, sc.BUSY_TEXT)
        chat.deleted = True
        return json_response({"base_resp": OK})


def _numeric_device_id(handler: _Handler) -> _Handler:
    """``device_id`` all digits (the 1406011050 answer otherwise), after the common checks."""

    async def checked(
        request: web.Request, record: RecordedRequest, account: AgentAccount
    ) -> web.StreamResponse:
        if not request.query.get("device_id", "").isdigit():
            rejection = Rejection("device_id", 400, BAD_DEVICE_ID)
            record.rejected = rejection.reason
            return rejection.response()
        return await handler(request, record, account)

    return checked


def _session_routes_switch(fake: FakeAgent) -> Any:
    """The middleware behind ``FakeAgent.session_routes``."""

    @web.middleware
    async def switch(request: web.Request, handler: Any) -> web.StreamResponse:
        mode = fake.session_routes
        if mode is True or not request.path.startswith(SESSION_API):
            return await handler(request)
        record = fake.record(request)
        if str(mode) == "404":
            response = html_response(kit.nginx_page(404, "Not Found"), 404)
        else:
            response = html_response(sc.APP_PAGE)
        record.status = response.status
        return response

    return switch


def add_matrix_routes(fake: FakeAgent, app: web.Application) -> None:
    """Add the Gen A chat routes of ``fake`` to ``app``, and the ``session_routes`` switch."""
    routes = _Routes(fake)
    for leaf, handler in (
        ("send_msg", routes.send),
        ("get_chat_detail", routes.detail),
        ("list_chat", routes.listing),
        ("delete_chat", routes.delete),
    ):
        app.router.add_post(f"{CHAT_API}/{leaf}", fake._route(_numeric_device_id(handler)))
    app.middlewares.insert(0, _session_routes_switch(fake))
