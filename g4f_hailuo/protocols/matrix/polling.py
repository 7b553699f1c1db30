"""Gen A polling (protocol doc, section 6): successive ``get_chat_detail`` answers to g4f chunks.
Pure, no I/O.

Each answer holds the whole chat so far: ``chat.chat_status`` (2 when the reply is done) and
``messages[]`` with the user's (``msg_type`` 1) and the assistant's (``msg_type`` 2) messages,
whose ``msg_content`` and ``extra_info.thinking_content`` are cumulative. :class:`ChatPoller`
yields what each answer adds:

- the assistant messages after the user's ``msg_id`` (any larger ``msg_id`` when the user's
  message is not in the list), in list order: an acknowledgement placeholder, the answer,
  a later message;
- per message, the unseen end of its thinking (``Reasoning``) and of its text (``str``);
  a message other than the last one that gave text starts a new paragraph (``"\\n\\n"``);
- a message without text (a tool step) gives no text; its ``tool_call`` is a status line.

Nothing is yielded twice: a message whose text no longer starts with what was shown (the site
revised it) yields only what lies beyond the length already shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from g4f import debug
from g4f.errors import ResponseError
from g4f.providers.response import FinishReason, Reasoning

from g4f_hailuo.protocols.agent.tools import ToolSteps

__all__ = ["DONE", "PARAGRAPH", "RUNNING", "ChatPoller", "as_id", "chat_status"]

RUNNING = 1  # chat.chat_status while the reply is written
DONE = 2  # chat.chat_status once it is whole
PARAGRAPH = "\n\n"  # before the text of a new message
_USER, _ASSISTANT = 1, 2


def as_id(value: Any) -> int | None:
    """An id sent as a JSON integer or a string of digits; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _holder(detail: dict[str, Any]) -> dict[str, Any]:
    """The object holding ``chat`` and ``messages``: the answer itself, else its ``data``."""
    data = detail.get("data")
    if "messages" not in detail and "chat" not in detail and isinstance(data, dict):
        return data
    return detail


def chat_status(detail: dict[str, Any]) -> Any:
    """``chat.chat_status`` of a ``get_chat_detail`` answer (None if absent)."""
    chat = _holder(detail).get("chat")
    return chat.get("chat_status") if isinstance(chat, dict) else None


def _thinking(message: dict[str, Any]) -> Any:
    extra = message.get("extra_info")
    if isinstance(extra, dict) and extra.get("thinking_content") is not None:
        return extra["thinking_content"]
    return message.get("thinking_content")


class _Track:
    """One cumulative field across messages: what each message showed, and whose came last."""

    __slots__ = ("last", "seen")

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}
        self.last: str | None = None

    def delta(self, key: str, value: Any) -> str:
        """What ``value`` (the message's whole field now) adds, after a paragraph break if
        another message gave the last delta."""
        if not isinstance(value, str) or not value:
            return ""
        old = self.seen.get(key, "")
        if len(value) <= len(old):
            return ""
        if not value.startswith(old):
            # The length only: the text may quote the user.
            debug.log(
                f"MiniMax Agent: a message changed its first {len(old)} characters; "
                f"only its new end ({len(value) - len(old)} characters) is shown"
            )
        self.seen[key] = value
        added = value[len(old) :]
        if self.last is not None and self.last != key:
            added = PARAGRAPH + added
        self.last = key
        return added


class ChatPoller:
    """Feed each ``get_chat_detail`` answer; ``done`` once the chat says the reply is whole.

    ``progressed`` says whether the last answer brought anything (text, thinking, a tool step,
    a new status): the caller's read timeout restarts then.
    """

    __slots__ = ("_status", "_text", "_thinking", "_tools", "_user", "done", "progressed", "text_length")

    def __init__(self, user_msg_id: Any = None) -> None:
        self._user = as_id(user_msg_id)
        self._text = _Track()
        self._thinking = _Track()
        self._tools = ToolSteps()
        self._status: Any = None
        self.done = False
        self.progressed = False
        self.text_length = 0  # characters of text yielded

    def feed(self, detail: dict[str, Any]) -> list[Any]:
        """The chunks this answer adds (``Reasoning`` and ``str``), in order."""
        messages = _holder(detail).get("messages")
        out: list[Any] = []
        for key, message in self._replies(messages if isinstance(messages, list) else []):
            thinking = self._thinking.delta(key, _thinking(message))
            if thinking:
                out.append(Reasoning(thinking))
            calls = message.get("tool_call") or message.get("tool_calls")
            if calls:
                out.extend(self._tools.announce(calls))  # a status line, never answer text
            text = self._text.delta(key, message.get("msg_content"))
            if text:
                out.append(text)
                self.text_length += len(text)
        status = chat_status(detail)
        self.progressed = bool(out) or status != self._status
        self._status = status
        self.done = status == DONE
        return out

    def finish(self) -> list[Any]:
        """The closing chunk once ``done``; ``ResponseError`` if the chat gave no text at all."""
        if not self.text_length:
            raise ResponseError("MiniMax Agent finished the chat without any answer text")
        return [FinishReason("stop")]

    def _replies(self, messages: list[Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(key, message)`` of the assistant messages that answer the user's message."""
        entries = [m for m in messages if isinstance(m, dict)]
        ids = [as_id(m.get("msg_id")) for m in entries]
        indices: Iterable[int]
        if self._user is None:  # no id to go by: after the last user message
            users = [i for i, m in enumerate(entries) if as_id(m.get("msg_type")) == _USER]
            indices = range(users[-1] + 1 if users else 0, len(entries))
        elif self._user in ids:
            indices = range(ids.index(self._user) + 1, len(entries))
        else:  # the user's message is not listed: any later id counts
            indices = [i for i, found in enumerate(ids) if found is not None and found > self._user]
        for index in indices:
            if as_id(entries[index].get("msg_type")) == _ASSISTANT:
                found = ids[index]
                yield (str(found) if found is not None else f"#{index}"), entries[index]
