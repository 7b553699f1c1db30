"""Signed Hailuo requests: fingerprint query, headers and ``yy`` (pure)."""

from __future__ import annotations

import time
from urllib.parse import quote, urlencode

from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.protocols.hailuo_v4.signing import sign_request

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
    head, browser = (_CN_FINGERPRINT, _CN_BROWSER) if region == "cn" else (_INTL_FINGERPRINT, _INTL_BROWSER)
    pairs: list[tuple[str, str]] = [*head, ("uuid", identity.uuid)]
    if with_device and identity.device_id:
        pairs.append(("device_id", identity.device_id))
    pairs.extend(browser)
    pairs.append(("unix", unix))
    return urlencode(pairs, quote_via=quote)


def signed_target(
    path: str, region: str, identity: Identity, body_segment: str, *, with_device: bool = True
) -> tuple[str, str]:
    """``(path?query, yy)``: the exact string to send and its signature."""
    unix = now_unix()
    path_and_query = f"{path}?{fingerprint_query(region, identity, unix, with_device=with_device)}"
    return path_and_query, sign_request(path_and_query, body_segment, unix)


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
