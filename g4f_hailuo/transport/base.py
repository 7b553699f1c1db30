"""The transport seam: what the protocol clients use of a session and of a response.

aiohttp's ``ClientSession`` and ``ClientResponse`` satisfy these protocols as they are (the
default transport pays nothing for the seam); the browser-grade transport
(:mod:`g4f_hailuo.transport.impersonate`, curl_cffi) implements them. A response's body is an
aiohttp ``StreamReader`` on both, so reading it, its read watchdog and draining it are one code
path; failures come out as aiohttp's exceptions on both, so retries and the mapping to g4f
errors (:func:`g4f_hailuo.transport.http.transport_error`) are one code path too.

Which accounts go out through a browser's fingerprint is remembered here for the process:
an account that met a bot-protection page keeps the browser transport.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from typing import Any, Protocol

import aiohttp
from aiohttp.base_protocol import BaseProtocol
from yarl import URL

from g4f_hailuo._config import DEFAULT_BROWSER
from g4f_hailuo._config import IMPERSONATE_OFF as OFF

__all__ = [
    "DEFAULT_BROWSER",
    "OFF",
    "Response",
    "Session",
    "body_reader",
    "browser_for",
    "remember_browser",
    "remembered",
]

_BODY_LIMIT = 2**16  # a StreamReader's buffer limit (aiohttp's default)


class Response(Protocol):
    """An answer whose status line and headers arrived; the body streams in ``content``."""

    status: int
    content: aiohttp.StreamReader

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def connection(self) -> Any: ...  # aiohttp's connection (its read timer); None elsewhere

    def release(self) -> Any: ...  # done: a connection whose body was read is reused

    def close(self) -> None: ...  # done at once: an unread body cuts the connection


class Session(Protocol):
    """A keep-alive session (one per event loop, account, proxy and transport)."""

    @property
    def closed(self) -> bool: ...

    def request(
        self,
        method: str,
        url: URL,
        *,
        data: bytes | None,
        headers: dict[str, str],
        proxy: str | None,
        timeout: aiohttp.ClientTimeout,
    ) -> Awaitable[Response]: ...

    def post(
        self,
        url: URL,
        *,
        data: bytes | None,
        headers: dict[str, str],
        proxy: str | None,
        timeout: aiohttp.ClientTimeout,
    ) -> Awaitable[Response]: ...

    async def close(self) -> None: ...


class _Fed(BaseProtocol):
    """The protocol of a body fed by hand: never paused (there is no socket to pause), and
    connected until the body ends or fails (a reader waiting on it is woken then)."""

    @property
    def connected(self) -> bool:
        return True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self, *args: object, **kwargs: object) -> None:
        pass


def body_reader(data: bytes = b"", *, ended: bool = False) -> aiohttp.StreamReader:
    """An aiohttp body not fed by an aiohttp connection: fed by hand (``feed_data``, ``feed_eof``),
    optionally holding ``data`` already (and ended)."""
    loop = asyncio.get_running_loop()
    reader = aiohttp.StreamReader(_Fed(loop), _BODY_LIMIT, loop=loop)
    if data:
        reader.feed_data(data)
    if ended:
        reader.feed_eof()
    return reader


_browsers: dict[str, str] = {}  # account -> the browser it goes out as (after a bot-protection page)


def remembered() -> bool:
    """Whether any account switched to the browser transport (the fast path asks only this)."""
    return bool(_browsers)


def remember_browser(account: str, browser: str) -> None:
    _browsers[account] = browser


def browser_for(impersonate: str, account: str) -> str:
    """The browser ``account``'s requests impersonate ("" for aiohttp): the setting's, else the
    one remembered for the account (unless the setting is ``off``)."""
    if impersonate == OFF:
        return ""
    return impersonate or _browsers.get(account, "")


def forget_browsers() -> None:
    """Tests: no account remembers a browser."""
    _browsers.clear()
