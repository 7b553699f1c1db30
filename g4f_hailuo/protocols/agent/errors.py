"""The g4f error for what MiniMax Agent says (protocol doc, section 8). Pure.

Two sources of error text: the type-2 message of a ``finish_reason:"error"``
turn (:func:`error_for_turn_text`) and a non-zero ``base_resp`` / ``statusInfo``
envelope (:func:`base_resp_code`, then :func:`error_for_code`). Only the site's
own text ever reaches a message, clipped, never a credential.
"""

from __future__ import annotations

import re
from typing import Any

from g4f.errors import (
    BadRequestError,
    G4FError,
    MissingAuthError,
    PaymentRequiredError,
    RateLimitError,
    ResponseError,
)

__all__ = [
    "CODE_BAD_DEVICE_ID",
    "CODE_NO_CREDITS",
    "CODE_TOKEN_PLAN_QUOTA",
    "CODE_TOKEN_REJECTED",
    "base_resp_code",
    "error_for_code",
    "error_for_turn_text",
]

CODE_NO_CREDITS = 1400010161
CODE_TOKEN_REJECTED = 1022100011  # expired, or a token of the other region
CODE_BAD_DEVICE_ID = 1406011050
CODE_TOKEN_PLAN_QUOTA = 2056

MAX_SITE_TEXT = 200

# Whole numbers only: "2056" must not match inside a longer number (an id, a timestamp).
_TOKEN_PLAN = re.compile(r"(?<!\d)2056(?!\d)")
_NO_CREDITS = re.compile(r"(?<!\d)1400010161(?!\d)|not enough credits", re.IGNORECASE)
_BUSY = "chat is running"
_NUMERIC = re.compile(r"-?[0-9]+")

_NO_CREDITS_HINT = "not enough credits (the account is out of credits; top up or use another account)"
_QUOTA_HINT = "the Token Plan quota is used up (wait for it to renew, or use another account)"
_BUSY_HINT = "the account is busy with another reply (chat is running); retry when it ends"


def _clip(text: str) -> str:
    """The site's text on one line and at most MAX_SITE_TEXT characters, for a message."""
    text = " ".join(text.split())
    if len(text) > MAX_SITE_TEXT:
        return text[: MAX_SITE_TEXT - 1] + "…"
    return text


def _with_site_text(message: str, site_text: str) -> str:
    return f"{message}: {site_text}" if site_text else message


def error_for_turn_text(text: str) -> G4FError:
    """The error for the type-2 text of a ``finish_reason:"error"`` turn."""
    site_text = _clip(text)
    if not site_text:
        return ResponseError("MiniMax Agent reported an error without a message")
    if _TOKEN_PLAN.search(text):
        return RateLimitError(_with_site_text(f"MiniMax Agent error 2056: {_QUOTA_HINT}", site_text))
    if _NO_CREDITS.search(text):
        return PaymentRequiredError(_with_site_text(f"MiniMax Agent error: {_NO_CREDITS_HINT}", site_text))
    if _BUSY in text.lower():
        return RateLimitError(_with_site_text(f"MiniMax Agent: {_BUSY_HINT}", site_text))
    return ResponseError(f"MiniMax Agent error: {site_text}")


def error_for_code(code: int, message: str) -> G4FError:
    """The error for a non-zero ``base_resp.status_code`` / ``statusInfo.code`` and its message."""
    site_text = _clip(message)
    if code == CODE_NO_CREDITS or "not enough credits" in message.lower():
        return PaymentRequiredError(f"MiniMax Agent error {code}: {_NO_CREDITS_HINT}")
    if code == CODE_TOKEN_REJECTED:
        return MissingAuthError(
            _with_site_text(
                f"MiniMax Agent error {code}: the token has expired or belongs to the other region "
                "(log in again, or set the account's region)",
                site_text,
            )
        )
    if code == CODE_BAD_DEVICE_ID:
        return BadRequestError(
            f"MiniMax Agent error {code}: the device_id must be numeric "
            "(use the browser's tab_device_id, or leave it unset to get an 8-digit one)"
        )
    if code == CODE_TOKEN_PLAN_QUOTA:
        return RateLimitError(_with_site_text(f"MiniMax Agent error {code}: {_QUOTA_HINT}", site_text))
    if _BUSY in message.lower():
        return RateLimitError(f"MiniMax Agent error {code}: {_BUSY_HINT}")
    return ResponseError(_with_site_text(f"MiniMax Agent error {code}", site_text))


def _as_code(value: Any) -> int | None:
    """A status code sent as an int or a numeric string; None if it is neither."""
    if isinstance(value, bool):  # a JSON true/false is no code
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        stripped = value.strip()
        if _NUMERIC.fullmatch(stripped):
            return int(stripped)
    return None


_ENVELOPES = (("base_resp", "status_code", "status_msg"), ("statusInfo", "code", "message"))


def base_resp_code(payload: dict[str, Any]) -> tuple[int, str] | None:
    """``(code, message)`` of a failed call; None for success or no envelope.

    The envelope is read at the top level, else under ``data`` (section 5); the
    first readable code decides, so a top-level success is not overruled.
    """
    for holder in (payload, payload.get("data")):
        if not isinstance(holder, dict):
            continue
        for envelope_key, code_key, message_key in _ENVELOPES:
            envelope = holder.get(envelope_key)
            if not isinstance(envelope, dict):
                continue
            code = _as_code(envelope.get(code_key))
            if code is None:
                continue
            if code == 0:
                return None
            message = envelope.get(message_key)
            return code, message if isinstance(message, str) else ""
    return None
