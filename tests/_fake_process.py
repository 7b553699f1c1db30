"""The fake Hailuo server in a child process, for measurements: its own state
(recorded requests, chats) and CPU then do not count in the test's process.

Only what the load test needs crosses the pipe: the URL, tokens issued up
front, ``active_streams`` and ``chats(token)``. Stdlib + ``g4f_hailuo.fake.hailuo_v4.server``
only, so that the child starts fast.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

from g4f_hailuo.fake.hailuo_v4.server import FakeHailuo, run_in_thread

__all__ = ["FakeProcess"]

_START_TIMEOUT = 30.0
_CALL_TIMEOUT = 30.0


def _serve(conn: Connection, tokens: int) -> None:
    fake = run_in_thread()
    try:
        conn.send((fake.url, [fake.issue_token(name=f"user{n}") for n in range(tokens)]))
        while True:
            command, args = conn.recv()
            if command == "stop":
                break
            if command == "active_streams":
                conn.send(fake.active_streams)
            elif command == "chats":
                conn.send(fake.chats(*args))
            else:
                conn.send(ValueError(f"unknown command {command!r}"))
    except EOFError:  # the parent went away
        pass
    finally:
        fake.stop()
        conn.close()


class FakeProcess:
    """``FakeProcess(tokens=N)``: a fake server in a child process and N tokens it issued."""

    reply_for = staticmethod(FakeHailuo.reply_for)

    def __init__(self, tokens: int = 1) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, tokens), name="fake-hailuo", daemon=True)
        self._process.start()
        child.close()
        if not self._conn.poll(_START_TIMEOUT):
            self.stop()
            raise RuntimeError(f"the fake Hailuo process did not start within {_START_TIMEOUT:g} s")
        self.url, self.tokens = self._conn.recv()

    def _call(self, command: str, *args: Any) -> Any:
        self._conn.send((command, args))
        if not self._conn.poll(_CALL_TIMEOUT):
            raise RuntimeError(f"the fake Hailuo process did not answer {command!r}")
        answer = self._conn.recv()
        if isinstance(answer, Exception):
            raise answer
        return answer

    @property
    def active_streams(self) -> int:
        return int(self._call("active_streams"))

    def chats(self, token: str) -> dict[str, list[str]]:
        return dict(self._call("chats", token))

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def stop(self) -> None:
        if self._process.is_alive():
            with contextlib.suppress(OSError):
                self._conn.send(("stop", ()))
            self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=10)
        self._conn.close()

    def __enter__(self) -> FakeProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
