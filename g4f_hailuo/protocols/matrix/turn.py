"""One MiniMax Agent reply over its older polling API (Gen A, protocol ``matrix``; doc sections 6, 8).

Signed JSON calls to the API origin, never a ``/minimax-cloud`` route: the account's ids as under
``agent`` (:func:`establish`), then per turn ``send_msg`` (a new chat gets the whole history; a
continuation, once its chat is idle, the newest user message and the ``chat_id``) and
``get_chat_detail`` polls, the first 0.3 s after the send and then 0.5 s after each answer, read
by :class:`~.polling.ChatPoller`. A poll that brings nothing new for the read timeout ends the
reply with ``TimeoutError`` (after the text so far). The model and ``reasoning_effort`` are not
sent: the site picks them.

Errors are the Agent client's (``protocols.agent.client``); a 401 is re-checked and a refused
continuation (a 4xx but a signature 400, 401, 403 or 429) starts one new chat with the whole
history. With ``delete_after`` the chat is deleted once its answer is whole (``delete_chat``,
retried while the site says "chat is running"). Images and files are refused (``NO_FILES``),
before any request: the legacy upload this API takes is not documented well enough to reproduce.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import aiohttp
from g4f import debug
from g4f.errors import BadRequestError, G4FError, RateLimitError, ResponseError
from g4f.errors import TimeoutError as G4FTimeoutError
from g4f.providers.helper import format_prompt, get_last_user_message
from g4f.typing import Messages

from g4f_hailuo._config import MATRIX, Settings
from g4f_hailuo._conversation import Conversation, continued_chat
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.protocols.agent import account
from g4f_hailuo.protocols.agent.client import AgentSite
from g4f_hailuo.protocols.agent.models import DEFAULT_MODEL
from g4f_hailuo.protocols.agent.turn import establish, open_with_recovery, quota
from g4f_hailuo.protocols.base import delete_quietly, say_once
from g4f_hailuo.protocols.matrix.polling import RUNNING, ChatPoller, as_id, chat_status
from g4f_hailuo.protocols.media import refuse_attachments
from g4f_hailuo.transport.http import transport_error
from g4f_hailuo.transport.sessions import PooledSession

__all__ = [
    "DELETE_PATH",
    "DETAIL_PATH",
    "LIST_PATH",
    "SEND_PATH",
    "delete_chat",
    "establish",
    "quota",
    "reply",
    "send_body",
]

CHAT_API = "/matrix/api/v1/chat"
SEND_PATH = f"{CHAT_API}/send_msg"
DETAIL_PATH = f"{CHAT_API}/get_chat_detail"
LIST_PATH = f"{CHAT_API}/list_chat"
DELETE_PATH = f"{CHAT_API}/delete_chat"
FIRST_POLL_SECONDS = 0.3  # after the send
POLL_SECONDS = 0.5  # after each answer: polls never come closer than this
DELETE_RETRIES = 3
DELETE_RETRY_SECONDS = 2.0
_BUSY = "chat is running"
_KEPT_STATUSES = frozenset({401, 403, 429})  # a refused continuation that a new chat would not cure
NO_FILES = (
    "HailuoAI cannot send images or files by protocol 'matrix' (MiniMax Agent's older polling API):"
    " its upload (an Alibaba OSS request signed with temporary keys, then policy_callback) is not"
    " documented well enough to reproduce. Send the text alone; protocol 'agent' takes files"
)


def send_body(text: str, chat_id: int | None = None) -> dict[str, Any]:
    """The ``send_msg`` body, keys in the web app's order; ``chat_id`` continues a chat."""
    body: dict[str, Any] = {
        "msg_type": 1,
        "text": text,
        "chat_type": 1,
        "attachments": [],
        "selected_mcp_tools": [],
        "backend_config": {},
        "sub_agent_ids": [],
    }
    if chat_id is not None:
        body["chat_id"] = chat_id
    return body


@dataclass(frozen=True)
class _Sent:
    chat_id: int
    user_msg_id: int | None


def _sent(answer: dict[str, Any]) -> _Sent:
    for holder in (answer, answer.get("data")):
        if isinstance(holder, dict):
            chat_id = as_id(holder.get("chat_id"))
            if chat_id is not None:
                return _Sent(chat_id, as_id(holder.get("msg_id")))
    raise ResponseError("MiniMax Agent's send_msg answered without a chat id")


def _text(content: str) -> str:
    if not content.strip():
        raise BadRequestError("There is no user message to send to MiniMax Agent")
    return content


class _Cadence:
    """The waits between polls: ``first``, then :data:`POLL_SECONDS` after each answer."""

    __slots__ = ("_wait",)

    def __init__(self, first: float) -> None:
        self._wait = first

    async def tick(self) -> None:
        await asyncio.sleep(self._wait)
        self._wait = POLL_SECONDS


async def _detail(site: AgentSite, chat_id: int) -> dict[str, Any]:
    return await site.call("POST", DETAIL_PATH, {"chat_id": chat_id})


async def _wait_until_idle(site: AgentSite, chat_id: int) -> None:
    """Poll the chat until no reply runs in it, bounded by the read timeout."""
    clock = asyncio.get_running_loop().time
    deadline = clock() + site.settings.read_timeout
    cadence = _Cadence(0.0)
    while True:
        await cadence.tick()
        if chat_status(await _detail(site, chat_id)) != RUNNING:
            return
        if clock() + POLL_SECONDS > deadline:
            raise G4FTimeoutError(
                f"The MiniMax Agent chat was still busy with an earlier reply after"
                f" {site.settings.read_timeout:g} s: try again later"
            )


def _starts_over(site: AgentSite, error: G4FError) -> bool:
    """Whether a refused continuation gets a new chat: a 4xx but a signature 400, 401, 403, 429."""
    status = site.status
    if not 400 <= status < 500 or status in _KEPT_STATUSES:
        return False
    return not (status == 400 and "signature" in str(error))


async def _send(site: AgentSite, messages: Messages, conversation: Any) -> _Sent:
    continued = continued_chat(conversation, site.identity.token, MATRIX)
    if continued is not None:
        chat_id = int(continued[0])
        try:
            await _wait_until_idle(site, chat_id)
            text = _text(get_last_user_message(messages))
            return _sent(await site.call("POST", SEND_PATH, send_body(text, chat_id)))
        except G4FError as error:
            if not _starts_over(site, error):
                raise
            debug.log(
                f"HailuoAI: MiniMax Agent refused to continue the chat (HTTP {site.status});"
                " a new chat gets the whole history"
            )
    return _sent(await site.call("POST", SEND_PATH, send_body(_text(format_prompt(messages)))))


async def delete_chat(site: AgentSite, chat_id: int) -> None:
    """``delete_chat``, retried :data:`DELETE_RETRIES` times, 2 s apart, while the chat is running."""
    for attempt in range(DELETE_RETRIES + 1):
        try:
            await site.call("POST", DELETE_PATH, {"chat_id": chat_id})
            return
        except RateLimitError as error:
            if attempt == DELETE_RETRIES or _BUSY not in str(error):
                raise
        await asyncio.sleep(DELETE_RETRY_SECONDS)


async def reply(
    model: str,
    messages: Messages,
    identity: Identity,
    settings: Settings,
    *,
    conversation: Any = None,
    return_conversation: bool = True,
    reasoning_effort: Any = None,
    media: Any = None,
    **kwargs: Any,
) -> AsyncGenerator[Any, None]:
    """The reply's g4f chunks: ``Conversation``, ``Reasoning`` and text deltas, ``FinishReason``."""
    refuse_attachments(media, messages, NO_FILES)
    if model != DEFAULT_MODEL or reasoning_effort is not None:
        say_once("HailuoAI: protocol 'matrix' ignores the model and reasoning_effort: the site picks them")
    poller = ChatPoller()
    try:
        async with PooledSession(identity.account, settings.proxy, settings.impersonate) as session:
            site = AgentSite(session, settings, account.corrected(identity, settings.origin))
            sent = await open_with_recovery(site, lambda: _send(site, messages, conversation))
            if return_conversation:
                yield Conversation(token=identity.account, chatID=str(sent.chat_id), protocol=MATRIX)
            poller = ChatPoller(sent.user_msg_id)
            clock = asyncio.get_running_loop().time
            cadence = _Cadence(FIRST_POLL_SECONDS)
            progress_at = clock()
            while not poller.done:
                await cadence.tick()
                for chunk in poller.feed(await _detail(site, sent.chat_id)):
                    yield chunk
                if poller.progressed:
                    progress_at = clock()
                elif not poller.done and clock() - progress_at > settings.read_timeout:
                    received = poller.text_length
                    raise G4FTimeoutError(
                        f"MiniMax Agent at {settings.origin} left the chat unfinished with nothing new for"
                        f" {settings.read_timeout:g} s"
                        + (f" after {received} characters: the answer is incomplete" if received else "")
                    )
            closing = poller.finish()
            if settings.delete_after:
                await delete_quietly("MiniMax Agent", delete_chat(site, sent.chat_id))
            for chunk in closing:
                yield chunk
    except (asyncio.TimeoutError, aiohttp.ClientError) as error:
        raise transport_error(settings, error, poller.text_length) from error
