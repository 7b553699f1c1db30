"""The ``HailuoAI`` g4f provider: the MiniMax Agent web chat (protocol ``agent``, the
default) and the retired Hailuo ``/v4`` chat (``hailuo-v4``).

Thin on purpose: ``_config`` resolves the options, ``accounts`` finds the tokens and gives
each account one reply at a time, and ``protocols.base.protocol_for`` hands the reply to
the protocol's package (``protocols/agent``, ``protocols/hailuo_v4``).

Imported while ``g4f.models`` may be half-initialised: import only from
``g4f.providers``, ``g4f.errors``, ``g4f.typing`` and ``g4f.debug`` here.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

from g4f import debug
from g4f.errors import G4FError, MissingAuthError, MissingRequirementsError, PaymentRequiredError
from g4f.providers.base_provider import AsyncAuthedProvider, ProviderModelMixin
from g4f.providers.response import AuthResult, RequestLogin
from g4f.typing import AsyncResult, Messages

from g4f_hailuo._config import (
    AGENT_REGIONS,
    BROWSER_LOGIN_ENV,
    HAILUO_V4,
    Settings,
    resolve_settings,
    seconds_setting,
    settings_from,
    switched_off,
)
from g4f_hailuo._conversation import Conversation
from g4f_hailuo._errors import HOW_TO_LOGIN, scrub, without_secret
from g4f_hailuo.accounts import auth_cache as _auth_cache
from g4f_hailuo.accounts.browser_login import browser_login_available
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.accounts.lifecycle import (
    OneLoginAtATime,
    Refused,
    conversation_account,
    expired_message,
    login_summary,
    next_expiry_check,
    refusal_or_clean,
    unusable,
    warn_of_expiry,
)
from g4f_hailuo.accounts.login_flow import browser_identity, log_in
from g4f_hailuo.accounts.pool import AccountPool, AccountsGone, report
from g4f_hailuo.accounts.token_sources import (
    CACHE,
    NONE,
    TokenSource,
    find_tokens,
    split_tokens,
)
from g4f_hailuo.protocols.agent.models import DEFAULT_MODEL, KNOWN_MODELS
from g4f_hailuo.protocols.base import protocol_for

__all__ = ["Conversation", "HailuoAI"]

_IDENTITY_CACHE_SIZE = 256


class HailuoAI(AsyncAuthedProvider, ProviderModelMixin):
    label = "Hailuo AI"
    url = AGENT_REGIONS["intl"]
    login_url = AGENT_REGIONS["intl"]
    working = True
    needs_auth = True
    supports_stream = True
    supports_message_history = True
    supports_system_message = True
    use_nodriver = browser_login_available()
    default_model = DEFAULT_MODEL  # the account's default model
    models: ClassVar[list[str]] = [DEFAULT_MODEL, *KNOWN_MODELS]
    default_vision_model = DEFAULT_MODEL  # images and files (the Agent): the GUI's upload button
    vision_models: ClassVar[list[str]] = models
    model_aliases: ClassVar[dict[str, str]] = {"hailuo": DEFAULT_MODEL, "hailuoai": DEFAULT_MODEL}

    # Identities of tokens given explicitly (api_key / env), validated once per
    # process: the device registration and liveness check are not repeated.
    _identities: ClassVar[OrderedDict[tuple[str, str], Identity]] = OrderedDict()

    @classmethod
    def get_model(cls, model: str, protocol: str | None = None, **kwargs: Any) -> str:
        """The model's name as the protocol sends it; ``ModelNotFoundError`` before any request."""
        settings = resolve_settings(protocol=protocol)
        return protocol_for(settings.protocol).resolve_model(model)

    @classmethod
    def get_models(cls, protocol: str | None = None, **kwargs: Any) -> list[str]:
        """The Agent's models: the known ones and every one a ``/config`` of this process
        listed; under ``hailuo-v4`` the one model of that chat."""
        if resolve_settings(protocol=protocol).protocol == HAILUO_V4:
            return [DEFAULT_MODEL]
        from g4f_hailuo.protocols.agent.account import live_models

        return list(dict.fromkeys([*cls.models, *live_models()]))

    @classmethod
    async def get_quota(cls, api_key: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """What g4f's GUI asks to show a provider as usable: the first usable account's plan and
        credits (Agent) or that the site accepts its token (``/v4``). Cheap: one call, never a chat."""
        settings = settings_from(kwargs)
        source = find_tokens(api_key, settings.origin)
        pool = cls._pool(source, settings)
        live = pool.live()
        if not live:
            raise unusable(pool, source)
        identity = await cls._ready(live[0], source, settings)
        found = await protocol_for(settings.protocol).quota(identity, settings)
        return {"protocol": settings.protocol, "account": identity.account, "accounts": len(live), **found}

    # -- the auth cache: our own file, 0600, atomic, one or several logins ----

    @classmethod
    def get_cache_file(cls) -> Path:
        return _auth_cache.auth_file()

    @classmethod
    def write_cache_file(cls, cache_file: Path, auth_result: AuthResult | None = None) -> None:
        """Add the login to the cache (newest first), replacing an older login of the same account."""
        if auth_result is not None and Identity.from_dict(auth_result.get_dict()) is not None:
            _auth_cache.add_login(cache_file, auth_result.get_dict())

    @classmethod
    def get_auth_result(cls) -> AuthResult:
        """The newest cached login."""
        logins = _auth_cache.read_logins(cls.get_cache_file())
        if not logins or Identity.from_dict(logins[0]) is None:
            raise MissingAuthError(f"Not logged in to Hailuo: {HOW_TO_LOGIN}")
        return AuthResult(**logins[0])

    @classmethod
    def reset_auth(cls) -> None:
        """Forget every cached login (g4f calls this after an auth failure)."""
        _auth_cache.delete_auth(cls.get_cache_file())

    # -- auth -----------------------------------------------------------------

    @classmethod
    async def on_auth_async(
        cls, api_key: str | None = None, proxy: str | None = None, **kwargs: Any
    ) -> AsyncIterator:
        """g4f's login hook. Given tokens (``api_key`` or HAILUOAI_API_KEY, comma-separated):
        an ``AuthResult`` for each, checked against the site. Otherwise a browser login
        (``RequestLogin`` first when G4F_LOGIN_URL is set)."""
        settings = settings_from(kwargs, proxy=proxy)
        tokens = _explicit_tokens(api_key)
        if tokens:
            for token in tokens:
                identity = await cls._establish(Identity.from_token(token), settings)
                yield _auth_result(identity, settings)
            return
        login_url = os.environ.get("G4F_LOGIN_URL")
        if login_url:
            yield RequestLogin(cls.label, login_url)
        if not browser_login_available():
            raise MissingAuthError(f"No Hailuo token: {HOW_TO_LOGIN}")
        identity = await browser_identity(cls._establish, settings, kwargs)
        yield _auth_result(identity, settings)

    @classmethod
    async def login(cls, **kwargs: Any) -> dict[str, Any]:
        """Log in through a browser window and add the login to the auth cache.

        What g4f's GUI Login button calls (``asyncio.run(HailuoAI.login())``, on the
        machine running the GUI) and ``g4f-hailuo login``. Options: ``base_url``,
        ``region``, ``proxy``, ``login_timeout`` (HAILUOAI_LOGIN_TIMEOUT, default
        300 s), ``headless``. Logging in with another account adds it to the pool.
        Returns a summary without the token."""
        settings = settings_from(kwargs, pop=True)
        if switched_off(BROWSER_LOGIN_ENV):
            raise MissingRequirementsError(
                f"The browser login is switched off here ({BROWSER_LOGIN_ENV}=0): {HOW_TO_LOGIN}"
            )
        async with OneLoginAtATime(settings, kwargs):
            identity = await browser_identity(cls._establish, settings, kwargs)
        cache_file = cls.get_cache_file()
        cls.write_cache_file(cache_file, _auth_result(identity, settings))
        AccountPool(settings.origin, [identity]).reinstate(identity)
        return login_summary(identity, cache_file)

    @classmethod
    async def _establish(cls, identity: Identity, settings: Settings) -> Identity:
        """Refuse an expired token, then the protocol's set-up: the ids it needs, checked."""
        if identity.is_expired():
            raise MissingAuthError(expired_message(identity))
        return await protocol_for(settings.protocol).establish(identity, settings)

    @classmethod
    async def _identity_for(cls, identity: Identity, settings: Settings) -> Identity:
        """A token that was given (not logged in here), checked once per process."""
        key = (identity.account, settings.origin)
        checked = cls._identities.get(key)
        if checked is not None:
            cls._identities.move_to_end(key)  # least recently used goes first
        else:
            checked = await cls._establish(identity, settings)
            cls._identities[key] = checked
            while len(cls._identities) > _IDENTITY_CACHE_SIZE:
                cls._identities.popitem(last=False)
        return checked

    @classmethod
    async def _ready(cls, identity: Identity, source: TokenSource, settings: Settings) -> Identity:
        """The account, ready to chat: a given token checked once per process; a
        cached login trusted as stored, after registering a device if it has none."""
        if source.kind != CACHE or settings.protocol != HAILUO_V4:
            return await cls._identity_for(identity, settings)
        if identity.device_id is None:  # e.g. a token stored by hand
            identity = await cls._establish(identity, settings)
            _auth_cache.add_login(
                cls.get_cache_file(), _auth_result(identity, settings).get_dict(), newest=False
            )
        return identity

    @classmethod
    def _pool(cls, source: TokenSource, settings: Settings) -> AccountPool:
        """The pool of ``source``'s accounts: an expired one is retired before any
        request; one that expires within a day is reported once."""
        pool = AccountPool.of(settings.origin, source.identities)
        live = pool.live_by_key()  # first: an account that came back resets quiet_until
        now = time.time()
        if now >= pool.quiet_until:  # a token may have expired or come near its expiry
            for identity in list(live.values()):
                if warn_of_expiry(identity, now):
                    cls._retire(pool, source, identity, expired_message(identity))
            pool.quiet_until = next_expiry_check(pool.live(), now)
        return pool

    @classmethod
    def _retire(
        cls, pool: AccountPool, source: TokenSource, identity: Identity, reason: str, forget: bool = True
    ) -> None:
        """An account the site refused (expired, HTTP 401, banned) or that is out of credits
        leaves the pool (shared: for a day); a refused cached login (``forget``) also the cache."""
        reason = scrub(reason, identity.token)
        cls._identities.pop((identity.account, pool.origin), None)
        if (
            forget
            and source.kind == CACHE
            and _auth_cache.remove_login(cls.get_cache_file(), identity.token, pool.origin)
        ):
            debug.log(f"HailuoAI: removed the refused login of account {identity.account} from the cache")
        if pool.retire(identity, reason) and len(pool) > 1:
            report(
                f"HailuoAI: account {identity.account} ({source.describe()}) left the pool: {reason}"
                f" [{len(pool.live())} of {len(pool)} accounts still serving]"
            )

    @classmethod
    async def _ready_here(cls, identity: Identity, source: TokenSource, settings: Settings) -> Identity:
        """:meth:`_ready`, a refusal of the account as ``Refused`` (another account may serve)."""
        try:
            return await cls._ready(identity, source, settings)
        except MissingAuthError as error:
            raise Refused(identity, error) from None

    # -- the chat ---------------------------------------------------------------

    @classmethod
    async def create_async_generator(
        cls, model: str, messages: Messages, api_key: str | None = None, **kwargs: Any
    ) -> AsyncResult:
        """Pick an account, then chat.

        The accounts come from the first source that has any (``accounts.token_sources``):
        ``api_key``, HAILUOAI_API_KEY, ``.env`` (used as given, never written to
        disk), the cached browser login(s), ``.har``/export files. Each account
        serves one reply at a time (``accounts.pool``); a conversation stays on the
        account that made it. An account the site refuses (HTTP 401, code 22)
        leaves the pool and the reply moves to another one; with no account left
        (and none given explicitly), one browser login is tried, never more."""
        settings = settings_from(kwargs, pop=True)
        protocol = protocol_for(settings.protocol)
        model = protocol.resolve_model(model)
        queue_timeout = seconds_setting(
            "queue_timeout", kwargs.pop("queue_timeout", None), QUEUE_TIMEOUT_ENV, DEFAULT_QUEUE_TIMEOUT
        )
        prefer = conversation_account(kwargs.get("conversation"))
        logged_in = False
        refused: MissingAuthError | None = None
        while True:
            source = find_tokens(api_key, settings.origin)
            pool = cls._pool(source, settings)
            if not pool.live_by_key():
                no_login = source.explicit or logged_in or isinstance(refused, PaymentRequiredError)
                if no_login or (source.kind != NONE and not browser_login_available()):
                    raise refused or unusable(pool, source)
                where = f" in {source.describe()}" if source.kind != NONE else ""
                debug.log(f"HailuoAI: no usable account{where}; logging in through the browser")
                logged_in = True
                async for chunk in log_in(cls, settings, kwargs):
                    yield chunk
                continue
            try:
                async with pool.lease(prefer, queue_timeout) as identity:
                    try:
                        identity = await cls._ready_here(identity, source, settings)
                        # The protocol's reply, right here: one generator layer less per chunk.
                        reply = protocol.reply(model, messages, identity, settings, **kwargs)
                        # Title and conversation wait for the first text, so that a refusal
                        # (``Refused``) can still move the reply to another account unseen.
                        held: list[Any] | None = []
                        try:
                            async for chunk in reply:
                                if held is None:
                                    yield chunk
                                elif isinstance(chunk, str) and chunk:
                                    early, held = held, None  # started: nothing is moved any more
                                    for waited in early:
                                        yield waited
                                    yield chunk
                                else:
                                    held.append(chunk)
                        except G4FError as error:
                            replacement = refusal_or_clean(error, identity, started=held is None)
                            if replacement is None:
                                raise
                            raise replacement from None
                        finally:
                            await reply.aclose()  # at once, before the account goes to the next request
                        for chunk in held or ():
                            yield chunk
                    except Refused as error:
                        # Retired while the lease is held: no waiter gets the refused account.
                        cls._retire(pool, source, error.identity, error.reason, error.forget)
                        raise
                return
            except Refused as error:
                refused = error.error
            except AccountsGone:
                continue

    @classmethod
    async def create_authed(
        cls,
        model: str,
        messages: Messages,
        auth_result: AuthResult,
        *,
        settings: Settings | None = None,
        **kwargs: Any,
    ) -> AsyncResult:
        """One reply on the account of ``auth_result``, by the protocol of ``settings``."""
        if settings is None:
            settings = settings_from(kwargs, pop=True)
        identity = Identity.from_dict(auth_result.get_dict())
        if identity is None:
            raise MissingAuthError(f"No Hailuo token: {HOW_TO_LOGIN}")
        reply = protocol_for(settings.protocol).reply(model, messages, identity, settings, **kwargs)
        try:
            async for chunk in reply:
                yield chunk
        except G4FError as error:
            clean = without_secret(error, identity.token)
            if clean is error:
                raise
            raise clean from None
        finally:
            await reply.aclose()


# -- accounts: options, messages ------------------------------------------------------

QUEUE_TIMEOUT_ENV = "HAILUOAI_QUEUE_TIMEOUT"
DEFAULT_QUEUE_TIMEOUT = 60.0


def _auth_result(identity: Identity, settings: Settings) -> AuthResult:
    """What is cached of a login: the identity and the site it is valid on."""
    return AuthResult(**identity.to_dict(), origin=settings.origin)


def _explicit_tokens(api_key: Any) -> list[str]:
    """The tokens given with ``api_key``, else with HAILUOAI_API_KEY (comma-separated)."""
    return split_tokens(api_key) or split_tokens(os.environ.get("HAILUOAI_API_KEY"))
