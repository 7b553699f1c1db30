"""An account's life in the pool, the same for every protocol: expiry warnings, retirement
with a reason, why none can serve, one browser login per site at a time, a login's summary."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from g4f.errors import G4FError, MissingAuthError, PaymentRequiredError

from g4f_hailuo._config import Settings, seconds_setting
from g4f_hailuo._conversation import _field
from g4f_hailuo._errors import HOW_TO_LOGIN, without_secret
from g4f_hailuo.accounts import auth_cache
from g4f_hailuo.accounts.browser_login import DEFAULT_LOGIN_TIMEOUT
from g4f_hailuo.accounts.identity import Identity, jwt_claims
from g4f_hailuo.accounts.pool import AccountPool, exclusive, report
from g4f_hailuo.accounts.token_sources import TokenSource

__all__ = [
    "LOGIN_TIMEOUT_ENV",
    "NEAR_EXPIRY_SECONDS",
    "OneLoginAtATime",
    "Refused",
    "conversation_account",
    "expired_message",
    "login_summary",
    "next_expiry_check",
    "refusal_or_clean",
    "unusable",
    "warn_of_expiry",
]

LOGIN_TIMEOUT_ENV = "HAILUOAI_LOGIN_TIMEOUT"
NEAR_EXPIRY_SECONDS = 86400.0
_warned_expiry: set[str] = set()  # accounts already warned about their coming expiry


def utc(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))


def expired_message(identity: Identity) -> str:
    return f"The Hailuo token expired on {utc(identity.expires_at or 0)}: log in again ({HOW_TO_LOGIN})"


def warn_of_expiry(identity: Identity, now: float) -> bool:
    """Report once that the token expires within a day; True when it has expired already."""
    expires_at = identity.expires_at
    if expires_at is None:
        return False
    if expires_at <= now:
        return True
    if expires_at - now < NEAR_EXPIRY_SECONDS and identity.account not in _warned_expiry:
        _warned_expiry.add(identity.account)
        report(
            f"HailuoAI: the token of account {identity.account} expires on {utc(expires_at)}"
            f" (in {(expires_at - now) / 3600:.0f} h): log in again soon ({HOW_TO_LOGIN})"
        )
    return False


def next_expiry_check(identities: Iterable[Identity], now: float) -> float:
    """When :func:`warn_of_expiry` next has something to say of ``identities`` (``time.time``)."""
    moments = [
        expires_at - NEAR_EXPIRY_SECONDS if expires_at - NEAR_EXPIRY_SECONDS > now else expires_at
        for expires_at in (identity.expires_at for identity in identities)
        if expires_at is not None
    ]
    return min(moments, default=math.inf)


def unusable(pool: AccountPool, source: TokenSource) -> MissingAuthError:
    """Why no account of ``source`` can serve (each was retired, with its reason)."""
    reasons = pool.retired_reasons()
    if len(reasons) == 1:
        return MissingAuthError(reasons[0][1])
    if reasons:
        return MissingAuthError(
            f"None of the {len(reasons)} Hailuo accounts from {source.describe()} can be used: "
            + "; ".join(f"{account}: {reason}" for account, reason in reasons)
        )
    return MissingAuthError(f"No Hailuo token: {HOW_TO_LOGIN}")


class Refused(Exception):
    """The site refused an account, or it is out of credits, before any text of the reply: it
    leaves the pool and the reply moves to another account (internal)."""

    def __init__(self, identity: Identity, error: G4FError) -> None:
        super().__init__(identity.account)
        self.identity = identity
        message = str(error)
        # The site's own words may come back to the user: never with the token in them.
        self.error = (
            type(error)(message.replace(identity.token, "***")) if identity.token in message else error
        )
        # Out of credits is no reason to forget a login: the credits come back tomorrow.
        self.forget = not isinstance(error, PaymentRequiredError)
        self.reason = str(self.error) if self.forget else f"out of credits until tomorrow ({self.error})"


def refusal_or_clean(error: G4FError, identity: Identity, *, started: bool) -> Exception | None:
    """What a reply's error becomes: ``Refused`` when the site refused the account or it is out
    of credits before any text (not for a 401 whose token check passed: ``retire`` False, not
    the account's fault); else the error without the token, ``None`` when it has none."""
    refusal = isinstance(error, (MissingAuthError, PaymentRequiredError))
    if refusal and not started and getattr(error, "retire", True):
        return Refused(identity, error)
    clean = without_secret(error, identity.token)
    return None if clean is error else clean


def conversation_account(conversation: Any) -> str | None:
    """The account fingerprint a conversation of ours names, if any."""
    value = _field(conversation, "token")
    return value if isinstance(value, str) and value.startswith("sha256:") else None


class OneLoginAtATime:
    """One browser window per site at a time (the GUI's Login button, requests that
    need a login): a second one waits for the first, boundedly. A class, not an
    ``@asynccontextmanager``: see ``pool._Lease``."""

    __slots__ = ("_turn",)

    def __init__(self, settings: Settings, kwargs: dict[str, Any]) -> None:
        wait = seconds_setting(
            "login_timeout", kwargs.get("login_timeout"), LOGIN_TIMEOUT_ENV, DEFAULT_LOGIN_TIMEOUT
        )
        self._turn = exclusive(f"login {settings.origin}", wait + 30)

    async def __aenter__(self) -> None:
        if not await self._turn.__aenter__():
            raise MissingAuthError(f"Another Hailuo login is still waiting for the browser: {HOW_TO_LOGIN}")

    async def __aexit__(self, *exc_info: object) -> None:
        await self._turn.__aexit__(*exc_info)


def login_summary(identity: Identity, cache_file: Path) -> dict[str, Any]:
    """What a login produced, fit to print: never the token."""
    user = jwt_claims(identity.token).get("user")
    name = user.get("name") if isinstance(user, dict) else None
    expires_at = identity.expires_at
    return {
        "account": identity.account,
        "name": name if isinstance(name, str) else None,
        "expires": utc(expires_at) if expires_at else None,
        "device_id": identity.device_id,
        "cache_file": str(cache_file),
        "logins": len(auth_cache.read_logins(cache_file)),
    }
