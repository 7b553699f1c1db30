"""Accounts, agents and sessions of the fake MiniMax Agent site, and the JSON its account routes answer.

Pure data (no sockets): ``server`` owns the instances and the clock. The shapes follow
``minimax-agent-protocol.md`` sections 3, 5.1, 5.2, 5.4 and 7; the uploads (5.4) are kept in an
:class:`UploadStore` (``FakeAgent.uploads``, served by ``uploads``). The realUserID is an 18-digit
string above 2**53 (a client that turns it into a float breaks it) and differs from the
JWT's ``user.id``, which is what trips clients up on the real site.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from g4f_hailuo.fake.common import make_jwt
from g4f_hailuo.fake.scenario_kit import chat_title

if TYPE_CHECKING:
    from g4f_hailuo.fake.agent.matrix import MatrixChat

__all__ = [
    "AGENT_ID_BASE",
    "DEFAULT_MODEL",
    "JWT_USER_ID_BASE",
    "LIVE_ONLY_MODEL",
    "MODELS",
    "MSG_ID_BASE",
    "OK",
    "REAL_USER_ID_BASE",
    "REGIONS",
    "SESSION_ID_BASE",
    "AgentAccount",
    "AgentSession",
    "PreparedUpload",
    "StoredObject",
    "UploadStore",
    "agents_payload",
    "check_region",
    "config_payload",
    "history_payload",
    "membership_payload",
    "model_name",
    "new_account",
    "reasoning_on",
    "session_payload",
    "user_info_payload",
]

OK = {"status_code": 0, "status_msg": "success"}
REGIONS = ("intl", "cn")
# bases of the fake's ids (base+1, base+2, ... per kind)
REAL_USER_ID_BASE = 210_000_000_000_000_000  # 18 digits, > 2**53: a float cannot hold it
JWT_USER_ID_BASE = 3_000_000_000
AGENT_ID_BASE = 300_000_000_000_000  # 15 digits
SESSION_ID_BASE = 400_000_000_000_000
MSG_ID_BASE = 500_000_000_000_000
# model_id -> context_limit; the first four are the documented ones, the last is only "live"
MODELS: dict[str, int] = {
    "MiniMax-M3": 1_000_000,
    "MiniMax-M3.1-Flash-Preview": 1_000_000,
    "MiniMax-M2.7": 204_800,
    "MiniMax-M2.7-highspeed": 204_800,
    "MiniMax-M3-Pro-Preview": 1_000_000,
}
LIVE_ONLY_MODEL = "MiniMax-M3-Pro-Preview"
DEFAULT_MODEL = {"provider_id": "minimax", "model_id": "MiniMax-M3"}  # a session created with ``{}``
_REASONING_OFF = frozenset({"", "none", "minimal", "off", "false"})
_DAY_MS = 86_400_000


def model_name(model: dict[str, Any]) -> str | None:
    """The model an object names: ``model_id`` (``{provider_id, model_id}``) or ``id`` (``{id, effort}``)."""
    name = model.get("model_id", model.get("id"))
    return name if isinstance(name, str) else None


def reasoning_on(model: dict[str, Any] | None) -> bool:
    """Whether a turn under ``model`` thinks: ``reasoning: true``, or an ``effort``/``variant`` that is
    not none/minimal/off. The account default does not."""
    if not model:
        return False
    if "reasoning" in model:
        return model["reasoning"] is True
    for key in ("effort", "variant"):
        value = model.get(key)
        if isinstance(value, str):
            return value.lower() not in _REASONING_OFF
    return False


@dataclass
class AgentSession:
    session_id: str
    agent_id: str
    model: dict[str, Any]  # the object it was created with, else DEFAULT_MODEL
    title: str = ""  # the first 20 characters of its first message
    messages: list[str] = field(default_factory=list)  # the user messages' content as received
    history: list[dict[str, Any]] = field(default_factory=list)  # GET /session/{sid}/message
    running: int = 0  # turns streaming now (status.type 1 while > 0)

    def record_turn(self, content: str, turn_id: str, msg_id: str, timestamp_ms: int) -> None:
        """Note a user message: its content, the title (from the first one) and its history entry."""
        if not self.messages:
            self.title = chat_title(content)
        self.messages.append(content)
        entry = {"role": "user", "msg_content": content, "turn_id": turn_id, "msg_id": msg_id}
        self.history.append({**entry, "timestamp": timestamp_ms})


@dataclass
class AgentAccount:
    """One account: settable by tests (``credits``, ``migrated``, ``revoked``, ``expires_at``)."""

    token: str
    real_user_id: str
    jwt_user_id: str  # the JWT's user.id: NOT the realUserID
    name: str
    email: str
    region: str  # "intl" | "cn": a token is only good in its region
    expires_at: float
    agents: list[dict[str, str]]  # {name (the agent id), agent_role, root_session_id}
    credits: int = 1000  # 0: every turn gets the 1400010161 "not enough credits" stream
    migrated: bool = False  # membership info in op_credit_summary (is_migrated_to_op)
    revoked: bool = False
    configured: bool = False  # GET /config was called (needed before a session or a message)
    running: int = 0  # turns streaming now (a second one gets "chat is running")
    turns: int = 0  # turns accepted (recorded in a session)
    sessions: dict[str, AgentSession] = field(default_factory=dict)
    chats: dict[str, MatrixChat] = field(default_factory=dict)  # Gen A chats (.matrix)

    def agent_ids(self) -> list[str]:
        return [agent["name"] for agent in self.agents]

    def session_contents(self) -> dict[str, list[str]]:
        """session id -> its message contents; the agents' root sessions only once used."""
        roots = {agent["root_session_id"] for agent in self.agents}
        return {sid: list(s.messages) for sid, s in self.sessions.items() if s.messages or sid not in roots}


def check_region(region: str) -> str:
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, not {region!r}")
    return region


def new_account(
    new_id: Callable[[int], str],
    secret: bytes,
    *,
    name: str,
    region: str,
    expires_in: float,
    now: float,
    real_user_id: str | None = None,
) -> AgentAccount:
    """A new account with its JWT and two agents ("general", then "mavis", each with a root session)."""
    jwt_user_id = new_id(JWT_USER_ID_BASE)
    user = {"id": jwt_user_id, "name": name, "avatar": "", "deviceID": "", "isAnonymous": False}
    token = make_jwt(secret, {"exp": int(now + expires_in), "iat": int(now), "user": user})
    account = AgentAccount(
        token=token,
        real_user_id=real_user_id or new_id(REAL_USER_ID_BASE),
        jwt_user_id=jwt_user_id,
        name=name,
        email=f"{name.lower().replace(' ', '.')}@example.com",
        region=check_region(region),
        expires_at=now + expires_in,
        agents=[],
    )
    for role in ("general", "mavis"):
        agent_id, root = new_id(AGENT_ID_BASE), new_id(SESSION_ID_BASE)
        account.agents.append({"name": agent_id, "agent_role": role, "root_session_id": root})
        account.sessions[root] = AgentSession(root, agent_id, dict(DEFAULT_MODEL))
    return account


def user_info_payload(account: AgentAccount) -> dict[str, Any]:
    """``GET /v1/api/user/info``: ``statusInfo`` and ``data.userInfo``."""
    user = {
        "realUserID": account.real_user_id,
        "userID": account.jwt_user_id,
        "name": account.name,
        "email": account.email,
        "avatar": "",
        "vipInfo": {"vipLevel": 0, "isVip": False, "expireTime": 0},
    }
    return {"statusInfo": {"code": 0, "message": "Success"}, "data": {"userInfo": user}}


def config_payload() -> dict[str, Any]:
    """``GET /minimax-cloud/api/v1/config``: the live model list."""
    models = [
        {"model_id": model_id, "context_limit": limit, "variants": ["default", "reasoning"]}
        for model_id, limit in MODELS.items()
    ]
    chat_types = {"0": "MiniMax-M2.7", "1": "MiniMax-M3", "2": "MiniMax-M3"}
    return {"models": models, "chat_type_model_map": chat_types, "base_resp": OK}


def agents_payload(account: AgentAccount) -> dict[str, Any]:
    """``GET /minimax-cloud/api/v1/agent``: the account's agents (the id is ``name``)."""
    return {"agents": [dict(agent) for agent in account.agents], "base_resp": OK}


def session_payload(session: AgentSession) -> dict[str, Any]:
    """``GET /minimax-cloud/api/v1/session/{sid}``: status.type 1 while a turn streams, else 0."""
    info = {
        "session_id": session.session_id,
        "agent_name": session.agent_id,
        "title": session.title,
        "model": dict(session.model),
        "status": {"type": 1 if session.running else 0},
    }
    return {"session": info, "base_resp": OK}


def history_payload(session: AgentSession) -> dict[str, Any]:
    """``GET /minimax-cloud/api/v1/session/{sid}/message``: the whole history on one page."""
    return {
        "messages": [dict(m) for m in session.history],
        "next_cursor": "",
        "has_more": False,
        "base_resp": OK,
    }


def membership_payload(account: AgentAccount, now: float) -> dict[str, Any]:
    """``POST /matrix/api/v1/commerce/get_membership_info``: flat fields; a migrated account reads 0
    there and has ``op_credit_summary`` instead."""
    credits = 0 if account.migrated else account.credits
    expires_at = int(now * 1000) + 30 * _DAY_MS
    payload: dict[str, Any] = {
        "plan_name": "Free",
        "plan_type": 1,
        "total_remains_credit": credits,
        "daily_login_gift_credit_remaining": min(credits, 300),
        "credits": {"4": [{"credit": credits, "expires_at": expires_at}]},
        "opcredit_balance": 0,
        "has_token_plan": False,
        "is_migrated_to_op": account.migrated,
    }
    if account.migrated:
        payload["op_credit_summary"] = {
            "total_remaining_amount": str(account.credits),
            "free_remaining_amount": account.credits,
            "purchased_remaining_amount": 0,
        }
    payload["base_resp"] = OK
    return payload


@dataclass
class PreparedUpload:
    """What ``uploads/prepare`` promised: the object's key, its form fields and until when they hold."""

    object_key: str
    token: str = field(repr=False)  # the account that asked
    bucket: str
    file_name: str
    mime_type: str
    size_bytes: int
    form_fields: dict[str, str]  # in the order the storage POST must send them
    expires_at: float  # the policy's expiration (fake clock, seconds)


@dataclass
class StoredObject:
    """A file the storage form POST stored."""

    object_key: str
    token: str = field(repr=False)
    file_name: str  # the file part's filename
    content_type: str  # the file part's Content-Type
    data: bytes = field(repr=False)


@dataclass
class UploadStore:
    """The fake's uploads: prepared keys, stored objects, and the object keys each turn named."""

    secret: bytes = field(default_factory=lambda: secrets.token_bytes(16), repr=False)  # signs policies
    prepared: dict[str, PreparedUpload] = field(default_factory=dict)
    stored: dict[str, StoredObject] = field(default_factory=dict)
    referenced: list[list[str]] = field(default_factory=list)  # per message request with attachments
    storage_failures: int = 0  # the next N storage POSTs answer 503 (a test's knob)
