"""The ``HailuoAI`` g4f provider: Hailuo AI (MiniMax) web chat.

Thin on purpose: the work is done by small modules: ``_config`` (origin,
timeouts), ``_identity`` (token, device), ``_request`` + ``_signing`` (the
signed query), ``_client`` (HTTP), ``_sse`` (event decoding) and ``_stream``
(events to g4f objects).

Imported while ``g4f.models`` may be half-initialised: import only from
``g4f.providers``, ``g4f.errors``, ``g4f.typing`` and ``g4f.debug`` here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
from g4f import debug
from g4f.errors import G4FError, MissingAuthError, ModelNotFoundError, ResponseError
from g4f.errors import TimeoutError as G4FTimeoutError
from g4f.providers.base_provider import AsyncAuthedProvider, ProviderModelMixin
from g4f.providers.helper import format_prompt, get_last_user_message
from g4f.providers.response import AuthResult, RequestLogin
from g4f.typing import AsyncResult, Messages

from . import _auth_cache
from ._browser_login import browser_login, browser_login_available
from ._client import fetch_user_info, open_chat_stream, register_device
from ._config import Settings, resolve_settings
from ._conversation import Conversation, continued_chat
from ._errors import HOW_TO_LOGIN, scrub
from ._identity import Identity
from ._sse import SSEDecoder
from ._stream import ReplyInterpreter

__all__ = ["Conversation", "HailuoAI"]

_READ_CHUNK = 64 * 1024
_IDENTITY_CACHE_SIZE = 256


def _explicit_token(api_key: str | None) -> str | None:
    token = (api_key or os.environ.get("HAILUOAI_API_KEY") or "").strip()
    return token.removeprefix("Bearer ").strip() or None


def _session(settings: Settings) -> aiohttp.ClientSession:
    timeout = aiohttp.ClientTimeout(
        total=None, connect=None, sock_connect=settings.connect_timeout, sock_read=settings.read_timeout
    )
    return aiohttp.ClientSession(timeout=timeout)


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

    # -- the auth cache: our own file, 0600, atomic --------------------------

    @classmethod
    def get_cache_file(cls) -> Path:
        return _auth_cache.auth_file()

    @classmethod
    def write_cache_file(cls, cache_file: Path, auth_result: AuthResult | None = None) -> None:
        if auth_result is not None:
            _auth_cache.write_auth(cache_file, auth_result.get_dict())

    @classmethod
    def get_auth_result(cls) -> AuthResult:
        data = _auth_cache.read_auth(cls.get_cache_file())
        if data is None or Identity.from_dict(data) is None:
            raise MissingAuthError(f"Not logged in to Hailuo: {HOW_TO_LOGIN}")
        return AuthResult(**data)

    @classmethod
    def reset_auth(cls) -> None:
        _auth_cache.delete_auth(cls.get_cache_file())

    # -- auth -----------------------------------------------------------------

    @classmethod
    async def on_auth_async(
        cls, api_key: str | None = None, proxy: str | None = None, **kwargs: Any
    ) -> AsyncIterator:
        """Yield an ``AuthResult`` for a given token (checked against the site),
        or log in through a browser; ``RequestLogin`` first when G4F_LOGIN_URL is set."""
        settings = resolve_settings(proxy=proxy, **_settings_kwargs(kwargs))
        token = _explicit_token(api_key)
        if token:
            identity = await cls._establish(Identity.from_token(token), settings)
            yield AuthResult(**identity.to_dict())
            return
        login_url = os.environ.get("G4F_LOGIN_URL")
        if login_url:
            yield RequestLogin(cls.label, login_url)
        if not browser_login_available():
            raise MissingAuthError(f"No Hailuo token: {HOW_TO_LOGIN}")
        found = await browser_login(settings.origin, proxy=settings.proxy)
        identity = Identity.from_token(found.token, found.user_agent)
        identity = Identity(
            identity.token,
            found.uuid or identity.uuid,
            found.device_id or identity.device_id,
            identity.user_agent,
        )
        identity = await cls._establish(identity, settings)
        yield AuthResult(**identity.to_dict())

    @classmethod
    async def _establish(cls, identity: Identity, settings: Settings) -> Identity:
        """Refuse an expired token, register a device if the token names none,
        and check the token is alive (``user/info``)."""
        if identity.is_expired():
            when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(identity.expires_at or 0))
            raise MissingAuthError(f"The Hailuo token expired on {when}: log in again ({HOW_TO_LOGIN})")
        async with _session(settings) as session:
            try:
                if identity.device_id is None:
                    device_id = await register_device(session, settings, identity)
                    identity = Identity(identity.token, identity.uuid, device_id, identity.user_agent)
                await fetch_user_info(session, settings, identity)
            except (asyncio.TimeoutError, aiohttp.ClientError) as error:
                raise _transport_error(settings, error, 0) from error
        return identity

    @classmethod
    async def _identity_for(cls, token: str, settings: Settings, kwargs: dict[str, Any]) -> Identity:
        key = (Identity.from_token(token).account, settings.origin)
        identity = cls._identities.get(key)
        if identity is None or identity.token != token:
            async for chunk in cls.on_auth_async(
                api_key=token, proxy=settings.proxy, **_settings_back(settings), **kwargs
            ):
                if isinstance(chunk, AuthResult):
                    identity = Identity.from_dict(chunk.get_dict())
            if identity is None:  # pragma: no cover - on_auth_async yields one or raises
                raise MissingAuthError(f"No Hailuo token: {HOW_TO_LOGIN}")
            cls._identities[key] = identity
            while len(cls._identities) > _IDENTITY_CACHE_SIZE:
                cls._identities.popitem(last=False)
        return identity

    # -- the chat ---------------------------------------------------------------

    @classmethod
    async def create_async_generator(
        cls, model: str, messages: Messages, api_key: str | None = None, **kwargs: Any
    ) -> AsyncResult:
        """Pick the account, then chat: a token given explicitly (``api_key`` or
        HAILUOAI_API_KEY) is used as is and never written to disk; otherwise the
        cached login, with one fresh login when the site rejects it."""
        model = cls.get_model(model)
        settings = resolve_settings(proxy=kwargs.pop("proxy", None), **_settings_kwargs(kwargs, pop=True))
        token = _explicit_token(api_key)
        if token:
            identity = await cls._identity_for(token, settings, kwargs)
            async for chunk in cls.create_authed(
                model, messages, auth_result=AuthResult(**identity.to_dict()), settings=settings, **kwargs
            ):
                yield chunk
            return
        cache_file = cls.get_cache_file()
        auth_result: AuthResult | None = None
        with contextlib.suppress(MissingAuthError):
            auth_result = cls.get_auth_result()
        if auth_result is not None:
            cached = Identity.from_dict(auth_result.get_dict())
            if cached is not None and cached.device_id is None:  # e.g. a token stored by hand
                try:
                    cached = await cls._establish(cached, settings)
                except MissingAuthError:
                    cls.reset_auth()
                    auth_result = None
                else:
                    auth_result = AuthResult(**cached.to_dict())
                    cls.write_cache_file(cache_file, auth_result)
        if auth_result is not None:
            yielded = False
            try:
                async for chunk in cls.create_authed(
                    model, messages, auth_result=auth_result, settings=settings, **kwargs
                ):
                    yielded = True
                    yield chunk
                return
            except MissingAuthError:
                if yielded:
                    raise
                debug.log("HailuoAI: the cached login was rejected; logging in again")
                cls.reset_auth()
        auth_result = None
        async for chunk in cls.on_auth_async(proxy=settings.proxy, **_settings_back(settings), **kwargs):
            if isinstance(chunk, AuthResult):
                auth_result = chunk
            else:
                yield chunk
        if auth_result is None:  # pragma: no cover - on_auth_async yields one or raises
            raise MissingAuthError(f"No Hailuo token: {HOW_TO_LOGIN}")
        cls.write_cache_file(cache_file, auth_result)
        async for chunk in cls.create_authed(
            model, messages, auth_result=auth_result, settings=settings, **kwargs
        ):
            yield chunk

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
            settings = resolve_settings(proxy=kwargs.pop("proxy", None), **_settings_kwargs(kwargs, pop=True))
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
                _session(settings) as session,
                open_chat_stream(
                    session, settings, identity, character_id=character_id, prompt=prompt, chat_id=chat_id
                ) as response,
            ):
                decoder = SSEDecoder()
                async for data in response.content.iter_chunked(_READ_CHUNK):
                    for event in decoder.feed(data):
                        for chunk in interpreter.on_event(event):
                            yield chunk
                        if interpreter.ended:
                            break
                    if interpreter.ended:
                        break
                else:
                    for event in decoder.close():
                        for chunk in interpreter.on_event(event):
                            yield chunk
            for chunk in interpreter.finish():
                yield chunk
        except (asyncio.TimeoutError, aiohttp.ClientError) as error:
            raise _transport_error(settings, error, interpreter.text_length) from error
        except G4FError as error:
            message = str(error)
            if identity.token in message:  # defence in depth: never show the token
                raise type(error)(scrub(message, identity.token)) from None
            raise


def _transport_error(settings: Settings, error: BaseException, received: int) -> G4FError:
    if isinstance(error, asyncio.TimeoutError):
        return G4FTimeoutError(
            f"Hailuo at {settings.origin} sent nothing for {settings.read_timeout:g} s"
            + (f" after {received} characters: the answer is incomplete" if received else "")
        )
    if received:
        return ResponseError(
            f"The connection to Hailuo broke after {received} characters ({type(error).__name__}):"
            " the answer is incomplete"
        )
    return ResponseError(f"The connection to Hailuo at {settings.origin} failed ({type(error).__name__})")


_SETTING_NAMES = ("base_url", "region", "timeout", "stream_timeout", "retries")


def _settings_kwargs(kwargs: dict[str, Any], pop: bool = False) -> dict[str, Any]:
    take = kwargs.pop if pop else kwargs.get
    return {name: take(name, None) for name in _SETTING_NAMES}


def _settings_back(settings: Settings) -> dict[str, Any]:
    """Settings as kwargs again, for ``on_auth_async`` (already resolved)."""
    return {
        "base_url": settings.origin,
        "region": settings.region,
        "timeout": settings.connect_timeout,
        "stream_timeout": settings.read_timeout,
        "retries": settings.retries,
    }
