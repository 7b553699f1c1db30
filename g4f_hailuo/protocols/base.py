"""The seam between the provider and a protocol: what each one offers.

A protocol makes an account ready (``establish``: the ids it needs, checked against the
site), names its models (``resolve_model``, before any request) and runs one reply on
one account (``reply``: g4f chunks). The provider never sees the wire. Protocol modules
are imported on first use, so a process that speaks one never loads the other.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from g4f.errors import BadRequestError, ModelNotFoundError

from g4f_hailuo._config import AGENT, HAILUO_V4, MATRIX, Settings
from g4f_hailuo.accounts.identity import Identity

__all__ = ["ChatProtocol", "protocol_for"]

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
        raise BadRequestError(
            "protocol 'matrix' (MiniMax Agent's older polling API) is not available yet:"
            " use 'agent' (the default) or 'hailuo-v4'"
        )
    raise BadRequestError(f"Unknown protocol {name!r}: use 'agent' or 'hailuo-v4'")
