"""Hailuo's reply events turned into g4f response objects (pure, no I/O).

The site sends the *whole answer so far* in every ``message_result``; this
module yields only what is new, holds back a trailing U+FFFD (half of a
multi-byte character that the next frame completes), and refuses to pass a
reply that ended without an end marker off as a complete answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from g4f import debug
from g4f.errors import ResponseError
from g4f.providers.response import FinishReason, Sources, SuggestedFollowups, TitleGeneration, Usage

from g4f_hailuo._config import HAILUO_V4
from g4f_hailuo._conversation import Conversation
from g4f_hailuo._errors import error_for_code, status_code
from g4f_hailuo.protocols.hailuo_v4.sse import ServerEvent, SSEDecoder
from g4f_hailuo.protocols.json_text import parse_json

__all__ = ["ReplyInterpreter", "ReplyReader", "estimate_tokens"]

TYPE_SEND_RESULT = 1
TYPE_MESSAGE_RESULT = 2
TYPE_HEARTBEAT = 3
TYPE_FOLLOW_UP = 4
TYPE_END = 8
REPLACEMENT_CHAR = "\ufffd"


def estimate_tokens(text: str) -> int:
    """A rough token count for when the site reports none: about one token per
    CJK character and one per four other characters. CJK characters take three
    bytes in UTF-8, so the byte surplus counts them without a Python loop (encoded
    in pieces: a megabyte answer is not copied whole into fresh memory)."""
    if text.isascii():
        return (len(text) + 3) // 4
    size = sum(len(text[at : at + _PIECE].encode("utf-8", "replace")) for at in range(0, len(text), _PIECE))
    wide = min(len(text), (size - len(text)) // 2)
    return wide + (len(text) - wide + 3) // 4


_PIECE = 32 * 1024


class ReplyInterpreter:
    """Feed it every decoded event with :meth:`on_event`, then call :meth:`finish`.

    Both return lists of g4f chunks: ``str`` text deltas, ``TitleGeneration``,
    ``Conversation``, ``Sources``, ``SuggestedFollowups``, ``Usage`` and, last,
    ``FinishReason``. In-stream errors raise the matching g4f error.
    """

    def __init__(
        self,
        *,
        account: str,
        character_id: str = "1",
        prompt: str = "",
        return_conversation: bool = True,
    ) -> None:
        self._account = account
        self._character_id = character_id
        self._prompt = prompt
        self._return_conversation = return_conversation
        self._content = ""  # the latest cumulative answer
        self._emitted = 0  # characters of it already yielded
        self._answer_final = False  # a message_result with isEnd == 0 arrived
        self.ended = False  # close_chunk or a type-8 frame: stop reading
        self.chat_id: str | None = None
        self._conversation_sent = False
        self._events = 0
        self._sources: dict[str, dict[str, str]] = {}
        self._followups: list[str] = []

    @property
    def started(self) -> bool:
        """Whether the site accepted the message (``send_result`` or text arrived)."""
        return self.chat_id is not None or bool(self._content)

    @property
    def text_length(self) -> int:
        return self._emitted

    @property
    def answer_final(self) -> bool:
        """The final ``message_result`` (``isEnd`` 0) arrived: the answer is whole,
        even if no end marker follows."""
        return self._answer_final

    def on_event(self, event: ServerEvent) -> list[Any]:
        self._events += 1
        name, data = event
        if name == "close_chunk":
            self.ended = True
            return []
        try:
            payload = parse_json(data)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            debug.log(f"HailuoAI: skipped a malformed {name!r} frame ({len(data)} bytes)")
            return []
        if type(payload) is not dict:
            return []
        kind = payload.get("type")
        if kind == TYPE_HEARTBEAT:
            return []
        if kind == TYPE_END:
            self.ended = True
            return []
        status = payload.get("statusInfo")
        if status:  # the hot path tests the usual int 0 only
            code = status.get("code") if type(status) is dict else None
            if code and type(code) is not int:
                code = status_code(status)
            if code:
                raise error_for_code(code, str(status.get("message") or "")[:200])
        body = payload.get("data")
        if type(body) is not dict:
            body = {}
        if name == "send_result" or kind == TYPE_SEND_RESULT:
            return self._on_send_result(body.get("sendResult"))
        if name == "message_result" or kind == TYPE_MESSAGE_RESULT:
            return self._on_message_result(body.get("messageResult"))
        if kind == TYPE_FOLLOW_UP or name == "follow_up_question_result":
            self._on_follow_up(body)
            return []
        debug.log(f"HailuoAI: ignored an unknown event {name!r} (type {kind!r})")
        return []

    def finish(self) -> list[Any]:
        """The end of the body: the last held-back text, sources, usage, finish reason."""
        if not (self.ended or self._answer_final):
            if not self._events:
                raise ResponseError("Hailuo sent an empty response instead of an answer")
            raise ResponseError(
                f"Hailuo's reply stopped after {self._emitted} characters without an end marker:"
                " the answer is incomplete"
            )
        if not self._content:
            raise ResponseError("Hailuo ended the reply without any answer text")
        chunks: list[Any] = []
        if self._emitted < len(self._content):
            chunks.append(self._content[self._emitted :])
            self._emitted = len(self._content)
        if self._sources:
            chunks.append(Sources(list(self._sources.values())))
        if self._followups:
            chunks.append(SuggestedFollowups(self._followups))
        prompt_tokens = estimate_tokens(self._prompt)
        completion_tokens = estimate_tokens(self._content)
        chunks.append(
            Usage(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            )
        )
        chunks.append(FinishReason("stop"))
        return chunks

    def _on_send_result(self, result: Any) -> list[Any]:
        if not isinstance(result, dict):
            return []
        chunks: list[Any] = []
        title = result.get("chatTitle")
        if isinstance(title, str) and title.strip():
            chunks.append(TitleGeneration(title.strip()))
        chunks.extend(self._conversation_for(result.get("chatID")))
        return chunks

    def _on_message_result(self, result: Any) -> list[Any]:
        if type(result) is not dict:
            return []
        chat_id = result.get("chatID")
        chunks = [] if chat_id == self.chat_id and chat_id is not None else self._conversation_for(chat_id)
        extra = result.get("extra")
        if extra:
            self._collect_sources(extra)
        content = result.get("content")
        if type(content) is not str:
            return chunks
        final = result.get("isEnd", 1) == 0
        if final:
            self._answer_final = True
        self._content = content
        stop = len(content)
        if not final:
            held = content.find(REPLACEMENT_CHAR, self._emitted)
            if held != -1:
                stop = held
        if stop > self._emitted:
            chunks.append(content[self._emitted : stop])
            self._emitted = stop
        return chunks

    def _on_follow_up(self, data: dict[str, Any]) -> None:
        result = data.get("messageResult")
        if isinstance(result, dict):
            self._collect_sources(result.get("extra"))
            content = result.get("content")
            if isinstance(content, str):
                for line in content.splitlines():
                    line = line.strip()
                    if line and line not in self._followups:
                        self._followups.append(line)
        self._collect_sources(data.get("extra"))

    def _collect_sources(self, extra: Any) -> None:
        if not isinstance(extra, dict):
            return
        status = extra.get("netSearchStatus")
        links = status.get("linkDetail") if isinstance(status, dict) else None
        if not isinstance(links, list):
            return
        for link in links:
            if isinstance(link, dict) and isinstance(link.get("url"), str) and link["url"]:
                title = link.get("detail") if isinstance(link.get("detail"), str) else ""
                self._sources.setdefault(link["url"], {"url": link["url"], "title": title or link["url"]})

    def _conversation_for(self, chat_id: Any) -> list[Any]:
        if not isinstance(chat_id, (str, int)) or not str(chat_id).isdigit():
            return []
        self.chat_id = str(chat_id)
        if self._conversation_sent or not self._return_conversation:
            return []
        self._conversation_sent = True
        return [
            Conversation(
                token=self._account, chatID=self.chat_id, characterID=self._character_id, protocol=HAILUO_V4
            )
        ]


class ReplyReader:
    """The reply body's bytes in, g4f chunks out: ``SSEDecoder`` and
    ``ReplyInterpreter`` together, as the provider's read loop drives them (pure).

    ``feed`` per network read and ``close`` at the end of the body are
    generators, so every chunk before an in-stream error still reaches the caller.
    """

    __slots__ = ("_decoder", "interpreter")

    def __init__(self, interpreter: ReplyInterpreter) -> None:
        self._decoder = SSEDecoder()
        self.interpreter = interpreter

    # Progress is a chunk yielded: a keep-alive frame yields none (see ``transport.reply``).
    progressed = False

    @property
    def ended(self) -> bool:
        """An end marker arrived: stop reading."""
        return self.interpreter.ended

    @property
    def complete(self) -> bool:
        """The final message arrived: the answer is whole, even if no end marker follows."""
        return self.interpreter.answer_final

    @property
    def text_length(self) -> int:
        return self.interpreter.text_length

    def feed(self, data: bytes) -> Iterator[Any]:
        on_event = self.interpreter.on_event
        for event in self._decoder.feed(data):
            yield from on_event(event)
            if self.interpreter.ended:
                return

    def close(self) -> Iterator[Any]:
        """The end of the body (or of reading): the last events, then ``finish``."""
        if not self.interpreter.ended:
            for event in self._decoder.close():
                yield from self.interpreter.on_event(event)
        yield from self.interpreter.finish()
