"""Hailuo failures as g4f errors: short messages, never a token (pure)."""

from __future__ import annotations

import json
import re
import time
from email.utils import parsedate_to_datetime

from g4f.errors import (
    BadRequestError,
    CloudflareError,
    G4FError,
    MissingAuthError,
    PaymentRequiredError,
    RateLimitError,
    ResponseError,
    ResponseStatusError,
)

__all__ = [
    "HOW_TO_LOGIN",
    "describe_body",
    "error_for_code",
    "error_for_status",
    "scrub",
    "status_code",
    "without_secret",
]

HOW_TO_LOGIN = "give a Hailuo token with api_key=... or HAILUOAI_API_KEY, or log in with `g4f-hailuo login`"
CODE_BAD_REQUEST = 2
CODE_BANNED = 22
CODE_NO_CREDITS = 2200005
_EXCERPT = 160


def scrub(text: str, *secrets: str | None) -> str:
    """Remove secrets from text that may reach a user or a log."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def without_secret(error: G4FError, secret: str) -> G4FError:
    """``error``, or a copy of it without ``secret`` in its message (defence in depth)."""
    message = str(error)
    return type(error)(scrub(message, secret)) if secret and secret in message else error


def status_code(status: object) -> int | None:
    """The business code of a ``statusInfo`` object: an int, also when sent as a
    numeric string (``"0"`` is success, not an error); ``None`` when absent."""
    code = status.get("code") if isinstance(status, dict) else None
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        return int(code)
    return None


def describe_body(body: bytes, content_type: str) -> tuple[str, int | None]:
    """A short readable excerpt of an error body, and Hailuo's business code if any."""
    text = body[:4096].decode("utf-8", "replace")
    if "html" in content_type or text.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
        title = re.search(r"<title[^>]*>([^<]{0,120})", text, re.IGNORECASE)
        return (f"an HTML page ({title.group(1).strip()!r})" if title else "an HTML page"), None
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        status = payload.get("statusInfo")
        if isinstance(status, dict):
            message = str(status.get("message") or "")[:_EXCERPT]
            return message, status_code(status)
    text = " ".join(text.split())
    return (text[:_EXCERPT] + "…" if len(text) > _EXCERPT else text), None


def error_for_code(code: int, message: str) -> G4FError:
    """The g4f error for a business code carried in a ``statusInfo``."""
    detail = f"Hailuo error {code}: {message or 'no message'}"
    if code == CODE_BANNED:
        return MissingAuthError(f"{detail} (the account is banned; use another account)")
    if code == CODE_NO_CREDITS:
        return PaymentRequiredError(f"{detail} (the account is out of credits)")
    if code == CODE_BAD_REQUEST:
        return BadRequestError(f"{detail} (bad signature or parameters)")
    return ResponseError(detail)


def error_for_status(
    status: int, excerpt: str, code: int | None, retry_after: str | None, site: str = "Hailuo"
) -> G4FError:
    """The g4f error for an HTTP status other than 200."""
    where = f"{site} answered HTTP {status}"
    said = f": {excerpt}" if excerpt else ""
    if status == 401:
        return MissingAuthError(f"{where} (token missing, invalid or expired){said}. To fix: {HOW_TO_LOGIN}")
    if status == 402 or code == CODE_NO_CREDITS:
        return PaymentRequiredError(f"{where}{said}")
    if status == 403:
        return CloudflareError(f"{where} (blocked by a firewall or Cloudflare){said}")
    if status == 429:
        delay = _seconds(retry_after)
        error = RateLimitError(f"{where} (rate limited{f'; retry after {delay:g} s' if delay else ''}){said}")
        error.retry_after = delay
        return error
    if code == CODE_BANNED:
        return error_for_code(code, excerpt)
    if status == 400:
        hint = " (bad signature or parameters)" if code == CODE_BAD_REQUEST else ""
        return BadRequestError(f"{where}{hint}{said}")
    return ResponseStatusError(f"{where}{said}")


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = round(when.timestamp() - time.time(), 1)
    return max(seconds, 0.0)
