"""HTTP shared by both protocols: retries with backoff, the reply body's read
watchdog, draining a finished body, and transport failures as g4f errors.

Errors come out as g4f errors with short messages; a URL in a message is an origin
only (the Agent protocol puts the token in every query).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import aiohttp
from g4f import debug
from g4f.errors import G4FError, ResponseError
from g4f.errors import TimeoutError as G4FTimeoutError
from yarl import URL

from g4f_hailuo._config import Settings
from g4f_hailuo.transport import base

__all__ = [
    "ReadWatchdog",
    "backoff_seconds",
    "finish_body",
    "read_body",
    "send_through",
    "send_with_retries",
    "transport_error",
    "url_for",
]

_RETRY_STATUSES = frozenset({500, 502, 503, 504})
BACKOFF_SECONDS = 0.5  # the first retry's delay; doubles for each further retry
BACKOFF_CAP_SECONDS = 8.0  # no single wait is longer
# After the end marker, the rest of the body (the chunked terminator) is read so
# the connection can go back to the pool; a body that goes on is cut instead.
_DRAIN_BYTES = 64 * 1024
_DRAIN_SECONDS = 0.25


def backoff_seconds(attempt: int) -> float:
    """The wait before retry ``attempt`` (1-based): exponential, capped, with
    jitter (75-100 %) so that many clients do not retry in step."""
    delay = min(BACKOFF_CAP_SECONDS, BACKOFF_SECONDS * 2 ** (attempt - 1))
    return delay * random.uniform(0.75, 1.0)


def url_for(origin: str, path_and_query: str) -> URL:
    # encoded=True: send the query exactly as signed, without re-quoting.
    return URL(origin + path_and_query, encoded=True)


async def read_body(response: base.Response, limit: int) -> bytes:
    """The body up to ``limit`` bytes (``read(n)`` alone may stop at a network chunk)."""
    parts: list[bytes] = []
    size = 0
    while size < limit:
        part = await response.content.read(limit - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


async def send_with_retries(
    settings: Settings, what: str, send: Callable[[], Awaitable[base.Response]]
) -> base.Response:
    """``send()``, retried (``settings.retries`` times, with backoff) when no
    answer came: the connection failed or broke before a status line, or the
    status is a 5xx. Timeouts are not retried (the caller's bound is the
    bound); nor is any other status: the caller decides what it means."""
    attempt = 0
    while True:
        try:
            response = await send()
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as error:
            if attempt >= settings.retries or isinstance(error, asyncio.TimeoutError):
                raise transport_error(settings, error) from error
            reason = type(error).__name__
        else:
            if response.status not in _RETRY_STATUSES or attempt >= settings.retries:
                return response
            response.close()
            reason = f"HTTP {response.status}"
        attempt += 1
        debug.log(f"HailuoAI: {what}: {reason}; retry {attempt} of {settings.retries}")
        await asyncio.sleep(backoff_seconds(attempt))


async def send_through(
    settings: Settings,
    what: str,
    session: base.Session,
    account: str,
    send: Callable[[base.Session], Awaitable[base.Response]],
) -> base.Response:
    """:func:`send_with_retries` of ``send(session)``; over aiohttp, a bot-protection page (403)
    is answered by sending once more as a browser (:mod:`.botwall`), and an account that met
    one goes out as a browser from then on."""
    plain = isinstance(session, aiohttp.ClientSession)
    if plain and base.remembered() and base.browser_for(settings.impersonate, account):
        from g4f_hailuo.transport import botwall

        return await botwall.through_browser(settings, what, account, send)
    response = await send_with_retries(settings, what, lambda: send(session))
    if response.status == 403 and plain and settings.impersonate != base.OFF:
        from g4f_hailuo.transport import botwall

        return await botwall.after_wall(settings, what, account, send, response)
    return response


class ReadWatchdog:
    """The reply body's read timeout, without a timer of its own.

    aiohttp's own (``sock_read``) cancels its timer and starts a new one on every
    network read: about 10 µs each, a fifth of the client's CPU on a reply of
    2,000 small frames (measured). Here one timer per event loop (:class:`_Ticker`) looks at
    every reply's body a few times per ``limit``: whether bytes arrived since it last looked;
    when none did for ``limit`` seconds the body fails with aiohttp's ``SocketTimeoutError``,
    as with ``sock_read``. Unlike there, bytes that arrived but were not read yet
    (``consumed`` is behind: a slow consumer) and a body that has ended are no
    stall. The response headers stay bounded by ``sock_read``.
    """

    __slots__ = ("_changed", "_content", "_limit", "_seen", "_ticker", "consumed")

    CHECKS_PER_LIMIT = 4  # a stall is noticed after limit .. limit * (1 + 1/4) seconds

    def __init__(self, response: base.Response, limit: float) -> None:
        self._content = response.content
        self._limit = limit
        self._seen = self._content.total_bytes  # the body may have come with the headers
        self.consumed = 0  # bytes of the body the reader has taken
        connection = response.connection
        if connection is not None and connection.protocol is not None:
            connection.protocol.read_timeout = None  # aiohttp sets it again for the next request
            connection.protocol.start_timeout()  # with no timeout: cancels the one still running
        ticker = _Ticker.of(asyncio.get_running_loop(), max(limit / self.CHECKS_PER_LIMIT, 0.01))
        self._changed = ticker.loop.time()
        self._ticker: _Ticker | None = ticker
        ticker.add(self)

    def looks(self, now: float) -> bool:
        """One look (by the ticker): whether to look again (not once the body ended or failed)."""
        if self._content.is_eof():
            return False
        received = self._content.total_bytes
        if received != self._seen or self.consumed < received:
            self._seen, self._changed = received, now
        elif now - self._changed >= self._limit:
            self._content.set_exception(aiohttp.SocketTimeoutError("Timeout on reading data from socket"))
            return False
        return True

    def cancel(self) -> None:
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.drop(self)


class _Ticker:
    """One timer for the watchdogs of one event loop that look every ``interval`` seconds (a
    timer per reply costs more than the look: the loop's heap of timers grows with the replies
    streaming at once). It runs while it has watchdogs, and leaves the registry with the last
    one, so that no loop is kept (g4f's synchronous calls make one per call)."""

    __slots__ = ("_handle", "_key", "interval", "loop", "watchdogs")

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self.loop, self.interval = loop, interval
        self._key = (loop, interval)
        self.watchdogs: set[ReadWatchdog] = set()
        self._handle: asyncio.TimerHandle | None = None

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop, interval: float) -> _Ticker:
        ticker = _tickers.get((loop, interval))
        if ticker is None:
            for key in [key for key in list(_tickers) if key[0].is_closed()]:  # (other threads add)
                _tickers.pop(key, None)  # a loop closed while bodies were streaming: nothing to look at
            ticker = _tickers.setdefault((loop, interval), cls(loop, interval))
        return ticker

    def add(self, watchdog: ReadWatchdog) -> None:
        self.watchdogs.add(watchdog)
        if self._handle is None:
            self._handle = self.loop.call_later(self.interval, self._tick)

    def drop(self, watchdog: ReadWatchdog) -> None:
        self.watchdogs.discard(watchdog)
        if not self.watchdogs:
            if self._handle is not None:
                self._handle.cancel()
                self._handle = None
            if _tickers.get(self._key) is self:
                _tickers.pop(self._key, None)

    def _tick(self) -> None:
        self._handle = None
        now = self.loop.time()
        for watchdog in list(self.watchdogs):
            try:
                going = watchdog.looks(now)
            except Exception as error:  # that body loses its read timeout, not the others
                debug.log(f"HailuoAI: the read timeout of a reply stopped: {type(error).__name__}")
                going = False
            if not going:
                watchdog.cancel()
        if self.watchdogs:
            self._handle = self.loop.call_later(self.interval, self._tick)


# (loop, interval) -> its ticker; loops run in several threads (g4f's sync calls, the GUI),
# and each touches only its own tickers.
_tickers: dict[tuple[asyncio.AbstractEventLoop, float], _Ticker] = {}


async def finish_body(response: base.Response) -> None:
    """Read what is left of the body after the end marker (a few bytes, usually
    already here), so that the connection can be reused; give up quickly."""
    content = response.content
    if content.is_eof():
        return
    # A timer that fails the body, not ``wait_for``: that makes a task per reply, and about
    # one reply in four gets here (the chunked terminator is still on its way).
    timer = asyncio.get_running_loop().call_later(
        _DRAIN_SECONDS, content.set_exception, aiohttp.SocketTimeoutError("the body did not end")
    )
    left = _DRAIN_BYTES
    try:  # on failure the connection is closed instead of reused
        while left > 0 and not content.at_eof():
            left -= len(await content.readany())
    except (asyncio.TimeoutError, aiohttp.ClientError):
        pass
    finally:
        timer.cancel()


def transport_error(settings: Settings, error: BaseException, received: int | None = None) -> G4FError:
    """A transport failure as a g4f error: before any answer (``received`` is None),
    or while reading one, after ``received`` characters of the reply arrived."""
    name = type(error).__name__
    if received is None:
        if isinstance(error, aiohttp.ConnectionTimeoutError):
            return G4FTimeoutError(
                f"Could not connect to Hailuo at {settings.origin} within {settings.connect_timeout:g} s"
            )
        if isinstance(error, asyncio.TimeoutError):
            return G4FTimeoutError(
                f"Hailuo at {settings.origin} did not answer within {settings.read_timeout:g} s"
            )
        return ResponseError(f"Cannot reach Hailuo at {settings.origin} ({name})")
    if isinstance(error, asyncio.TimeoutError):
        return G4FTimeoutError(
            f"Hailuo at {settings.origin} sent nothing for {settings.read_timeout:g} s"
            + (f" after {received} characters: the answer is incomplete" if received else "")
        )
    if received:
        return ResponseError(
            f"The connection to Hailuo broke after {received} characters ({name}): the answer is incomplete"
        )
    return ResponseError(f"The connection to Hailuo at {settings.origin} failed ({name})")
