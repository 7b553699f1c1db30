"""The seam between the provider and a protocol: what each one offers.

A protocol makes an account ready (``establish``: the ids it needs, checked against the
site), names its models (``resolve_model``, before any request) and runs one reply on
one account (``reply``: g4f chunks). The provider never sees the wire. Protocol modules
are imported on first use, so a process that speaks one never loads the other.

Two helpers the protocols share: :func:`say_once` (a debug line once per process) and
:func:`delete_quietly` (the ``delete_after`` clean-up, which never fails a whole answer).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from g4f import debug
from g4f.errors import BadRequestError, G4FError, ModelNotFoundError

from g4f_hailuo._config import AGENT, HAILUO_V4, MATRIX, Settings
from g4f_hailuo.accounts.identity import Identity

__all__ = ["ChatProtocol", "delete_quietly", "protocol_for", "say_once"]

V4_MODEL = "MiniMax"
_V4_ALIASES = frozenset({"", "auto", "minimax", "hailuo", "hailuoai"})


@dataclass(frozen=True)
class ChatProtocol:
    name: str
    establish: Callable[[Identity, Settings], Awaitable[Identity]]
    reply: Callable[..., AsyncGenerator[Any, None]]
    resolve_model: Callable[[str], str]
    quota: Callable[[Identity, Settings], Awaitable[dict[str, Any]]]  # a cheap check, never a chat


def _v4_model(model: str) -> str:
    if (model or "").strip().lower() in _V4_ALIASES:
        return V4_MODEL
    raise ModelNotFoundError(
        f"Model {model!r} is not served by the Hailuo /v4 chat (protocol 'hailuo-v4'): use 'MiniMax'"
    )


def _agent_model(model: str) -> str:
    from g4f_hailuo.protocols.agent.account import live_models
    from g4f_hailuo.protocols.agent.models import resolve_model

    try:
        return resolve_model(model)  # the usual case: no need to gather the live lists
    except ModelNotFoundError:
        return resolve_model(model, live_models())


@functools.cache
def protocol_for(name: str) -> ChatProtocol:
    if name == AGENT:
        turn = importlib.import_module("g4f_hailuo.protocols.agent.turn")
        return ChatProtocol(AGENT, turn.establish, turn.reply, _agent_model, turn.quota)
    if name == HAILUO_V4:
        turn = importlib.import_module("g4f_hailuo.protocols.hailuo_v4.turn")
        return ChatProtocol(HAILUO_V4, turn.establish, turn.reply, _v4_model, turn.quota)
    if name == MATRIX:
        turn = importlib.import_module("g4f_hailuo.protocols.matrix.turn")
        return ChatProtocol(MATRIX, turn.establish, turn.reply, _agent_model, turn.quota)
    raise BadRequestError(f"Unknown protocol {name!r}: use 'agent', 'matrix' or 'hailuo-v4'")


_said: set[str] = set()


def say_once(line: str) -> None:
    """``line`` in g4f's debug log, the first time only (per process)."""
    if line not in _said:
        _said.add(line)
        debug.log(line)


async def delete_quietly(what: str, delete: Awaitable[None]) -> None:
    """Run ``delete`` (``delete_after``: the chat, once its answer is whole); a failure is a debug
    line, never an error: the answer the user has is good."""
    try:
        await delete
    except (G4FError, asyncio.TimeoutError, aiohttp.ClientError) as error:
        said = " ".join(str(error).split())[:200]
        debug.log(f"HailuoAI: could not delete the {what} chat ({type(error).__name__}: {said}); it stays")
