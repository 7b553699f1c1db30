"""The MiniMax Agent SSE turn (protocol doc, section 5.3): bytes to frames to g4f chunks. Pure, no I/O.

- :class:`DataLineDecoder` cuts the body into ``data:`` lines, one frame each.
- :class:`TurnInterpreter` turns frame texts into ``Reasoning``, ``str``, ``Usage`` and
  ``FinishReason``, and decides when the turn has ended and whether it ended well.
- :class:`TurnReader` chains the two for a caller that holds bytes.

The caller owns the clock: it restarts its read timeout whenever ``progressed`` is
true (heartbeats and the echo do not count) and stops reading once ``ended`` is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from g4f import debug
from g4f.errors import G4FError, ResponseError
from g4f.providers.response import FinishReason, Reasoning, Usage

from g4f_hailuo.protocols.json_text import parse_json
from g4f_hailuo.protocols.lines import LineSplitter, data_text

from .errors import base_resp_code, error_for_code, error_for_turn_text
from .tools import ToolSteps

__all__ = ["DataLineDecoder", "TurnInterpreter", "TurnReader"]

_DATA = b"data:"
_DONE = "[DONE]"

_USAGE_FIELDS = (
    ("input_tokens", "prompt_tokens"),
    ("output_tokens", "completion_tokens"),
    ("total_tokens", "total_tokens"),
)


class DataLineDecoder:
    """Splits a byte stream into the texts of its ``data:`` lines.

    Unlike a WHATWG SSE decoder, every ``data:`` line is its own frame: some
    streams put frames on consecutive lines with no blank line between them.
    """

    __slots__ = ("_lines",)

    def __init__(self) -> None:
        self._lines = LineSplitter()

    def feed(self, data: bytes) -> list[str]:
        """The frames of the lines that ``data`` completes."""
        return self._frames(self._lines.feed(data))

    def close(self) -> list[str]:
        """The frame of a last line that had no line end, if any; the decoder is then empty."""
        last = self._lines.close()
        return self._frames([last]) if last is not None else []

    @staticmethod
    def _frames(lines: list[bytes]) -> list[str]:
        # event:, id:, retry:, comments and blank lines carry nothing here. Decoding whole
        # lines keeps a character split across network chunks intact.
        return [data_text(line) for line in lines if line.startswith(_DATA)]


class TurnInterpreter:
    """One Gen C turn, frame by frame (the client rules of section 5.3).

    ``on_frame`` returns the chunks to yield now and sets ``progressed``;
    ``finish`` returns the closing chunks or raises what the turn came to.
    """

    __slots__ = (
        "_error",
        "_error_chunks",
        "_error_text",
        "_failure",
        "_finish_reason",
        "_frames",
        "_text",
        "_thinking",
        "_thinking_length",
        "_tools",
        "_usage",
        "complete",
        "ended",
        "progressed",
        "text_length",
    )

    def __init__(self) -> None:
        self.ended = False  # stop reading: [DONE], the type-2 assistant frame, or finish()
        self.complete = False  # the turn's end was seen (finish:true, [DONE] or type-2 assistant)
        self.progressed = False  # the last on_frame carried something (restarts the read timeout)
        self.text_length = 0  # characters of answer text yielded
        self._text: list[str] = []
        self._thinking: list[str] = []
        self._thinking_length = 0
        self._frames = 0
        self._finish_reason = ""
        self._usage: dict[str, int] | None = None
        self._error = False  # finish_reason "error": the turn's text is the error's, never the answer
        self._error_chunks: list[str] = []
        self._error_text = ""  # from the type-2 message, which wins over the chunks
        self._failure: G4FError | None = None  # a non-zero base_resp sent as a frame
        self._tools = ToolSteps()

    def on_frame(self, text: str) -> list[Any]:
        """The chunks that the frame ``text`` yields (``Reasoning`` and ``str``)."""
        self.progressed = False
        if self.ended:
            return []
        self._frames += 1
        if text[:1] == "{":
            try:
                payload = parse_json(text)
            except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
                payload = None
        else:
            stripped = text.strip()
            if stripped == _DONE:
                self.complete = self.ended = True
                return []
            if not stripped:
                return []  # an empty data line: a keep-alive
            try:
                payload = parse_json(stripped)
            except (ValueError, RecursionError):
                payload = None
        if not isinstance(payload, dict):
            # The length only: a frame may quote the user's words.
            debug.log(f"MiniMax Agent: skipped a frame that is not a JSON object ({len(text)} characters)")
            return []
        out: list[Any] = []
        chunk = payload.get("agent_message_chunk")
        if isinstance(chunk, dict):
            self.progressed = self._on_chunk(chunk, out)
        message = payload.get("agent_message")
        if isinstance(message, dict) and self._on_message(message, out):
            self.progressed = True
        if chunk is None and message is None and payload and payload.get("type") != 10:
            self._on_other(payload)
        return out

    def finish(self) -> list[Any]:
        """The closing chunks (``Usage`` if reported, then ``FinishReason``), or the turn's error."""
        self.ended = True
        if self._failure is not None:
            raise self._failure
        if self._error:
            raise error_for_turn_text(self._error_text or "".join(self._error_chunks))
        if not self.complete:
            if not self._frames:
                raise ResponseError("MiniMax Agent: empty response (the stream ended before any frame)")
            raise ResponseError(
                f"MiniMax Agent: the answer is incomplete after {self.text_length} characters "
                "(the stream ended before the turn finished)"
            )
        if not self.text_length:
            raise ResponseError("MiniMax Agent ended the turn without any answer text")
        out: list[Any] = []
        sources = self._tools.sources()
        if sources is not None:
            out.append(sources)
        if self._usage:
            out.append(Usage(**self._usage))
        out.append(FinishReason("length" if self._finish_reason == "length" else "stop"))
        return out

    def _on_chunk(self, chunk: dict[str, Any], out: list[Any]) -> bool:
        """A type-6 increment; True if it carried something."""
        if chunk.get("role") == "user":
            return False  # the echo of the question
        progressed = False
        reason = chunk.get("finish_reason")
        if reason == "error":
            self._error = True
        text = chunk.get("msg_content")
        if self._error:
            if isinstance(text, str) and text:
                self._error_chunks.append(text)
                progressed = True
        else:
            thinking = chunk.get("thinking_content")
            if thinking is None:
                thinking = chunk.get("reasoning_content")
            if isinstance(thinking, str) and thinking:
                out.append(Reasoning(thinking))
                self._thinking.append(thinking)
                self._thinking_length += len(thinking)
                progressed = True
            if isinstance(text, str) and text:
                progressed = True
                # A repeat of the whole answer (one source sends it again at the end): the length
                # check first keeps the join off the per-frame path.
                if not (len(text) == self.text_length and text == "".join(self._text)):
                    self._yield_text(text, out)
        calls = chunk.get("tool_calls")
        if calls:
            out.extend(self._tools.announce(calls))  # a status line, never answer text
            progressed = True
        if chunk.get("finish") is True:
            self.complete = True
            progressed = True
        self._note_end(reason, chunk.get("usage"))
        return progressed

    def _on_message(self, message: dict[str, Any], out: list[Any]) -> bool:
        """A type-2 whole message; the assistant's ends the turn. True if it was the assistant's."""
        role = message.get("role")
        if role == "user":
            return False
        if role == "tool":
            self._tools.collect(message)  # a tool's result: its links become Sources
            return True
        reason = message.get("finish_reason")
        if reason == "tool_calls" or (reason is None and message.get("tool_calls")):
            out.extend(self._tools.announce(message.get("tool_calls")))
            return True  # a tool step between question and answer: the turn goes on
        text = message.get("msg_content")
        if not isinstance(text, str):
            text = ""
        if reason == "error" or self._error:
            self._error = True
            if text:
                self._error_text = text
        else:
            if not self.text_length:
                # No type-6 text: this message is the answer, its thinking first.
                thinking = message.get("thinking_content")
                if thinking is None:
                    thinking = message.get("reasoning_content")
                if isinstance(thinking, str):
                    missing = self._missing_suffix(thinking, self._thinking, self._thinking_length)
                    if missing:
                        out.append(Reasoning(missing))
            missing = self._missing_suffix(text, self._text, self.text_length)
            if missing:
                self._yield_text(missing, out)
        self._note_end(reason, message.get("usage"))
        self.complete = self.ended = True
        return True

    def _on_other(self, payload: dict[str, Any]) -> None:
        """A frame with neither payload key: a heartbeat, unless it is a failed base_resp."""
        failed = base_resp_code(payload)
        if failed is not None:
            self._failure = error_for_code(*failed)
            self.complete = self.ended = self.progressed = True

    def _yield_text(self, text: str, out: list[Any]) -> None:
        out.append(text)
        self._text.append(text)
        self.text_length += len(text)

    @staticmethod
    def _missing_suffix(whole: str, seen: list[str], seen_length: int) -> str:
        """What ``whole`` adds to the ``seen`` increments; nothing if it does not extend them.
        (Joined only then: the usual final message equals the streamed text.)"""
        if len(whole) <= seen_length:
            return ""
        if whole.startswith("".join(seen)):
            return whole[seen_length:]
        # Already-yielded text cannot be taken back; the length only, not the text.
        debug.log(
            f"MiniMax Agent: the final message ({len(whole)} characters) does not extend "
            f"the {seen_length} streamed; kept the streamed text"
        )
        return ""

    def _note_end(self, reason: Any, usage: Any) -> None:
        if isinstance(reason, str) and reason:
            self._finish_reason = reason
        if isinstance(usage, dict):
            counts: dict[str, int] = {}
            for key, name in _USAGE_FIELDS:
                value = usage.get(key)
                if type(value) is int and value >= 0:  # not isinstance: a JSON true is no count
                    counts[name] = value
            if counts:
                self._usage = counts


class TurnReader:
    """Bytes in, g4f chunks out: a :class:`DataLineDecoder` feeding a :class:`TurnInterpreter`.

    Each call works eagerly, so ``progressed`` and ``ended`` are current as soon as it returns.
    """

    __slots__ = ("decoder", "interpreter", "progressed")

    def __init__(self) -> None:
        self.decoder = DataLineDecoder()
        self.interpreter = TurnInterpreter()
        self.progressed = False  # the last feed carried something

    @property
    def ended(self) -> bool:
        return self.interpreter.ended

    @property
    def complete(self) -> bool:
        return self.interpreter.complete

    @property
    def text_length(self) -> int:
        return self.interpreter.text_length

    def feed(self, data: bytes) -> Iterator[Any]:
        """The chunks of the frames that ``data`` completes, up to the turn's end."""
        self.progressed = False
        if self.interpreter.ended:
            return iter(())
        return iter(self._run(self.decoder.feed(data)))

    def close(self) -> Iterator[Any]:
        """The body ended: the chunks of a last unterminated frame, then ``finish``'s.

        A generator, so the last frame's text still reaches the caller when ``finish`` raises.
        """
        self.progressed = False
        if not self.interpreter.ended:
            yield from self._run(self.decoder.close())
        yield from self.interpreter.finish()

    def _run(self, frames: list[str]) -> list[Any]:
        interpreter = self.interpreter
        out: list[Any] = []
        for frame in frames:
            out.extend(interpreter.on_frame(frame))
            if interpreter.progressed:
                self.progressed = True
            if interpreter.ended:
                break
        return out
