"""The ``yy`` request signature shared by both protocols (pure, stdlib only).

yy = md5_hex(encodeURIComponent(U) + "_" + B + md5_hex(unix) + "ooui")

``U`` is what was requested (a path and query, or an absolute URL) and ``B`` a
body segment whose shape each protocol defines.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

__all__ = ["encode_uri_component", "md5_hex", "sign_request"]

# encodeURIComponent leaves these unescaped; Python's quote(safe="") escapes "!*'()".
_JS_SAFE = "-_.!~*'()"


def encode_uri_component(text: str) -> str:
    """JavaScript ``encodeURIComponent`` (UTF-8, the same unreserved set)."""
    return quote(text, safe=_JS_SAFE)


def md5_hex(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def sign_request(target: str, body_segment: str, unix: str) -> str:
    """The ``yy`` header for one request; ``unix`` is the same string as in the query."""
    return md5_hex(encode_uri_component(target) + "_" + body_segment + md5_hex(unix) + "ooui")
