"""The request checks of the fake Hailuo ``/v4`` site: the body as signed, the fingerprint, ``yy``.

Every ``/v1/api/*`` and ``/v4/api/*`` request first needs a token the server issued (the server
checks that: it owns the accounts), then a valid signature, checked here over the raw request:
:func:`read_body` stores the body in the :class:`~g4f_hailuo.fake.common.RecordedRequest` (the
multipart fields of a chat message, the JSON of anything else) and returns the body's signature
segment; :func:`signature_ok` wants the fingerprint query (``device_platform``, ``app_id``,
``version_code``, ``uuid``, ``unix`` and, except on device registration, ``device_id``) and the
``yy`` header computed by ``g4f_hailuo.protocols.hailuo_v4.signing`` over the raw path+query.
"""

from __future__ import annotations

import json

from aiohttp import web

from g4f_hailuo.fake.http_helpers import RecordedRequest
from g4f_hailuo.protocols.hailuo_v4.signing import chat_body_segment, json_body_segment, sign_request

__all__ = ["CHAT_PATH", "read_body", "signature_ok"]

CHAT_PATH = "/v4/api/chat/msg"
_FINGERPRINT_KEYS = ("device_platform", "app_id", "version_code", "uuid", "unix")


async def read_body(request: web.Request, record: RecordedRequest) -> str:
    """Read the body into ``record`` and return its signature segment."""
    if request.path == CHAT_PATH:
        try:
            posted = list((await request.post()).items())
        except ValueError:  # a broken multipart body: no fields, hence a 400 later
            posted = []
        form = {k: v if isinstance(v, str) else getattr(v, "filename", "") for k, v in posted}
        record.form = form
        return _chat_segment(form)
    text = await request.text() if request.body_exists else ""
    if text:
        try:
            record.json = json.loads(text)
        except ValueError:
            record.json = None
    return json_body_segment(text)


def signature_ok(request: web.Request, segment: str, needs_device_id: bool) -> bool:
    """The fingerprint query is complete and ``yy`` signs the raw path+query, ``segment`` and ``unix``."""
    query = request.query
    required = _FINGERPRINT_KEYS + (("device_id",) if needs_device_id else ())
    if any(key not in query for key in required):
        return False
    expected = sign_request(request.raw_path, segment, query["unix"])
    return request.headers.get("yy", "") == expected


def _chat_segment(form: dict[str, str]) -> str:
    """The chat message's signature segment from the multipart fields as received."""
    return chat_body_segment(
        form.get("characterID", ""), form.get("msgContent", ""), form.get("chatID", ""), form.get("form", "")
    )
