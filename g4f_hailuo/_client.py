"""The HTTP calls to Hailuo, over a caller-owned aiohttp session.

Errors come out as g4f errors with short messages; the token is sent only in
the ``token`` header and never appears in an error text.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from g4f import debug
from g4f.errors import ResponseError, ResponseStatusError
from yarl import URL

from ._config import Settings
from ._errors import describe_body, error_for_code, error_for_status
from ._identity import Identity
from ._request import request_headers, signed_target
from ._signing import chat_body_segment, json_body_segment

__all__ = ["CHAT_PATH", "call_json", "fetch_user_info", "open_chat_stream", "register_device"]

CHAT_PATH = "/v4/api/chat/msg"
USER_INFO_PATH = "/v1/api/user/info"
DEVICE_REGISTER_PATH = "/v1/api/user/device/register"
_ERROR_BODY_LIMIT = 16 * 1024
_JSON_BODY_LIMIT = 1024 * 1024
_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_BACKOFF_SECONDS = 0.5


def _url(settings: Settings, path_and_query: str) -> URL:
    # encoded=True: send the query exactly as signed, without re-quoting.
    return URL(settings.origin + path_and_query, encoded=True)


async def _raise_for_response(response: aiohttp.ClientResponse) -> None:
    body = await response.content.read(_ERROR_BODY_LIMIT)
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
    path_and_query, yy = signed_target(
        path, settings.region, identity, json_body_segment(body_text), with_device=with_device
    )
    headers = request_headers(settings.origin, identity, yy)
    if body_text is not None:
        headers["Content-Type"] = "application/json"
    async with session.request(
        method,
        _url(settings, path_and_query),
        data=body_text.encode("utf-8") if body_text is not None else None,
        headers=headers,
        proxy=settings.proxy,
    ) as response:
        if response.status != 200:
            await _raise_for_response(response)
        raw = await response.content.read(_JSON_BODY_LIMIT)
    try:
        payload = json.loads(raw)
    except ValueError:
        excerpt, _ = describe_body(raw, response.headers.get("Content-Type", ""))
        raise ResponseError(f"Hailuo answered {path} with something that is not JSON: {excerpt}") from None
    status = payload.get("statusInfo") if isinstance(payload, dict) else None
    if not isinstance(status, dict):
        raise ResponseError(f"Hailuo answered {path} without a status")
    if status.get("code"):
        raise error_for_code(status["code"], str(status.get("message") or "")[:200])
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


def _chat_form(character_id: str, prompt: str, chat_id: str) -> aiohttp.FormData:
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("characterID", character_id)
    form.add_field("msgContent", prompt)
    form.add_field("chatID", chat_id)
    form.add_field("searchMode", "0")
    return form


@asynccontextmanager
async def open_chat_stream(
    session: aiohttp.ClientSession,
    settings: Settings,
    identity: Identity,
    *,
    character_id: str,
    prompt: str,
    chat_id: str,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """POST the message; yields the 200 event-stream response.

    Connection failures and 5xx are retried (``settings.retries`` times, with
    backoff): the site has not accepted the message then. 4xx never is.
    """
    referer = f"{settings.origin}/?chat={chat_id}" if chat_id != "0" else None
    segment = chat_body_segment(character_id, prompt, chat_id)
    attempt = 0
    while True:
        path_and_query, yy = signed_target(CHAT_PATH, settings.region, identity, segment)
        headers = request_headers(settings.origin, identity, yy, referer=referer, stream=True)
        try:
            response = await session.post(
                _url(settings, path_and_query),
                data=_chat_form(character_id, prompt, chat_id),
                headers=headers,
                proxy=settings.proxy,
            )
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as error:
            if attempt < settings.retries and not isinstance(error, aiohttp.ServerTimeoutError):
                attempt += 1
                debug.log(f"HailuoAI: {type(error).__name__} before the reply; retry {attempt}")
                await asyncio.sleep(_BACKOFF_SECONDS * 2 ** (attempt - 1))
                continue
            raise _connection_error(settings, error) from error
        if response.status in _RETRY_STATUSES and attempt < settings.retries:
            response.release()
            attempt += 1
            debug.log(f"HailuoAI: HTTP {response.status} before the reply; retry {attempt}")
            await asyncio.sleep(_BACKOFF_SECONDS * 2 ** (attempt - 1))
            continue
        try:
            if response.status != 200:
                await _raise_for_response(response)
            await _check_event_stream(response)
            yield response
        finally:
            response.release()
        return


async def _check_event_stream(response: aiohttp.ClientResponse) -> None:
    content_type = response.headers.get("Content-Type", "")
    if content_type.startswith("text/event-stream"):
        return
    body = await response.content.read(_ERROR_BODY_LIMIT)
    excerpt, code = describe_body(body, content_type)
    if code:
        raise error_for_code(code, excerpt)
    if not body.strip():
        raise ResponseError("Hailuo sent an empty response instead of an answer")
    raise ResponseStatusError(
        f"Hailuo answered with {content_type or 'no content type'} instead of an event stream: {excerpt}"
    )


def _connection_error(settings: Settings, error: Exception) -> Exception:
    if isinstance(error, asyncio.TimeoutError):
        from g4f.errors import TimeoutError as G4FTimeoutError

        return G4FTimeoutError(
            f"Hailuo at {settings.origin} did not answer within {settings.read_timeout:g} s"
        )
    reason = type(error).__name__
    return ResponseError(f"Cannot reach Hailuo at {settings.origin} ({reason})")
