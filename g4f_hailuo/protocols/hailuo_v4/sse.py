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
        data, name = self._data, self._event
        size = len(buffer)
        start = 0
        scan = self._scanned
        # The next LF and CR at or after ``scan`` (``size``: none): each byte is
        # searched once per kind, so a long run of CR-only lines stays linear.
        next_lf = next_cr = -1
        # A value is decoded from a slice of the buffer: measured faster than decoding
        # a memoryview of it, whatever the chunk size.
        while True:
            if next_lf < scan:
                next_lf = buffer.find(b"\n", scan)
                if next_lf == -1:
                    next_lf = size
            if next_cr < scan:
                next_cr = buffer.find(b"\r", scan)
                if next_cr == -1:
                    next_cr = size
            end = next_lf if next_lf < next_cr else next_cr
            if end == size:
                break
            # The line is buffer[start:end]; one loop, no calls per line: this is the hot path.
            if start == end:  # blank line: dispatch
                if data:
                    events.append(
                        ServerEvent(name or "message", data[0] if len(data) == 1 else "\n".join(data))
                    )
                    data = []
                name = ""
            elif buffer[start] != 0x3A:  # not a ":" comment
                colon = buffer.find(b":", start, end)
                if colon == -1:
                    field_end = value = end
                else:
                    field_end, value = colon, colon + 1
                    if value < end and buffer[value] == 0x20:
                        value += 1
                if field_end - start == 4 and buffer.startswith(b"data", start):
                    data.append(buffer[value:end].decode("utf-8", "replace"))
                elif field_end - start == 5 and buffer.startswith(b"event", start):
                    name = buffer[value:end].decode("utf-8", "replace")
            if end == next_cr:
                if end + 1 == size:
                    self._skip_lf = True  # a LF at the start of the next chunk belongs to this CR
                elif next_lf == end + 1:
                    end += 1
            start = scan = end + 1
        self._data, self._event = data, name
        if start:
            del buffer[:start]
        self._scanned = len(buffer)
        return events

    def close(self) -> list[ServerEvent]:
        """End of the body: a last line without its line end, and a last event
        without its blank line, still count (servers often omit them)."""
        self._skip_lf = False
        return self.feed(b"\n\n" if self._buffer else b"\n")


def decode_events(chunks: list[bytes] | tuple[bytes, ...]) -> list[ServerEvent]:
    """Decode a whole stream given as chunks (for tests and tools)."""
    decoder = SSEDecoder()
    events: list[ServerEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events
