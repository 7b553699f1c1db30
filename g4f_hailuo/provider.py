"""The ``HailuoAI`` g4f provider: Hailuo AI (MiniMax) web chat.

Thin on purpose: the work is done by small modules: ``_config`` (origin,
timeouts), ``_identity`` (token, device), ``_token_sources`` (where tokens
come from), ``_accounts`` (one reply at a time per account), ``_auth_cache`` and
``_browser_login`` (logins), ``_request`` + ``_signing`` (the signed query),
``_client`` (HTTP), ``_sse`` (event decoding) and ``_stream`` (events to g4f objects).

Imported while ``g4f.models`` may be half-initialised: import only from
``g4f.providers``, ``g4f.errors``, ``g4f.typing`` and ``g4f.debug`` here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
from g4f import debug
from g4f.errors import G4FError, MissingAuthError, MissingRequirementsError, ModelNotFoundError
from g4f.errors import TimeoutError as G4FTimeoutError
from g4f.providers.base_provider import AsyncAuthedProvider, ProviderModelMixin
from g4f.providers.helper import format_prompt, get_last_user_message
from g4f.providers.response import AuthResult, RequestLogin
from g4f.typing import AsyncResult, Messages

from g4f_hailuo._config import BROWSER_LOGIN_ENV, Settings, resolve_settings, seconds_setting, switched_off
from g4f_hailuo._conversation import Conversation, _field, continued_chat
from g4f_hailuo._errors import HOW_TO_LOGIN, scrub
from g4f_hailuo.accounts import auth_cache as _auth_cache
from g4f_hailuo.accounts import devices as _devices
from g4f_hailuo.accounts.browser_login import DEFAULT_LOGIN_TIMEOUT, browser_login, browser_login_available
from g4f_hailuo.accounts.identity import Identity, jwt_claims
from g4f_hailuo.accounts.pool import AccountPool, AccountsGone, exclusive, report
from g4f_hailuo.accounts.token_sources import (
    CACHE,
    NONE,
    TokenSource,
    find_tokens,
    identity_from,
    split_tokens,
)
from g4f_hailuo.protocols.hailuo_v4.client import ChatStream, fetch_user_info
from g4f_hailuo.protocols.hailuo_v4.stream import ReplyInterpreter, ReplyReader
from g4f_hailuo.transport.http import ReadWatchdog, finish_body, transport_error
from g4f_hailuo.transport.sessions import PooledSession

__all__ = ["Conversation", "HailuoAI"]

_IDENTITY_CACHE_SIZE = 256


def _session(
    settings: Settings, account: str = ""
) -> contextlib.AbstractAsyncContextManager[aiohttp.ClientSession]:
    """This event loop's keep-alive session for ``account`` and the proxy (see ``_sessions``)."""
    return PooledSession(account, settings.proxy)


class HailuoAI(AsyncAuthedProvider, ProviderModelMixin):
    label = "Hailuo AI"
    url = "https://www.hailuo.ai"
    login_url = "https://www.hailuo.ai"
    working = True
    needs_auth = True
    supports_stream = True
    supports_message_history = True
    supports_system_message = True
    use_nodriver = browser_login_available()
    default_model = "MiniMax"
    models: ClassVar[list[str]] = ["MiniMax"]  # the site picks the model server-side
    model_aliases: ClassVar[dict[str, str]] = {
        "minimax": "MiniMax",
        "hailuo": "MiniMax",
        "hailuoai": "MiniMax",
    }

    # Identities of tokens given explicitly (api_key / env), validated once per
    # process: the device registration and liveness check are not repeated.
    _identities: ClassVar[OrderedDict[tuple[str, str], Identity]] = OrderedDict()

    @classmethod
    def get_model(cls, model: str, **kwargs: Any) -> str:
        if not model or model == "auto":
            return cls.default_model
        for name in cls.models:
            if model.lower() == name.lower():
                return name
        if model.lower() in cls.model_aliases:
            return cls.model_aliases[model.lower()]
        raise ModelNotFoundError(
            f"Model {model!r} is not served by {cls.__name__}: use {cls.default_model!r}"
        )

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
        settings = resolve_settings(proxy=proxy, **_settings_kwargs(kwargs))
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
        identity = await cls._browser_identity(settings, kwargs)
        yield _auth_result(identity, settings)

    @classmethod
    async def login(cls, **kwargs: Any) -> dict[str, Any]:
        """Log in through a browser window and add the login to the auth cache.

        What g4f's GUI Login button calls (``asyncio.run(HailuoAI.login())``, on the
        machine running the GUI) and ``g4f-hailuo login``. Options: ``base_url``,
        ``region``, ``proxy``, ``login_timeout`` (HAILUOAI_LOGIN_TIMEOUT, default
        300 s), ``headless``. Logging in with another account adds it to the pool.
        Returns a summary without the token."""
        settings = _pop_settings(kwargs)
        if switched_off(BROWSER_LOGIN_ENV):
            raise MissingRequirementsError(
                f"The browser login is switched off here ({BROWSER_LOGIN_ENV}=0): {HOW_TO_LOGIN}"
            )
        async with _OneLoginAtATime(settings, kwargs):
            identity = await cls._browser_identity(settings, kwargs)
        cache_file = cls.get_cache_file()
        cls.write_cache_file(cache_file, _auth_result(identity, settings))
        AccountPool(settings.origin, [identity]).reinstate(identity)
        return _login_summary(identity, cache_file)

    @classmethod
    async def _browser_identity(cls, settings: Settings, kwargs: dict[str, Any]) -> Identity:
        """A browser login (bounded wait), with the browser's device identity, checked against the site."""
        found = await browser_login(
            settings.origin,
            proxy=settings.proxy,
            timeout=seconds_setting(
                "login_timeout", kwargs.get("login_timeout"), LOGIN_TIMEOUT_ENV, DEFAULT_LOGIN_TIMEOUT
            ),
            headless=bool(kwargs.get("headless", False)),
        )
        identity = identity_from(found.token, found.uuid, found.device_id, found.user_agent)
        return await cls._establish(identity, settings)

    @classmethod
    async def _establish(cls, identity: Identity, settings: Settings) -> Identity:
        """Refuse an expired token, register a device if the token names none,
        and check the token is alive (``user/info``)."""
        if identity.is_expired():
            raise MissingAuthError(_expired_message(identity))
        async with _session(settings, identity.account) as session:
            try:
                if identity.device_id is None:
                    identity = await _devices.with_device(session, settings, identity)
                await fetch_user_info(session, settings, identity)
            except (asyncio.TimeoutError, aiohttp.ClientError) as error:
                raise transport_error(settings, error, 0) from error
        return identity

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
        if source.kind != CACHE:
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
        pool = AccountPool(settings.origin, source.identities)
        now = time.time()
        for identity in pool.live():
            expires_at = identity.expires_at
            if expires_at is None:
                continue
            if expires_at <= now:
                cls._retire(pool, source, identity, _expired_message(identity))
            elif expires_at - now < NEAR_EXPIRY_SECONDS and identity.account not in _warned_expiry:
                _warned_expiry.add(identity.account)
                report(
                    f"HailuoAI: the token of account {identity.account} expires on {_utc(expires_at)}"
                    f" (in {(expires_at - now) / 3600:.0f} h): log in again soon ({HOW_TO_LOGIN})"
                )
        return pool

    @classmethod
    def _retire(cls, pool: AccountPool, source: TokenSource, identity: Identity, reason: str) -> None:
        """An account the site refused (expired, HTTP 401, banned) leaves the pool;
        a cached login also leaves the cache."""
        reason = scrub(reason, identity.token)
        cls._identities.pop((identity.account, pool.origin), None)
        if source.kind == CACHE and _auth_cache.remove_login(
            cls.get_cache_file(), identity.token, pool.origin
        ):
            debug.log(f"HailuoAI: removed the refused login of account {identity.account} from the cache")
        if pool.retire(identity, reason) and len(pool) > 1:
            report(
                f"HailuoAI: account {identity.account} ({source.describe()}) left the pool: {reason}"
                f" [{len(pool.live())} of {len(pool)} accounts still serving]"
            )

    @classmethod
    async def _log_in(cls, settings: Settings, kwargs: dict[str, Any]) -> AsyncIterator[Any]:
        """One browser login for every request that needs one at the same time;
        the login is cached. Yields what ``on_auth_async`` yields besides the login."""
        async with _OneLoginAtATime(settings, kwargs):
            found = find_tokens(None, settings.origin)
            if not found.explicit and AccountPool(settings.origin, found.identities).live():
                return  # another request logged in meanwhile
            auth_result: AuthResult | None = None
            try:
                async for chunk in cls.on_auth_async(
                    proxy=settings.proxy, **_settings_back(settings), **kwargs
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
            cls.write_cache_file(cls.get_cache_file(), auth_result)
            AccountPool(settings.origin, [identity]).reinstate(identity)

    @classmethod
    async def _reply(
        cls,
        model: str,
        messages: Messages,
        identity: Identity,
        source: TokenSource,
        settings: Settings,
        kwargs: dict[str, Any],
    ) -> AsyncGenerator[Any, None]:
        """One reply on one account. Title and conversation are held back until
        the first text, so that a refusal (``_Refused``) can still move the
        reply to another account without the caller seeing the first attempt."""
        try:
            identity = await cls._ready(identity, source, settings)
        except MissingAuthError as error:
            raise _Refused(identity, error) from None
        held: list[Any] = []
        started = False
        reply = cls.create_authed(
            model, messages, auth_result=AuthResult(**identity.to_dict()), settings=settings, **kwargs
        )
        try:
            async for chunk in reply:
                if started:
                    yield chunk
                elif isinstance(chunk, str) and chunk:
                    started = True
                    for early in held:
                        yield early
                    held.clear()
                    yield chunk
                else:
                    held.append(chunk)
        except MissingAuthError as error:
            if started:
                raise
            raise _Refused(identity, error) from None
        finally:
            await reply.aclose()  # at once, not when the garbage collector gets to it
        for chunk in held:
            yield chunk

    # -- the chat ---------------------------------------------------------------

    @classmethod
    async def create_async_generator(
        cls, model: str, messages: Messages, api_key: str | None = None, **kwargs: Any
    ) -> AsyncResult:
        """Pick an account, then chat.

        The accounts come from the first source that has any (``_token_sources``):
        ``api_key``, HAILUOAI_API_KEY, ``.env`` (used as given, never written to
        disk), the cached browser login(s), ``.har``/export files. Each account
        serves one reply at a time (``_accounts``); a conversation stays on the
        account that made it. An account the site refuses (HTTP 401, code 22)
        leaves the pool and the reply moves to another one; with no account left
        (and none given explicitly), one browser login is tried, never more."""
        model = cls.get_model(model)
        settings = _pop_settings(kwargs)
        queue_timeout = seconds_setting(
            "queue_timeout", kwargs.pop("queue_timeout", None), QUEUE_TIMEOUT_ENV, DEFAULT_QUEUE_TIMEOUT
        )
        prefer = _conversation_account(kwargs.get("conversation"))
        logged_in = False
        refused: MissingAuthError | None = None
        while True:
            source = find_tokens(api_key, settings.origin)
            pool = cls._pool(source, settings)
            if not pool.live():
                if source.explicit or logged_in or (source.kind != NONE and not browser_login_available()):
                    raise refused or _unusable(pool, source)
                where = f" in {source.describe()}" if source.kind != NONE else ""
                debug.log(f"HailuoAI: no usable account{where}; logging in through the browser")
                logged_in = True
                async for chunk in cls._log_in(settings, kwargs):
                    yield chunk
                continue
            try:
                async with pool.lease(prefer, queue_timeout) as identity:
                    try:
                        # aclosing: closing this generator closes the reply (and its
                        # connection) before the account is handed to the next request.
                        async with contextlib.aclosing(
                            cls._reply(model, messages, identity, source, settings, kwargs)
                        ) as reply:
                            async for chunk in reply:
                                yield chunk
                    except _Refused as error:
                        # Retired while the lease is held: no waiter gets the refused account.
                        cls._retire(pool, source, error.identity, str(error.error))
                        raise
                return
            except _Refused as error:
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
        conversation: Any = None,
        return_conversation: bool = True,
        settings: Settings | None = None,
        **kwargs: Any,
    ) -> AsyncResult:
        """One message, streamed: the whole history on a new chat, only the
        newest user message when ``conversation`` continues one of this account's."""
        if settings is None:
            settings = _pop_settings(kwargs)
        identity = Identity.from_dict(auth_result.get_dict())
        if identity is None:
            raise MissingAuthError(f"No Hailuo token: {HOW_TO_LOGIN}")
        if identity.is_expired():
            raise MissingAuthError(f"The Hailuo token has expired: log in again ({HOW_TO_LOGIN})")
        continued = continued_chat(conversation, identity.token)
        if continued is not None:
            chat_id, character_id = continued
            prompt = get_last_user_message(messages)
        else:
            chat_id, character_id = "0", "1"
            prompt = format_prompt(messages) if messages else ""
        if not prompt.strip():
            from g4f.errors import BadRequestError

            raise BadRequestError("There is no user message to send to Hailuo")
        interpreter = ReplyInterpreter(
            account=identity.account,
            character_id=character_id,
            prompt=prompt,
            return_conversation=return_conversation,
        )
        try:
            async with (
                _session(settings, identity.account) as session,
                ChatStream(
                    session, settings, identity, character_id=character_id, prompt=prompt, chat_id=chat_id
                ) as response,
            ):
                reader = ReplyReader(interpreter)
                idle_limit = settings.read_timeout
                watchdog = ReadWatchdog(response, idle_limit)  # bounds each wait for data
                clock = asyncio.get_running_loop().time
                last_progress = clock()
                try:
                    # The hot loop: keep it linear in the bytes and free of per-chunk extras.
                    # Heartbeats alone keep the data coming, so progress has a deadline of its own.
                    async for data in response.content.iter_any():
                        watchdog.consumed += len(data)
                        progressed = False
                        for chunk in reader.feed(data):
                            progressed = True
                            yield chunk
                        if reader.ended:
                            break
                        now = clock()
                        if progressed:
                            last_progress = now
                        elif now - last_progress > idle_limit:
                            raise _no_progress(settings, interpreter.text_length)
                except (asyncio.TimeoutError, aiohttp.ClientError) as error:
                    if not interpreter.answer_final:
                        raise
                    # The final message (isEnd 0) already arrived: the answer is whole.
                    debug.log(f"HailuoAI: {type(error).__name__} after the final message; answer complete")
                finally:
                    watchdog.cancel()
                for chunk in reader.close():
                    yield chunk
                if interpreter.ended:  # after the last chunk: read the body's end, to reuse the connection
                    await finish_body(response)
        except (asyncio.TimeoutError, aiohttp.ClientError) as error:
            raise transport_error(settings, error, interpreter.text_length) from error
        except G4FError as error:
            message = str(error)
            if identity.token in message:  # defence in depth: never show the token
                raise type(error)(scrub(message, identity.token)) from None
            raise


_SETTING_NAMES = ("base_url", "region", "timeout", "stream_timeout", "retries")


def _settings_kwargs(kwargs: dict[str, Any], pop: bool = False) -> dict[str, Any]:
    take = kwargs.pop if pop else kwargs.get
    return {name: take(name, None) for name in _SETTING_NAMES}


def _pop_settings(kwargs: dict[str, Any]) -> Settings:
    """Take the connection options out of g4f's kwargs and resolve them."""
    return resolve_settings(proxy=kwargs.pop("proxy", None), **_settings_kwargs(kwargs, pop=True))


def _settings_back(settings: Settings) -> dict[str, Any]:
    """Settings as kwargs again, for ``on_auth_async`` (already resolved)."""
    return {
        "base_url": settings.origin,
        "region": settings.region,
        "timeout": settings.connect_timeout,
        "stream_timeout": settings.read_timeout,
        "retries": settings.retries,
    }


# -- accounts: options, messages ------------------------------------------------------

QUEUE_TIMEOUT_ENV = "HAILUOAI_QUEUE_TIMEOUT"
DEFAULT_QUEUE_TIMEOUT = 60.0
LOGIN_TIMEOUT_ENV = "HAILUOAI_LOGIN_TIMEOUT"
NEAR_EXPIRY_SECONDS = 86400.0
_warned_expiry: set[str] = set()  # accounts already warned about their coming expiry


class _Refused(Exception):
    """The site refused an account before any text of the reply (internal)."""

    def __init__(self, identity: Identity, error: MissingAuthError) -> None:
        super().__init__(identity.account)
        self.identity = identity
        message = str(error)
        # The site's own words may come back to the user: never with the token in them.
        self.error = type(error)(scrub(message, identity.token)) if identity.token in message else error


class _OneLoginAtATime:
    """One browser window per site at a time (the GUI's Login button, requests that
    need a login): a second one waits for the first, boundedly. A class, not an
    ``@asynccontextmanager``: see ``_accounts._Lease``."""

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


def _auth_result(identity: Identity, settings: Settings) -> AuthResult:
    """What is cached of a login: the identity and the site it is valid on."""
    return AuthResult(**identity.to_dict(), origin=settings.origin)


def _no_progress(settings: Settings, received: int) -> G4FTimeoutError:
    return G4FTimeoutError(
        f"Hailuo at {settings.origin} sent only keep-alive frames for {settings.read_timeout:g} s"
        + (f" after {received} characters: the answer is incomplete" if received else "")
    )


def _explicit_tokens(api_key: Any) -> list[str]:
    """The tokens given with ``api_key``, else with HAILUOAI_API_KEY (comma-separated)."""
    return split_tokens(api_key) or split_tokens(os.environ.get("HAILUOAI_API_KEY"))


def _utc(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))


def _expired_message(identity: Identity) -> str:
    return f"The Hailuo token expired on {_utc(identity.expires_at or 0)}: log in again ({HOW_TO_LOGIN})"


def _unusable(pool: AccountPool, source: TokenSource) -> MissingAuthError:
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


def _conversation_account(conversation: Any) -> str | None:
    """The account fingerprint a conversation of ours names, if any."""
    value = _field(conversation, "token")
    return value if isinstance(value, str) and value.startswith("sha256:") else None


def _login_summary(identity: Identity, cache_file: Path) -> dict[str, Any]:
    """What a login produced, fit to print: never the token."""
    user = jwt_claims(identity.token).get("user")
    name = user.get("name") if isinstance(user, dict) else None
    expires_at = identity.expires_at
    return {
        "account": identity.account,
        "name": name if isinstance(name, str) else None,
        "expires": _utc(expires_at) if expires_at else None,
        "device_id": identity.device_id,
        "cache_file": str(cache_file),
        "logins": len(_auth_cache.read_logins(cache_file)),
    }
