"""Reading a streamed reply body, shared by both protocols.

A reader (bytes in, g4f chunks out: the ``/v4`` ``ReplyReader`` or the Agent ``TurnReader``)
is fed every network read. The body's read timeout is one watchdog per reply; *progress*
has a deadline of its own, since heartbeats alone keep the bytes coming. A transport failure
after the answer was already whole (``reader.complete``) loses nothing and is no error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

import aiohttp
from g4f import debug
from g4f.errors import TimeoutError as G4FTimeoutError

from g4f_hailuo.transport import base
from g4f_hailuo.transport.http import ReadWatchdog, finish_body

__all__ = ["BodyReader", "keep_alives_only", "read_reply"]


class BodyReader(Protocol):
    """What :func:`read_reply` needs of a protocol's reader."""

    @property
    def ended(self) -> bool: ...  # an end marker arrived: stop reading

    @property
    def complete(self) -> bool: ...  # the answer is whole even if the body breaks now

    @property
    def progressed(self) -> bool: ...  # the last feed carried something besides keep-alives

    @property
    def text_length(self) -> int: ...  # characters of answer yielded so far

    def feed(self, data: bytes) -> Iterator[Any]: ...

    def close(self) -> Iterator[Any]: ...


def keep_alives_only(site: str, origin: str, read_timeout: float, received: int) -> G4FTimeoutError:
    """The error of a reply that sent nothing but keep-alives for ``read_timeout`` seconds."""
    return G4FTimeoutError(
        f"{site} at {origin} sent only keep-alive frames for {read_timeout:g} s"
        + (f" after {received} characters: the answer is incomplete" if received else "")
    )


async def read_reply(
    response: base.Response, reader: BodyReader, read_timeout: float, site: str, origin: str
) -> AsyncIterator[Any]:
    """The reply's g4f chunks; aiohttp and asyncio timeouts pass through to the caller. ``site``
    and ``origin`` name the site in a timeout's message."""
    watchdog = ReadWatchdog(response, read_timeout)  # bounds each wait for data
    clock = asyncio.get_running_loop().time
    last_progress = clock()
    try:
        # The hot loop: keep it linear in the bytes and free of per-chunk extras.
        async for data in response.content.iter_any():
            watchdog.consumed += len(data)
            progressed = False
            for chunk in reader.feed(data):
                progressed = True
                yield chunk
            if reader.ended:
                break
            now = clock()
            if progressed or reader.progressed:
                last_progress = now
            elif now - last_progress > read_timeout:
                raise keep_alives_only(site, origin, read_timeout, reader.text_length)
    except (asyncio.TimeoutError, aiohttp.ClientError) as error:
        if not reader.complete:
            raise
        debug.log(f"HailuoAI: {type(error).__name__} after the final message; answer complete")
    finally:
        watchdog.cancel()
    try:
        for chunk in reader.close():
            yield chunk
    except Exception:
        # The turn's own error (out of credits, say) after its end marker: the exchange is
        # whole, so its body's end is read too (the connection is reused, a recording whole).
        if reader.ended:
            await finish_body(response)
        raise
    if reader.ended:  # after the last chunk: read the body's end, to reuse the connection
        await finish_body(response)
