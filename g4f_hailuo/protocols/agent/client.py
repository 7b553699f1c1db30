"""The signed calls to MiniMax Agent over a caller-owned (pooled) session (aiohttp's, or curl_cffi's).

Every call carries the 22-parameter query (the JWT in it), ``token``, ``x-timestamp``,
``x-signature`` and ``yy``, signed afresh on each attempt. Answers become g4f errors as
the protocol doc's table says (section 8); a URL in a message is an origin, never a query.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable
from typing import Any

from g4f.errors import (
    BadRequestError,
    G4FError,
    MissingAuthError,
    ResponseError,
    ResponseStatusError,
)

from g4f_hailuo._config import Settings
from g4f_hailuo._errors import error_for_status
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.protocols.agent.errors import base_resp_code, error_for_code
from g4f_hailuo.protocols.agent.signing import body_text, local_timezone_offset, query_template, sign_with
from g4f_hailuo.transport.base import Response, Session
from g4f_hailuo.transport.http import read_body, send_through, url_for
from g4f_hailuo.transport.sessions import request_timeout

__all__ = [
    "API",
    "ARCHON_API",
    "SESSION_APIS",
    "USER_INFO_PATH",
    "AgentSite",
    "GenCMissing",
    "NotConfigured",
    "SessionGone",
    "Unauthorized",
    "check_event_stream",
]

API = "/minimax-cloud/api/v1"  # Gen C
ARCHON_API = "/archon/api/v1"  # Gen B: Gen C's shapes under another prefix (account.probe tries it second)
SESSION_APIS = (API, ARCHON_API)
USER_INFO_PATH = "/v1/api/user/info"
CODE_NOT_CONFIGURED = 1400010501
_ERROR_BODY_LIMIT = 16 * 1024
_JSON_BODY_LIMIT = 4 * 1024 * 1024
_EXCERPT = 160
_TIMEZONE_OFFSET = local_timezone_offset()  # read once: the same for every request of the process


class Unauthorized(MissingAuthError):
    """HTTP 401 (the body is usually empty): a wrong realUserID, a region or geo fence, or a
    dead token. The caller re-checks the token with ``user/info`` before it retires anything;
    ``retire`` is False when that check passed (the account stays in the pool)."""

    retire = True

    @classmethod
    def keeping_account(cls) -> Unauthorized:
        error = cls(_UNAUTHORIZED.format(said=" although user/info accepts the token"))
        error.retire = False
        return error


class NotConfigured(ResponseStatusError):
    """HTTP 500 code 1400010501: the account was not initialised (``GET /config``)."""


class SessionGone(ResponseError):
    """A continuation's session is no longer there (a 4xx on its routes)."""


class GenCMissing(ResponseStatusError):
    """The session routes are missing for this account (HTML with 200, or a 404)."""


class AgentSite:
    """One account on one MiniMax Agent site, over ``session``."""

    __slots__ = ("identity", "session", "settings", "status")

    def __init__(self, session: Session, settings: Settings, identity: Identity) -> None:
        self.session = session
        self.settings = settings
        self.identity = identity
        self.status = 0  # the HTTP status of the last answer to ``call`` (0: none yet)

    def _signed(
        self, path: str, body: str | None, *, origin: str, with_user: bool = True, stream: bool = False
    ) -> tuple[Any, dict[str, str]]:
        """The URL and headers of one attempt: one clock reading for ``unix`` and the signature."""
        identity, settings = self.identity, self.settings
        template = query_template(
            settings.region,
            uuid=identity.uuid,
            device_id=identity.device_id or "",
            user_id=identity.real_user_id if with_user else None,
            token=identity.token,
            timezone_offset=_TIMEZONE_OFFSET,
        )
        now_ms = time.time_ns() // 1_000_000  # one clock reading: unix and x-timestamp
        signed = sign_with(template, path, body, now_ms, absolute_origin=origin if stream else "")
        headers = {
            "token": identity.token,
            **signed.headers,
            "Accept": "text/event-stream" if stream else "application/json, text/plain, */*",
            "User-Agent": identity.user_agent,
            "Origin": settings.origin,
            "Referer": settings.origin + "/",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        return url_for(origin, signed.path_and_query), headers

    def _send(
        self, method: str, path: str, body: str | None, *, with_user: bool = True, stream: bool = False
    ) -> Awaitable[Response]:
        settings = self.settings
        origin = settings.stream_origin if stream else settings.origin
        data = body.encode("utf-8") if body is not None else None
        timeout = request_timeout(settings.connect_timeout, settings.read_timeout)

        def attempt(session: Session) -> Awaitable[Response]:
            url, headers = self._signed(path, body, origin=origin, with_user=with_user, stream=stream)
            return session.request(
                method, url, data=data, headers=headers, proxy=settings.proxy, timeout=timeout
            )

        return send_through(settings, path, self.session, self.identity.account, attempt)

    async def call(
        self, method: str, path: str, payload: Any = None, *, with_user: bool = True
    ) -> dict[str, Any]:
        """A signed JSON call: the answer's object, its ``base_resp``/``statusInfo`` checked."""
        body = body_text(payload) if payload is not None else None
        response = await self._send(method, path, body, with_user=with_user)
        self.status = response.status
        try:
            if response.status != 200:
                await raise_for_response(response, path)
            raw = await read_body(response, _JSON_BODY_LIMIT)
        finally:
            response.release()
        content_type = response.headers.get("Content-Type", "")
        answer = _json_object(raw)
        if answer is None:
            if _looks_like_html(raw, content_type):
                if path.startswith(SESSION_APIS):
                    raise GenCMissing(f"MiniMax Agent answered {path} with its app page: {_MISSING}")
                raise ResponseStatusError(
                    f"MiniMax Agent answered {path} with its app page: the site does not serve this route"
                    " (check the base URL)"
                )
            excerpt = _excerpt(raw, content_type)
            raise ResponseError(f"MiniMax Agent answered {path} with something that is not JSON: {excerpt}")
        failed = base_resp_code(answer)
        if failed is not None:
            raise error_for_code(*failed)
        return answer

    async def open_stream(self, path: str, payload: Any) -> Response:
        """POST a turn on the stream origin; the 200 event-stream response (the caller closes it)."""
        response = await self._send("POST", path, body_text(payload), stream=True)
        try:
            if response.status != 200:
                await raise_for_response(response, path)
            await check_event_stream(response, path)
        except BaseException:
            response.close()
            raise
        return response


_MISSING = (
    "the site does not serve the MiniMax Agent session API to this account"
    " (check the base URL, or use protocol='matrix')"
)


def _json_object(raw: bytes) -> dict[str, Any] | None:
    """The JSON answer as an object; a bare JSON string comes as ``{"value": ...}``."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if isinstance(value, str):
        return {"value": value}
    return value if isinstance(value, dict) else None


def _looks_like_html(raw: bytes, content_type: str) -> bool:
    return "html" in content_type or raw.lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))


def _excerpt(raw: bytes, content_type: str) -> str:
    if _looks_like_html(raw, content_type):
        return "an HTML page"
    text = " ".join(raw[:4096].decode("utf-8", "replace").split())
    return text[:_EXCERPT] + "…" if len(text) > _EXCERPT else text or "an empty body"


_UNAUTHORIZED = (
    "MiniMax Agent answered HTTP 401{said}. Likely causes: the realUserID does not belong to this"
    " token (give <realUserID>+<token> from Local Storage user_detail_agent, or the bare token);"
    " the token is of the other region (region='cn' for agent.minimaxi.com) or the site's geo fence"
    " refuses this network (use a proxy); or the token expired (log in again)"
)


async def raise_for_response(response: Response, path: str) -> None:
    """Raise the g4f error for a status other than 200 (section 8)."""
    raw = await read_body(response, _ERROR_BODY_LIMIT)
    content_type = response.headers.get("Content-Type", "")
    status = response.status
    answer = _json_object(raw)
    failed = base_resp_code(answer) if answer is not None else None
    site_error = str(answer.get("error") or "") if answer is not None else ""
    excerpt = _excerpt(raw, content_type)
    error: G4FError
    if status == 401:
        said = f" ({excerpt})" if raw.strip() else " with an empty body"
        error = Unauthorized(_UNAUTHORIZED.format(said=said))
    elif status == 400 and "signature" in site_error.lower():
        error = BadRequestError(
            "MiniMax Agent refused the request signature (HTTP 400 invalid signature): check this"
            " machine's clock; if it is right, the site changed its signing and this package needs an update"
        )
    elif status == 400 and failed is not None:
        error = error_for_code(*failed)
        if not isinstance(error, BadRequestError):
            error = BadRequestError(str(error))
    elif status == 500 and failed is not None and failed[0] == CODE_NOT_CONFIGURED:
        error = NotConfigured(f"MiniMax Agent error {failed[0]}: {failed[1] or 'account not initialised'}")
    elif status == 404 and "session not found" in site_error.lower():
        error = SessionGone("MiniMax Agent no longer has this session")
    elif status == 404 and path.startswith(SESSION_APIS):
        error = GenCMissing(f"MiniMax Agent answered {path} with HTTP 404: {_MISSING}")
    else:
        code = failed[0] if failed is not None else None
        error = error_for_status(status, excerpt, code, response.headers.get("Retry-After"), "MiniMax Agent")
    raise error


async def check_event_stream(response: Response, path: str) -> None:
    """A 200 that is not an event stream is never an answer (an app page, a JSON error)."""
    content_type = response.headers.get("Content-Type", "")
    if content_type.startswith("text/event-stream"):
        return
    raw = await read_body(response, _ERROR_BODY_LIMIT)
    answer = _json_object(raw)
    failed = base_resp_code(answer) if answer is not None else None
    if failed is not None:
        raise error_for_code(*failed)
    if _looks_like_html(raw, content_type):
        raise GenCMissing(f"MiniMax Agent answered {path} with its app page: {_MISSING}")
    if not raw.strip():
        raise ResponseError("MiniMax Agent sent an empty response instead of an answer")
    raise ResponseStatusError(
        f"MiniMax Agent answered with {content_type or 'no content type'} instead of an event stream:"
        f" {_excerpt(raw, content_type)}"
    )
