"""The server half both fake sites share: recording, life cycle, streaming, the thread runner.

:class:`FakeServerBase` is an aiohttp app on a loopback port that records every request
(:class:`RecordedRequest`), counts connections and the streams it is writing, plays a
:class:`~g4f_hailuo.fake.scenario_kit.StreamPlan` frame by frame (cancelled at once when the
client leaves or the server closes), and can be driven from ``async with``, from
:func:`run_in_thread` (synchronous callers) or from :func:`serve_until_signal` (the command
line). A subclass provides :meth:`FakeServerBase.app` and the answer to an unknown route.

This module also re-exports, so that both fakes import what they share from one place, the
request record, response builders and JWT of :mod:`g4f_hailuo.fake.http_helpers` and the
command-line helpers of :mod:`g4f_hailuo.fake.server_cli`.
Imports only the standard library, aiohttp and the pure scenario kit.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from aiohttp import web

from g4f_hailuo.fake.http_helpers import (
    EVENT_STREAM,
    Headers,
    RecordedRequest,
    html_response,
    http_response,
    json_response,
    make_jwt,
)
from g4f_hailuo.fake.scenario_kit import Abort, Sleep, StreamPlan
from g4f_hailuo.fake.server_cli import (
    Announce,
    add_server_arguments,
    is_loopback,
    refuse_remote,
    serve_main,
    serve_until_signal,
)

__all__ = [
    "EVENT_STREAM",
    "Announce",
    "FakeServerBase",
    "Headers",
    "RecordedRequest",
    "add_server_arguments",
    "html_response",
    "http_response",
    "is_loopback",
    "json_response",
    "make_jwt",
    "refuse_remote",
    "run_in_thread",
    "serve_main",
    "serve_until_signal",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


S = TypeVar("S", bound="FakeServerBase")


class FakeServerBase:
    """State and life cycle shared by the fakes; usable before ``start`` and after ``close``."""

    def __init__(self, scenario: str = "normal") -> None:
        self.scenario = scenario
        self.url = ""
        self.requests: list[RecordedRequest] = []
        self.active_streams = 0
        self.disconnects = 0
        self.connections_opened = 0
        self._ids: dict[int, Iterator[int]] = {}  # one counter per kind of id (its base)
        self._fail_counts: dict[str, int] = {}
        self._transports: weakref.WeakSet[Any] = weakref.WeakSet()
        self._streams: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._thread: tuple[asyncio.AbstractEventLoop, threading.Thread] | None = None

    @property
    def scenario(self) -> str:
        """The default scenario of every reply (``NAME key=value ...``), checked when it is set."""
        return self._scenario

    @scenario.setter
    def scenario(self, value: str) -> None:
        self.parse_scenario(value)  # raises ValueError on an unknown name or parameter
        self._scenario = value

    def parse_scenario(self, text: str) -> object:
        """Parse a server-wide scenario; raises ValueError (the subclass knows its scenarios)."""
        raise NotImplementedError

    def app(self) -> web.Application:
        """A new aiohttp app over this state (a subclass adds its routes to :meth:`new_app`)."""
        raise NotImplementedError

    def unmatched(self, request: web.Request, error: web.HTTPException) -> web.Response:
        """The answer to a route that does not exist (or a wrong method)."""
        raise NotImplementedError

    def new_app(self) -> web.Application:
        return web.Application(middlewares=[self._unmatched], client_max_size=64 * 1024 * 1024)

    def new_id(self, base: int) -> str:
        """Ids are deterministic per server: base+1, base+2, ... for each kind."""
        return str(base + next(self._ids.setdefault(base, itertools.count(1))))

    def fails_first(self, key: str, times: int) -> bool:
        """``fail_first``: True for the first ``times`` calls with ``key``, then False."""
        if not times:
            return False
        seen = self._fail_counts[key] = self._fail_counts.get(key, 0) + 1
        return seen <= times

    def record(self, request: web.Request) -> RecordedRequest:
        """Note the request (and a new connection) in ``requests``."""
        transport = request.transport
        if transport is not None and transport not in self._transports:
            self._transports.add(transport)
            self.connections_opened += 1
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            raw_path_qs=request.raw_path,
            query=dict(request.query),
            headers=Headers((k.lower(), v) for k, v in request.headers.items()),
        )
        self.requests.append(record)
        return record

    @web.middleware
    async def _unmatched(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Unknown routes (and wrong methods) go to :meth:`unmatched`; matched routes record themselves."""
        error = request.match_info.http_exception
        if error is None:
            return await handler(request)
        record = self.record(request)
        response = self.unmatched(request, error)
        record.status = response.status
        return response

    async def play(
        self,
        request: web.Request,
        record: RecordedRequest,
        plan: StreamPlan,
        content_type: str = EVENT_STREAM,
    ) -> web.StreamResponse:
        """Write a planned stream; count it while it runs and note a client leaving."""
        task = asyncio.current_task()
        if task is not None:
            self._streams.add(task)
        self.active_streams += 1
        response = web.StreamResponse(headers={"Content-Type": content_type, "Cache-Control": "no-cache"})
        try:
            if plan.stall_before:
                await asyncio.sleep(plan.stall_before)
            await response.prepare(request)
            record.status = 200
            for step in plan.steps:
                if isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                elif isinstance(step, Abort):
                    if request.transport is not None:
                        request.transport.abort()
                    return response
                else:
                    await response.write(step)
                    await asyncio.sleep(0)  # let a reader on this loop see each write on its own
            await response.write_eof()
        except ConnectionResetError:
            self.disconnects += 1
        except asyncio.CancelledError:
            if not self._closing:
                self.disconnects += 1
            raise
        finally:
            self.active_streams -= 1
            if task is not None:
                self._streams.discard(task)
        return response

    # -- life cycle ----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0: a free port); returns and sets ``url``.

        Handler cancellation is on: that is what lets a stall notice a client leaving."""
        if self._runner is not None:
            raise RuntimeError("the fake server is already started")
        self._closing = False
        runner = web.AppRunner(self.app(), handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_port = runner.addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{bound_port}"
        return self.url

    async def close(self) -> None:
        """Stop serving; replies still streaming or stalled are cancelled at once."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing = True
        streams = [task for task in self._streams if task is not asyncio.current_task()]
        for task in streams:
            task.cancel()
        if streams:
            await asyncio.wait(streams, timeout=2.0)
        await runner.cleanup()

    async def __aenter__(self: S) -> S:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def stop(self) -> None:
        """Stop a server started by :func:`run_in_thread` and end its thread."""
        if self._thread is None:
            raise RuntimeError("stop() is for run_in_thread(); use 'await close()' otherwise")
        loop, thread = self._thread
        self._thread = None
        try:
            asyncio.run_coroutine_threadsafe(self.close(), loop).result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)


def run_in_thread(factory: Callable[..., S], host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> S:
    """Start ``factory(**kwargs)`` on its own event loop in a daemon thread; ``.stop()`` ends it.

    For synchronous callers (``g4f.ChatCompletion.create`` runs its own loop). Returns once
    ``url`` is set; a failure to bind is raised here.
    """
    fake = factory(**kwargs)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(fake.start(host, port))
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
            started.set()
            loop.close()
            return
        started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=serve, name=f"fake-{type(fake).__name__}", daemon=True)
    thread.start()
    if not started.wait(timeout=10):
        raise RuntimeError(f"the fake server ({type(fake).__name__}) did not start within 10 s")
    if failure:
        thread.join(timeout=10)
        raise failure[0]
    fake._thread = (loop, thread)
    return fake
