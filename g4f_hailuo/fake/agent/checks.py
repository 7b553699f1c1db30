"""The strict request checks of the fake MiniMax Agent site (``minimax-agent-protocol.md`` section 9).

Every known route runs them in this order, over the raw request (``request.raw_path`` and the
raw body bytes, never a re-encoded form), and the first failure decides the answer:

1. the ``token`` header names a live account of this fake's region and the query ``token`` equals
   it -> 401, empty body;
2. the query ``user_id`` is the account's realUserID (not on ``user/info``) -> 401, empty body;
3. ``device_id`` is all digits (``/minimax-cloud`` routes) -> 400 ``1406011050``;
4. ``uuid`` is present -> 400 ``{"error":"missing parameter: uuid"}``;
5. ``x-signature``, ``x-timestamp``, the ``unix`` clock window and ``yy`` -> 400
   ``{"error":"invalid signature"}``;
6. ``GET /config`` came first (session create, message) -> 500 ``1400010501``.

``yy`` is accepted with ``U`` relative (the raw path and query) or absolute (``{scheme}://{Host}``
in front), and, for a request without a body, with ``B`` = ``{}`` or ``""``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from g4f_hailuo.fake.agent.state import AgentAccount
from g4f_hailuo.fake.common import json_response
from g4f_hailuo.protocols.agent.signing import x_signature
from g4f_hailuo.protocols.signing import sign_request

__all__ = [
    "BAD_DEVICE_ID",
    "CLOCK_WINDOW",
    "INVALID_SIGNATURE",
    "NOT_CONFIGURED",
    "SESSION_NOT_FOUND",
    "Rejection",
    "Verdict",
    "check_request",
    "signature_ok",
]

INVALID_SIGNATURE = {"error": "invalid signature"}
BAD_DEVICE_ID = {
    "error": "internal error",
    "code": "UNEXPECTED_ERROR",
    "base_resp": {"status_code": 1406011050},
}
NOT_CONFIGURED = {
    "base_resp": {"status_code": 1400010501, "status_msg": "Environment Variables not configured"}
}
SESSION_NOT_FOUND = {"error": "session not found"}
CLOCK_WINDOW = 300.0  # seconds either side of the fake's clock (the real window is unknown)
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Rejection:
    reason: str  # token | user_id | device_id | uuid | signature | config
    status: int
    payload: Any = None  # None: an empty body

    def response(self) -> web.Response:
        if self.payload is None:
            return web.Response(status=self.status, body=b"")
        return json_response(self.payload, self.status)


@dataclass(frozen=True)
class Verdict:
    token_ok: bool
    signature_ok: bool
    rejection: Rejection | None


def signature_ok(
    *, raw_path: str, origin: str, headers: Mapping[str, str], unix: str, body: bytes, now: float
) -> bool:
    """``x-timestamp``, the clock window, ``x-signature`` over the raw body and ``yy`` (section 4.3)."""
    if not _DIGITS.fullmatch(unix) or abs(int(unix) / 1000 - now) > CLOCK_WINDOW:
        return False
    timestamp = headers.get("x-timestamp", "")
    if timestamp != str(int(unix) // 1000):
        return False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if headers.get("x-signature", "") != x_signature(timestamp, text):
        return False
    yy = headers.get("yy", "")
    segments = (text,) if text else ("{}", "")
    return any(
        yy == sign_request(target, segment, unix)
        for target in (raw_path, origin + raw_path)
        for segment in segments
    )


def check_request(
    request: web.Request,
    body: bytes,
    account: AgentAccount | None,
    *,
    now: float,
    needs_user_id: bool,
    needs_config: bool,
    verify_signature: bool = True,
) -> Verdict:
    """Run the checks above; ``account`` is the live account of the ``token`` header (or None)."""
    query = request.query
    token_ok = account is not None and query.get("token") == account.token
    sig_ok = signature_ok(
        raw_path=request.raw_path,
        origin=f"{request.scheme}://{request.host}",
        headers=request.headers,
        unix=query.get("unix", ""),
        body=body,
        now=now,
    )
    rejection: Rejection | None = None
    if account is None or not token_ok:
        rejection = Rejection("token", 401)
    elif needs_user_id and query.get("user_id") != account.real_user_id:
        rejection = Rejection("user_id", 401)
    elif request.path.startswith("/minimax-cloud/") and not _DIGITS.fullmatch(query.get("device_id", "")):
        rejection = Rejection("device_id", 400, BAD_DEVICE_ID)
    elif not query.get("uuid"):
        rejection = Rejection("uuid", 400, {"error": "missing parameter: uuid"})
    elif verify_signature and not sig_ok:
        rejection = Rejection("signature", 400, INVALID_SIGNATURE)
    elif needs_config and not account.configured:
        rejection = Rejection("config", 500, NOT_CONFIGURED)
    return Verdict(token_ok, sig_ok, rejection)
