"""Signed Hailuo requests: fingerprint query, headers and ``yy`` (pure)."""

from __future__ import annotations

import functools
import time
from urllib.parse import quote, urlencode

from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.protocols.signing import encode_uri_component, md5_hex

__all__ = ["fingerprint_query", "now_unix", "request_headers", "signed_target"]

# The order the site's own scripts build them in (URLSearchParams keeps order).
_INTL_FINGERPRINT = (
    ("device_platform", "web"),
    ("biz_id", "2"),
    ("app_id", "3001"),
    ("version_code", "22201"),
    ("lang", "en"),
)
_INTL_BROWSER = (
    ("os_name", "Windows"),
    ("browser_name", "chrome"),
    ("cpu_core_num", "8"),
    ("browser_language", "en-US"),
    ("browser_platform", "Win32"),
    ("screen_width", "1920"),
    ("screen_height", "1080"),
)
_CN_FINGERPRINT = (
    ("device_platform", "web"),
    ("app_id", "3001"),
    ("version_code", "22200"),
)
_CN_BROWSER = (
    ("os_name", "Windows"),
    ("browser_name", "chrome"),
    ("device_memory", "8"),
    ("cpu_core_num", "12"),
    ("browser_language", "zh-CN"),
    ("browser_platform", "Win32"),
    ("screen_width", "1920"),
    ("screen_height", "1080"),
)


def now_unix() -> str:
    """Milliseconds since the epoch: a fresh value for every request."""
    return str(time.time_ns() // 1_000_000)


def fingerprint_query(region: str, identity: Identity, unix: str, *, with_device: bool = True) -> str:
    return _static_query(region, identity.uuid, identity.device_id if with_device else None) + unix


@functools.lru_cache(maxsize=512)
def _static_query(region: str, client_uuid: str, device_id: str | None) -> str:
    """The query up to the value of ``unix`` (always last): the same for every request of an
    account, so it is encoded once."""
    head, browser = (_CN_FINGERPRINT, _CN_BROWSER) if region == "cn" else (_INTL_FINGERPRINT, _INTL_BROWSER)
    pairs: list[tuple[str, str]] = [*head, ("uuid", client_uuid)]
    if device_id:
        pairs.append(("device_id", device_id))
    pairs.extend(browser)
    return urlencode(pairs, quote_via=quote) + "&unix="


@functools.lru_cache(maxsize=512)
def _encoded_prefix(path: str, static_query: str) -> str:
    return encode_uri_component(f"{path}?{static_query}")


def signed_target(
    path: str, region: str, identity: Identity, body_segment: str, *, with_device: bool = True
) -> tuple[str, str]:
    """``(path?query, yy)``: the exact string to send and its signature. The same as
    ``sign_request(path_and_query, body_segment, unix)``; the constant part of the signed text
    is encoded once per account and path (percent-encoding works character by character)."""
    unix = now_unix()
    static = _static_query(region, identity.uuid, identity.device_id if with_device else None)
    path_and_query = f"{path}?{static}{unix}"
    encoded = _encoded_prefix(path, static) + unix  # digits need no encoding
    return path_and_query, md5_hex(encoded + "_" + body_segment + md5_hex(unix) + "ooui")


def request_headers(
    origin: str, identity: Identity, yy: str, *, referer: str | None = None, stream: bool = False
) -> dict[str, str]:
    return {
        "token": identity.token,
        "yy": yy,
        "Accept": "text/event-stream" if stream else "application/json, text/plain, */*",
        "User-Agent": identity.user_agent,
        "Origin": origin,
        "Referer": referer or f"{origin}/",
    }
