r"""What both fake servers' scenario modules share (pure: no sockets, no clock).

A fake turns "scenario + parameters + this turn" into a *plan*: a plain HTTP reply
(:class:`HttpReply`) or the byte frames, pauses and aborts of an event stream
(:class:`StreamPlan`). This module holds the protocol-neutral half of that:

- the directive grammar, ``NAME key=value ...`` server-wide or ``[[scenario:NAME key=value ...]]``
  inside a message (values may be quoted; the last directive wins; a directive without a name adds
  parameters to the server's default), parsed by a :class:`ScenarioTable` into a
  :class:`ScenarioSpec` whose parameters are a dataclass derived from :class:`BaseParams`;
- the reply-text helpers (:func:`echo_of`, :func:`chat_title`, :func:`pad`);
- the stream steps (``bytes``, :class:`Sleep`, :class:`Abort`) and :func:`finish_plan`, which
  applies the generic ``delay``, ``split``, ``hold`` and ``prebuild`` parameters;
- the stock error pages (Cloudflare challenge, nginx 5xx).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = [
    "CLOUDFLARE_PAGE",
    "HEARTBEAT_INTERVAL",
    "Abort",
    "BaseParams",
    "HttpReply",
    "ScenarioSpec",
    "ScenarioTable",
    "Sleep",
    "Step",
    "StreamPlan",
    "chat_title",
    "cloudflare_reply",
    "echo_of",
    "filler",
    "finish_plan",
    "html_reply",
    "json_bytes",
    "json_reply",
    "nginx_page",
    "pad",
    "repeat_for",
    "strip_directives",
]

HEARTBEAT_INTERVAL = 0.2  # seconds between two keep-alive frames of a stall


def json_bytes(payload: Any, *, ensure_ascii: bool = False) -> bytes:
    """Compact JSON as UTF-8 bytes (what both fakes put on the wire)."""
    return json.dumps(payload, ensure_ascii=ensure_ascii, separators=(",", ":")).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Parameters and directives


@dataclass(frozen=True)
class BaseParams:
    """The parameters every scenario of either fake understands (each reads only what it needs)."""

    frames: int = 3  # text frames of a reply
    size: int = 0  # reply length in characters (0: the plain reply, no filler)
    chars: str = "ascii"  # filler alphabet: ascii | cjk
    delay: float = 0.0  # seconds between two frames
    split: int = 0  # >0: write the bytes in pieces of 1..split bytes
    pause: float = 0.001  # seconds after each split piece, so a reader (even in another thread) sees it alone
    crlf: int = 0  # 1: every line ends with \r\n
    after: int = 1  # text frames before the error / drop / stall
    seconds: float = 30.0  # stall length
    msg: str = ""  # the text of an error (empty: the scenario's default)
    retry: int = 7  # Retry-After of http_429
    hold: float = 0.0  # seconds the body stays open after its last frame
    prebuild: int = 0  # 1: build every frame before the response headers, then write them back to back
    fail_first: int = 0  # the first N requests with this directive fail with fail_status
    fail_status: int = 503
    tag: str = ""  # ignored; makes a directive (and its fail_first counter) unique


P = TypeVar("P", bound=BaseParams)


@dataclass(frozen=True)
class ScenarioSpec(Generic[P]):
    name: str
    params: P
    key: str  # identifies the directive (or default) for the fail_first counter


_DIRECTIVE = re.compile(r"\[\[scenario:(.*?)\]\]")
_TYPES: dict[str, Callable[[str], Any]] = {"int": int, "float": float, "str": str}


class ScenarioTable(Generic[P]):
    """The scenarios of one fake: name -> parameter defaults, over the parameter class ``params``."""

    def __init__(
        self,
        params: type[P],
        scenarios: Mapping[str, Mapping[str, Any]],
        choices: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.params = params
        self.scenarios = scenarios
        self.choices = {"chars": ("ascii", "cjk"), **(choices or {})}
        self._converters = {f.name: _TYPES[str(f.type)] for f in dataclasses.fields(params)}

    def _words(self, text: str) -> tuple[str, dict[str, str]]:
        """``"NAME k=v ..."`` -> (name or "", raw overrides); raises ValueError."""
        words = shlex.split(text)
        name = words.pop(0) if words and "=" not in words[0] else ""
        overrides: dict[str, str] = {}
        for word in words:
            key, sep, value = word.partition("=")
            if not sep or not key:
                raise ValueError(f"scenario parameter {word!r} is not key=value")
            overrides[key] = value
        if name and name not in self.scenarios:
            raise ValueError(f"unknown scenario {name!r}")
        return name, overrides

    def _build(self, name: str, overrides: dict[str, str]) -> P:
        values: dict[str, Any] = dict(self.scenarios[name])
        for key, raw in overrides.items():
            if key not in self._converters:
                raise ValueError(f"unknown scenario parameter {key!r}")
            try:
                value = self._converters[key](raw)
            except ValueError:
                raise ValueError(f"bad value for scenario parameter {key}: {raw!r}") from None
            if isinstance(value, (int, float)) and value < 0:
                raise ValueError(f"scenario parameter {key} must not be negative")
            if key in self.choices and value not in self.choices[key]:
                raise ValueError(f"scenario parameter {key} must be one of {self.choices[key]}")
            values[key] = value
        params = self.params(**values)
        if params.frames < 1:
            raise ValueError("scenario parameter frames must be at least 1")
        return params

    def parse(self, text: str) -> ScenarioSpec[P]:
        """Parse the server-wide form ``"NAME key=value ..."`` (an empty name means ``normal``)."""
        name, overrides = self._words(text)
        name = name or "normal"
        return ScenarioSpec(name, self._build(name, overrides), "default:" + text.strip())

    def resolve(self, message: str, default: str) -> ScenarioSpec[P]:
        """The scenario for one message: its last directive, else the server's default."""
        directives = _DIRECTIVE.findall(message)
        if not directives:
            return self.parse(default)
        body = directives[-1]
        name, overrides = self._words(body)
        if not name:  # parameters only: add them to the server's default
            name, base = self._words(default)
            name = name or "normal"
            overrides = {**base, **overrides}
        return ScenarioSpec(name, self._build(name, overrides), "directive:" + " ".join(body.split()))


# ---------------------------------------------------------------------------------------------
# The reply text

_ROLE_CUE = re.compile(r"(?i)assistant\s*:")
_USER_PREFIX = re.compile(r"(?i)^(user|human)\s*:\s*")


def strip_directives(text: str) -> str:
    return _DIRECTIVE.sub("", text)


def echo_of(prompt: str) -> str:
    """The part of a prompt a reply quotes: its last line that says something.

    Directives are removed, blank lines and bare ``Assistant:`` cues (the end of a flattened
    history) are skipped, and a leading ``User:`` is dropped.
    """
    lines = [line.strip() for line in strip_directives(prompt).splitlines()]
    lines = [line for line in lines if line and not _ROLE_CUE.fullmatch(line)]
    return _USER_PREFIX.sub("", lines[-1]) if lines else ""


def chat_title(first_message: str) -> str:
    """A chat's title: the first 20 characters of its first message, whitespace collapsed."""
    return " ".join(strip_directives(first_message).split())[:20]


def filler(chars: str, length: int) -> str:
    """Deterministic, non-periodic filler of at least ``length`` characters."""
    parts: list[str] = []
    total, n = 0, 0
    while total < length:
        n += 1
        part = (
            f"第{n}句海螺测试文本用于检查长回复。"
            if chars == "cjk"
            else f"Filler sentence {n} of the fake reply. "
        )
        parts.append(part)
        total += len(part)
    return "".join(parts)


def pad(text: str, params: BaseParams) -> str:
    """``text`` padded (or cut) to exactly ``params.size`` characters; unchanged for size 0."""
    if not params.size:
        return text
    return (text + " " + filler(params.chars, params.size))[: params.size]


# ---------------------------------------------------------------------------------------------
# Plans


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Abort:
    """Abort the TCP connection (no chunked terminator)."""


Step = bytes | Sleep | Abort


@dataclass
class StreamPlan:
    # Made while they are played (often a generator): a long reply's first frame goes out
    # without waiting for every later frame to be built.
    steps: Iterable[Step]
    stall_before: float = 0.0  # seconds before the response headers


def repeat_for(frame: bytes, seconds: float, interval: float = HEARTBEAT_INTERVAL) -> list[Step]:
    """``frame`` every ``interval`` seconds for about ``seconds`` (at least once): a stall that
    keeps the connection busy without making progress."""
    steps: list[Step] = []
    for _ in range(max(1, round(seconds / interval))):
        steps += [frame, Sleep(interval)]
    return steps


def _interleave_delay(steps: Iterable[Step], delay: float) -> Iterator[Step]:
    previous: Step | None = None
    for step in steps:
        if isinstance(step, bytes) and isinstance(previous, bytes):
            yield Sleep(delay)
        yield step
        previous = step


def _split(steps: Iterable[Step], largest: int, pause: float) -> Iterator[Step]:
    """Cut every byte step into pieces of 1, 2, ..., largest, 1, 2, ... bytes, each followed by a pause."""
    size = 0
    for step in steps:
        if not isinstance(step, bytes):
            yield step
            continue
        pos = 0
        while pos < len(step):
            size = size % largest + 1
            yield step[pos : pos + size]
            if pause:
                yield Sleep(pause)
            pos += size


def finish_plan(steps: Iterable[Step], params: BaseParams, stall_before: float = 0.0) -> StreamPlan:
    """Apply the generic ``delay``, ``split`` and ``hold`` parameters to the steps (lazily)."""
    if params.delay:
        steps = _interleave_delay(steps, params.delay)
    if params.split:
        steps = _split(steps, params.split, params.pause)
    if params.hold:
        steps = itertools.chain(steps, [Sleep(params.hold)])
    if params.prebuild:
        steps = list(steps)
    return StreamPlan(steps, stall_before)


# ---------------------------------------------------------------------------------------------
# Stock pages

CLOUDFLARE_PAGE = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8"></head><body>'
    '<div id="cf-challenge"><noscript>Enable JavaScript and cookies to continue</noscript></div>'
    "<script>window._cf_chl_opt={cType:'managed'};</script></body></html>"
)
_CLOUDFLARE_HEADERS = {"Server": "cloudflare", "cf-mitigated": "challenge", "cf-ray": "8f00000000fake0-LAX"}


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> HttpReply:
    return HttpReply(status, json_bytes(payload), "application/json; charset=utf-8", headers or {})


def html_reply(status: int, html: str, headers: dict[str, str] | None = None) -> HttpReply:
    return HttpReply(status, html.encode("utf-8"), "text/html; charset=utf-8", headers or {})


def cloudflare_reply() -> HttpReply:
    """HTTP 403 with a Cloudflare "Just a moment..." challenge page and ``cf-`` headers."""
    return html_reply(403, CLOUDFLARE_PAGE, dict(_CLOUDFLARE_HEADERS))


def nginx_page(status: int, reason: str) -> str:
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
