r"""What the fake MiniMax Agent site answers to a turn (pure: no sockets, no clock).

``server`` owns the accounts, sessions and sockets; this module turns "scenario + parameters +
this turn" into a plan (:mod:`g4f_hailuo.fake.scenario_kit`): a plain HTTP reply, or the frames
of the ``text/event-stream`` answering ``POST /session/{sid}/message``. Each frame is
``data:{json}`` and a blank line; the stream ends with ``data: [DONE]`` (section 5.3 and 10).

The reply to turn ``n`` of a session quotes the last line of the message that says something::

    MiniMax Agent 智能体 (fake) **reply** #n: you said "<echo>".

(:func:`reply_text`; ``size=N`` pads or cuts it to N characters), and names the files the turn
attached (:func:`files_note`). With reasoning on (the
model's ``reasoning``/``effort``/``variant``, or ``think=1``) :func:`thinking_text` streams
first. Scenario names (server-wide ``NAME k=v``, or ``[[scenario:NAME k=v]]`` in a message):

=================  ===========================================================================
normal             ``{"type":10}``, the type-2 user echo, type-6 thinking deltas (if on),
                   ``frames`` (3) type-6 text deltas, the last with ``finish``,
                   ``finish_reason:"stop"`` and ``usage``, the type-2 assistant message, [DONE]
thinking           normal with thinking deltas whatever the model (``think=1``)
length             normal with ``finish_reason:"length"``
split_frames       normal written in 1..7-byte pieces (``split=7``), one cut inside a UTF-8 character
crlf               normal with ``\r\n`` line ends
consecutive_lines  the frames on consecutive lines, no blank line between them
no_type            frames without ``type`` (a heartbeat is ``data:{}``)
repeated_final     the text deltas, then one chunk repeating the whole answer (with the finish)
final_only         no type-6 frame: the type-2 assistant message is the answer
done_only_end      the deltas with no ``finish`` and no type-2 assistant; ``[DONE]`` ends
finish_only_end    the deltas with ``finish``, then the body ends (no type-2, no [DONE])
giant              normal with ``size=1100000``: the final type-2 line is over 1 MiB
heartbeat_stall    ``after`` (1) text deltas, then only heartbeats every 0.2 s for ``seconds`` (30)
stall_before       no response headers for ``seconds`` (30), then normal
drop               ``after`` (1) text deltas, then the connection is aborted
tool_step          a web search first: the call on a chunk and whole, the tool's result with two
                   links, then normal
error_quota        a ``finish_reason:"error"`` chunk, the type-2 error text with ``2056``, [DONE]
error_credits      the same with ``1400010161`` "not enough credits"
busy               the same with ``chat is running``
=================  ===========================================================================

HTTP scenarios (no turn recorded): ``http_401_empty``, ``http_403`` (Cloudflare page),
``http_429`` (``Retry-After: retry``), ``http_500_html`` (an nginx page), ``http_502_then_ok``
(``fail_first=1 fail_status=502``: the first request of a turn gets 502, the retry streams),
``html_200`` (the app page with 200). The error scenarios (``error_*``, ``busy``) do not record
the turn either. Parameters: :class:`Params` (``frames size chars delay split pause crlf after
seconds msg retry hold prebuild fail_first fail_status tag think``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from g4f_hailuo.fake import scenario_kit as kit
from g4f_hailuo.fake.scenario_kit import Step

__all__ = [
    "APP_PAGE",
    "BUSY_TEXT",
    "CREDITS_TEXT",
    "QUOTA_TEXT",
    "REFUSALS",
    "SCENARIOS",
    "TOOL_RESULTS",
    "AgentTurn",
    "Params",
    "assistant_entry",
    "error_plan",
    "failure_reply",
    "files_note",
    "http_reply",
    "parse_spec",
    "reply_text",
    "resolve_spec",
    "stream_plan",
    "thinking_text",
    "usage",
]

QUOTA_TEXT = "Token Plan usage limit reached (2056): please try again later."
CREDITS_TEXT = "not enough credits (1400010161): please top up to continue."
BUSY_TEXT = "chat is running"
APP_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>MiniMax Agent (fake)</title>'
    '</head><body><div id="root"></div><script type="module" src="/assets/index-fake.js"></script>'
    "</body></html>"
)


@dataclass(frozen=True)
class Params(kit.BaseParams):
    think: int = 0  # 1: thinking deltas first, whatever the model


SCENARIOS: dict[str, dict[str, Any]] = {
    "normal": {},
    "thinking": {"think": 1},
    "length": {},
    "split_frames": {"split": 7},
    "crlf": {"crlf": 1},
    "consecutive_lines": {},
    "no_type": {},
    "repeated_final": {},
    "final_only": {},
    "done_only_end": {},
    "finish_only_end": {},
    "giant": {"size": 1_100_000},
    "heartbeat_stall": {},
    "stall_before": {},
    "drop": {},
    "error_quota": {"after": 0},
    "error_credits": {"after": 0},
    "busy": {"after": 0},
    "http_401_empty": {},
    "http_403": {},
    "http_429": {},
    "http_500_html": {},
    "http_502_then_ok": {"fail_first": 1, "fail_status": 502},
    "html_200": {},
    "tool_step": {},
}
REFUSALS = {"error_quota": QUOTA_TEXT, "error_credits": CREDITS_TEXT, "busy": BUSY_TEXT}
_TABLE = kit.ScenarioTable(Params, SCENARIOS)


def parse_spec(text: str) -> kit.ScenarioSpec[Params]:
    """Parse the server-wide form ``"NAME key=value ..."`` (an empty name means ``normal``)."""
    return _TABLE.parse(text)


def resolve_spec(content: str, default: str) -> kit.ScenarioSpec[Params]:
    """The scenario for one message: its last directive, else the server's default."""
    return _TABLE.resolve(content, default)


def reply_text(prompt: str, turn: int, params: kit.BaseParams | None = None) -> str:
    """The whole answer to ``prompt`` (the message content) as turn ``turn`` of its session."""
    return kit.pad(
        f'MiniMax Agent 智能体 (fake) **reply** #{turn}: you said "{kit.echo_of(prompt)}".',
        params or Params(),
    )


def files_note(files: Iterable[str]) -> str:
    """What a reply adds for the files its turn attached: `` [files: a.png, b.pdf]`` (or nothing)."""
    names = list(files)
    return f" [files: {', '.join(names)}]" if names else ""


def thinking_text(prompt: str) -> str:
    """The whole thinking of a turn with reasoning on."""
    return f'The user wrote "{kit.echo_of(prompt)}". I will answer with the fake reply.'


def usage(prompt: str, answer: str) -> dict[str, int]:
    """Deterministic token counts (about four characters a token)."""
    prompt_tokens, answer_tokens = len(prompt) // 4 + 1, len(answer) // 4 + 1
    return {
        "input_tokens": prompt_tokens,
        "output_tokens": answer_tokens,
        "total_tokens": prompt_tokens + answer_tokens,
    }


@dataclass(frozen=True)
class AgentTurn:
    content: str  # the message content as received
    turn: int  # 1-based turn number in its session
    turn_id: str
    user_msg_id: str
    reply_msg_id: str
    reasoning: bool  # the turn's model has reasoning on
    files: tuple[str, ...] = ()  # the names of the files it attached


class _Frames:
    """Builds one turn's frames with the scenario's framing (line ends, blank lines, ``type``)."""

    def __init__(self, name: str, params: Params, turn: AgentTurn) -> None:
        self.turn = turn
        self.params = params
        self.text = reply_text(turn.content, turn.turn, params) + files_note(turn.files)
        self.thinking = thinking_text(turn.content) if turn.reasoning or params.think else ""
        self.usage = usage(turn.content, self.thinking + self.text)
        eol = "\r\n" if params.crlf else "\n"
        self.end = (eol if name == "consecutive_lines" else eol * 2).encode("ascii")
        self.typed = name != "no_type"
        self.reason = "length" if name == "length" else "stop"

    def frame(self, type_: int, key: str = "", body: dict[str, Any] | None = None) -> bytes:
        payload: dict[str, Any] = {"type": type_} if self.typed else {}
        if key:
            payload[key] = body
        return b"data:" + kit.json_bytes(payload) + self.end

    def heartbeat(self) -> bytes:
        return self.frame(10)

    def echo(self) -> bytes:
        t = self.turn
        user = {
            "msg_id": t.user_msg_id,
            "role": "user",
            "msg_type": 1,
            "msg_content": t.content,
            "turn_id": t.turn_id,
        }
        return self.frame(2, "agent_message", user)

    def chunk(self, **fields: Any) -> bytes:
        return self.frame(6, "agent_message_chunk", {"role": "assistant", **fields})

    def finish(self, reason: str = "") -> dict[str, Any]:
        return {"finish": True, "finish_reason": reason or self.reason, "usage": self.usage}

    def thinking_chunks(self) -> list[bytes]:
        return [self.chunk(thinking_content=piece) for piece in _pieces(self.thinking, self.params.frames)]

    def text_chunks(self, *, finish: bool = True) -> list[bytes]:
        pieces = _pieces(self.text, self.params.frames)
        chunks = [self.chunk(msg_content=piece) for piece in pieces[:-1]]
        last = {"msg_content": pieces[-1], **(self.finish() if finish else {})}
        return [*chunks, self.chunk(**last)]

    def final(self, text: str | None = None, reason: str = "") -> bytes:
        return self.frame(2, "agent_message", assistant_message(self, text, reason))

    def done(self) -> bytes:
        return b"data: [DONE]" + self.end


def _pieces(text: str, frames: int) -> list[str]:
    """``text`` cut into ``frames`` nearly equal deltas (fewer for a short text; none if empty)."""
    n = max(1, min(frames, len(text)))
    return [text[len(text) * i // n : len(text) * (i + 1) // n] for i in range(n)] if text else []


def assistant_message(f: _Frames, text: str | None = None, reason: str = "") -> dict[str, Any]:
    """The type-2 assistant message (also the history entry): the whole answer, or an error text."""
    message: dict[str, Any] = {"msg_id": f.turn.reply_msg_id, "role": "assistant", "msg_type": 1}
    message["msg_content"] = f.text if text is None else text
    if f.thinking and text is None:
        message["thinking_content"] = f.thinking
    message["finish_reason"] = reason or f.reason
    if text is None:
        message["usage"] = f.usage
    return message


def assistant_entry(spec: kit.ScenarioSpec[Params], turn: AgentTurn) -> dict[str, Any]:
    """The assistant's entry in the session history (section 5.4) once the turn is done."""
    entry = assistant_message(_Frames(spec.name, spec.params, turn))
    entry.setdefault("thinking_content", "")
    return {**entry, "query_key": f"turn:{turn.turn_id}"}


def _opening(f: _Frames, text: list[bytes]) -> list[bytes]:
    """Heartbeat, the user echo, the thinking deltas, then ``text``."""
    return [f.heartbeat(), f.echo(), *f.thinking_chunks(), *text]


def _normal(f: _Frames) -> Iterator[Step]:
    yield f.heartbeat()
    yield f.echo()
    yield from f.thinking_chunks()
    yield from f.text_chunks()
    yield f.final()
    yield f.done()


def _cut_inside_utf8(steps: Iterable[Step]) -> Iterator[Step]:
    """Cut each frame holding a multi-byte character just after that character's first byte."""
    for step in steps:
        lead = next((i for i, byte in enumerate(step) if byte >= 0xC0), -1) if isinstance(step, bytes) else -1
        if isinstance(step, bytes) and lead >= 0:
            yield step[: lead + 1]
            yield step[lead + 1 :]
        else:
            yield step


def _repeated_final(f: _Frames) -> list[Step]:
    repeat = f.chunk(msg_content=f.text, **f.finish())
    return [*_opening(f, f.text_chunks(finish=False)), repeat, f.final(), f.done()]


def _final_only(f: _Frames) -> list[Step]:
    return [f.heartbeat(), f.echo(), f.final(), f.done()]


def _done_only_end(f: _Frames) -> list[Step]:
    return [*_opening(f, f.text_chunks(finish=False)), f.done()]


def _finish_only_end(f: _Frames) -> list[Step]:
    return list(_opening(f, f.text_chunks()))


def _heartbeat_stall(f: _Frames) -> list[Step]:
    text, after = f.text_chunks(), f.params.after
    stall = kit.repeat_for(f.heartbeat(), f.params.seconds)
    return [*_opening(f, text[:after]), *stall, *text[after:], f.final(), f.done()]


def _drop(f: _Frames) -> list[Step]:
    return [*_opening(f, f.text_chunks()[: f.params.after]), kit.Abort()]


TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "web_search", "arguments": '{"query": "fake weather"}'},
}
TOOL_RESULTS = [
    {"title": "Fake weather", "url": "https://weather.example/today"},
    {"title": "Fake forecast", "url": "https://forecast.example/week"},
]


def _tool_step(f: _Frames) -> list[Step]:
    """A web search between question and answer (our pick of the shape: the web app's was never
    captured): the call on a chunk and whole, the tool's result with its links, then the answer."""
    call = f.chunk(tool_calls=[TOOL_CALL])
    whole = {"role": "assistant", "msg_type": 1, "msg_content": "", "finish_reason": "tool_calls"}
    called = f.frame(2, "agent_message", {**whole, "tool_calls": [TOOL_CALL]})
    result = {"role": "tool", "tool_call_id": "call_1", "msg_content": kit.json_bytes(TOOL_RESULTS).decode()}
    answered = f.frame(2, "agent_message", result)
    return [*_opening(f, [call, called, answered]), *f.text_chunks(), f.final(), f.done()]


def _error(f: _Frames, message: str) -> list[Step]:
    """Section 10 example 4: a ``finish_reason:"error"`` chunk, the type-2 error text, [DONE]
    (after ``after`` text deltas, if any)."""
    after = f.params.after
    opening = _opening(f, f.text_chunks(finish=False)[:after]) if after else []
    failed = f.chunk(finish=True, finish_reason="error")
    return [*opening, failed, f.final(f.params.msg or message, "error"), f.done()]


_BUILDERS: dict[str, Callable[[_Frames], Iterable[Step]]] = {
    "split_frames": lambda f: _cut_inside_utf8(_normal(f)),
    "repeated_final": _repeated_final,
    "final_only": _final_only,
    "done_only_end": _done_only_end,
    "finish_only_end": _finish_only_end,
    "heartbeat_stall": _heartbeat_stall,
    "drop": _drop,
    "tool_step": _tool_step,
    **{name: partial(_error, message=text) for name, text in REFUSALS.items()},
}


def stream_plan(spec: kit.ScenarioSpec[Params], turn: AgentTurn) -> kit.StreamPlan:
    """The event stream answering ``turn`` under ``spec``."""
    frames = _Frames(spec.name, spec.params, turn)
    steps = _BUILDERS.get(spec.name, _normal)(frames)
    stall = spec.params.seconds if spec.name == "stall_before" else 0.0
    return kit.finish_plan(steps, spec.params, stall)


def error_plan(message: str, turn: AgentTurn, params: Params | None = None) -> kit.StreamPlan:
    """A refused turn (the account is busy, or out of credits): :func:`_error` with ``message``."""
    params = params or Params(after=0)
    return kit.finish_plan(_error(_Frames("normal", params, turn), message), params)


def http_reply(spec: kit.ScenarioSpec[Params]) -> kit.HttpReply | None:
    """The plain HTTP answer of an HTTP-level scenario, ``None`` for streamed scenarios."""
    name = spec.name
    if name == "http_401_empty":
        return kit.HttpReply(401, b"", "text/plain; charset=utf-8")
    if name == "http_403":
        return kit.cloudflare_reply()
    if name == "http_429":
        return kit.json_reply(429, {"error": "too many requests"}, {"Retry-After": str(spec.params.retry)})
    if name == "http_500_html":
        return failure_reply(500)
    if name == "html_200":
        return kit.html_reply(200, APP_PAGE)
    return None


_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Temporarily Unavailable"}


def failure_reply(status: int) -> kit.HttpReply:
    """What a ``fail_first`` request gets: an nginx page for 500/502/503, else a small JSON error."""
    if status in _REASONS:
        return kit.html_reply(status, kit.nginx_page(status, _REASONS[status]))
    return kit.json_reply(status, {"error": "fake failure"})
