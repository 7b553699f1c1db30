"""The recording file (pure): the exchanges as sent and received in memory (:class:`Exchange`),
and what is written of them (:func:`render`, :func:`dumps`).

The file holds, per exchange: the method, host and path, the *names* of the query parameters
and request headers, the request body's *shape* (keys and value types, never a value), the
response's status, its header names (values only of :data:`KEPT_HEADER_VALUES`), and its body
as frames (an event stream's lines, a blank line joined to the line before it; any other body
whole) with their times in ms since the request began; every secret and personal value
replaced by a stable placeholder (:mod:`g4f_hailuo.transport.scrub`). ``outcome`` (the doctor's
steps, the reply's text) is scrubbed the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from yarl import URL

from g4f_hailuo.transport.scrub import SECRET_QUERY_NAMES, Scrubber, body_shape

__all__ = ["FORMAT", "KEPT_HEADER_VALUES", "VERSION", "Exchange", "dumps", "render"]

FORMAT = "g4f-hailuo-recording"
VERSION = 1
# Response headers whose values are kept (scrubbed as text): what a replay or a diagnosis reads.
KEPT_HEADER_VALUES = frozenset(
    {"content-type", "retry-after", "server", "cache-control", "cf-mitigated", "cf-cache-status", "x-cache"}
)
_SECRET_HEADERS = frozenset({"token", "authorization", "cookie", "x-token"})


@dataclass
class Exchange:
    """One request and its response, as sent and received (in memory only: never written as is)."""

    method: str
    url: URL
    started: float  # time.monotonic()
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: bytearray = field(default_factory=bytearray)
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    answered: float | None = None  # when the status line and headers arrived
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    ended: float | None = None
    exception: BaseException | None = None

    @property
    def body(self) -> bytes:
        return b"".join(chunk for _, chunk in self.chunks)

    def header(self, name: str) -> str:
        name = name.lower()
        return next((value for key, value in self.response_headers if key.lower() == name), "")


def render(
    exchanges: list[Exchange], since: float, *, protocol: str | None, outcome: dict[str, Any] | None
) -> dict[str, Any]:
    """The recording as written (``since``: the recorder's start, for the exchanges' times)."""
    scrubber = Scrubber()
    # Twice: the first pass meets every value (a session id is learnt from the answer that
    # made it), so that the second replaces each one everywhere, also where it came first.
    for _ in range(2):
        for exchange in exchanges:
            _learn(scrubber, exchange)
        rendered = [_render(scrubber, exchange, since) for exchange in exchanges]
        scrubbed = scrubber.value(outcome) if outcome is not None else None
    recording: dict[str, Any] = {"format": FORMAT, "version": VERSION, "protocol": protocol}
    recording["exchanges"] = rendered
    if scrubbed is not None:
        recording["outcome"] = scrubbed
    return recording


def dumps(value: Any, indent: str = "") -> str:
    """JSON for people and diffs: a list or object that fits on a line stays on one line."""
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, (dict, list)) or len(flat) + len(indent) <= 100 or not value:
        return flat
    inner = indent + " "
    if isinstance(value, list) and not any(isinstance(item, (dict, list)) for item in value):
        lines = [inner]  # scalars: as many to a line as fit
        for item in value:
            text = json.dumps(item, ensure_ascii=False) + ","
            if len(lines[-1]) + len(text) > 100 and lines[-1].strip():
                lines.append(inner)
            lines[-1] += text if not lines[-1].strip() else " " + text
        return "[\n" + "\n".join(lines)[:-1] + "\n" + indent + "]"
    if isinstance(value, list):
        items = [inner + dumps(item, inner) for item in value]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {dumps(item, inner)}" for k, item in value.items()]
    return "{\n" + ",\n".join(items) + "\n" + indent + "}"


def _learn(scrubber: Scrubber, exchange: Exchange) -> None:
    """Note the values an exchange carries that are secret by name: the query's, the headers'."""
    for name, value in exchange.url.query.items():
        if name in SECRET_QUERY_NAMES:
            scrubber.learn(value, name)
    for name, value in exchange.request_headers:
        if name.lower() not in _SECRET_HEADERS:
            continue
        if name.lower() == "cookie":
            for part in value.split(";"):
                scrubber.learn(part.partition("=")[2].strip(), "token")
        else:
            scrubber.learn(value.removeprefix("Bearer ").strip(), "token")


def _ms(moment: float | None, since: float) -> int | None:
    return None if moment is None else max(0, round((moment - since) * 1000))


def _request_shape(exchange: Exchange) -> Any:
    body = bytes(exchange.request_body)
    if not body:
        return None
    try:
        return body_shape(json.loads(body))
    except (ValueError, RecursionError):
        pass
    content_type = next((v for k, v in exchange.request_headers if k.lower() == "content-type"), "")
    if content_type.startswith("multipart/form-data"):
        names = [part.split(b'"', 1)[0].decode("utf-8", "replace") for part in body.split(b' name="')[1:]]
        return dict.fromkeys(names, "str")
    return f"{len(body)} bytes"


def _frames(scrubber: Scrubber, exchange: Exchange) -> list[dict[str, Any]]:
    """The body as timed frames: an event stream's lines (a blank line joins the line before
    it), or the whole body as one."""
    if not exchange.chunks:
        return []
    content_type = exchange.header("content-type")
    if not content_type.startswith("text/event-stream"):
        text = scrubber.body(exchange.body.decode("utf-8", "replace"), content_type)
        return [{"ms": _ms(exchange.chunks[-1][0], exchange.started), "data": text}]
    ends, offset = [], 0  # (offset after each chunk, its time)
    for moment, chunk in exchange.chunks:
        offset += len(chunk)
        ends.append((offset, moment))
    frames: list[tuple[int, list[bytes]]] = []  # (offset of the frame's end, its lines)
    offset = 0
    for line in exchange.body.splitlines(keepends=True):
        offset += len(line)
        if frames and not line.strip():
            frames[-1] = (offset, [*frames[-1][1], line])
        else:
            frames.append((offset, [line]))
    rendered = []
    for end, lines in frames:
        moment = next(moment for chunk_end, moment in ends if chunk_end >= end)
        text = "".join(scrubber.event_stream_line(line.decode("utf-8", "replace")) for line in lines)
        rendered.append({"ms": _ms(moment, exchange.started), "data": text})
    return rendered


def _render(scrubber: Scrubber, exchange: Exchange, since: float) -> dict[str, Any]:
    url = exchange.url
    headers = [
        [name, scrubber.text(value) if name.lower() in KEPT_HEADER_VALUES else ""]
        for name, value in exchange.response_headers
    ]
    response = None
    if exchange.status is not None:
        response = {
            "status": exchange.status,
            "ms": _ms(exchange.answered, exchange.started),
            "headers": headers,
            "frames": _frames(scrubber, exchange),
            "end_ms": _ms(exchange.ended, exchange.started),
        }
    return {
        "ms": _ms(exchange.started, since),
        "request": {
            "method": exchange.method,
            "host": url.host,
            "path": scrubber.path(url.raw_path),
            "query": list(dict.fromkeys(url.query)),
            "headers": list(dict.fromkeys(name for name, _ in exchange.request_headers)),
            "body": _request_shape(exchange),
        },
        "response": response,
        "error": type(exchange.exception).__name__ if exchange.exception is not None else None,
    }
