"""The fake MiniMax Agent site, driven by a raw aiohttp client that signs its own requests.

Each strict check of section 9 refuses a bent request with the documented answer and accepts
the straight one; every route answers its documented shape; every scenario writes the bytes it
promises; the helpers, the thread runner and the command line work.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from signal import SIGTERM
from subprocess import PIPE, Popen
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from yarl import URL

from g4f_hailuo.fake.agent import scenarios as sc
from g4f_hailuo.fake.agent.checks import BAD_DEVICE_ID, NOT_CONFIGURED
from g4f_hailuo.fake.agent.server import API, MEMBERSHIP, USER_INFO, FakeAgent, run_in_thread
from g4f_hailuo.fake.cli import main as fake_main
from g4f_hailuo.protocols.agent.signing import body_text, query_pairs, sign

REPO = Path(__file__).resolve().parents[2]
UUID = "00000000-0000-4000-8000-000000000000"
M3_REASONING = {"provider_id": "minimax", "model_id": "MiniMax-M3", "reasoning": True}
INVALID_SIGNATURE = b'{"error":"invalid signature"}'
KEEP = object()  # "sign this part as usual"


# -- a tiny signing client ------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One answer as read: status, the whole body, headers."""

    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Client:
    """One account's signed calls; every part of a request can be bent for a negative test."""

    http: aiohttp.ClientSession
    fake: FakeAgent
    token: str
    region: str = "intl"
    sent: list[str] = field(default_factory=list)

    async def call(
        self,
        method: str,
        path: str,
        obj: Any = None,
        *,
        user_id: Any = KEEP,
        query_token: Any = KEEP,
        device_id: str = "12345678",
        now_ms: int | None = None,
        absolute: bool = False,
        raw_body: str | None = None,
        headers: dict[str, str] | None = None,
        drop: tuple[str, ...] = (),
    ) -> Reply:
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        real = self.fake.real_user_id(self.token) if self.token in self.fake._accounts else ""
        pairs = query_pairs(
            self.region,
            unix=str(now_ms),
            uuid=UUID,
            device_id=device_id,
            user_id=real if user_id is KEEP else user_id,
            token=self.token if query_token is KEEP else query_token,
            timezone_offset=28800,
        )
        body = body_text(obj) if obj is not None else None
        signed = sign(path, pairs, body, now_ms, absolute_origin=self.fake.url if absolute else "")
        sent_headers = {"token": self.token, **signed.headers, **(headers or {})}
        if body is not None:
            sent_headers["content-type"] = "application/json"
        for name in drop:
            sent_headers.pop(name, None)
        data = (raw_body if raw_body is not None else body or "").encode() or None
        url = URL(self.fake.url + signed.path_and_query, encoded=True)
        async with self.http.request(method, url, data=data, headers=sent_headers) as response:
            return Reply(response.status, await response.read(), dict(response.headers))

    async def setup(self) -> str:
        """``GET /config`` then ``GET /agent``; the mavis agent's id."""
        assert (await self.call("GET", f"{API}/config")).status == 200
        agents = (await self.call("GET", f"{API}/agent")).json()["agents"]
        return next(agent["name"] for agent in agents if agent["agent_role"] == "mavis")

    async def new_session(self, model: dict[str, Any] | None = None) -> str:
        agent_id = await self.setup()
        reply = await self.call("POST", f"{API}/agent/{agent_id}/session", {"model": model} if model else {})
        assert reply.status == 200, reply.body
        return str(reply.json()["session_id"])

    async def turn(self, sid: str, content: str, **kwargs: Any) -> Reply:
        obj = {"content": content, "turn_id": str(uuid.uuid4()), "worktreeMode": False}
        return await self.call("POST", f"{API}/session/{sid}/message", obj, absolute=True, **kwargs)


def frames(body: bytes) -> list[Any]:
    """One JSON object (or "[DONE]") per ``data:`` line, as the client reads them."""
    out: list[Any] = []
    for line in body.replace(b"\r\n", b"\n").split(b"\n"):
        if line.startswith(b"data:"):
            data = line[5:].strip()
            out.append("[DONE]" if data == b"[DONE]" else json.loads(data))
    return out


def kinds(body: bytes) -> list[str]:
    """A compact picture of a stream: hb, user, think, text, finish, final, error, done."""
    out = []
    for frame in frames(body):
        if frame == "[DONE]":
            out.append("done")
        elif "agent_message" in frame:
            message = frame["agent_message"]
            out.append(
                "user"
                if message["role"] == "user"
                else "error"
                if message["finish_reason"] == "error"
                else "final"
            )
        elif "agent_message_chunk" in frame:
            chunk = frame["agent_message_chunk"]
            out.append(
                "finish" if chunk.get("finish") else "think" if "thinking_content" in chunk else "text"
            )
        else:
            out.append("hb")
    return out


def text_of(body: bytes, key: str = "msg_content") -> str:
    return "".join(f["agent_message_chunk"].get(key, "") for f in frames(body) if "agent_message_chunk" in f)


def final_of(body: bytes) -> dict[str, Any]:
    [final] = [
        f["agent_message"]
        for f in frames(body)
        if "agent_message" in f and f["agent_message"]["role"] == "assistant"
    ]
    return dict(final)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeAgent]:
    async with FakeAgent() as server:
        yield server


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def client(fake: FakeAgent, http: aiohttp.ClientSession) -> Client:
    return Client(http, fake, fake.issue_token(name="Ann"))


# -- accounts and tokens ---------------------------------------------------------------------------


def _claims(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def test_token_is_a_40_day_jwt_whose_user_id_is_not_the_real_user_id() -> None:
    fake = FakeAgent()
    token = fake.issue_token(name="Ann")
    claims = _claims(token)
    real = fake.real_user_id(token)
    assert token.count(".") == 2 and "=" not in token
    assert claims["exp"] - claims["iat"] == 40 * 86400
    assert claims["user"]["id"] != real and claims["user"]["name"] == "Ann"
    assert len(real) == 18 and real.isdigit() and int(real) > 2**53 and float(real) != int(real)
    assert fake.api_key(token) == f"{real}+{token}"
    assert fake.issue_token(real_user_id="123456789012345678") != token
    assert fake.real_user_id(fake.issue_token(real_user_id="123456789012345678")) == "123456789012345678"
    with pytest.raises(ValueError, match="region"):
        FakeAgent(region="eu")


async def test_user_info_needs_no_user_id(client: Client) -> None:
    reply = await client.call("GET", USER_INFO, user_id=None)
    assert reply.status == 200
    info = reply.json()
    assert info["statusInfo"]["code"] == 0
    user = info["data"]["userInfo"]
    assert user["realUserID"] == client.fake.real_user_id(client.token)
    assert user["userID"] == _claims(client.token)["user"]["id"]
    assert {"name", "email", "vipInfo"} <= set(user)
    assert (await client.call("GET", USER_INFO, user_id="1")).status == 200  # not checked there


# -- the strict checks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case", ["jwt_user_id", "no_user_id", "other_region", "other_fake", "query_token", "revoked", "expired"]
)
async def test_bad_identity_gets_401_with_an_empty_body(client: Client, case: str) -> None:
    fake = client.fake
    kwargs: dict[str, Any] = {}
    if case == "jwt_user_id":
        kwargs["user_id"] = _claims(client.token)["user"]["id"]
    elif case == "no_user_id":
        kwargs["user_id"] = None
    elif case == "other_region":
        client.token = fake.issue_token(region="cn")
        client.region = "cn"
    elif case == "other_fake":
        other = FakeAgent(region="intl")
        client.token = other.issue_token()
        kwargs["user_id"] = other.real_user_id(client.token)
    elif case == "query_token":
        kwargs["query_token"] = fake.issue_token()
    elif case == "revoked":
        fake.revoke(client.token)
    else:
        client.token = fake.issue_token(expires_in=-1)
    reply = await client.call("GET", f"{API}/config", **kwargs)
    assert (reply.status, reply.body) == (401, b"")
    assert fake.requests[-1].rejected in ("token", "user_id")
    if case in ("other_region", "other_fake", "revoked", "expired", "query_token"):
        assert (await client.call("GET", USER_INFO, **{"user_id": None, **kwargs})).status == 401


async def test_a_cn_fake_takes_cn_tokens_only(http: aiohttp.ClientSession) -> None:
    async with FakeAgent(region="cn") as fake:
        cn = Client(http, fake, fake.issue_token(), region="cn")
        assert (await cn.call("GET", f"{API}/config")).status == 200
        intl = Client(http, fake, fake.issue_token(region="intl"))
        assert (await intl.call("GET", f"{API}/config")).status == 401


async def test_non_numeric_device_id_gets_400_1406011050(client: Client) -> None:
    for device_id in ("abc12345", "310000000000000001x", ""):
        reply = await client.call("GET", f"{API}/config", device_id=device_id)
        assert reply.status == 400 and reply.json() == BAD_DEVICE_ID
    # only on /minimax-cloud
    assert (await client.call("GET", USER_INFO, device_id="abc")).status == 200
    assert (await client.call("GET", f"{API}/config")).status == 200


@pytest.mark.parametrize(
    "bend",
    [
        {"headers": {"x-signature": "0" * 32}},
        {"drop": ("x-signature",)},
        {"headers": {"yy": "0" * 32}},
        {"drop": ("yy",)},
        {"headers": {"x-timestamp": "1780470413"}},
        {"skew": -310},
        {"skew": 310},
    ],
    ids=["bad_x_signature", "no_x_signature", "bad_yy", "no_yy", "x_timestamp", "stale_unix", "future_unix"],
)
async def test_bad_signatures_get_400(client: Client, bend: dict[str, Any]) -> None:
    if "skew" in bend:  # seconds off the fake's clock, beyond its 300 s window
        bend = {"now_ms": int((time.time() + bend["skew"]) * 1000)}
    reply = await client.call("GET", f"{API}/config", **bend)
    assert (reply.status, reply.body) == (400, INVALID_SIGNATURE)
    assert client.fake.requests[-1].rejected == "signature" and not client.fake.requests[-1].signature_ok


async def test_the_signature_covers_the_raw_post_body(client: Client) -> None:
    agent_id = await client.setup()
    path = f"{API}/agent/{agent_id}/session"
    reply = await client.call("POST", path, {}, raw_body="{ }")
    assert (reply.status, reply.body) == (400, INVALID_SIGNATURE)
    assert (await client.call("POST", path, {})).status == 200


@pytest.mark.parametrize("absolute", [False, True], ids=["relative_yy", "absolute_yy"])
async def test_relative_and_absolute_yy_are_both_accepted(client: Client, absolute: bool) -> None:
    assert (await client.call("GET", f"{API}/config", absolute=absolute)).status == 200
    sid = await client.new_session()
    obj = {"content": "hi", "turn_id": str(uuid.uuid4())}
    reply = await client.call("POST", f"{API}/session/{sid}/message", obj, absolute=absolute)
    assert reply.status == 200 and kinds(reply.body)[-1] == "done"


async def test_a_get_may_sign_an_empty_body_segment(client: Client) -> None:
    from g4f_hailuo.protocols.signing import sign_request

    now_ms = int(time.time() * 1000)
    pairs = query_pairs(
        "intl",
        unix=str(now_ms),
        uuid=UUID,
        device_id="1",
        user_id=None,
        token=client.token,
        timezone_offset=0,
    )
    signed = sign(USER_INFO, pairs, None, now_ms)
    headers = {
        "token": client.token,
        **signed.headers,
        "yy": sign_request(signed.path_and_query, "", str(now_ms)),
    }
    async with client.http.get(
        URL(client.fake.url + signed.path_and_query, encoded=True), headers=headers
    ) as r:
        assert r.status == 200


async def test_the_clock_is_injectable(client: Client) -> None:
    client.fake.clock = lambda: 1_780_470_413.25
    assert (await client.call("GET", f"{API}/config")).status == 400
    assert (await client.call("GET", f"{API}/config", now_ms=1_780_470_413_250 + 299_000)).status == 200
    later = time.time() + 41 * 86400  # the token has expired by then
    client.fake.clock = lambda: later
    assert (await client.call("GET", f"{API}/config", now_ms=int(later * 1000))).status == 401


async def test_config_must_come_before_sessions_and_turns(client: Client) -> None:
    agents = (await client.call("GET", f"{API}/agent")).json()["agents"]
    mavis = agents[1]
    reply = await client.call("POST", f"{API}/agent/{mavis['name']}/session", {})
    assert reply.status == 500 and reply.json() == NOT_CONFIGURED
    turn = await client.turn(mavis["root_session_id"], "hi")
    assert turn.status == 500 and turn.json() == NOT_CONFIGURED
    assert (await client.call("GET", f"{API}/config")).status == 200
    assert (await client.call("POST", f"{API}/agent/{mavis['name']}/session", {})).status == 200


async def test_agents_and_session_bodies(client: Client) -> None:
    agent_id = await client.setup()
    agents = (await client.call("GET", f"{API}/agent")).json()["agents"]
    assert [a["agent_role"] for a in agents] == ["general", "mavis"]
    assert all(len(a["name"]) == 15 and a["name"].isdigit() and a["root_session_id"] for a in agents)
    path = f"{API}/agent/{agent_id}/session"
    for body in (
        {},
        {"model": {"provider_id": "minimax", "model_id": "MiniMax-M2.7", "reasoning": False}},
        {"model": {"provider_id": "minimax", "model_id": "MiniMax-M3", "variant": "high"}},
        {
            "model": {"id": "MiniMax-M3-Pro-Preview", "effort": "low"},
            "team_mode_off": True,
            "worktreeMode": False,
        },
    ):
        reply = await client.call("POST", path, body)
        assert reply.status == 200 and reply.json()["agent_name"] == agent_id and reply.json()["session_id"]
        assert reply.json()["base_resp"] == {"status_code": 0, "status_msg": "success"}
    for bad in ({"model": "MiniMax-M3"}, {"model": {"provider_id": "minimax", "model_id": "minimax-m3"}}):
        assert (await client.call("POST", path, bad)).status == 400
    assert len(client.fake.session_creates()) == 6


async def test_a_foreign_agent_id_gets_success_without_a_session_id(client: Client) -> None:
    await client.setup()
    other = client.fake.issue_token()
    reply = await client.call("POST", f"{API}/agent/{client.fake.agent_ids(other)[1]}/session", {})
    assert reply.status == 200 and reply.json() == {"base_resp": {"status_code": 0, "status_msg": "success"}}


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/v1/config"),
        ("POST", "/minimax-cloud/api/v1/agent//session"),
        ("GET", "/"),
        ("GET", "/minimax-cloud/api/v1/nothing"),
        ("DELETE", "/minimax-cloud/api/v1/config"),
    ],
)
async def test_unknown_paths_get_the_app_page_with_200(client: Client, method: str, path: str) -> None:
    reply = await client.call(method, path)
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/html")
    assert reply.body == sc.APP_PAGE.encode()
    assert client.fake.requests[-1].path == path and client.fake.requests[-1].status == 200


async def test_a_session_of_another_token_is_not_found(client: Client) -> None:
    other = Client(client.http, client.fake, client.fake.issue_token())
    sid = await other.new_session()
    await client.setup()
    for reply in (
        await client.turn(sid, "hi"),
        await client.call("GET", f"{API}/session/{sid}"),
        await client.call("GET", f"{API}/session/{sid}/message"),
    ):
        assert reply.status == 404 and reply.json() == {"error": "session not found"}
    assert client.fake.sessions(client.token) == {} and client.fake.sessions(other.token) == {sid: []}


async def test_message_bodies(client: Client) -> None:
    sid = await client.new_session()
    path = f"{API}/session/{sid}/message"
    for bad in (
        {"content": "hi"},
        {"turn_id": "t"},
        {"content": "hi", "turn_id": "t", "model": "MiniMax-M3"},
    ):
        assert (await client.call("POST", path, bad, absolute=True)).status == 400
    good = {
        "content": "hi",
        "model": {"id": "MiniMax-M3", "effort": "high"},
        "turn_id": str(uuid.uuid4()),
        "enable_team": False,
        "attachments": [],
        "mode": "chat",
    }
    reply = await client.call("POST", path, good, absolute=True)
    assert reply.status == 200 and "think" in kinds(reply.body)


# -- turns --------------------------------------------------------------------------------------------


async def test_a_normal_turn(client: Client) -> None:
    sid = await client.new_session()
    reply = await client.turn(sid, "First line\nSay hello")
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/event-stream")
    expected = FakeAgent.reply_for("Say hello", 1)
    assert expected == 'MiniMax Agent 智能体 (fake) **reply** #1: you said "Say hello".'
    assert kinds(reply.body) == ["hb", "user", "text", "text", "finish", "final", "done"]
    assert reply.body.startswith(b'data:{"type":10}\n\ndata:{"type":2,"agent_message":{')
    assert reply.body.endswith(b"\n\ndata: [DONE]\n\n") and b"\r" not in reply.body
    assert text_of(reply.body) == expected
    finish = frames(reply.body)[4]["agent_message_chunk"]
    assert finish["finish_reason"] == "stop" and set(finish["usage"]) == {
        "input_tokens",
        "output_tokens",
        "total_tokens",
    }
    final = final_of(reply.body)
    assert final["msg_content"] == expected and "thinking_content" not in final and final["msg_type"] == 1
    assert frames(reply.body)[1]["agent_message"]["msg_content"] == "First line\nSay hello"
    second = await client.turn(sid, "again")
    assert text_of(second.body) == FakeAgent.reply_for("again", 2)
    assert client.fake.sessions(client.token) == {sid: ["First line\nSay hello", "again"]}
    assert client.fake.turns(client.token) == 2 and len(client.fake.message_requests()) == 2
    status = (await client.call("GET", f"{API}/session/{sid}")).json()["session"]
    assert status["title"] == "First line Say hello" and status["status"] == {"type": 0}
    assert status["model"] == {"provider_id": "minimax", "model_id": "MiniMax-M3"}
    history = (await client.call("GET", f"{API}/session/{sid}/message")).json()
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"] * 2
    assert history["has_more"] is False and "next_cursor" in history
    assert history["messages"][3]["msg_content"] == FakeAgent.reply_for("again", 2)
    assert history["messages"][3]["query_key"] == f"turn:{history['messages'][2]['turn_id']}"


async def test_a_reasoning_model_thinks_first(client: Client) -> None:
    sid = await client.new_session(M3_REASONING)
    reply = await client.turn(sid, "Say hello")
    assert kinds(reply.body) == [
        "hb",
        "user",
        "think",
        "think",
        "think",
        "text",
        "text",
        "finish",
        "final",
        "done",
    ]
    assert text_of(reply.body, "thinking_content") == FakeAgent.thinking_for("Say hello")
    assert final_of(reply.body)["thinking_content"] == FakeAgent.thinking_for("Say hello")
    title = (await client.call("GET", f"{API}/session/{sid}")).json()["session"]
    assert title["model"] == M3_REASONING


async def test_status_is_running_during_a_turn_and_a_second_turn_is_busy(client: Client) -> None:
    sid = await client.new_session()
    other_sid = await client.new_session()
    first = asyncio.create_task(client.turn(sid, "[[scenario:heartbeat_stall seconds=1.5]] slow"))
    for _ in range(300):
        if client.fake.active_streams:
            break
        await asyncio.sleep(0.01)
    running = (await client.call("GET", f"{API}/session/{sid}")).json()["session"]["status"]
    assert running == {"type": 1}
    busy = await client.turn(other_sid, "meanwhile")
    assert busy.status == 200 and kinds(busy.body) == ["finish", "error", "done"]
    assert frames(busy.body)[0]["agent_message_chunk"] == {
        "role": "assistant",
        "finish": True,
        "finish_reason": "error",
    }
    assert final_of(busy.body)["msg_content"] == "chat is running"
    assert client.fake.message_requests()[-1].scenario == "busy"
    assert text_of((await first).body) == FakeAgent.reply_for("slow", 1)
    assert (await client.call("GET", f"{API}/session/{sid}")).json()["session"]["status"] == {"type": 0}
    assert client.fake.sessions(client.token) == {
        sid: ["[[scenario:heartbeat_stall seconds=1.5]] slow"],
        other_sid: [],
    }
    assert (await client.turn(other_sid, "now")).status == 200 and client.fake.turns(client.token) == 2


async def test_no_credits_streams_1400010161_and_membership_shows_them(client: Client) -> None:
    sid = await client.new_session()
    info = (await client.call("POST", MEMBERSHIP, {})).json()
    assert (
        info["total_remains_credit"] == 1000 and info["plan_type"] == 1 and info["is_migrated_to_op"] is False
    )
    assert info["credits"]["4"][0]["expires_at"] > time.time() * 1000
    assert {"plan_name", "daily_login_gift_credit_remaining", "opcredit_balance", "has_token_plan"} <= set(
        info
    )
    client.fake.set_credits(client.token, 0)
    reply = await client.turn(sid, "hi")
    assert (
        kinds(reply.body) == ["finish", "error", "done"]
        and "1400010161" in final_of(reply.body)["msg_content"]
    )
    assert client.fake.sessions(client.token) == {sid: []}
    assert (await client.call("POST", MEMBERSHIP, {})).json()["total_remains_credit"] == 0


async def test_a_migrated_account_reports_op_credits(client: Client) -> None:
    migrated = Client(client.http, client.fake, client.fake.issue_token(migrated=True, credits=250))
    info = (await migrated.call("POST", MEMBERSHIP, {})).json()
    assert info["is_migrated_to_op"] is True and info["total_remains_credit"] == 0
    assert info["op_credit_summary"]["total_remaining_amount"] == "250"


# -- scenarios ----------------------------------------------------------------------------------------

NORMAL = ["hb", "user", "text", "text", "finish", "final", "done"]


def check_length(body: bytes) -> None:
    assert kinds(body) == NORMAL and final_of(body)["finish_reason"] == "length"
    assert frames(body)[4]["agent_message_chunk"]["finish_reason"] == "length"


def check_crlf(body: bytes) -> None:
    assert body.count(b"\n") == body.count(b"\r\n") > 0 and body.endswith(b"data: [DONE]\r\n\r\n")
    assert kinds(body) == NORMAL


def check_consecutive_lines(body: bytes) -> None:
    assert b"\n\n" not in body and body.count(b"\ndata:") == 6 and body.endswith(b"}\ndata: [DONE]\n")


def check_no_type(body: bytes) -> None:
    assert b'"type"' not in body and body.startswith(b"data:{}\n\n") and kinds(body) == NORMAL


def check_repeated_final(body: bytes) -> None:
    assert kinds(body) == ["hb", "user", "text", "text", "text", "finish", "final", "done"]
    repeat = frames(body)[5]["agent_message_chunk"]
    assert repeat["msg_content"] == FakeAgent.reply_for("x", 1) and repeat["finish"] is True


def check_final_only(body: bytes) -> None:
    assert kinds(body) == ["hb", "user", "final", "done"] and final_of(body)[
        "msg_content"
    ] == FakeAgent.reply_for("x", 1)


def check_done_only_end(body: bytes) -> None:
    assert kinds(body) == ["hb", "user", "text", "text", "text", "done"] and b'"finish"' not in body


def check_finish_only_end(body: bytes) -> None:
    assert kinds(body) == ["hb", "user", "text", "text", "finish"] and b"[DONE]" not in body


def check_thinking(body: bytes) -> None:
    assert kinds(body)[:5] == ["hb", "user", "think", "think", "think"]


def check_error(code: str) -> Any:
    def check(body: bytes) -> None:
        assert kinds(body) == ["finish", "error", "done"] and code in final_of(body)["msg_content"]

    return check


@pytest.mark.parametrize(
    "name, check",
    [
        ("length", check_length),
        ("crlf", check_crlf),
        ("consecutive_lines", check_consecutive_lines),
        ("no_type", check_no_type),
        ("repeated_final", check_repeated_final),
        ("final_only", check_final_only),
        ("done_only_end", check_done_only_end),
        ("finish_only_end", check_finish_only_end),
        ("thinking", check_thinking),
        ("error_quota", check_error("2056")),
        ("error_credits", check_error("1400010161")),
        ("busy", check_error("chat is running")),
    ],
)
async def test_stream_scenario(client: Client, name: str, check: Any) -> None:
    sid = await client.new_session()
    reply = await client.turn(sid, f"[[scenario:{name}]] x")
    assert reply.status == 200
    check(reply.body)
    recorded = client.fake.sessions(client.token)[sid]
    assert recorded == ([] if name in sc.REFUSALS else [f"[[scenario:{name}]] x"])


async def test_error_scenarios_can_follow_some_text_and_carry_a_message(client: Client) -> None:
    sid = await client.new_session()
    reply = await client.turn(sid, '[[scenario:error_quota after=2 msg="quota 2056 gone"]] x')
    assert kinds(reply.body) == ["hb", "user", "text", "text", "finish", "error", "done"]
    assert final_of(reply.body)["msg_content"] == "quota 2056 gone"


@pytest.mark.parametrize(
    "name, status, content_type, marker",
    [
        ("http_401_empty", 401, "text/plain", b""),
        ("http_403", 403, "text/html", b"Just a moment..."),
        ("http_429", 429, "application/json", b"too many requests"),
        ("http_500_html", 500, "text/html", b"500 Internal Server Error"),
        ("html_200", 200, "text/html", b"MiniMax Agent (fake)"),
    ],
)
async def test_http_scenario(
    client: Client, name: str, status: int, content_type: str, marker: bytes
) -> None:
    sid = await client.new_session()
    reply = await client.turn(sid, f"[[scenario:{name}]] x")
    assert reply.status == status and reply.headers["Content-Type"].startswith(content_type)
    assert marker in reply.body and (name != "http_401_empty" or reply.body == b"")
    if name == "http_429":
        assert reply.headers["Retry-After"] == "7"
    if name == "http_403":
        assert reply.headers["cf-mitigated"] == "challenge"
    assert client.fake.sessions(client.token) == {sid: []}


async def test_http_502_then_ok_fails_each_turn_once(client: Client) -> None:
    client.fake.scenario = "http_502_then_ok"
    sid = await client.new_session()
    for turn, prompt in enumerate(("one", "two"), start=1):
        first = await client.turn(sid, prompt)
        assert first.status == 502 and b"502 Bad Gateway" in first.body
        retry = await client.turn(sid, prompt)
        assert retry.status == 200 and text_of(retry.body) == FakeAgent.reply_for(prompt, turn)


async def test_split_frames_cuts_inside_a_utf8_character(client: Client) -> None:
    sid = await client.new_session()
    whole = (await client.turn(sid, "x")).body
    pieces: list[bytes] = []
    obj = {"content": "[[scenario:split_frames]] x", "turn_id": str(uuid.uuid4())}
    path = f"{API}/session/{sid}/message"
    now_ms = int(time.time() * 1000)
    pairs = query_pairs(
        "intl",
        unix=str(now_ms),
        uuid=UUID,
        device_id="1",
        user_id=client.fake.real_user_id(client.token),
        token=client.token,
        timezone_offset=0,
    )
    signed = sign(path, pairs, body_text(obj), now_ms)
    headers = {"token": client.token, "content-type": "application/json", **signed.headers}
    url = URL(client.fake.url + signed.path_and_query, encoded=True)
    async with client.http.post(url, data=body_text(obj).encode(), headers=headers) as response:
        async for piece in response.content.iter_any():
            pieces.append(piece)
    body = b"".join(pieces)
    assert text_of(body) == FakeAgent.reply_for("x", 2) and kinds(body) == kinds(whole)
    assert len(pieces) > 100 and sum(len(p) <= 7 for p in pieces) >= 0.9 * len(pieces)
    assert any(_cut_inside_a_character(piece) for piece in pieces)


def _cut_inside_a_character(piece: bytes) -> bool:
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


async def test_giant_final_line_is_over_a_mebibyte() -> None:
    async with FakeAgent(scenario="giant") as fake, aiohttp.ClientSession() as http:
        client = Client(http, fake, fake.issue_token())
        body = (await client.turn(await client.new_session(), "big")).body
    final_line = [line for line in body.split(b"\n") if b'"type":2' in line][-1]
    assert len(final_line) > 1024 * 1024
    assert final_of(body)["msg_content"] == FakeAgent.reply_for("big", 1, "giant") == text_of(body)
    assert len(FakeAgent.reply_for("big", 1, "giant")) == 1_100_000


async def test_heartbeat_stall_sends_only_heartbeats_for_a_while(client: Client) -> None:
    sid = await client.new_session()
    started = time.monotonic()
    reply = await client.turn(sid, "[[scenario:heartbeat_stall seconds=0.6]] x")
    assert time.monotonic() - started >= 0.5
    picture = kinds(reply.body)
    assert picture[:3] == ["hb", "user", "text"] and picture[3:6] == ["hb", "hb", "hb"]
    assert picture[-4:] == ["text", "finish", "final", "done"] and picture.count("hb") >= 4


async def test_stall_before_holds_the_headers(client: Client) -> None:
    sid = await client.new_session()
    started = time.monotonic()
    reply = await client.turn(sid, "[[scenario:stall_before seconds=0.4]] x")
    assert time.monotonic() - started >= 0.35 and kinds(reply.body) == NORMAL


async def test_drop_aborts_the_connection_mid_turn(client: Client) -> None:
    sid = await client.new_session()
    with pytest.raises(aiohttp.ClientPayloadError):
        await client.turn(sid, "[[scenario:drop]] x")
    for _ in range(200):
        if not client.fake.active_streams:
            break
        await asyncio.sleep(0.01)
    assert client.fake.active_streams == 0 and client.fake.disconnects == 0
    status = (await client.call("GET", f"{API}/session/{sid}")).json()["session"]["status"]
    assert status == {"type": 0}


async def test_scenarios_server_wide_and_bad_directives(client: Client) -> None:
    client.fake.scenario = "crlf frames=2"
    sid = await client.new_session()
    body = (await client.turn(sid, "a")).body
    assert b"\r\n" in body and kinds(body) == ["hb", "user", "text", "finish", "final", "done"]
    body = (await client.turn(sid, "[[scenario: frames=4]] b")).body
    assert b"\r\n" in body and kinds(body).count("text") == 3
    for directive in ("nope", "normal colour=red", "normal frames=0"):
        reply = await client.turn(sid, f"[[scenario:{directive}]] x")
        assert reply.status == 400 and "fake server" in reply.json()["error"]
    with pytest.raises(ValueError, match="unknown scenario"):
        client.fake.scenario = "nope"


# -- the thread runner and the command line -----------------------------------------------------------


def _signed_user_info(url: str, token: str) -> urllib.request.Request:
    now_ms = int(time.time() * 1000)
    pairs = query_pairs(
        "intl", unix=str(now_ms), uuid=UUID, device_id="1", user_id=None, token=token, timezone_offset=0
    )
    signed = sign(USER_INFO, pairs, None, now_ms)
    return urllib.request.Request(f"{url}{signed.path_and_query}", headers={"token": token, **signed.headers})


def test_run_in_thread_serves_synchronous_callers() -> None:
    fake = run_in_thread(region="intl")
    try:
        token = fake.issue_token(name="Sync")
        with urllib.request.urlopen(_signed_user_info(fake.url, token), timeout=5) as r:
            assert json.load(r)["data"]["userInfo"]["name"] == "Sync"
    finally:
        fake.stop()


@pytest.mark.parametrize("protocol", ["agent", "hailuo-v4"])
def test_cli_prints_the_settings_and_exits_cleanly_on_sigterm(protocol: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "g4f_hailuo.fake", "--port", "0"]
    if protocol != "agent":
        command += ["--protocol", protocol]
    with Popen(command, cwd=REPO, env=env, stdout=PIPE, stderr=PIPE, text=True) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        try:
            lines = dict(proc.stdout.readline().strip().split("=", 1) for _ in range(3))
            assert lines["HAILUOAI_BASE_URL"].startswith("http://127.0.0.1:")
            assert lines["HAILUOAI_PROTOCOL"] == protocol
            key = lines["HAILUOAI_API_KEY"]
            if protocol == "agent":
                real, token = key.split("+", 1)
                assert len(real) == 18 and token.startswith("ey")
                with urllib.request.urlopen(
                    _signed_user_info(lines["HAILUOAI_BASE_URL"], token), timeout=5
                ) as r:
                    assert json.load(r)["data"]["userInfo"]["realUserID"] == real
            else:
                assert key.startswith("ey") and "+" not in key
            proc.send_signal(SIGTERM)
            assert proc.wait(timeout=10) == 0
            assert " on http://127.0.0.1:" in proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()


def test_cli_refuses_a_non_loopback_host_and_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert fake_main(["--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err
    assert fake_main(["--protocol", "hailuo-v4", "--host", "192.0.2.1"]) == 2
    assert fake_main(["--scenario", "nope"]) == 2
    with pytest.raises(SystemExit):
        fake_main(["--region", "mars"])
