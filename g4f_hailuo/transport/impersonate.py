"""The browser-grade transport: curl_cffi with a browser's TLS and HTTP/2 fingerprint.

Optional (the ``impersonate`` extra): this module is imported only when an account goes out as
a browser (``impersonate=chrome``, or after a bot-protection page). It presents the seam of
:mod:`g4f_hailuo.transport.base` so that everything above it is the transport-blind code that
serves aiohttp:

- the body is an aiohttp ``StreamReader`` fed from curl's stream by a task of its own, so the
  read watchdog, reading up to N bytes, iterating chunks and draining are aiohttp's;
- curl's failures become aiohttp's exceptions (a connect timeout ``ConnectionTimeoutError``, a
  stall ``SocketTimeoutError``, a refused or dropped connection before the answer a
  ``ClientConnectionError``, a body cut short ``ClientPayloadError``), so retries and the g4f
  errors are the same;
- timeouts: curl bounds connecting (``connect``) and, with its low-speed check, the wait for the
  headers (``read``, whole seconds), as aiohttp's ``sock_connect``/``sock_read`` do; the body's
  waits are the watchdog's;
- cancellation and ``close()`` take the transfer out of curl at once (the connection is cut, as
  aiohttp's ``close()`` does); a body read to its end leaves the connection in curl's cache;
- the query goes out exactly as signed (``quote=False``: no re-encoding).

Unlike aiohttp's sessions, a curl session keeps the cookies its site sets (Cloudflare's
``__cf_bm``, Akamai's ``ak_bmsc``): each session serves one account through one proxy, and
such cookies are what a browser would send back.
"""

from __future__ import annotations

import asyncio
import contextvars
import typing
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

import aiohttp
from g4f.errors import BadRequestError, MissingRequirementsError
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from g4f_hailuo.transport.base import body_reader

__all__ = ["CurlResponse", "CurlSession", "available", "check_browser", "translate_error"]

INSTALL = 'pip install "g4f-hailuo[impersonate]"'
MAX_CLIENTS = 64  # concurrent requests per session (curl handles); one account rarely has two
MAX_REDIRECTS = 10  # aiohttp's default
# The curl handles a request took, so that a cancelled request can take its transfer out of curl.
_handles: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("hailuo_curl", default=None)


@cache
def available() -> bool:
    """Whether the ``impersonate`` extra (curl_cffi) is installed and loads."""
    try:
        import curl_cffi.requests  # noqa: F401
    except ImportError:  # also a curl_cffi that cannot load its library (an OSError is not caught)
        return False
    return True


def _requests() -> Any:
    if not available():
        raise MissingRequirementsError(
            f"impersonate needs curl_cffi: {INSTALL} (or leave impersonate/HAILUOAI_IMPERSONATE unset)"
        )
    import curl_cffi.requests

    return curl_cffi.requests


@cache
def check_browser(browser: str) -> str:
    """``browser`` if curl_cffi can impersonate it, else a ``BadRequestError`` naming a few."""
    impersonate = _requests().impersonate
    known = typing.get_args(getattr(impersonate, "BrowserTypeLiteral", None)) or ()
    if known and browser not in known:
        raise BadRequestError(
            f"impersonate={browser!r} is not a browser curl_cffi knows: use chrome, edge, safari, firefox"
            " or a version such as chrome124"
        )
    return browser


def _session_class() -> type[Any]:
    base_class: Any = _requests().AsyncSession

    class _Session(base_class):
        async def pop_curl(self) -> Any:
            curl = await super().pop_curl()
            handles = _handles.get()
            if handles is not None:
                handles.append(curl)
            return curl

    return _Session


_session_type = cache(_session_class)


class CurlSession:
    """One curl_cffi ``AsyncSession`` impersonating ``browser`` (see :class:`base.Session`)."""

    __slots__ = ("_session", "browser")

    def __init__(self, browser: str) -> None:
        _requests()  # the extra is there (or MissingRequirementsError)
        self.browser = check_browser(browser)
        self._session = _session_type()(impersonate=self.browser, max_clients=MAX_CLIENTS)

    @property
    def closed(self) -> bool:
        return bool(self._session._closed)

    async def close(self) -> None:
        await self._session.close()

    async def request(
        self,
        method: str,
        url: URL,
        *,
        data: bytes | None,
        headers: dict[str, str],
        proxy: str | None,
        timeout: aiohttp.ClientTimeout,
    ) -> CurlResponse:
        errors = _requests().exceptions
        connect = timeout.sock_connect or 300.0
        read = timeout.sock_read or 0.0
        handles: list[Any] = []
        token = _handles.set(handles)
        sending = self._session.request(
            method,
            str(url),  # a URL made with encoded=True: the signed text as it is
            data=data,
            headers=headers,
            proxy=proxy,
            # curl_cffi streams with CONNECTTIMEOUT = the first and a low-speed bound (below 1 byte/s)
            # over the sum: that sum is ``read``, aiohttp's bound on a wait for data.
            timeout=(connect, read - connect - 1e-6) if read else (connect, 0.0),
            stream=True,
            quote=False,
            allow_redirects=True,
            max_redirects=MAX_REDIRECTS,
        )
        try:
            # curl's speed check looks at the last seconds of the upload too, and curl does not say when
            # the connection is up: the wait for the headers is bounded by connect + read in all.
            raw = await asyncio.wait_for(sending, connect + read if read else None)
        except asyncio.TimeoutError:
            self._abort(handles)
            raise aiohttp.SocketTimeoutError("Timeout on reading data from socket") from None
        except errors.ImpersonateError as error:
            raise BadRequestError(f"curl_cffi cannot impersonate {self.browser!r}") from error
        except errors.RequestException as error:
            raise translate_error(error, answered=False) from error
        except BaseException:
            self._abort(handles)  # cancelled (or a timeout above) while waiting for the headers
            raise
        finally:
            _handles.reset(token)
        return CurlResponse(raw, self)

    def post(self, url: URL, **options: Any) -> Awaitable[CurlResponse]:
        return self.request("POST", url, **options)

    def _abort(self, handles: list[Any]) -> None:
        """Take still running transfers out of curl: their connections close."""
        acurl = self._session._acurl
        running = getattr(acurl, "_curl2future", None)
        for curl in handles:
            if acurl is not None and (running is None or curl in running):
                acurl.remove_handle(curl)


class CurlResponse:
    """A curl_cffi streamed response as a :class:`base.Response`; the body is fed to ``content``."""

    __slots__ = ("_finished", "_on_done", "_pump", "_raw", "_session", "content", "headers", "status")

    connection = None  # no aiohttp connection: the watchdog alone bounds the body's waits

    def __init__(self, raw: Any, session: CurlSession) -> None:
        self._raw = raw
        self._session = session
        self.status: int = raw.status_code
        self.headers: CIMultiDictProxy[str] = CIMultiDictProxy(
            CIMultiDict((name, value or "") for name, value in raw.headers.multi_items())
        )
        self.content = body_reader()
        self._finished = False
        self._on_done: list[Callable[[], Awaitable[None]]] = []
        self._pump = asyncio.get_running_loop().create_task(self._feed())

    def on_done(self, callback: Callable[[], Awaitable[None]]) -> None:
        """``await callback()`` once the body ended or the response was closed."""
        self._on_done.append(callback)
        if self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._after())

    async def _feed(self) -> None:
        content = self.content
        try:
            async for chunk in self._raw.aiter_content():
                content.feed_data(chunk)
            self._finished = True
            content.feed_eof()
        except asyncio.CancelledError:
            content.set_exception(aiohttp.ClientConnectionError("Connection closed"))
            raise
        except Exception as error:  # curl's failure (or a bug here): never a body that hangs
            self._finished = True
            content.set_exception(translate_error(error, answered=True))
        finally:
            if not self._finished:
                task = self._raw.astream_task
                if task is not None and not task.done():
                    self._session._abort([self._raw.curl])
            await self._after()

    async def _after(self) -> None:
        callbacks, self._on_done = self._on_done, []
        for callback in callbacks:
            await callback()

    def release(self) -> None:
        self.close()  # a body read to its end: curl keeps the connection; else it is cut

    def close(self) -> None:
        if not self._pump.done():
            self._pump.cancel()


def translate_error(error: BaseException, *, answered: bool) -> aiohttp.ClientError:
    """curl_cffi's failure as the aiohttp exception aiohttp raises for the same event: before the
    answer (``answered`` False) or while reading its body. The text names curl's code only (curl's
    message may name the host)."""
    errors = _requests().exceptions
    code = getattr(error, "code", 0)
    text = f"curl error {int(code or 0)} ({type(error).__name__})"
    message = str(error)
    if isinstance(error, errors.Timeout):
        if not answered and ("onnect" in message or "esolving" in message):
            return aiohttp.ConnectionTimeoutError(text)
        return aiohttp.SocketTimeoutError(text)
    if answered:
        return aiohttp.ClientPayloadError(f"Response payload is not completed: {text}")
    if isinstance(error, errors.ConnectionError) and code in _DISCONNECTS:
        return aiohttp.ServerDisconnectedError(text)
    return aiohttp.ClientOSError(0, text)


_DISCONNECTS = frozenset({52, 55, 56})  # GOT_NOTHING, SEND_ERROR, RECV_ERROR: the server hung up
