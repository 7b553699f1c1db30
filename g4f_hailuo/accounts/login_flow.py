"""The browser login as the provider runs it: one window per site at a time for every request
that needs one, the login checked against the site, then cached.

The site is the selected protocol's origin: the MiniMax Agent site (``agent``, ``matrix``), whose
login brings the realUserID and the tab's numeric device id, or the Hailuo ``/v4`` site."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from g4f.errors import MissingAuthError, MissingRequirementsError
from g4f.providers.response import AuthResult

from g4f_hailuo._config import HAILUO_V4, Settings, seconds_setting, settings_as_kwargs
from g4f_hailuo._errors import HOW_TO_LOGIN
from g4f_hailuo.accounts.browser_login import DEFAULT_LOGIN_TIMEOUT, browser_login
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.accounts.lifecycle import LOGIN_TIMEOUT_ENV, OneLoginAtATime
from g4f_hailuo.accounts.pool import AccountPool
from g4f_hailuo.accounts.token_sources import find_tokens, identity_from

__all__ = ["browser_identity", "log_in"]


async def browser_identity(
    establish: Callable[[Identity, Settings], Awaitable[Identity]], settings: Settings, kwargs: dict[str, Any]
) -> Identity:
    """A browser login (bounded wait), with the browser's device identity, checked against the site
    (``establish``: under the Agent protocols it also fills in a realUserID the page did not hold)."""
    found = await browser_login(
        settings.origin,
        proxy=settings.proxy,
        timeout=seconds_setting(
            "login_timeout", kwargs.get("login_timeout"), LOGIN_TIMEOUT_ENV, DEFAULT_LOGIN_TIMEOUT
        ),
        headless=bool(kwargs.get("headless", False)),
        agent=settings.protocol != HAILUO_V4,
    )
    identity = identity_from(found.token, found.uuid, found.device_id, found.user_agent, found.real_user_id)
    return await establish(identity, settings)


async def log_in(provider: Any, settings: Settings, kwargs: dict[str, Any]) -> AsyncIterator[Any]:
    """One browser login (``provider.on_auth_async``) for every request that needs one at the same
    time; the login is cached. Yields what ``on_auth_async`` yields besides the login."""
    async with OneLoginAtATime(settings, kwargs):
        found = find_tokens(None, settings.origin)
        if not found.explicit and AccountPool(settings.origin, found.identities).live():
            return  # another request logged in meanwhile
        auth_result: AuthResult | None = None
        try:
            async for chunk in provider.on_auth_async(
                proxy=settings.proxy, **settings_as_kwargs(settings), **kwargs
            ):
                if isinstance(chunk, AuthResult):
                    auth_result = chunk
                else:
                    yield chunk
        except MissingRequirementsError as error:
            # E.g. a Chromium without a display on a server: to the caller (and g4f api's
            # HTTP status) this is a missing login, with the ways to give a token.
            raise MissingAuthError(
                f"No Hailuo token, and the browser login cannot run: {error}. To fix: {HOW_TO_LOGIN}"
            ) from None
        identity = Identity.from_dict(auth_result.get_dict()) if auth_result is not None else None
        if identity is None:  # pragma: no cover - on_auth_async yields one or raises
            raise MissingAuthError(f"No Hailuo token: {HOW_TO_LOGIN}")
        provider.write_cache_file(provider.get_cache_file(), auth_result)
        AccountPool(settings.origin, [identity]).reinstate(identity)
