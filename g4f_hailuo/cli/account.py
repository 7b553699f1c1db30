"""The accounts the commands work with: which ones the provider would use, what their
tokens claim, the device each has, and who Hailuo says a token is (``user/info``)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from g4f_hailuo._config import Settings
    from g4f_hailuo.accounts.identity import Identity


def current_logins(settings: Settings) -> tuple[str, list[Identity]]:
    """The accounts the provider would use and where they come from (``accounts.token_sources``:
    HAILUOAI_API_KEY, the .env of g4f's cookies dir, the login cache, .har/cookie files)."""
    from g4f_hailuo.accounts.token_sources import find_tokens

    found = find_tokens(None, settings.origin)
    return found.describe(), list(found.identities)


def claims_user(identity: Identity) -> dict[str, Any]:
    from g4f_hailuo.accounts.identity import jwt_claims

    user = jwt_claims(identity.token).get("user")
    return user if isinstance(user, dict) else {}


def known_device(settings: Settings, identity: Identity) -> Identity:
    """``identity`` with the device already registered for its account, when it names none.

    A token from HAILUOAI_API_KEY, .env or a file often carries no device id; registering one on
    every ``status`` would give the account a new upstream device each run. Used instead, with
    no request: a cached login of the same account on this site (the device its login
    registered, or its browser reported), else the device remembered for the account
    (``accounts.devices``, shared with the provider).
    """
    if identity.device_id is not None:
        return identity
    from g4f_hailuo.accounts import auth_cache as _auth_cache
    from g4f_hailuo.accounts import devices as _devices
    from g4f_hailuo.accounts.identity import Identity

    account = _auth_cache.login_key(identity.token)
    for login in _auth_cache.read_logins(_auth_cache.auth_file()):
        cached = Identity.from_dict(login)
        if (
            cached is not None
            and cached.device_id
            and _auth_cache.for_origin(login, settings.origin)
            and _auth_cache.login_key(cached.token) == account
        ):
            return dataclasses.replace(
                identity, uuid=cached.uuid, device_id=cached.device_id, user_agent=cached.user_agent
            )
    device_id = _devices.remembered(_devices.devices_file(), settings.origin, identity.account, identity.uuid)
    if device_id is None:
        return identity
    return dataclasses.replace(identity, device_id=device_id)


async def agent_account_info(settings: Settings, identity: Identity) -> tuple[Identity, dict[str, Any]]:
    """MiniMax Agent: the account's ids as the provider keeps them (realUserID remembered or asked
    once, the numeric device id), then its plan and credits (``get_membership_info``)."""
    from g4f_hailuo.protocols.base import protocol_for

    protocol = protocol_for(settings.protocol)
    identity = await protocol.establish(identity, settings)
    return identity, await protocol.quota(identity, settings)


async def account_info(settings: Settings, identity: Identity) -> tuple[Identity, dict[str, Any]]:
    """Ask Hailuo who the token is (``user/info``). A token without a known device
    (``known_device``) gets one registered first, remembered as the provider does."""
    import aiohttp

    from g4f_hailuo.accounts import devices as _devices
    from g4f_hailuo.protocols.hailuo_v4.client import fetch_user_info

    identity = known_device(settings, identity)
    async with aiohttp.ClientSession() as session:
        if identity.device_id is None:
            identity = await _devices.with_device(session, settings, identity)
        return identity, await fetch_user_info(session, settings, identity)
