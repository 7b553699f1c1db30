"""One reply of the ``/v4`` chat on one account: the whole history on a new chat, only the
newest user message when ``conversation`` continues one of this account's. With ``delete_after``
the chat is deleted (``DELETE /v1/api/chat/history/{chatID}``) once its answer is whole. Images
and files are refused before any request (``NO_FILES``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
from g4f.errors import BadRequestError, MissingAuthError
from g4f.providers.helper import format_prompt, get_last_user_message
from g4f.providers.response import FinishReason
from g4f.typing import Messages

from g4f_hailuo._config import HAILUO_V4, Settings
from g4f_hailuo._conversation import continued_chat
from g4f_hailuo._errors import HOW_TO_LOGIN
from g4f_hailuo.accounts import devices
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.protocols.base import delete_quietly
from g4f_hailuo.protocols.hailuo_v4.client import ChatStream, call_json, fetch_user_info
from g4f_hailuo.protocols.hailuo_v4.stream import ReplyInterpreter, ReplyReader
from g4f_hailuo.protocols.media import refuse_attachments
from g4f_hailuo.transport.base import Session
from g4f_hailuo.transport.http import transport_error
from g4f_hailuo.transport.reply import read_reply
from g4f_hailuo.transport.sessions import PooledSession

__all__ = ["delete_chat", "establish", "quota", "reply"]

HISTORY_PATH = "/v1/api/chat/history"
NO_FILES = (
    "HailuoAI cannot send images or files by protocol 'hailuo-v4' (the retired Hailuo chat): the"
    " upload its form field needs (an OSS-signed PUT with temporary keys, then policy_callback) is"
    " not documented well enough to reproduce. Send the text alone; protocol 'agent' takes files"
)


async def establish(identity: Identity, settings: Settings) -> Identity:
    """Register a device if the token names none, and check the token is alive (``user/info``)."""
    async with PooledSession(identity.account, settings.proxy, settings.impersonate) as session:
        try:
            if identity.device_id is None:
                identity = await devices.with_device(session, settings, identity)
            await fetch_user_info(session, settings, identity)
        except (asyncio.TimeoutError, aiohttp.ClientError) as error:
            raise transport_error(settings, error, 0) from error
    return identity


async def quota(identity: Identity, settings: Settings) -> dict[str, Any]:
    """The /v4 chat has no credits to show: whether the site accepts the token (``user/info``)."""
    async with PooledSession(identity.account, settings.proxy, settings.impersonate) as session:
        try:
            await fetch_user_info(session, settings, identity)
        except (asyncio.TimeoutError, aiohttp.ClientError) as error:
            raise transport_error(settings, error, 0) from error
    return {}


async def reply(
    model: str,
    messages: Messages,
    identity: Identity,
    settings: Settings,
    *,
    conversation: Any = None,
    return_conversation: bool = True,
    media: Any = None,
    **kwargs: Any,
) -> AsyncGenerator[Any, None]:
    """The reply's g4f chunks (the site picks the model; ``model`` is always the default)."""
    refuse_attachments(media, messages, NO_FILES)
    continued = continued_chat(conversation, identity.token, HAILUO_V4)
    if continued is not None:
        chat_id, character_id = continued
        prompt = get_last_user_message(messages)
    else:
        chat_id, character_id = "0", "1"
        prompt = format_prompt(messages) if messages else ""
    if not prompt.strip():
        raise BadRequestError("There is no user message to send to Hailuo")
    if identity.is_expired():
        raise MissingAuthError(f"The Hailuo token has expired: log in again ({HOW_TO_LOGIN})")
    interpreter = ReplyInterpreter(
        account=identity.account,
        character_id=character_id,
        prompt=prompt,
        return_conversation=return_conversation,
    )

    try:
        async with (
            PooledSession(identity.account, settings.proxy, settings.impersonate) as session,
            ChatStream(
                session, settings, identity, character_id=character_id, prompt=prompt, chat_id=chat_id
            ) as response,
        ):
            reader = ReplyReader(interpreter)
            async for chunk in read_reply(response, reader, settings.read_timeout, "Hailuo", settings.origin):
                if settings.delete_after and isinstance(chunk, FinishReason) and interpreter.chat_id:
                    deleting = delete_chat(session, settings, identity, interpreter.chat_id)
                    await delete_quietly("Hailuo", deleting)
                yield chunk
    except (asyncio.TimeoutError, aiohttp.ClientError) as error:
        raise transport_error(settings, error, interpreter.text_length) from error


async def delete_chat(session: Session, settings: Settings, identity: Identity, chat_id: str) -> None:
    """``DELETE /v1/api/chat/history/{chatID}`` (signed over ``{}``)."""
    await call_json(session, settings, identity, "DELETE", f"{HISTORY_PATH}/{chat_id}")
