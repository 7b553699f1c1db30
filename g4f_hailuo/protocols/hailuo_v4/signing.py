"""The ``yy`` request signature of the Hailuo web API (pure, stdlib only).

yy = md5_hex(encodeURIComponent(path_and_query) + "_" + body_segment + md5_hex(unix) + "ooui")
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

__all__ = [
    "EMPTY_BODY_SEGMENT",
    "chat_body_segment",
    "encode_uri_component",
    "json_body_segment",
    "md5_hex",
    "sign_request",
]

# encodeURIComponent leaves these unescaped; Python's quote(safe="") escapes "!*'()".
_JS_SAFE = "-_.!~*'()"
EMPTY_BODY_SEGMENT = "{}"


def encode_uri_component(text: str) -> str:
    """JavaScript ``encodeURIComponent`` (UTF-8, the same unreserved set)."""
    return quote(text, safe=_JS_SAFE)


def md5_hex(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def json_body_segment(body_text: str | None) -> str:
    """The segment for a JSON request: the exact text sent, or ``{}`` when there is none."""
    return body_text if body_text else EMPTY_BODY_SEGMENT


def chat_body_segment(character_id: str, msg_content: str, chat_id: str, form: str = "") -> str:
    """The segment for ``/v4/api/chat/msg``: four digests; CR/LF are dropped for hashing only."""
    content = msg_content.replace("\r", "").replace("\n", "")
    return md5_hex(character_id) + md5_hex(content) + md5_hex(chat_id) + md5_hex(form or "")


def sign_request(path_and_query: str, body_segment: str, unix: str) -> str:
    """The ``yy`` header for one request; ``unix`` is the same string as in the query."""
    return md5_hex(encode_uri_component(path_and_query) + "_" + body_segment + md5_hex(unix) + "ooui")
