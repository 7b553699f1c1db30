"""The small HTTP pieces both fake sites share: the request record, the response builders, the JWT.

:class:`RecordedRequest` is one request as a fake saw it (its :class:`Headers` ignore the case of
names); :func:`json_response`, :func:`html_response` and :func:`http_response` (a planned
:class:`~g4f_hailuo.fake.scenario_kit.HttpReply`) build aiohttp answers; :func:`make_jwt` signs a
token shaped like the sites' own. Imports only the standard library, aiohttp and the pure scenario kit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from g4f_hailuo.fake.scenario_kit import HttpReply, json_bytes

__all__ = [
    "EVENT_STREAM",
    "Headers",
    "RecordedRequest",
    "html_response",
    "http_response",
    "json_response",
    "make_jwt",
]

EVENT_STREAM = "text/event-stream; charset=utf-8"


class Headers(dict[str, str]):
    """Header names stored lower-cased; looking one up ignores case (``h["User-Agent"]``)."""

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name.lower() if isinstance(name, str) else name)

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


@dataclass
class RecordedRequest:
    """One request as the server saw it. ``headers`` ignores the case of names."""

    method: str
    path: str
    raw_path_qs: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str] | None = None
    json: object | None = None
    signature_ok: bool = False
    token_ok: bool = False
    scenario: str | None = None  # chat/message requests: the scenario served (or why it was refused)
    status: int = 0  # the status answered; 0 while undecided or if the client left first
    body: bytes = b""  # the raw body (the agent fake keeps it: its signatures cover the raw bytes)
    rejected: str = ""  # the agent fake: which strict check refused the request ("" if none)


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json_bytes(payload),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def html_response(text: str, status: int = 200) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/html", charset="utf-8")


def http_response(reply: HttpReply) -> web.Response:
    headers = {"Content-Type": reply.content_type, **reply.headers}
    return web.Response(status=reply.status, body=reply.body, headers=headers)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(secret: bytes, claims: dict[str, Any]) -> str:
    """An HS256 JWT (unpadded base64url) over ``claims``: shaped like the sites' tokens."""
    header = _b64url(b'{"alg":"HS256","typ":"JWT"}')
    body = _b64url(json_bytes(claims))
    mac = hmac.new(secret, f"{header}.{body}".encode("ascii"), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64url(mac)}"
