"""The HTTP calls to Hailuo, over a caller-owned (usually pooled) aiohttp session.

Errors come out as g4f errors with short messages; the token is sent only in
the ``token`` header and never appears in an error text. Timeouts are set per
request, since a pooled session serves requests with different settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import string
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from g4f import debug
from g4f.errors import G4FError, ResponseError, ResponseStatusError
from g4f.errors import TimeoutError as G4FTimeoutError
from yarl import URL

from ._config import Settings
from ._errors import describe_body, error_for_code, error_for_status, status_code
from ._identity import Identity
from ._request import request_headers, signed_target
from ._sessions import request_timeout
from ._signing import chat_body_segment, json_body_segment

__all__ = [
    "CHAT_PATH",
    "ChatStream",
    "ReadWatchdog",
    "backoff_seconds",
    "call_json",
    "chat_body",
    "fetch_user_info",
    "finish_body",
    "register_device",
    "transport_error",
]

CHAT_PATH = "/v4/api/chat/msg"
USER_INFO_PATH = "/v1/api/user/info"
DEVICE_REGISTER_PATH = "/v1/api/user/device/register"
_ERROR_BODY_LIMIT = 16 * 1024
_JSON_BODY_LIMIT = 1024 * 1024
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


def _url(settings: Settings, path_and_query: str) -> URL:
    # encoded=True: send the query exactly as signed, without re-quoting.
    return URL(settings.origin + path_and_query, encoded=True)


async def _read_body(response: aiohttp.ClientResponse, limit: int) -> bytes:
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


async def _send(
    settings: Settings, what: str, send: Callable[[], Awaitable[aiohttp.ClientResponse]]
) -> aiohttp.ClientResponse:
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


async def _raise_for_response(response: aiohttp.ClientResponse) -> None:
    body = await _read_body(response, _ERROR_BODY_LIMIT)
    excerpt, code = describe_body(body, response.headers.get("Content-Type", ""))
    raise error_for_status(response.status, excerpt, code, response.headers.get("Retry-After"))


async def call_json(
    session: aiohttp.ClientSession,
    settings: Settings,
    identity: Identity,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    with_device: bool = True,
) -> dict[str, Any]:
    """A signed JSON call; returns ``data`` of a ``statusInfo.code == 0`` reply."""
    body_text = json.dumps(body, ensure_ascii=False, separators=(",", ":")) if body is not None else None
    segment = json_body_segment(body_text)
    body_bytes = body_text.encode("utf-8") if body_text is not None else None
    timeout = request_timeout(settings.connect_timeout, settings.read_timeout)

    def send() -> Awaitable[aiohttp.ClientResponse]:
        # Signed afresh for every attempt: a new ``unix``.
        path_and_query, yy = signed_target(path, settings.region, identity, segment, with_device=with_device)
        headers = request_headers(settings.origin, identity, yy)
        if body_bytes is not None:
            headers["Content-Type"] = "application/json"
        url = _url(settings, path_and_query)
        return session.request(
            method, url, data=body_bytes, headers=headers, proxy=settings.proxy, timeout=timeout
        )

    response = await _send(settings, path, send)
    try:
        if response.status != 200:
            await _raise_for_response(response)
        raw = await _read_body(response, _JSON_BODY_LIMIT)
    finally:
        response.release()
    try:
        payload = json.loads(raw)
    except ValueError:
        excerpt, _ = describe_body(raw, response.headers.get("Content-Type", ""))
        raise ResponseError(f"Hailuo answered {path} with something that is not JSON: {excerpt}") from None
    status = payload.get("statusInfo") if isinstance(payload, dict) else None
    if not isinstance(status, dict):
        raise ResponseError(f"Hailuo answered {path} without a status")
    code = status_code(status)
    if code:
        raise error_for_code(code, str(status.get("message") or "")[:200])
    data = payload.get("data")
    return data if isinstance(data, dict) else {}


async def register_device(session: aiohttp.ClientSession, settings: Settings, identity: Identity) -> str:
    data = await call_json(
        session, settings, identity, "POST", DEVICE_REGISTER_PATH, {"uuid": identity.uuid}, with_device=False
    )
    device_id = str(data.get("deviceIDStr") or "")
    if not device_id.isdigit():
        raise ResponseError("Hailuo's device registration returned no device id")
    return device_id


async def fetch_user_info(
    session: aiohttp.ClientSession, settings: Settings, identity: Identity
) -> dict[str, Any]:
    data = await call_json(session, settings, identity, "GET", USER_INFO_PATH)
    info = data.get("userInfo")
    if not isinstance(info, dict):
        raise ResponseError("Hailuo's user/info returned no user")
    return info


_BOUNDARY_ALPHABET = string.ascii_letters + string.digits


def chat_body(character_id: str, prompt: str, chat_id: str) -> tuple[bytes, str]:
    """The message as a browser's ``multipart/form-data`` body: ``(body, content type)``.

    Built in one piece, so it goes out in one write (aiohttp's multipart writer
    makes about 17 small writes per message), and shaped like Chrome's: a
    ``----WebKitFormBoundary`` boundary and no per-field content type.
    """
    fields = (("characterID", character_id), ("msgContent", prompt), ("chatID", chat_id), ("searchMode", "0"))
    values = [(name, value.encode("utf-8")) for name, value in fields]
    while True:
        boundary = "----WebKitFormBoundary" + "".join(random.choices(_BOUNDARY_ALPHABET, k=16))
        marker = boundary.encode("ascii")
        if not any(marker in value for _, value in values):
            break
    parts = [
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (marker, name.encode(), value)
        for name, value in values
    ]
    parts.append(b"--%s--\r\n" % marker)
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class ChatStream:
    """POST the message; ``async with`` gives the 200 event-stream response.

    Failing to connect, a connection lost before any answer, and 5xx are
    retried (``settings.retries`` times, with backoff): the site has not
    accepted the message then. 4xx never is, and nothing is retried once the
    200 stream is handed over. On leaving, the connection goes back to the
    pool if the body was read to its end, and is closed at once otherwise.

    A class rather than an ``@asynccontextmanager``: that would be an async
    generator of its own, which ``loop.shutdown_asyncgens()`` may close before
    the provider's generator that is inside it, and leaving it then fails.
    """

    __slots__ = ("_character_id", "_chat_id", "_identity", "_prompt", "_response", "_session", "_settings")

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: Settings,
        identity: Identity,
        *,
        character_id: str,
        prompt: str,
        chat_id: str,
    ) -> None:
        self._session = session
        self._settings = settings
        self._identity = identity
        self._character_id = character_id
        self._prompt = prompt
        self._chat_id = chat_id
        self._response: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> aiohttp.ClientResponse:
        response = self._response = await self._post()
        try:
            if response.status != 200:
                await _raise_for_response(response)
            await _check_event_stream(response)
        except BaseException:
            self._response = None
            response.close()
            raise
        return response

    async def __aexit__(self, *exc_info: object) -> None:
        response, self._response = self._response, None
        if response is None:
            return
        if response.content.is_eof():
            response.release()  # back to the pool
        else:
            response.close()  # an unread body: the server sees the disconnect now

    def _post(self) -> Awaitable[aiohttp.ClientResponse]:
        settings, identity, chat_id = self._settings, self._identity, self._chat_id
        referer = f"{settings.origin}/?chat={chat_id}" if chat_id != "0" else None
        segment = chat_body_segment(self._character_id, self._prompt, chat_id)
        timeout = request_timeout(settings.connect_timeout, settings.read_timeout)

        body, content_type = chat_body(self._character_id, self._prompt, chat_id)

        def send() -> Awaitable[aiohttp.ClientResponse]:
            # Signed afresh for every attempt: a new ``unix``.
            path_and_query, yy = signed_target(CHAT_PATH, settings.region, identity, segment)
            headers = request_headers(settings.origin, identity, yy, referer=referer, stream=True)
            headers["Content-Type"] = content_type
            return self._session.post(
                _url(settings, path_and_query),
                data=body,
                headers=headers,
                proxy=settings.proxy,
                timeout=timeout,
            )

        return _send(settings, "chat message", send)


class ReadWatchdog:
    """The reply body's read timeout, with a handful of timers per reply.

    aiohttp's own (``sock_read``) cancels its timer and starts a new one on every
    network read: about 10 µs each, a fifth of the client's CPU on a reply of
    2,000 small frames (measured). Here a timer looks, a few times per ``limit``,
    whether bytes arrived since it last looked; when none did for ``limit``
    seconds the body fails with aiohttp's ``SocketTimeoutError``, as with
    ``sock_read``. Unlike there, bytes that arrived but were not read yet
    (``consumed`` is behind: a slow consumer) and a body that has ended are no
    stall. The response headers stay bounded by ``sock_read``.
    """

    __slots__ = ("_changed", "_content", "_handle", "_interval", "_limit", "_loop", "_seen", "consumed")

    CHECKS_PER_LIMIT = 4  # a stall is noticed after limit .. limit * (1 + 1/4) seconds

    def __init__(self, response: aiohttp.ClientResponse, limit: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._content = response.content
        self._limit = limit
        self._interval = max(limit / self.CHECKS_PER_LIMIT, 0.01)
        self._seen = self._content.total_bytes  # the body may have come with the headers
        self.consumed = 0  # bytes of the body the reader has taken
        self._changed = self._loop.time()
        connection = response.connection
        if connection is not None and connection.protocol is not None:
            connection.protocol.read_timeout = None  # aiohttp sets it again for the next request
            connection.protocol.start_timeout()  # with no timeout: cancels the one still running
        self._handle: asyncio.TimerHandle | None = self._loop.call_later(self._interval, self._check)

    def _check(self) -> None:
        if self._content.is_eof():
            self._handle = None
            return
        now = self._loop.time()
        received = self._content.total_bytes
        if received != self._seen or self.consumed < received:
            self._seen, self._changed = received, now
        elif now - self._changed >= self._limit:
            self._handle = None
            self._content.set_exception(aiohttp.SocketTimeoutError("Timeout on reading data from socket"))
            return
        self._handle = self._loop.call_later(self._interval, self._check)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


async def finish_body(response: aiohttp.ClientResponse) -> None:
    """Read what is left of the body after the end marker (a few bytes, usually
    already here), so that the connection can be reused; give up quickly."""
    content = response.content
    if content.is_eof():
        return
    left = _DRAIN_BYTES

    async def drain() -> None:
        nonlocal left
        while left > 0 and not content.at_eof():
            left -= len(await content.readany())

    # On failure the connection is closed instead of reused.
    with contextlib.suppress(asyncio.TimeoutError, aiohttp.ClientError):
        await asyncio.wait_for(drain(), _DRAIN_SECONDS)


async def _check_event_stream(response: aiohttp.ClientResponse) -> None:
    content_type = response.headers.get("Content-Type", "")
    if content_type.startswith("text/event-stream"):
        return
    body = await _read_body(response, _ERROR_BODY_LIMIT)
    excerpt, code = describe_body(body, content_type)
    if code:
        raise error_for_code(code, excerpt)
    if not body.strip():
        raise ResponseError("Hailuo sent an empty response instead of an answer")
    raise ResponseStatusError(
        f"Hailuo answered with {content_type or 'no content type'} instead of an event stream: {excerpt}"
    )


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
