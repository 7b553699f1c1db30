"""A pure Server-Sent Events decoder: bytes in, events out, no I/O.

Unlike a line reader it has no line-length limit: Hailuo's last ``data:`` line
holds the whole (cumulative) answer and can exceed a megabyte. Work is linear
in the bytes fed, however the stream is split into chunks.
"""

from __future__ import annotations

from typing import NamedTuple

from g4f_hailuo.protocols.lines import LineSplitter, data_text

__all__ = ["SSEDecoder", "ServerEvent", "decode_events"]


class ServerEvent(NamedTuple):
    event: str
    data: str


class SSEDecoder:
    """Incremental decoder following the WHATWG event-stream rules.

    Lines end in LF, CRLF or CR (:class:`LineSplitter`); ``event:`` names the event
    (default ``message``); several ``data:`` lines join with LF; comments, ``id:`` and
    ``retry:`` are ignored; a blank line dispatches. Undecodable UTF-8 becomes U+FFFD
    instead of raising.
    """

    __slots__ = ("_data", "_event", "_lines")

    def __init__(self) -> None:
        self._lines = LineSplitter()
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[ServerEvent]:
        return self._events(self._lines.feed(chunk))

    def close(self) -> list[ServerEvent]:
        """End of the body: a last line without its line end, and a last event
        without its blank line, still count (servers often omit them)."""
        last = self._lines.close()
        return self._events([last, b""] if last is not None else [b""])

    def _events(self, lines: list[bytes]) -> list[ServerEvent]:
        events: list[ServerEvent] = []
        data, name = self._data, self._event
        # One loop, no calls per line but the decode: this is the hot path.
        for line in lines:
            if line.startswith(b"data:"):  # the usual line first
                data.append(data_text(line))
            elif not line:  # blank line: dispatch
                if data:
                    events.append(
                        ServerEvent(name or "message", data[0] if len(data) == 1 else "\n".join(data))
                    )
                    data = []
                name = ""
            elif line.startswith(b"event:"):
                name = line[7 if line[6:7] == b" " else 6 :].decode("utf-8", "replace")
            elif line[0] != 0x3A:  # not a ":" comment
                field, colon, value = line.partition(b":")
                if colon and value[:1] == b" ":
                    value = value[1:]
                if field == b"data":
                    data.append(value.decode("utf-8", "replace"))
                elif field == b"event":
                    name = value.decode("utf-8", "replace")
        self._data, self._event = data, name
        return events


def decode_events(chunks: list[bytes] | tuple[bytes, ...]) -> list[ServerEvent]:
    """Decode a whole stream given as chunks (for tests and tools)."""
    decoder = SSEDecoder()
    events: list[ServerEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events
