"""A pure Server-Sent Events decoder: bytes in, events out, no I/O.

Unlike a line reader it has no line-length limit: Hailuo's last ``data:`` line
holds the whole (cumulative) answer and can exceed a megabyte. Work is linear
in the bytes fed, however the stream is split into chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SSEDecoder", "ServerEvent", "decode_events"]


@dataclass(frozen=True, slots=True)
class ServerEvent:
    event: str
    data: str


class SSEDecoder:
    """Incremental decoder following the WHATWG event-stream rules.

    Lines end in LF, CRLF or CR; ``event:`` names the event (default
    ``message``); several ``data:`` lines join with LF; comments, ``id:`` and
    ``retry:`` are ignored; a blank line dispatches. Undecodable UTF-8 becomes
    U+FFFD instead of raising.
    """

    __slots__ = ("_buffer", "_data", "_event", "_scanned", "_skip_lf")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scanned = 0  # bytes of _buffer already searched for a line end
        self._skip_lf = False  # the previous chunk ended in CR: a leading LF belongs to it
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[ServerEvent]:
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        buffer = self._buffer
        buffer += chunk
        events: list[ServerEvent] = []
        start = 0
        scan = self._scanned
        while True:
            lf = buffer.find(b"\n", scan)
            cr = buffer.find(b"\r", scan, lf if lf != -1 else len(buffer))
            if cr == -1 and lf == -1:
                break
            end = cr if cr != -1 else lf
            self._line(bytes(buffer[start:end]), events)
            if cr != -1 and cr + 1 < len(buffer) and buffer[cr + 1] == 0x0A:
                end += 1
            elif cr != -1 and cr + 1 == len(buffer):
                self._skip_lf = True
            start = scan = end + 1
        if start:
            del buffer[:start]
        self._scanned = len(buffer)
        return events

    def close(self) -> list[ServerEvent]:
        """End of the body: a last line without its line end, and a last event
        without its blank line, still count (servers often omit them)."""
        events: list[ServerEvent] = []
        if self._buffer:
            self._line(bytes(self._buffer), events)
            self._buffer.clear()
            self._scanned = 0
        self._dispatch(events)
        return events

    def _line(self, raw: bytes, events: list[ServerEvent]) -> None:
        if not raw:
            self._dispatch(events)
            return
        if raw[0] == 0x3A:  # ":" comment
            return
        colon = raw.find(b":")
        if colon == -1:
            field, value = raw, b""
        else:
            field, value = raw[:colon], raw[colon + 1 :]
            if value[:1] == b" ":
                value = value[1:]
        if field == b"data":
            self._data.append(value.decode("utf-8", "replace"))
        elif field == b"event":
            self._event = value.decode("utf-8", "replace")

    def _dispatch(self, events: list[ServerEvent]) -> None:
        if self._data:
            events.append(ServerEvent(self._event or "message", "\n".join(self._data)))
        self._data = []
        self._event = ""


def decode_events(chunks: list[bytes] | tuple[bytes, ...]) -> list[ServerEvent]:
    """Decode a whole stream given as chunks (for tests and tools)."""
    decoder = SSEDecoder()
    events: list[ServerEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events
