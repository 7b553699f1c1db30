"""Who the client is to the site: token, realUserID, client UUID, device id, user agent (pure).

A token is a bare JWT or ``<realUserID>+<JWT>`` (MiniMax Agent's user id, which is not the
JWT's ``user.id``); the account is named by the JWT's fingerprint alone."""

from __future__ import annotations

import base64
import functools
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from g4f_hailuo._conversation import token_fingerprint

__all__ = [
    "DEFAULT_USER_AGENT",
    "Identity",
    "claims_device_id",
    "is_guest_token",
    "jwt_claims",
    "split_user_token",
    "stable_client_uuid",
    "token_expiry",
]

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
_UUID_NAMESPACE = uuid.UUID("8f5e1c1e-4c55-4a0c-9f5c-6d61696c756f")


def jwt_claims(token: str) -> dict[str, Any]:
    """The JWT's claims, unverified (the server verifies); ``{}`` if it is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _user(claims: dict[str, Any]) -> dict[str, Any]:
    user = claims.get("user")
    return user if isinstance(user, dict) else {}


def claims_device_id(claims: dict[str, Any]) -> str | None:
    device = _user(claims).get("deviceID")
    device = str(device) if isinstance(device, (str, int)) else ""
    return device if device.isdigit() else None


def is_guest_token(token: str) -> bool:
    """Whether the token's claims say it is a guest session (``user.isAnonymous``), not a
    login. A token without claims is not known to be a guest."""
    return _user(jwt_claims(token)).get("isAnonymous") is True


def token_expiry(claims: dict[str, Any]) -> float | None:
    exp = claims.get("exp")
    return float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None


def stable_client_uuid(token: str, claims: dict[str, Any]) -> str:
    """The same client UUID for the same account in every process: many
    "devices" on one account is reported to draw risk control."""
    user_id = _user(claims).get("id")
    seed = f"user:{user_id}" if isinstance(user_id, (str, int)) and str(user_id) else token_fingerprint(token)
    return str(uuid.uuid5(_UUID_NAMESPACE, seed))


def split_user_token(value: str) -> tuple[str | None, str]:
    """``(realUserID, JWT)`` of ``<realUserID>+<JWT>``; ``(None, value)`` for a bare token
    (a JWT has no ``+``: base64url)."""
    user_id, plus, token = value.partition("+")
    if plus and user_id.strip().isdigit() and token.strip():
        return user_id.strip(), token.strip()
    return None, value


@dataclass(frozen=True)
class Identity:
    token: str  # the JWT alone
    uuid: str
    device_id: str | None
    user_agent: str = DEFAULT_USER_AGENT
    real_user_id: str | None = None  # MiniMax Agent's user id (query user_id)

    def __repr__(self) -> str:  # never show the token, nor the user id
        return f"Identity(account={token_fingerprint(self.token)!r})"

    # Computed once per identity (a frozen dataclass: cached_property writes the instance dict):
    # both are read several times per request.
    @functools.cached_property
    def account(self) -> str:
        return token_fingerprint(self.token)

    @functools.cached_property
    def expires_at(self) -> float | None:
        return token_expiry(jwt_claims(self.token))

    def is_expired(self, now: float | None = None) -> bool:
        expiry = self.expires_at
        return expiry is not None and expiry <= (time.time() if now is None else now)

    @classmethod
    def from_token(cls, token: str, user_agent: str | None = None) -> Identity:
        """The identity of a bare JWT or of ``<realUserID>+<JWT>``. The same token gives the same
        (immutable) identity: a given token is read again on every request."""
        if cls is Identity:
            return _identity_of_token(token, user_agent)
        return cls._from_token(token, user_agent)

    @classmethod
    def _from_token(cls, token: str, user_agent: str | None) -> Identity:
        real_user_id, token = split_user_token(token)
        claims = jwt_claims(token)
        return cls(
            token=token,
            uuid=stable_client_uuid(token, claims),
            device_id=claims_device_id(claims),
            user_agent=user_agent or DEFAULT_USER_AGENT,
            real_user_id=real_user_id,
        )

    def to_dict(self) -> dict[str, str | None]:
        data = {
            "token": self.token,
            "uuid": self.uuid,
            "device_id": self.device_id,
            "user_agent": self.user_agent,
        }
        if self.real_user_id:
            data["real_user_id"] = self.real_user_id
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Identity | None:
        """An identity from a stored auth result; ``None`` when it is not ours."""
        token = data.get("token")
        if not isinstance(token, str) or not token:
            return None
        base = cls.from_token(
            token, data.get("user_agent") if isinstance(data.get("user_agent"), str) else None
        )
        client_uuid = data.get("uuid")
        device_id = data.get("device_id")
        real_user_id = data.get("real_user_id")
        return cls(
            token=base.token,
            uuid=client_uuid if isinstance(client_uuid, str) and client_uuid else base.uuid,
            device_id=str(device_id)
            if isinstance(device_id, (str, int)) and str(device_id).isdigit()
            else base.device_id,
            user_agent=base.user_agent,
            real_user_id=str(real_user_id)
            if isinstance(real_user_id, (str, int)) and str(real_user_id).isdigit()
            else base.real_user_id,
        )


_identity_of_token = functools.lru_cache(maxsize=1024)(Identity._from_token)
