"""One MiniMax Agent reply on one account (protocol doc, sections 5 and 8).

Once per account and process ``/config`` and the agent (``account.prepare``); per
conversation a session; per turn one message POST on the stream origin, read as frames
(``frames.TurnReader``). A continuation first waits (bounded) until its session is idle,
then sends only the newest user message. Before the turn is accepted: an HTTP 401 is
checked against ``user/info`` (a changed realUserID is adopted and the turn redone once),
an uninitialised account is configured again once, a vanished session is replaced by a new
one with the whole history. After the 200, nothing is ever resent. The turn's images and files
are checked before any request and uploaded before the turn (``uploads``), once.

**The fallback.** When the session routes are missing for the account (``GenCMissing``: the
app page with 200, or a 404, before the turn was accepted), the reply is redone over the older
polling API (``protocols.matrix``) and the account stays there for the rest of the process
(``account.move_to_matrix``); so does a conversation that the polling API made.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from g4f import debug
from g4f.errors import BadRequestError, MissingAuthError, ResponseError
from g4f.errors import TimeoutError as G4FTimeoutError
from g4f.providers.helper import format_prompt, get_last_user_message
from g4f.providers.response import TitleGeneration
from g4f.typing import Messages

from g4f_hailuo._config import AGENT, MATRIX, Settings
from g4f_hailuo._conversation import Conversation, continued_chat
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.protocols.agent import account
from g4f_hailuo.protocols.agent.client import (
    AgentSite,
    GenCMissing,
    NotConfigured,
    SessionGone,
    Unauthorized,
)
from g4f_hailuo.protocols.agent.frames import TurnReader
from g4f_hailuo.protocols.agent.models import model_object
from g4f_hailuo.protocols.agent.uploads import TurnFiles
from g4f_hailuo.protocols.base import say_once
from g4f_hailuo.protocols.media import collect_attachments
from g4f_hailuo.transport.base import Response
from g4f_hailuo.transport.http import transport_error
from g4f_hailuo.transport.reply import read_reply
from g4f_hailuo.transport.sessions import PooledSession

__all__ = ["establish", "open_with_recovery", "quota", "reply"]

SITE = "MiniMax Agent"  # how messages name it
IDLE_POLL_SECONDS = 0.25
_RUNNING = 1
_T = TypeVar("_T")


async def establish(identity: Identity, settings: Settings) -> Identity:
    """The account's ids (realUserID, device id); ``user/info`` only when the realUserID is unknown."""
    async with PooledSession(identity.account, settings.proxy, settings.impersonate) as session:
        try:
            return await account.establish(AgentSite(session, settings, identity))
        except (asyncio.TimeoutError, aiohttp.ClientError) as error:
            raise transport_error(settings, error) from error


async def quota(identity: Identity, settings: Settings) -> dict[str, Any]:
    """The account's plan and credits (``get_membership_info``): one cheap call, never a chat."""
    from g4f_hailuo.protocols.agent.membership import fetch_membership

    async with PooledSession(identity.account, settings.proxy, settings.impersonate) as session:
        try:
            return await fetch_membership(AgentSite(session, settings, identity))
        except (asyncio.TimeoutError, aiohttp.ClientError) as error:
            raise transport_error(settings, error) from error


def _session_id(answer: dict[str, Any]) -> str | None:
    for holder in (answer, answer.get("session"), answer.get("data")):
        if isinstance(holder, dict) and isinstance(holder.get("session_id"), (str, int)):
            value = str(holder["session_id"])
            if value:
                return value
    bare = answer.get("value")  # a bare JSON string
    return bare if isinstance(bare, str) and bare else None


async def _create_session(site: AgentSite, state: account.AccountState, model: dict[str, Any] | None) -> str:
    body: dict[str, Any] = {"model": model} if model else {}
    for attempt in range(2):
        answer = await site.call("POST", f"{state.api}/agent/{state.agent_id}/session", body)
        session_id = _session_id(answer)
        if session_id:
            return session_id
        if attempt == 0:  # a 200 without a session id: a wrong agent id
            debug.log("HailuoAI: MiniMax Agent made no session for the agent; looking it up again")
            await account.prepare(site, rediscover=True)
    raise ResponseError("MiniMax Agent did not create a session (no session id, twice)")


async def _wait_until_idle(site: AgentSite, api: str, session_id: str) -> str | None:
    """Poll the session until no turn runs in it (bounded by the read timeout); its title."""
    deadline = asyncio.get_running_loop().time() + site.settings.read_timeout
    while True:
        answer = await site.call("GET", f"{api}/session/{session_id}")
        session = answer.get("session")
        session = session if isinstance(session, dict) else {}
        status = session.get("status")
        if not (isinstance(status, dict) and status.get("type") == _RUNNING):
            title = session.get("title")
            return title.strip() if isinstance(title, str) and title.strip() else None
        if asyncio.get_running_loop().time() + IDLE_POLL_SECONDS > deadline:
            raise G4FTimeoutError(
                f"The MiniMax Agent session was still busy with an earlier reply after"
                f" {site.settings.read_timeout:g} s: try again later"
            )
        await asyncio.sleep(IDLE_POLL_SECONDS)


@dataclasses.dataclass
class _Turn:
    response: Response
    session_id: str
    agent_id: str
    title: str | None


async def _open_turn(
    site: AgentSite, messages: Messages, conversation: Any, model: dict[str, Any] | None, files: TurnFiles
) -> _Turn:
    state = await account.prepare(site)
    attachments = await files.entries(site, state.api)  # uploaded before the turn, once
    continued = continued_chat(conversation, site.identity.token, AGENT)
    title = None
    if continued is not None:
        session_id, agent_id = continued
        try:
            title = await _wait_until_idle(site, state.api, session_id)
            payload = _message(get_last_user_message(messages), model, attachments)
            response = await site.open_stream(f"{state.api}/session/{session_id}/message", payload)
            return _Turn(response, session_id, agent_id, title)
        except SessionGone:
            debug.log("HailuoAI: the MiniMax Agent session is gone; a new one gets the whole history")
    session_id = await _create_session(site, state, model)
    payload = _message(format_prompt(messages), model, attachments)
    response = await site.open_stream(f"{state.api}/session/{session_id}/message", payload)
    return _Turn(response, session_id, state.agent_id or "", title)


def _message(
    content: str, model: dict[str, Any] | None, attachments: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    if not content.strip():
        if not attachments:
            raise BadRequestError("There is no user message to send to MiniMax Agent")
        content = " "  # files without words: what the web app sends
    body: dict[str, Any] = {"content": content}
    if model:
        body["model"] = model
    body["turn_id"] = str(uuid.uuid4())
    body["worktreeMode"] = False
    if attachments:
        body["attachments"] = attachments
    return body


async def _recheck(site: AgentSite) -> None:
    """After a 401: is the token alive, and is the realUserID its own? Adopt a changed one;
    else the 401 stands, without retiring the account (a region or geo fence is likely)."""
    try:
        info = await account.user_info(site)
    except Unauthorized:
        raise MissingAuthError(
            "MiniMax Agent refused the token (HTTP 401 on user/info): it expired or belongs to the other"
            " region; log in again or set region"
        ) from None
    found = account.real_user_id_of(info)
    identity = site.identity
    if found == identity.real_user_id:
        raise Unauthorized.keeping_account()
    debug.log("HailuoAI: the site gives this token another realUserID; using it")
    site.identity = dataclasses.replace(identity, real_user_id=found)
    account.remember_ids(site.identity, site.settings.origin)


def reply(
    model: str,
    messages: Messages,
    identity: Identity,
    settings: Settings,
    *,
    conversation: Any = None,
    **kwargs: Any,
) -> AsyncGenerator[Any, None]:
    """The reply's g4f chunks: ``Conversation`` (+ ``TitleGeneration``), ``Reasoning`` and text
    deltas, ``Usage``, ``FinishReason``; by the polling API for an account that moved there.
    (The generator of the API that serves, returned as it is: no layer of its own per chunk.)"""
    polls = account.speaks_matrix(settings.origin, identity.account)
    if not polls and continued_chat(conversation, identity.token, MATRIX) is not None:
        polls = True  # a conversation the polling API made continues there
    if polls:
        return _polling_reply(model, messages, identity, settings, conversation=conversation, **kwargs)
    return _session_reply(model, messages, identity, settings, conversation=conversation, **kwargs)


def _polling_reply(
    model: str, messages: Messages, identity: Identity, settings: Settings, **kwargs: Any
) -> AsyncGenerator[Any, None]:
    matrix = importlib.import_module("g4f_hailuo.protocols.matrix.turn")  # it imports this module
    generator: AsyncGenerator[Any, None] = matrix.reply(model, messages, identity, settings, **kwargs)
    return generator


async def _session_reply(
    model: str,
    messages: Messages,
    identity: Identity,
    settings: Settings,
    *,
    conversation: Any = None,
    return_conversation: bool = True,
    reasoning_effort: Any = None,
    media: Any = None,
    **kwargs: Any,
) -> AsyncGenerator[Any, None]:
    """One reply by the session API (Gen C, or Gen B's prefix: ``account.probe``); redone by the
    polling API when the site turns out not to serve the session routes to this account."""
    chosen = model_object(model, reasoning_effort)
    files = TurnFiles(collect_attachments(media, messages))  # checked before any request
    reader = TurnReader()

    try:
        async with PooledSession(identity.account, settings.proxy, settings.impersonate) as session:
            site = AgentSite(session, settings, account.corrected(identity, settings.origin))
            missing: str | None = None  # how the site said it has no session routes
            try:
                turn = await open_with_recovery(
                    site, lambda: _open_turn(site, messages, conversation, chosen, files)
                )
            except GenCMissing as error:  # before the turn was accepted: nothing is redone twice
                missing = "HTTP 404" if "HTTP 404" in str(error) else "the app page"
            if missing is not None:  # (out of the except: the polling reply's errors are its own)
                debug.log(
                    f"HailuoAI: MiniMax Agent answers its session routes with {missing} for this account;"
                    " it uses the older polling API (protocol 'matrix') for the rest of this process"
                )
                account.move_to_matrix(settings.origin, identity.account)
                polling = _polling_reply(
                    model,
                    messages,
                    identity,
                    settings,
                    conversation=conversation,
                    return_conversation=return_conversation,
                    reasoning_effort=reasoning_effort,
                    media=media,
                    **kwargs,
                )
                async with contextlib.aclosing(polling) as chunks:
                    async for chunk in chunks:
                        yield chunk
                return
            try:
                if return_conversation:
                    yield Conversation(
                        token=identity.account,
                        chatID=turn.session_id,
                        characterID=turn.agent_id,
                        protocol=AGENT,
                    )
                if turn.title:
                    yield TitleGeneration(turn.title)
                async for chunk in read_reply(
                    turn.response, reader, settings.read_timeout, "MiniMax Agent", settings.origin
                ):
                    yield chunk
            finally:
                if turn.response.content.is_eof():
                    turn.response.release()  # back to the pool
                else:
                    turn.response.close()  # an unread body: the server sees the disconnect now
    except (asyncio.TimeoutError, aiohttp.ClientError) as error:
        raise transport_error(settings, error, reader.text_length) from error
    if settings.delete_after:
        say_once("HailuoAI: delete_after: the session API has no known delete; chats stay")


async def open_with_recovery(site: AgentSite, open_turn: Callable[[], Awaitable[_T]]) -> _T:
    """``open_turn()`` (it sends the turn); recover once from a 401 (``_recheck``) and once from an
    uninitialised account. The polling API (``protocols.matrix``) opens its turns through it too."""
    recovered: set[type[Exception]] = set()
    while True:
        try:
            return await open_turn()
        except Unauthorized:
            if Unauthorized in recovered:
                raise Unauthorized.keeping_account() from None
            recovered.add(Unauthorized)
            await _recheck(site)
            account.adopt(site.identity, site.settings.origin)
        except NotConfigured:
            if NotConfigured in recovered:
                raise
            recovered.add(NotConfigured)
            debug.log("HailuoAI: MiniMax Agent says the account is not initialised; configuring it again")
            account.forget(site.settings.origin, site.identity.account)
