"""Lines of a streamed body, for both protocols' event decoders (pure, no I/O).

LF, CRLF and CR each end a line, also when a CRLF is split across two network reads.
There is no line-length limit (a ``/v4`` answer's last line can exceed a megabyte), and
the work is linear in the bytes, however the body is cut into reads.
"""

from __future__ import annotations

__all__ = ["LineSplitter", "data_text"]

_IN_PLACE = 64 * 1024  # bytes: a line at least this long is decoded without a copy


def data_text(line: bytes) -> str:
    """The value of a ``data:`` line (one space after the colon dropped), decoded; undecodable
    UTF-8 becomes U+FFFD. A long line is decoded in place: its copy would be a fresh block of
    memory (a megabyte answer, every frame)."""
    start = 6 if line[5:6] == b" " else 5
    return str(line[start:] if len(line) < _IN_PLACE else memoryview(line)[start:], "utf-8", "replace")


class LineSplitter:
    """Bytes in, the lines they complete out (without their ends)."""

    __slots__ = ("_cr_ended", "_partial")

    def __init__(self) -> None:
        self._partial = bytearray()  # a line still without its end; it never holds a CR
        self._cr_ended = False  # the last read ended in CR: an LF starting the next belongs to it

    def feed(self, data: bytes) -> list[bytes]:
        if self._cr_ended:
            self._cr_ended = False
            if data[:1] == b"\n":
                data = data[1:]
        if b"\r" in data:  # rare: make every line end an LF, in C, before splitting
            self._cr_ended = data.endswith(b"\r")
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = data.find(b"\n")
        if end == -1:
            self._partial += data
            return []
        lines: list[bytes] = []
        if self._partial:  # the line that was waiting for its end: handed out as it is, no copy
            line = self._partial
            line += memoryview(data)[:end]
            lines.append(line)  # type: ignore[arg-type]  # a bytearray serves as well
            self._partial = bytearray()
            data = data[end + 1 :]
        lines += data.split(b"\n")
        self._partial += lines.pop()
        return lines

    def close(self) -> bytes | None:
        """The last line if it had no line end; the splitter is empty then."""
        rest, self._partial, self._cr_ended = self._partial, bytearray(), False
        return bytes(rest) if rest else None
