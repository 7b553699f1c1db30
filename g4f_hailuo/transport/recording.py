"""Recording the exchanges with the site: what ``g4f-hailuo doctor --record FILE`` and
``HAILUOAI_RECORD=FILE`` write, with nothing secret or personal in the file.

Off by default and then absent: :func:`trace_configs` answers ``None`` and the pooled sessions
(``transport.sessions``) are made exactly as without this module. On, every new session gets
an aiohttp ``TraceConfig``: request start, headers sent, body chunks sent, the response's
status and headers (``on_request_end``, which also puts a recording reader in front of the
body) and failures. The body is noted as the client reads it (the reader streams as it
arrives), with its time.

In memory an :class:`~.recording_file.Exchange` holds everything as sent and received (the
doctor reads the statuses and bodies from there); the file (:meth:`Recorder.save`) holds names,
shapes, statuses and bodies with every secret and personal value replaced
(:mod:`~g4f_hailuo.transport.recording_file`). ``fake/replay.py`` serves such a file.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp.streams import AsyncStreamIterator

if TYPE_CHECKING:  # imported when recording: transport.sessions imports this module
    from g4f_hailuo.transport.recording_file import Exchange

__all__ = ["RECORD_ENV", "Recorder", "current", "start", "stop", "trace_configs"]

RECORD_ENV = "HAILUOAI_RECORD"


class _RecordingBody:
    """The response body reader, noting each piece the client reads (and the end, or a failure)."""

    __slots__ = ("_content", "_exchange", "_recorder")

    def __init__(self, content: Any, exchange: Exchange, recorder: Recorder) -> None:
        self._content = content
        self._exchange = exchange
        self._recorder = recorder

    def __getattr__(self, name: str) -> Any:  # total_bytes, is_eof, at_eof, set_exception, ...
        return getattr(self._content, name)

    def _note(self, data: bytes) -> bytes:
        if data:
            self._exchange.chunks.append((time.monotonic(), data))
        elif self._exchange.ended is None:
            self._exchange.ended = time.monotonic()
            self._recorder.exchange_done(self._exchange)
        return data

    async def _read(self, reading: Any) -> bytes:
        try:
            return self._note(await reading)
        except BaseException as error:
            if self._exchange.exception is None:
                self._exchange.exception = error
                self._recorder.exchange_done(self._exchange)
            raise

    async def read(self, n: int = -1) -> bytes:
        return await self._read(self._content.read(n))

    async def readany(self) -> bytes:
        return await self._read(self._content.readany())

    async def readline(self) -> bytes:
        return await self._read(self._content.readline())

    async def readexactly(self, n: int) -> bytes:
        return await self._read(self._content.readexactly(n))

    async def readchunk(self) -> tuple[bytes, bool]:
        data, end_of_chunk = await self._content.readchunk()
        self._note(data)
        return data, end_of_chunk

    def read_nowait(self, n: int = -1) -> bytes:
        return self._note(self._content.read_nowait(n))

    def iter_any(self) -> AsyncStreamIterator[bytes]:
        return AsyncStreamIterator(self.readany)

    def iter_chunked(self, n: int) -> AsyncStreamIterator[bytes]:
        return AsyncStreamIterator(lambda: self.read(n))

    def __aiter__(self) -> AsyncStreamIterator[bytes]:
        return AsyncStreamIterator(self.readline)


class Recorder:
    """The exchanges of this process (while it is the current recorder) and what came of them.

    ``path``: where :meth:`save` writes (``HAILUOAI_RECORD``'s recorder saves after every
    exchange and at exit); ``protocol`` and ``outcome`` (e.g. the doctor's steps and the reply's
    text) go into the file as they are, scrubbed like the rest.
    """

    def __init__(self, path: str | Path | None = None, *, protocol: str | None = None) -> None:
        self.path = Path(path) if path else None
        self.protocol = protocol
        self.outcome: dict[str, Any] | None = None
        self.exchanges: list[Exchange] = []
        self.autosave = False
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self.trace_config = self._trace_config()

    # -- capture -------------------------------------------------------------------------------

    def _trace_config(self) -> aiohttp.TraceConfig:
        from g4f_hailuo.transport.recording_file import Exchange

        config = aiohttp.TraceConfig(trace_config_ctx_factory=types.SimpleNamespace)

        async def on_start(_: Any, context: Any, params: aiohttp.TraceRequestStartParams) -> None:
            headers = list(params.headers.items())
            context.exchange = Exchange(params.method, params.url, time.monotonic(), headers)
            with self._lock:
                self.exchanges.append(context.exchange)

        async def on_headers_sent(
            _: Any, context: Any, params: aiohttp.TraceRequestHeadersSentParams
        ) -> None:
            context.exchange.request_headers = list(params.headers.items())

        async def on_chunk_sent(_: Any, context: Any, params: aiohttp.TraceRequestChunkSentParams) -> None:
            context.exchange.request_body += params.chunk

        async def on_end(_: Any, context: Any, params: aiohttp.TraceRequestEndParams) -> None:
            exchange: Exchange = context.exchange
            response = params.response
            exchange.status, exchange.answered = response.status, time.monotonic()
            exchange.response_headers = list(response.headers.items())
            setattr(response, "content", _RecordingBody(response.content, exchange, self))  # noqa: B010

        async def on_exception(_: Any, context: Any, params: aiohttp.TraceRequestExceptionParams) -> None:
            exchange: Exchange | None = getattr(context, "exchange", None)
            if exchange is not None:
                exchange.exception = params.exception
                self.exchange_done(exchange)

        config.on_request_start.append(on_start)
        config.on_request_headers_sent.append(on_headers_sent)
        config.on_request_chunk_sent.append(on_chunk_sent)
        config.on_request_end.append(on_end)
        config.on_request_exception.append(on_exception)
        config.freeze()
        return config

    def exchange_done(self, exchange: Exchange) -> None:
        if self.autosave:
            self.save()

    def since(self, mark: int) -> list[Exchange]:
        """The exchanges begun after the first ``mark`` ones (``len(recorder.exchanges)`` earlier)."""
        with self._lock:
            return self.exchanges[mark:]

    # -- the file ------------------------------------------------------------------------------

    def render(self) -> dict[str, Any]:
        """The recording as written: nothing secret or personal (``recording_file``)."""
        from g4f_hailuo.transport.recording_file import render

        with self._lock:
            exchanges = list(self.exchanges)
        return render(exchanges, self._started, protocol=self.protocol, outcome=self.outcome)

    def save(self, path: str | Path | None = None) -> Path:
        """Write the recording (atomically) to ``path``, else to the recorder's own."""
        target = Path(path) if path else self.path
        if target is None:
            raise ValueError("no file to save the recording to")
        import tempfile

        from g4f_hailuo.transport.recording_file import dumps

        text = dumps(self.render()) + "\n"
        directory = target.parent if str(target.parent) else Path(".")
        handle, temporary = tempfile.mkstemp(prefix=".recording-", dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target


# -- which recorder is on ----------------------------------------------------------------------

_current: Recorder | None = None
_from_environment: dict[str, Recorder] = {}
_environment_lock = threading.Lock()


def start(recorder: Recorder) -> None:
    """Make ``recorder`` the current one: sessions made from now on are recorded by it."""
    global _current
    _current = recorder


def stop(recorder: Recorder | None = None) -> None:
    """No current recorder any more (only if it is ``recorder``, when given)."""
    global _current
    if recorder is None or _current is recorder:
        _current = None


def current() -> Recorder | None:
    """The recorder sessions get: the one :func:`start` set, else ``HAILUOAI_RECORD``'s (saved
    after every exchange and at exit), else none."""
    if _current is not None:
        return _current
    path = os.environ.get(RECORD_ENV, "").strip()
    if not path:
        return None
    with _environment_lock:
        recorder = _from_environment.get(path)
        if recorder is None:
            recorder = _from_environment[path] = Recorder(path)
            recorder.autosave = True
            atexit.register(_save_quietly, recorder)
    return recorder


def _save_quietly(recorder: Recorder) -> None:
    if recorder.exchanges:
        with contextlib.suppress(OSError):
            recorder.save()


def trace_configs() -> list[aiohttp.TraceConfig] | None:
    """What a new session is made with: ``None`` unless recording (nothing changes then)."""
    recorder = current()
    return None if recorder is None else [recorder.trace_config]
