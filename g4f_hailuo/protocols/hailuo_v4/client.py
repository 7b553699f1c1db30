"""The HTTP calls to Hailuo, over a caller-owned (usually pooled) session (aiohttp's, or curl_cffi's).

Errors come out as g4f errors with short messages; the token is sent only in
the ``token`` header and never appears in an error text. Timeouts are set per
request, since a pooled session serves requests with different settings.
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Awaitable
from typing import Any

from g4f.errors import ResponseError, ResponseStatusError

from g4f_hailuo._config import Settings
from g4f_hailuo._errors import describe_body, error_for_code, error_for_status, status_code
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.protocols.hailuo_v4.request import request_headers, signed_target
from g4f_hailuo.protocols.hailuo_v4.signing import chat_body_segment, json_body_segment
from g4f_hailuo.transport.base import Response, Session
from g4f_hailuo.transport.http import read_body, send_through, url_for
from g4f_hailuo.transport.sessions import request_timeout

__all__ = [
    "CHAT_PATH",
    "ChatStream",
    "call_json",
    "chat_body",
    "fetch_user_info",
    "register_device",
]

CHAT_PATH = "/v4/api/chat/msg"
USER_INFO_PATH = "/v1/api/user/info"
DEVICE_REGISTER_PATH = "/v1/api/user/device/register"
_ERROR_BODY_LIMIT = 16 * 1024
_JSON_BODY_LIMIT = 1024 * 1024


async def _raise_for_response(response: Response) -> None:
    body = await read_body(response, _ERROR_BODY_LIMIT)
    excerpt, code = describe_body(body, response.headers.get("Content-Type", ""))
    raise error_for_status(response.status, excerpt, code, response.headers.get("Retry-After"))


async def call_json(
    session: Session,
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

    def send(session: Session) -> Awaitable[Response]:
        # Signed afresh for every attempt: a new ``unix``.
        path_and_query, yy = signed_target(path, settings.region, identity, segment, with_device=with_device)
        headers = request_headers(settings.origin, identity, yy)
        if body_bytes is not None:
            headers["Content-Type"] = "application/json"
        url = url_for(settings.origin, path_and_query)
        return session.request(
            method, url, data=body_bytes, headers=headers, proxy=settings.proxy, timeout=timeout
        )

    response = await send_through(settings, path, session, identity.account, send)
    try:
        if response.status != 200:
            await _raise_for_response(response)
        raw = await read_body(response, _JSON_BODY_LIMIT)
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


async def register_device(session: Session, settings: Settings, identity: Identity) -> str:
    data = await call_json(
        session, settings, identity, "POST", DEVICE_REGISTER_PATH, {"uuid": identity.uuid}, with_device=False
    )
    device_id = str(data.get("deviceIDStr") or "")
    if not device_id.isdigit():
        raise ResponseError("Hailuo's device registration returned no device id")
    return device_id


async def fetch_user_info(session: Session, settings: Settings, identity: Identity) -> dict[str, Any]:
    data = await call_json(session, settings, identity, "GET", USER_INFO_PATH)
    info = data.get("userInfo")
    if not isinstance(info, dict):
        raise ResponseError("Hailuo's user/info returned no user")
    return info


# Random bytes to boundary characters (Chrome's alphabet) in C: ``random.choices`` costs
# ten times as much per message.
_TO_BOUNDARY = bytes((string.ascii_letters + string.digits).encode()[n % 62] for n in range(256))


def chat_body(character_id: str, prompt: str, chat_id: str) -> tuple[bytes, str]:
    """The message as a browser's ``multipart/form-data`` body: ``(body, content type)``.

    Built in one piece, so it goes out in one write (aiohttp's multipart writer
    makes about 17 small writes per message), and shaped like Chrome's: a
    ``----WebKitFormBoundary`` boundary and no per-field content type.
    """
    fields = (("characterID", character_id), ("msgContent", prompt), ("chatID", chat_id), ("searchMode", "0"))
    values = [(name, value.encode("utf-8")) for name, value in fields]
    while True:
        boundary = "----WebKitFormBoundary" + os.urandom(16).translate(_TO_BOUNDARY).decode("ascii")
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
        session: Session,
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
        self._response: Response | None = None

    async def __aenter__(self) -> Response:
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

    def _post(self) -> Awaitable[Response]:
        settings, identity, chat_id = self._settings, self._identity, self._chat_id
        referer = f"{settings.origin}/?chat={chat_id}" if chat_id != "0" else None
        segment = chat_body_segment(self._character_id, self._prompt, chat_id)
        timeout = request_timeout(settings.connect_timeout, settings.read_timeout)

        body, content_type = chat_body(self._character_id, self._prompt, chat_id)

        def send(session: Session) -> Awaitable[Response]:
            # Signed afresh for every attempt: a new ``unix``.
            path_and_query, yy = signed_target(CHAT_PATH, settings.region, identity, segment)
            headers = request_headers(settings.origin, identity, yy, referer=referer, stream=True)
            headers["Content-Type"] = content_type
            url = url_for(settings.origin, path_and_query)
            return session.request(
                "POST", url, data=body, headers=headers, proxy=settings.proxy, timeout=timeout
            )

        return send_through(settings, "chat message", self._session, identity.account, send)


async def _check_event_stream(response: Response) -> None:
    content_type = response.headers.get("Content-Type", "")
    if content_type.startswith("text/event-stream"):
        return
    body = await read_body(response, _ERROR_BODY_LIMIT)
    excerpt, code = describe_body(body, content_type)
    if code:
        raise error_for_code(code, excerpt)
    if not body.strip():
        raise ResponseError("Hailuo sent an empty response instead of an answer")
    raise ResponseStatusError(
        f"Hailuo answered with {content_type or 'no content type'} instead of an event stream: {excerpt}"
    )
