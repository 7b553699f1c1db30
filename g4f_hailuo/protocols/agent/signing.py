"""Signed MiniMax Agent requests: the 22-parameter query, ``x-signature`` and ``yy`` (pure).

One clock reading per request gives the query's ``unix`` and ``x-timestamp``;
a retry calls :func:`sign` again. The JWT is in every URL: callers strip the
query before a URL reaches a log or an error.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from g4f_hailuo.protocols.signing import encode_uri_component, md5_hex, sign_request

__all__ = [
    "SALT",
    "QueryTemplate",
    "SignedRequest",
    "body_text",
    "canonical_query",
    "local_timezone_offset",
    "query_pairs",
    "query_template",
    "sign",
    "sign_with",
    "x_signature",
]

# A public constant of the web bundle (md5 fa9e4db2574cadcb1f50b280466bc29c), unchanged 2025-12 .. 2026-10.
SALT = "I*7Cf%WZ#S&%1RlZJ&C2"
GET_BODY_SEGMENT = "{}"  # yy's B for a request without a body

_LANGUAGE = {"intl": ("en", "en-US", "en"), "cn": ("zh", "zh-CN", "cn")}


def body_text(obj: Any) -> str:
    """The exact body text sent and signed: compact, keys in the given order, UTF-8 as is."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def local_timezone_offset(now: float | None = None) -> int:
    """Seconds east of UTC on this machine (the web app sends the browser's)."""
    offset = time.localtime(now).tm_gmtoff
    return int(offset or 0)


def query_pairs(
    region: str,
    *,
    unix: str,
    uuid: str,
    device_id: str,
    user_id: str | None,
    token: str,
    timezone_offset: int,
) -> list[tuple[str, str]]:
    """The query in the web app's order; ``user_id`` is absent until realUserID is known."""
    lang, browser_language, region_value = _LANGUAGE["cn" if region == "cn" else "intl"]
    return [
        ("device_platform", "web"),
        ("biz_id", "3"),
        ("app_id", "3001"),
        ("version_code", "22201"),
        ("unix", unix),
        ("timezone_offset", str(timezone_offset)),
        ("sys_language", lang),
        ("lang", lang),
        ("uuid", uuid),
        ("device_id", device_id),
        ("os_name", "Windows"),
        ("browser_name", "Chrome"),
        ("device_memory", "8"),
        ("cpu_core_num", "8"),
        ("browser_language", browser_language),
        ("browser_platform", "Win32"),
        ("user_id", user_id or ""),
        ("screen_width", "1920"),
        ("screen_height", "1080"),
        ("token", token),
        ("client", "web"),
        ("region", region_value),
    ]


def _encode(value: str) -> str:
    # URLSearchParams: A-Z a-z 0-9 * - . _ kept, space -> +, the rest %XX.
    return quote_plus(value, safe="*").replace("~", "%7E")


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """``key=value&...`` encoded as ``URLSearchParams`` does; empty values are dropped."""
    return "&".join(f"{_encode(key)}={_encode(value)}" for key, value in pairs if value)


def x_signature(timestamp: str, body: str) -> str:
    """``md5(x-timestamp + SALT + body)``; ``body`` is ``""`` for a GET."""
    return md5_hex(timestamp + SALT + body)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    path_and_query: str  # what goes after the origin, exactly as signed (never log it: it holds the token)
    headers: dict[str, str]


def sign(
    path: str,
    pairs: list[tuple[str, str]],
    body: str | None,
    now_ms: int,
    *,
    absolute_origin: str = "",
) -> SignedRequest:
    """The signed target and the signature headers of one request.

    ``pairs`` come from :func:`query_pairs` with ``unix=str(now_ms)``. ``body`` is the
    exact body text, ``None`` for a GET. ``absolute_origin`` is set for the message POST,
    whose ``yy`` covers the absolute URL on the stream host.
    """
    unix = str(now_ms)
    path_and_query = f"{path}?{canonical_query(pairs)}"
    timestamp = str(now_ms // 1000)
    return SignedRequest(
        path_and_query,
        {
            "x-timestamp": timestamp,
            "x-signature": x_signature(timestamp, body or ""),
            "yy": sign_request(absolute_origin + path_and_query, body or GET_BODY_SEGMENT, unix),
        },
    )


_UNIX_MARK = "\x00"  # stands for ``unix`` while the template is built; encodes as %00


@dataclass(frozen=True, slots=True)
class QueryTemplate:
    """An account's query with everything but ``unix`` encoded once, and its
    ``encodeURIComponent`` too (percent-encoding is per character, so the pieces join)."""

    head: str  # up to ``unix=``
    tail: str  # after the value of ``unix``
    head_uri: str
    tail_uri: str


@functools.lru_cache(maxsize=512)
def query_template(
    region: str, *, uuid: str, device_id: str, user_id: str | None, token: str, timezone_offset: int
) -> QueryTemplate:
    """What :func:`canonical_query` of :func:`query_pairs` gives, split around ``unix``."""
    pairs = query_pairs(
        region,
        unix=_UNIX_MARK,
        uuid=uuid,
        device_id=device_id,
        user_id=user_id,
        token=token,
        timezone_offset=timezone_offset,
    )
    head, _, tail = canonical_query(pairs).partition(_encode(_UNIX_MARK))
    return QueryTemplate(head, tail, encode_uri_component(head), encode_uri_component(tail))


def sign_with(
    template: QueryTemplate, path: str, body: str | None, now_ms: int, *, absolute_origin: str = ""
) -> SignedRequest:
    """:func:`sign` with the account's :class:`QueryTemplate`: the same result, without
    encoding the query (the JWT is most of it) on every request."""
    unix = str(now_ms)
    timestamp = str(now_ms // 1000)
    prefix = f"{path}?"
    target_uri = encode_uri_component(absolute_origin + prefix) + template.head_uri + unix + template.tail_uri
    body_text = body or ""
    yy = md5_hex(target_uri + "_" + (body or GET_BODY_SEGMENT) + md5_hex(unix) + "ooui")
    return SignedRequest(
        prefix + template.head + unix + template.tail,
        {"x-timestamp": timestamp, "x-signature": x_signature(timestamp, body_text), "yy": yy},
    )
