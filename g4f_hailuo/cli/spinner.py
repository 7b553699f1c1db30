"""The spinner a command shows on a terminal while the user waits for Hailuo."""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from typing import TextIO

from g4f_hailuo.cli.common import is_tty

__all__ = ["Spinner"]


class Spinner:
    """A one-line spinner on a terminal while the user waits; silent elsewhere.

    Draws its first frame at once, then one every ``interval`` seconds, and
    erases its line when stopped (``stop()`` is idempotent).
    """

    FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
    ASCII_FRAMES = "|/-\\"

    def __init__(
        self, text: str, stream: TextIO | None = None, *, interval: float = 0.1, enabled: bool | None = None
    ) -> None:
        self.text = text
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self.frames = self.FRAMES if _can_encode(self.stream, self.FRAMES) else self.ASCII_FRAMES
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = False
        self._lock = threading.Lock()

    def start(self) -> Spinner:
        if self.enabled and self._thread is None:
            self._draw(self.frames[0])
            self._thread = threading.Thread(target=self._spin, name="spinner", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        with self._lock:
            if self._drawn:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self._drawn = False

    def _spin(self) -> None:
        started = time.monotonic()
        for frame in itertools.islice(itertools.cycle(self.frames), 1, None):
            if self._stop.wait(self.interval):
                return
            self._draw(frame, time.monotonic() - started)

    def _draw(self, frame: str, elapsed: float = 0.0) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            shown = f" {elapsed:.0f} s" if elapsed >= 2 else ""
            self.stream.write(f"\r{frame} {self.text}…{shown}\x1b[K")
            self.stream.flush()
            self._drawn = True

    def __enter__(self) -> Spinner:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _is_terminal(stream: TextIO) -> bool:
    """A terminal that can redraw a line (not TERM=dumb): decides only whether the spinner draws."""
    return is_tty(stream) and os.environ.get("TERM") != "dumb"


def _can_encode(stream: TextIO, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (LookupError, UnicodeEncodeError):
        return False
    return True
