"""The ``/v4`` protocol's ``yy`` body segments (pure, stdlib only).

yy = sign_request(path_and_query, segment, unix) (see ``protocols.signing``), where the
segment is the JSON body text for a JSON call and four digests for the chat message.
"""

from __future__ import annotations

from g4f_hailuo.protocols.signing import encode_uri_component, md5_hex, sign_request

__all__ = [
    "EMPTY_BODY_SEGMENT",
    "chat_body_segment",
    "encode_uri_component",
    "json_body_segment",
    "md5_hex",
    "sign_request",
]

EMPTY_BODY_SEGMENT = "{}"


def json_body_segment(body_text: str | None) -> str:
    """The segment for a JSON request: the exact text sent, or ``{}`` when there is none."""
    return body_text if body_text else EMPTY_BODY_SEGMENT


def chat_body_segment(character_id: str, msg_content: str, chat_id: str, form: str = "") -> str:
    """The segment for ``/v4/api/chat/msg``: four digests; CR/LF are dropped for hashing only."""
    content = msg_content.replace("\r", "").replace("\n", "")
    return md5_hex(character_id) + md5_hex(content) + md5_hex(chat_id) + md5_hex(form or "")
