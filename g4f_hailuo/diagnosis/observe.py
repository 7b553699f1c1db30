"""What an answer or a failure says, read off the recorded exchange or the exception (pure).

- :func:`site_said`: the site's own code and message (``base_resp``, ``statusInfo``, an
  ``error`` field, the error text of an event stream, an HTML page's title);
- :func:`bot_wall`: a bot-protection page (Cloudflare, Akamai) rather than the site;
- :func:`clock_skew`: how far this machine's clock is from the site's ``Date``;
- :func:`network_failure`: what an aiohttp failure means (DNS, TLS, proxy, refused, timeout).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import ssl
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from g4f_hailuo.transport.recording_file import Exchange

__all__ = ["bot_wall", "clock_skew", "network_failure", "site_said"]

_MESSAGE_LIMIT = 200
_ENVELOPES = (("base_resp", "status_code", "status_msg"), ("statusInfo", "code", "message"))
_TITLE = re.compile(rb"<title[^>]*>([^<]{0,160})", re.IGNORECASE)
_CLOUDFLARE_BODY = (b"just a moment", b"cf-chl", b"challenge-platform", b"cloudflare", b"cf_chl_opt")
_AKAMAI_BODY = (b"errors.edgesuite.net", b"akamai", b"reference&#32;&#35;", b"access denied")


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


def _envelope(payload: Any) -> tuple[int | None, str | None] | None:
    for holder in (payload, payload.get("data") if isinstance(payload, dict) else None):
        if not isinstance(holder, dict):
            continue
        for name, code_key, message_key in _ENVELOPES:
            envelope = holder.get(name)
            if isinstance(envelope, dict):
                code = envelope.get(code_key)
                number = (
                    int(code) if isinstance(code, (int, str)) and str(code).lstrip("-").isdigit() else None
                )
                message = envelope.get(message_key)
                return number, _clip(message) if isinstance(message, str) else None
    return None


def _stream_error(body: bytes) -> str | None:
    """The text of an Agent turn that ended with ``finish_reason:"error"``."""
    for line in body.splitlines():
        if not line.startswith(b"data:") or b'"error"' not in line:
            continue
        try:
            frame = json.loads(line[5:])
        except ValueError:
            continue
        message = frame.get("agent_message") if isinstance(frame, dict) else None
        if isinstance(message, dict) and message.get("finish_reason") == "error":
            return _clip(str(message.get("msg_content") or ""))
    return None


def site_said(exchange: Exchange | None) -> tuple[int | None, str | None]:
    """The site's code and message in an answer, each ``None`` when it gave none."""
    if exchange is None or exchange.status is None:
        return None, None
    body = exchange.body
    content_type = exchange.header("content-type")
    if content_type.startswith("text/event-stream"):
        return None, _stream_error(body)
    try:
        payload = json.loads(body) if body.strip() else None
    except (ValueError, RecursionError):
        payload = None
    if isinstance(payload, dict):
        found = _envelope(payload)
        if found is not None:
            return found
        for key in ("error", "message", "msg"):
            if isinstance(payload.get(key), str):
                return None, _clip(payload[key])
        return None, None
    title = _TITLE.search(body[:16384]) if exchange.status >= 400 else None  # an error page's title
    if title:
        return None, _clip(title.group(1).decode("utf-8", "replace"))
    return None, None


def bot_wall(exchange: Exchange | None) -> str | None:
    """``"Cloudflare"``, ``"Akamai"`` or ``"a firewall"`` when a 403/503 (or 429) answer is a
    bot-protection page, not the site's; ``None`` otherwise."""
    if exchange is None or exchange.status not in (403, 429, 503):
        return None
    body = exchange.body[:65536].lower()
    server = exchange.header("server").lower()
    names = {name.lower() for name, _ in exchange.response_headers}
    if "cf-ray" in names or "cf-mitigated" in names or "cloudflare" in server:
        return "Cloudflare"
    if "akamai" in server or any(mark in body for mark in _AKAMAI_BODY[:3]):
        return "Akamai"
    if any(mark in body for mark in _CLOUDFLARE_BODY):
        return "Cloudflare"
    is_html = "html" in exchange.header("content-type") or body.lstrip()[:15].startswith(
        (b"<!doctype", b"<html")
    )
    return "a firewall" if is_html and exchange.status == 403 else None


def clock_skew(exchange: Exchange | None, now: float) -> float | None:
    """Seconds this machine's clock is ahead of the site's (its ``Date`` header), if it sent one."""
    if exchange is None:
        return None
    date = exchange.header("date")
    if not date:
        return None
    try:
        return now - parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return None


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def network_failure(error: BaseException, origin: str, proxy: str | None) -> tuple[str, str] | None:
    """``(what happened, what to do)`` for a failure of the network itself, ``None`` for anything
    else (the site answered, or the error is the site's)."""
    for cause in _causes(error):
        found = _classify(cause, origin, proxy)
        if found is not None:
            return found
    return None


def _classify(error: BaseException, origin: str, proxy: str | None) -> tuple[str, str] | None:
    dns_error = getattr(aiohttp, "ClientConnectorDNSError", ())
    if isinstance(error, aiohttp.ClientProxyConnectionError):
        return (
            f"the proxy {proxy or ''} does not answer".replace("  ", " "),
            "check the proxy (G4F_PROXY, or g4f's proxy option): its address, port and whether it runs",
        )
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return (
            "the site's TLS certificate is not trusted here",
            "a proxy or firewall that intercepts HTTPS, or an outdated CA bundle: update certifi, or point"
            " SSL_CERT_FILE at your organisation's CA",
        )
    if isinstance(error, (aiohttp.ClientSSLError, ssl.SSLError)):
        return (
            f"the TLS handshake with {origin} failed ({type(error).__name__})",
            "something between here and the site speaks no TLS or intercepts it (a captive portal, a"
            " firewall), or the base URL's scheme is wrong (https:// for the real site)",
        )
    if (dns_error and isinstance(error, dns_error)) or isinstance(error, socket.gaierror):
        return (
            f"the host name of {origin} does not resolve",
            "check the base URL or --region, this machine's DNS and network; behind a firewall set a"
            " proxy (G4F_PROXY)",
        )
    if isinstance(error, (aiohttp.ConnectionTimeoutError, aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        return (
            "the site did not answer in time",
            "a slow or filtering network: try again, use a proxy, or give more time (--timeout)",
        )
    if isinstance(error, aiohttp.ClientConnectorError):
        return (
            f"no connection to {origin} ({type(error.os_error).__name__})",
            "nothing accepts connections there: check the base URL and port, a firewall, or set a proxy",
        )
    if isinstance(error, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, ConnectionResetError)):
        return (
            f"the connection was cut ({type(error).__name__})",
            "a proxy or firewall that cuts connections or long streamed answers: try another network or"
            " proxy",
        )
    return None
