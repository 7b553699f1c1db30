"""Keep-alive: one aiohttp session per event loop, account and proxy.

Opening a session per request costs a TCP (and TLS) handshake every time.
Here successive requests of one account through one proxy share a session,
hence its connection pool. Sessions are per event loop, because an aiohttp
session (and every connection in it) belongs to the loop it was made on, and
g4f's synchronous front door (``ChatCompletion.create``) runs each call on a
new loop.

A loop's sessions are closed when the loop shuts down its async generators:
``asyncio.run``, ``asyncio.Runner``, g4f's sync wrapper and uvicorn all call
``loop.shutdown_asyncgens()`` before closing the loop. The pool registers a
tiny async generator with its loop for that. A loop already shutting down gets
a one-off session, closed after the request.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import AsyncGenerator
from functools import lru_cache

import aiohttp

from g4f_hailuo.transport import recording
from g4f_hailuo.transport.base import Session, browser_for

__all__ = ["PooledSession", "request_timeout"]

# Sessions kept per loop (one per account and proxy); beyond that the least
# recently used idle ones close.
MAX_SESSIONS_PER_LOOP = 256
# Idle keep-alive connections close after this many seconds.
KEEPALIVE_SECONDS = 30.0

_Key = tuple[str, str | None, str]  # account, proxy, browser ("": aiohttp)


@lru_cache(maxsize=64)
def request_timeout(connect: float, read: float) -> aiohttp.ClientTimeout:
    """Per request (a pooled session serves requests with different settings):
    ``connect`` bounds opening a connection, ``read`` every wait for data."""
    return aiohttp.ClientTimeout(total=None, connect=None, sock_connect=connect, sock_read=read)


def _new_session(browser: str = "") -> Session:
    if browser:  # the impersonate extra, imported only now
        from g4f_hailuo.transport.impersonate import CurlSession

        return CurlSession(browser)
    # limit=0: concurrent requests never queue for a connection slot (a queue
    # wait is not covered by the read timeout). No cookie jar: Hailuo does not
    # use cookies, and a shared jar could carry one request's cookies to another.
    # trace_configs: None unless recording (HAILUOAI_RECORD, the doctor's --record).
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_SECONDS)
    return aiohttp.ClientSession(
        connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trace_configs=recording.trace_configs()
    )


class _LoopPool:
    __slots__ = ("closed", "closer", "sessions", "users")

    def __init__(self) -> None:
        self.sessions: OrderedDict[_Key, Session] = OrderedDict()
        self.users: dict[_Key, int] = {}
        self.closed = False
        self.closer: AsyncGenerator[None, None] | None = None  # strong ref: the loop's is weak

    def acquire(self, key: _Key) -> Session:
        session = self.sessions.get(key)
        if session is None or session.closed:
            session = self.sessions[key] = _new_session(key[2])
        self.sessions.move_to_end(key)
        self.users[key] = self.users.get(key, 0) + 1
        return session

    def release(self, key: _Key) -> None:
        left = self.users.get(key, 1) - 1
        if left > 0:
            self.users[key] = left
        else:
            self.users.pop(key, None)

    async def evict_idle(self) -> None:
        """Close the least recently used idle sessions beyond the limit."""
        excess = len(self.sessions) - MAX_SESSIONS_PER_LOOP
        if excess <= 0:
            return
        idle = [key for key in self.sessions if key not in self.users][:excess]
        sessions = [self.sessions.pop(key) for key in idle]
        await asyncio.gather(*(session.close() for session in sessions), return_exceptions=True)

    async def aclose(self) -> None:
        self.closed = True
        sessions = list(self.sessions.values())
        self.sessions.clear()
        self.users.clear()
        await asyncio.gather(*(session.close() for session in sessions), return_exceptions=True)


# Every loop's pool. Loops may run in several threads (g4f's GUI, sync calls in
# worker threads): the registry changes under a lock.
_pools: dict[asyncio.AbstractEventLoop, _LoopPool] = {}
_pools_lock = threading.Lock()


async def _close_at_loop_shutdown(
    loop: asyncio.AbstractEventLoop, pool: _LoopPool
) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        with _pools_lock:
            if _pools.get(loop) is pool:
                del _pools[loop]
        await pool.aclose()


async def _pool_for(loop: asyncio.AbstractEventLoop) -> _LoopPool | None:
    pool = _pools.get(loop)
    if pool is not None:
        return pool
    if getattr(loop, "_asyncgens_shutdown_called", False):
        return None  # too late to register a closer: no pooling on this loop
    pool = _LoopPool()
    closer = _close_at_loop_shutdown(loop, pool)
    await closer.__anext__()  # started: the loop now knows it and will aclose() it
    pool.closer = closer
    with _pools_lock:
        for other in [other for other in _pools if other.is_closed()]:
            # Closed without shutdown_asyncgens(): nothing can be closed on it any more.
            del _pools[other]
        _pools[loop] = pool
    return pool


class PooledSession:
    """The running loop's session for ``account`` and ``proxy``; not closed on exit. ``impersonate``
    (the setting) or the browser the account switched to picks curl_cffi's transport over aiohttp's.

    A class, not an ``@asynccontextmanager``: a generator-based context manager
    is itself an async generator, which ``shutdown_asyncgens()`` may close
    before the generator using it, and exiting it then fails.
    """

    __slots__ = ("_key", "_pool", "_session")

    def __init__(self, account: str = "", proxy: str | None = None, impersonate: str = "") -> None:
        self._key: _Key = (account, proxy, browser_for(impersonate, account))
        self._pool: _LoopPool | None = None
        self._session: Session | None = None

    async def __aenter__(self) -> Session:
        loop = asyncio.get_running_loop()
        pool = _pools.get(loop) or await _pool_for(loop)  # (a dict look-up, but the first time)
        if pool is None or pool.closed:
            self._session = _new_session(self._key[2])  # one-off
            return self._session
        self._pool = pool
        session = pool.acquire(self._key)
        if len(pool.sessions) > MAX_SESSIONS_PER_LOOP:
            try:
                await pool.evict_idle()
            except BaseException:
                pool.release(self._key)
                self._pool = None
                raise
        return session

    async def __aexit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.release(self._key)
            self._pool = None
        elif self._session is not None:
            session, self._session = self._session, None
            await session.close()
