"""A MiniMax Agent account, made ready: its ids, then (once per process) ``/config`` and its agent.

- **ids** (:func:`establish`): realUserID (given as ``<realUserID>+<JWT>``, remembered, or
  discovered with ``user/info``), a numeric 8-digit ``device_id`` and the client ``uuid``,
  stable per account: kept in the devices file by site and account fingerprint, never the token.
- **site state** (:func:`prepare`): ``GET /config`` (it also initialises a new account on the
  site and lists the live models), then the agent list (``mavis``, else ``general``, else the
  first). Kept per process, least recently used first out.
- **the probe** (:func:`probe`, :func:`generation`): which API generation the account is served,
  found once per account and process from the site's answers: ``/config`` under
  ``/minimax-cloud`` (Gen C), else under ``/archon`` (Gen B: the same shapes, another prefix),
  else neither is served (the app page, or a 404) and it is ``matrix``. The session calls then
  use the prefix found (``AccountState.api``).
- **the fallback** (:func:`move_to_matrix`, :func:`speaks_matrix`): an account whose session
  routes are missing speaks the older polling API (protocol ``matrix``) for the rest of the process.
"""

from __future__ import annotations

import dataclasses
import random
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from g4f import debug
from g4f.errors import ResponseError

from g4f_hailuo._config import MATRIX
from g4f_hailuo.accounts import devices
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.protocols.agent.client import API, ARCHON_API, USER_INFO_PATH, AgentSite, GenCMissing

__all__ = [
    "GENERATIONS",
    "AccountState",
    "adopt",
    "corrected",
    "establish",
    "forget",
    "generation",
    "live_models",
    "move_to_matrix",
    "pick_agent",
    "prepare",
    "probe",
    "real_user_id_of",
    "remember_ids",
    "speaks_matrix",
    "user_info",
]

_STATES_KEPT = 256
_AGENT_ROLES = ("mavis", "general")
# The session APIs, newest first (protocol doc, section 1): a generation's name and its prefix.
GENERATIONS = (("minimax-cloud", API), ("archon", ARCHON_API))


@dataclass
class AccountState:
    """What the site told this process about one account."""

    configured: bool = False
    agent_id: str | None = None
    models: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    matrix: bool = False  # the session routes are missing: replies go to the polling API
    generation: str | None = None  # what probe() found: a GENERATIONS name, or MATRIX
    api: str = API  # the session API's prefix (the generation's)


_states: OrderedDict[tuple[str, str], AccountState] = OrderedDict()


def _state(origin: str, account: str) -> AccountState:
    key = (origin, account)
    state = _states.get(key)
    if state is None:
        state = _states[key] = AccountState()
        while len(_states) > _STATES_KEPT:
            _states.popitem(last=False)
    else:
        _states.move_to_end(key)
    return state


# realUserIDs the site gave after a 401 (see ``turn._recheck``), by site and account: the
# identities cached elsewhere in the process still hold the old one.
_adopted: OrderedDict[tuple[str, str], str] = OrderedDict()


def adopt(identity: Identity, origin: str) -> None:
    if identity.real_user_id:
        _adopted[(origin, identity.account)] = identity.real_user_id
        while len(_adopted) > _STATES_KEPT:
            _adopted.popitem(last=False)


def corrected(identity: Identity, origin: str) -> Identity:
    """The identity with the realUserID the site gave for it in this process, if any."""
    found = _adopted.get((origin, identity.account)) if _adopted else None
    if found is None or found == identity.real_user_id:
        return identity
    return dataclasses.replace(identity, real_user_id=found)


def speaks_matrix(origin: str, account: str) -> bool:
    """Whether this account moved to the polling API (protocol ``matrix``) in this process."""
    state = _states.get((origin, account))
    return state is not None and state.matrix


def move_to_matrix(origin: str, account: str) -> None:
    """The site serves no session API to this account: its later replies poll instead."""
    state = _state(origin, account)
    state.matrix, state.generation = True, MATRIX


def generation(origin: str, account: str) -> str | None:
    """The API generation this account is served, once :func:`probe` (or the fallback) found it
    in this process: ``"minimax-cloud"``, ``"archon"`` or ``"matrix"``."""
    state = _states.get((origin, account))
    return state.generation if state is not None else None


def forget(origin: str, account: str) -> None:
    """Start over with this account (after the site said it was not initialised); the API
    generation found stays known."""
    old = _states.pop((origin, account), None)
    if old is not None and old.generation is not None:
        state = _state(origin, account)
        state.generation, state.api, state.matrix = old.generation, old.api, old.matrix


def live_models() -> list[str]:
    """Every model a ``/config`` of this process listed, in the site's spelling."""
    seen: dict[str, None] = {}
    for state in _states.values():
        seen.update(dict.fromkeys(state.models))
    return list(seen)


def _is_agent_device_id(value: str | None) -> bool:
    return value is not None and value.isdigit() and len(value) == 8


async def user_info(site: AgentSite) -> dict[str, Any]:
    """``data.userInfo`` of the token (the one call that needs no ``user_id``)."""
    answer = await site.call("GET", USER_INFO_PATH, with_user=False)
    data = answer.get("data")
    info = data.get("userInfo") if isinstance(data, dict) else None
    if not isinstance(info, dict):
        raise ResponseError("MiniMax Agent's user/info returned no user")
    return info


def real_user_id_of(info: dict[str, Any]) -> str:
    value = info.get("realUserID")
    value = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not value.isdigit():
        raise ResponseError("MiniMax Agent's user/info returned no realUserID")
    return value


async def establish(site: AgentSite) -> Identity:
    """The identity with its device id and realUserID (``site.identity`` is updated too).

    ``user/info`` is asked only when the realUserID is neither given nor remembered.
    """
    identity, origin = site.identity, site.settings.origin
    path = devices.devices_file()
    entry = devices.remembered_entry(path, origin, identity.account)
    device_id = identity.device_id if _is_agent_device_id(identity.device_id) else entry.get("device_id")
    if not _is_agent_device_id(device_id):
        device_id = str(random.randint(10_000_000, 99_999_999))  # the web app's rule
    real_user_id = identity.real_user_id or entry.get("real_user_id")
    identity = site.identity = dataclasses.replace(identity, device_id=device_id, real_user_id=real_user_id)
    if not real_user_id:
        real_user_id = real_user_id_of(await user_info(site))
        identity = site.identity = dataclasses.replace(identity, real_user_id=real_user_id)
    if entry.get("device_id") != device_id or entry.get("real_user_id") != real_user_id:
        remember_ids(identity, origin)
    return identity


def remember_ids(identity: Identity, origin: str) -> None:
    """Keep the account's device id and realUserID for the next process."""
    path = devices.devices_file()
    try:
        devices.remember(
            path,
            origin,
            identity.account,
            identity.uuid,
            identity.device_id or "",
            real_user_id=identity.real_user_id or "",
        )
    except OSError as error:  # e.g. a read-only home: this process still keeps them
        debug.log(f"HailuoAI: could not remember the account's ids in {path} ({type(error).__name__})")


def pick_agent(answer: dict[str, Any]) -> str | None:
    """The agent id (its ``name``) of an agent list: role ``mavis``, else ``general``, else the first."""
    agents = answer.get("agents")
    if not isinstance(agents, list):
        data = answer.get("data")
        agents = data.get("agents") if isinstance(data, dict) else None
    named = [a for a in agents or () if isinstance(a, dict) and isinstance(a.get("name"), (str, int))]
    for role in _AGENT_ROLES:
        for agent in named:
            if agent.get("agent_role") == role:
                return str(agent["name"])
    return str(named[0]["name"]) if named else None


def _model_ids(answer: dict[str, Any]) -> tuple[str, ...]:
    models = answer.get("models")
    if not isinstance(models, list):
        data = answer.get("data")
        models = data.get("models") if isinstance(data, dict) else None
    return tuple(
        m["model_id"] for m in models or () if isinstance(m, dict) and isinstance(m.get("model_id"), str)
    )


async def probe(site: AgentSite) -> AccountState:
    """``/config`` (once per account and process), under the prefix of each generation in turn
    until one is served; the state holds the generation, its prefix and the models. ``GenCMissing``
    when none is: the account is served the polling API (the caller moves it there)."""
    state = _state(site.settings.origin, site.identity.account)
    if state.configured:
        return state
    missing: GenCMissing | None = None
    for name, prefix in GENERATIONS:
        if state.generation not in (None, name):
            continue
        try:
            answer = await site.call("GET", f"{prefix}/config")
        except GenCMissing as error:
            missing = missing or error
            continue
        if name != GENERATIONS[0][0]:
            debug.log(f"HailuoAI: MiniMax Agent serves this account the {name} API ({prefix})")
        state.generation, state.api = name, prefix
        state.models = _model_ids(answer)
        state.configured = True
        return state
    state.generation = MATRIX
    raise missing or GenCMissing("MiniMax Agent serves no session API to this account")


async def prepare(site: AgentSite, *, rediscover: bool = False) -> AccountState:
    """``/config`` (:func:`probe`) then the agent, each once per account and process."""
    state = await probe(site)
    if state.agent_id is None or rediscover:
        state.agent_id = pick_agent(await site.call("GET", f"{state.api}/agent"))
        if state.agent_id is None:
            raise ResponseError(
                "MiniMax Agent lists no agent for this account: open the site once and send a message there"
            )
    return state
