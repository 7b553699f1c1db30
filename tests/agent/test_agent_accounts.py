"""The account pool on the Agent protocol, as on hailuo-v4: one reply per account, a refused
account leaves the pool and the reply moves on, a conversation stays on its account,
cancellation disconnects at once; and nothing of an identity leaks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import g4f
import pytest
from g4f.client import AsyncClient
from g4f.errors import MissingAuthError, PaymentRequiredError
from g4f.providers.response import AuthResult

from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.fake.agent.server import FakeAgent
from g4f_hailuo.provider import Conversation, HailuoAI

SLOW = "[[scenario:normal frames=20 delay=0.05]] "


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def reply(agent: FakeAgent, key: str, text: str, **kwargs: Any) -> tuple[str, Any]:
    client = AsyncClient(api_key=key)
    stream = client.chat.completions.create(
        model="MiniMax", messages=user(text), provider="HailuoAI", base_url=agent.url, stream=True, **kwargs
    )
    parts: list[str] = []
    conversation = None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
        conversation = getattr(chunk, "conversation", None) or conversation
    return "".join(parts), conversation


async def test_concurrent_replies_take_one_account_each(agent):
    tokens = [agent.issue_token() for _ in range(3)]
    keys = ",".join(agent.api_key(t) for t in tokens)
    answers = await asyncio.gather(*(reply(agent, keys, f"{SLOW}question {n}") for n in range(3)))
    assert [text for text, _ in answers] == [agent.reply_for(f"{SLOW}question {n}", 1) for n in range(3)]
    assert [agent.turns(t) for t in tokens] == [1, 1, 1]  # never two at once on one account


async def test_more_replies_than_accounts_wait_their_turn(agent):
    token = agent.issue_token()
    answers = await asyncio.gather(*(reply(agent, agent.api_key(token), f"{SLOW}q{n}") for n in range(3)))
    assert sorted(text for text, _ in answers) == sorted(agent.reply_for(f"{SLOW}q{n}", 1) for n in range(3))
    assert agent.turns(token) == 3
    assert all("chat is running" not in json.dumps(r.scenario or "") for r in agent.message_requests())


def test_a_revoked_account_leaves_the_pool_and_the_reply_moves_on(agent):
    dead, alive = agent.issue_token(), agent.issue_token()
    agent.revoke(dead)
    keys = f"{agent.api_key(dead)},{agent.api_key(alive)}"
    answer = g4f.ChatCompletion.create(
        model="MiniMax", messages=user("hi"), provider="HailuoAI", api_key=keys, base_url=agent.url
    )
    assert answer == agent.reply_for("hi", 1)
    assert agent.turns(alive) == 1
    # The next request goes straight to the live account.
    before = len(agent.requests)
    g4f.ChatCompletion.create(
        model="MiniMax", messages=user("again"), provider="HailuoAI", api_key=keys, base_url=agent.url
    )
    assert all(r.query.get("token") == alive for r in agent.requests[before:])


def test_with_every_account_refused_the_error_names_no_secret(agent):
    token = agent.issue_token()
    agent.revoke(token)
    with pytest.raises(MissingAuthError) as raised:
        g4f.ChatCompletion.create(
            model="MiniMax",
            messages=user("hi"),
            provider="HailuoAI",
            api_key=agent.api_key(token),
            base_url=agent.url,
        )
    assert token not in str(raised.value) and agent.real_user_id(token) not in str(raised.value)


async def test_a_conversation_stays_on_the_account_that_made_it(agent):
    tokens = [agent.issue_token() for _ in range(3)]
    keys = ",".join(agent.api_key(t) for t in tokens)
    # The pool prefers the least recently used account: without the conversation, the later
    # replies would go to the other accounts.
    _, conversation = await reply(agent, keys, "first")
    assert conversation is not None
    owner = next(t for t in tokens if agent.turns(t) == 1)
    for n in range(3):
        _, conversation = await reply(agent, keys, f"more {n}", conversation=conversation)
    assert agent.turns(owner) == 4 and sum(agent.turns(t) for t in tokens) == 4


@pytest.mark.usefixtures("transport")
async def test_closing_a_stream_disconnects_at_once_and_frees_the_account(agent, agent_token, agent_key):
    client = AsyncClient(api_key=agent_key)
    stream = client.chat.completions.create(
        model="MiniMax",
        messages=user("[[scenario:normal frames=200 delay=0.05]] long"),
        provider="HailuoAI",
        base_url=agent.url,
        stream=True,
    )
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            break
    await stream.aclose()
    for _ in range(100):
        if agent.disconnects:
            break
        await asyncio.sleep(0.02)
    assert agent.disconnects == 1
    text, _ = await reply(agent, agent_key, "next")  # the account is free again
    assert text == agent.reply_for("next", 1)


def test_nothing_of_the_identity_in_repr_conversation_or_log(agent, agent_token, agent_key, debug_log):
    real_user_id = agent.real_user_id(agent_token)
    chunks = list(
        g4f.ChatCompletion.create(
            model="MiniMax",
            messages=user("[[scenario:thinking]] hi"),
            provider="HailuoAI",
            api_key=agent_key,
            base_url=agent.url,
            stream=True,
        )
    )
    (conversation,) = [c for c in chunks if isinstance(c, Conversation)]
    stored = json.dumps(conversation.get_dict())
    identity = Identity.from_token(agent_key)
    for shown in (stored, repr(conversation), repr(identity), "\n".join(debug_log)):
        assert agent_token not in shown and real_user_id not in shown
    for scenario in ("error_quota", "http_403", "http_401_empty", "html_200"):
        with pytest.raises(Exception) as raised:
            g4f.ChatCompletion.create(
                model="MiniMax",
                messages=user(f"[[scenario:{scenario}]] hi"),
                provider="HailuoAI",
                api_key=agent_key,
                base_url=agent.url,
            )
        assert agent_token not in str(raised.value) and real_user_id not in str(raised.value)
    assert not any(agent_token in line or real_user_id in line for line in debug_log)


def test_an_account_out_of_credits_leaves_the_pool_and_the_others_serve(agent):
    poor, rich = agent.issue_token(), agent.issue_token()
    agent.set_credits(poor, 0)
    keys = f"{agent.api_key(poor)},{agent.api_key(rich)}"

    def ask_once(text: str) -> str:
        return g4f.ChatCompletion.create(
            model="MiniMax", messages=user(text), provider="HailuoAI", api_key=keys, base_url=agent.url
        )

    assert ask_once("hi") == agent.reply_for("hi", 1)  # the refusal moved the reply to the other account
    assert agent.turns(rich) == 1
    before = len(agent.message_requests())
    assert ask_once("again") == agent.reply_for("again", 1)
    assert all(r.query.get("token") == rich for r in agent.message_requests()[before:])  # retired for now
    agent.set_credits(rich, 0)
    with pytest.raises(PaymentRequiredError, match="credits"):
        ask_once("more")  # only when none is left


def test_out_of_credits_keeps_a_cached_login(agent, isolated_g4f):
    from g4f_hailuo.accounts import auth_cache

    token = agent.issue_token()
    agent.set_credits(token, 0)
    identity = Identity.from_token(agent.api_key(token))
    HailuoAI.write_cache_file(HailuoAI.get_cache_file(), AuthResult(**identity.to_dict(), origin=agent.url))
    with pytest.raises(PaymentRequiredError):
        g4f.ChatCompletion.create(
            model="MiniMax", messages=user("hi"), provider="HailuoAI", base_url=agent.url
        )
    assert len(auth_cache.read_logins(HailuoAI.get_cache_file())) == 1  # the login stays for tomorrow
