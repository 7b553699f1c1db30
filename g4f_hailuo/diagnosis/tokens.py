"""The first two checks, before any request (pure): the token is there and well formed, and what
its claims say (expiry, guest or login, the region they suggest)."""

from __future__ import annotations

import re
import time
from typing import Any

from g4f_hailuo.accounts.identity import Identity, jwt_claims, token_expiry
from g4f_hailuo.cli.common import EXIT_AUTH, PROG, TOKEN_ENV
from g4f_hailuo.diagnosis.report import Failed, Passed, mask

__all__ = ["check_claims", "check_token", "claims_region"]

_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
REAL_USER_ID_DIGITS = 18
_DAY = 86400.0
# What a claim's text may say about the site that issued the token.
_CN_MARKS = ("minimaxi.com", "hailuoai.com")
_INTL_MARKS = ("minimax.io", "hailuo.ai")
_REGION_WORDS = {
    **dict.fromkeys(("cn", "china", "zh", "mainland", "zh-cn"), "cn"),
    **dict.fromkeys(("intl", "global", "overseas", "en", "international", "us", "sg"), "intl"),
}
_REGION_KEYS = frozenset({"region", "area", "site", "country", "zone"})

NO_TOKEN = (
    f"no token: run `{PROG} login`, or set {TOKEN_ENV} to <realUserID>+<token> (or the bare token) from"
    " the site's Local Storage (`_token`, and `user_detail_agent` → realUserID)"
)
NOT_A_JWT = (
    "this is not a JWT (three base64url parts joined by dots): copy the whole value of Local Storage"
    " `_token` (if it is JSON, its `token` field), without quotes or spaces"
)
BAD_PLUS_FORM = (
    "the part before '+' must be the realUserID, digits only (Local Storage `user_detail_agent` →"
    " realUserID): give <realUserID>+<token>, or the bare token"
)
JWT_USER_ID = (
    "the realUserID you gave is the token's own user.id, not the realUserID (the site answers it"
    " with an empty 401): use the realUserID from Local Storage `user_detail_agent`, or the bare token"
)
GUEST = (
    "this is a guest token (the visitor session the site starts before a login): log in on the site,"
    " send one message there, then copy `_token` again"
)


def _claims_user(claims: dict[str, Any]) -> dict[str, Any]:
    user = claims.get("user")
    return user if isinstance(user, dict) else {}


def check_token(source: str, identities: tuple[Identity, ...] | list[Identity], protocol: str) -> Passed:
    """The first account of ``source`` is there and shaped like a token (``Failed`` if not)."""
    if not identities:
        raise Failed(NO_TOKEN, EXIT_AUTH)
    identity = identities[0]
    token = identity.token
    several = f"{len(identities)} accounts from {source}; the first: " if len(identities) > 1 else ""
    where = f"{several or f'from {source}: '}"
    if "+" in token:
        raise Failed(BAD_PLUS_FORM, EXIT_AUTH, f"{where}a '+' follows something that is not a number")
    if not _JWT.fullmatch(token):
        quoted = " (it is quoted)" if token[:1] in "\"'" else ""
        raise Failed(NOT_A_JWT, EXIT_AUTH, f"{where}{len(token)} characters{quoted}")
    claims = jwt_claims(token)
    if not claims:
        raise Failed(NOT_A_JWT, EXIT_AUTH, f"{where}its middle part is not JSON: copied only in part?")
    detail = f"{where}a JWT ({mask(token)})"
    if protocol == "hailuo-v4":
        return Passed(detail)
    given = identity.real_user_id
    if not given:
        return Passed(f"{detail}, bare: the realUserID comes from user/info")
    jwt_user_id = _claims_user(claims).get("id")
    if jwt_user_id is not None and str(jwt_user_id) == given:
        raise Failed(JWT_USER_ID, EXIT_AUTH, f"{detail}; realUserID {mask(given)} = the token's user.id")
    detail += f", realUserID {mask(given)}"
    if len(given) != REAL_USER_ID_DIGITS:
        advice = f"a realUserID has {REAL_USER_ID_DIGITS} digits, this one {len(given)}: check it"
        return Passed(detail, advice)
    return Passed(detail)


def claims_region(claims: dict[str, Any], depth: int = 0) -> str | None:
    """The region the claims suggest (``cn`` / ``intl``), if any says so: an issuer or audience
    naming a site, or a ``region``-like claim."""
    found: str | None = None
    for key, value in claims.items():
        if isinstance(value, dict) and depth < 3:
            found = found or claims_region(value, depth + 1)
        elif isinstance(value, str):
            text = value.strip().lower()
            if any(mark in text for mark in _CN_MARKS):
                return "cn"
            if any(mark in text for mark in _INTL_MARKS):
                found = found or "intl"
            elif str(key).lower() in _REGION_KEYS and text in _REGION_WORDS:
                found = found or _REGION_WORDS[text]
    return found


def _in_words(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds >= 2 * _DAY:
        return f"{seconds / _DAY:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{max(seconds / 60, 1):.0f} minutes"


def check_claims(identity: Identity, region: str, now: float | None = None) -> Passed:
    """Expiry, guest or login, and the region the claims suggest against ``region`` (the one
    selected). ``Failed`` for an expired or a guest token."""
    now = time.time() if now is None else now
    claims = jwt_claims(identity.token)
    user = _claims_user(claims)
    expires_at = token_expiry(claims)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(expires_at)) if expires_at else ""
    if expires_at is not None and expires_at <= now:
        expired = f"the token expired {_in_words(now - expires_at)} ago: log in again (`{PROG} login`)"
        raise Failed(expired, EXIT_AUTH, f"expired on {when}")
    if user.get("isAnonymous") is True:
        raise Failed(GUEST, EXIT_AUTH, "claims user.isAnonymous: a guest")
    parts = [
        f"expires {when} (in {_in_words(expires_at - now)})" if expires_at else "no expiry in the claims"
    ]
    parts.append("a login, not a guest")
    advice: str | None = None
    if expires_at is not None and expires_at - now < _DAY:
        advice = f"the token expires within a day: log in again soon (`{PROG} login`)"
    suggested = claims_region(claims)
    if suggested is None:
        parts.append("the claims name no region")
    elif suggested == region:
        parts.append(f"the claims suggest region {suggested}, as selected")
    else:
        parts.append(f"the claims suggest region {suggested}, not {region}")
        advice = f"a token of region {suggested}? If the site refuses it, use --region {suggested}"
    return Passed("; ".join(parts), advice)
