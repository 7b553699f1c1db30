"""Protocol ``matrix`` (MiniMax Agent's older polling API) and the fallback of ``agent`` to it,
through g4f's front doors against the fake Agent site; ``delete_after`` there."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from g4f.errors import BadRequestError, MissingAuthError, RateLimitError, ResponseStatusError
from g4f.errors import TimeoutError as G4FTimeoutError
from g4f.providers.helper import format_prompt
from g4f.providers.response import FinishReason, Reasoning

from agent import front_door
from agent.front_door import stream_with_client, text_of, thinking_of
from g4f_hailuo._config import resolve_settings
from g4f_hailuo._conversation import token_fingerprint
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.fake.agent.matrix import PLACEHOLDER_TEXT, MatrixChat, answer_for, second_text
from g4f_hailuo.fake.agent.server import FakeAgent
from g4f_hailuo.protocols import base
from g4f_hailuo.protocols.agent import account
from g4f_hailuo.protocols.agent.client import AgentSite
from g4f_hailuo.protocols.matrix import turn as matrix_turn
from g4f_hailuo.provider import Conversation, HailuoAI

CHAT = "/matrix/api/v1/chat"
SEND, DETAIL, DELETE = f"{CHAT}/send_msg", f"{CHAT}/get_chat_detail", f"{CHAT}/delete_chat"
TOLERANCE = 0.002  # the fake's and the client's clocks are the same; sleeps may end this early


@pytest.fixture(autouse=True)
def fresh_debug_lines() -> Iterator[None]:
    """``say_once`` says each line once per process: once per test here."""
    base._said.clear()
    yield
    base._said.clear()


def ask(agent: FakeAgent, key: str, content: Any, **kwargs: Any) -> Any:
    """A chat under ``protocol="matrix"`` unless the test says otherwise."""
    kwargs.setdefault("protocol", "matrix")
    return front_door.ask(agent, key, content, **kwargs)


def paths(agent: FakeAgent) -> list[str]:
    return [r.path for r in agent.requests]


def bodies(agent: FakeAgent, path: str) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in agent.requests if r.path == path]


def only_chat(agent: FakeAgent, token: str) -> MatrixChat:
    (chat,) = agent.account(token).chats.values()
    return chat


def test_a_reply_streams_thinking_and_text_deltas_by_polling(agent, agent_token, agent_key):
    prompt = "[[scenario:thinking]] 你好"
    chunks = list(ask(agent, agent_key, prompt, stream=True))
    assert isinstance(chunks[0], Conversation) and chunks[0].protocol == "matrix"
    assert text_of(chunks) == agent.reply_for(prompt, 1)
    assert thinking_of(chunks) == agent.thinking_for(prompt)
    # As example 2 of the doc: each poll's thinking delta, then its text delta.
    middle = [("think" if isinstance(c, Reasoning) else "text") for c in chunks[1:-1]]
    assert middle == ["think", "text"] * 3
    assert isinstance(chunks[-1], FinishReason) and chunks[-1].reason == "stop"
    assert paths(agent) == [SEND, DETAIL, DETAIL, DETAIL]  # no /minimax-cloud call at all
    (sent,) = agent.requests[:1]
    assert sent.body.decode() == (
        '{"msg_type":1,"text":"[[scenario:thinking]] 你好","chat_type":1,"attachments":[],'
        '"selected_mcp_tools":[],"backend_config":{},"sub_agent_ids":[]}'
    )
    assert sent.signature_ok and sent.token_ok and sent.query["user_id"] == agent.real_user_id(agent_token)
    assert bodies(agent, DETAIL)[0] == {"chat_id": int(chunks[0].chatID)}


def test_the_polls_keep_the_documented_cadence(agent, agent_token, agent_key):
    ask(agent, agent_key, "[[scenario:agentic frames=4]] hi")
    chat = only_chat(agent, agent_token)
    (sent,) = chat.sends
    gaps = [b - a for a, b in zip([sent, *chat.polls[:-1]], chat.polls, strict=True)]
    assert len(gaps) == 8  # placeholder, tool step, 4 answer steps, 2 of the second message
    assert gaps[0] >= 0.3 - TOLERANCE  # the first poll 0.3 s after the send
    assert min(gaps[1:]) >= 0.5 - TOLERANCE  # then none closer than 0.5 s
    assert max(gaps) < 1.0  # and steadily: not the 2 s of some clients


def test_placeholder_tool_step_and_a_second_message(agent, agent_key):
    prompt = "[[scenario:agentic]] weather?"
    chunks = list(ask(agent, agent_key, prompt, stream=True))
    answer = answer_for(prompt, 1)
    assert text_of(chunks) == f"{PLACEHOLDER_TEXT}\n\n{answer}\n\n{second_text(1)}"
    statuses = [c.status for c in chunks if isinstance(c, Reasoning) and c.status]
    assert statuses == ["Searching the web: fake weather"]  # the tool step: a status line, no text
    assert thinking_of(chunks) == agent.thinking_for(prompt)


def test_three_turns_continue_one_chat_with_only_the_newest_message(agent, agent_token, agent_key):
    history: list[dict[str, str]] = []
    conversation: Conversation | None = None
    for turn, words in enumerate(("first question", "second question", "third question"), 1):
        history.append({"role": "user", "content": words})
        chunks = list(ask(agent, agent_key, history, stream=True, conversation=conversation))
        conversation = next(c for c in chunks if isinstance(c, Conversation))
        answer = text_of(chunks)
        assert answer == agent.reply_for(words, turn)
        history.append({"role": "assistant", "content": answer})
    assert conversation is not None
    sent = bodies(agent, SEND)
    assert "chat_id" not in sent[0] and "first question" in sent[0]["text"]
    assert [body["text"] for body in sent[1:]] == ["second question", "third question"]
    assert {body["chat_id"] for body in sent[1:]} == {int(conversation.chatID)}  # an integer
    assert list(sent[1])[-1] == "chat_id"
    chat = only_chat(agent, agent_token)
    assert chat.turns == 3
    # A continuation first looks whether the chat is idle: a detail poll right before each send.
    order = [p for p in paths(agent) if p in (SEND, DETAIL)]
    assert [order[i - 1] for i, p in enumerate(order) if p == SEND and i] == [DETAIL, DETAIL]


async def test_a_continuation_waits_until_the_chat_is_idle(agent, agent_token, agent_key):
    first = [{"role": "user", "content": "[[scenario:normal frames=4]] first"}]
    reply = HailuoAI.create_async_generator(
        "MiniMax", first, api_key=agent_key, base_url=agent.url, protocol="matrix"
    )
    async for chunk in reply:
        if isinstance(chunk, Conversation):
            conversation = chunk
        if isinstance(chunk, str):
            break  # the reader leaves; the site goes on writing the reply
    await reply.aclose()
    chat = only_chat(agent, agent_token)
    assert chat.running(time.monotonic())
    history = [*first, {"role": "assistant", "content": "..."}, {"role": "user", "content": "second"}]
    chunks = [
        chunk
        async for chunk in HailuoAI.create_async_generator(
            "MiniMax",
            history,
            api_key=agent_key,
            base_url=agent.url,
            protocol="matrix",
            conversation=conversation,
        )
    ]
    assert text_of(chunks) == agent.reply_for("second", 2)  # not "chat is running"
    assert chat.turns == 2 and len(chat.sends) == 2


def test_a_refused_continuation_starts_one_new_chat_with_the_whole_history(agent, agent_token, agent_key):
    lost = Conversation(token=token_fingerprint(agent_token), chatID="600000000000999", protocol="matrix")
    history = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "two"},
        {"role": "user", "content": "three"},
    ]
    chunks = list(ask(agent, agent_key, history, stream=True, conversation=lost))
    assert text_of(chunks) == agent.reply_for("three", 1)
    (sent,) = bodies(agent, SEND)
    assert "chat_id" not in sent and sent["text"] == format_prompt(history)
    assert next(c for c in chunks if isinstance(c, Conversation)).chatID != lost.chatID


def test_a_reply_that_never_finishes_is_a_timeout_after_its_text(agent, agent_key):
    prompt = "[[scenario:unfinished]] hi"
    chunks: list[Any] = []
    with pytest.raises(G4FTimeoutError, match="unfinished") as raised:
        for chunk in ask(agent, agent_key, prompt, stream=True, stream_timeout=1):
            chunks.append(chunk)
            last_text_at = time.monotonic()
    waited = time.monotonic() - last_text_at
    assert 1.0 <= waited < 2.0  # the read timeout, measured from the last poll that brought something
    assert text_of(chunks) == answer_for(prompt, 1)
    assert not any(isinstance(c, FinishReason) for c in chunks)
    assert f"{len(answer_for(prompt, 1))} characters" in str(raised.value)
    # The account's chat still runs on the site: the next message is refused as busy.
    with pytest.raises(RateLimitError, match="chat is running"):
        ask(agent, agent_key, "next")


def test_chat_is_running_is_a_rate_limit_without_text(agent, agent_key):
    chunks: list[Any] = []
    with pytest.raises(RateLimitError, match="chat is running"):
        for chunk in ask(agent, agent_key, "[[scenario:busy]] hi", stream=True):
            chunks.append(chunk)
    assert text_of(chunks) == ""


async def test_async_client_under_matrix(agent, agent_key):
    prompt = "[[scenario:thinking]] async"
    content, reasoning = await stream_with_client(agent, agent_key, prompt, protocol="matrix")
    assert content == agent.reply_for(prompt, 1)
    assert reasoning == agent.thinking_for(prompt)


def test_model_and_reasoning_effort_are_ignored_with_one_debug_line(agent, agent_key, debug_log):
    for words in ("one", "two"):
        answer = ask(agent, agent_key, words, model="MiniMax-M3", reasoning_effort="high")
        assert answer == agent.reply_for(words, 1)
    assert sum("ignores the model" in line for line in debug_log) == 1
    assert all(list(body) == list(matrix_turn.send_body("x")) for body in bodies(agent, SEND))


@pytest.mark.parametrize("missing", [False, "404"], ids=["html-200", "404"])
def test_without_session_routes_agent_replies_by_polling_and_remembers(
    agent, agent_token, agent_key, debug_log, missing
):
    agent.session_routes = missing
    chunks = list(ask(agent, agent_key, "[[scenario:thinking]] hi", protocol="agent", stream=True))
    assert text_of(chunks) == agent.reply_for("[[scenario:thinking]] hi", 1)  # whole
    assert thinking_of(chunks) == agent.thinking_for("hi")
    conversation = next(c for c in chunks if isinstance(c, Conversation))
    assert conversation.protocol == "matrix"
    assert [p for p in paths(agent) if p.startswith("/minimax-cloud")] == ["/minimax-cloud/api/v1/config"]
    said = [line for line in debug_log if "older polling API" in line]
    assert len(said) == 1 and ("HTTP 404" in said[0]) is (missing == "404")
    real_user_id = agent.real_user_id(agent_token)
    assert not any(agent_token in line or real_user_id in line for line in debug_log)
    assert account.speaks_matrix(agent.url, Identity.from_token(agent_key).account)
    # Later replies of the account go straight to polling; the conversation continues there.
    before = len(agent.requests)
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "x"}]
    history.append({"role": "user", "content": "again"})
    again = ask(agent, agent_key, history, protocol="agent", conversation=conversation)
    assert again == agent.reply_for("again", 2)
    assert not any(p.startswith("/minimax-cloud") for p in paths(agent)[before:])
    assert bodies(agent, SEND)[-1] == matrix_turn.send_body("again", int(conversation.chatID))
    assert sum("older polling API" in line for line in debug_log) == 1


def test_an_error_of_the_polling_reply_after_the_fallback_is_its_own(agent, agent_key):
    """The missing session routes were dealt with: the polling reply's error does not come
    chained to them (a traceback would begin with a failure that did not happen)."""
    agent.session_routes = False
    with pytest.raises(RateLimitError, match="chat is running") as caught:
        ask(agent, agent_key, "[[scenario:busy]] hi", protocol="agent")
    assert caught.value.__context__ is None and caught.value.__cause__ is None


def test_a_conversation_made_by_polling_continues_under_agent_in_a_new_process(agent, agent_key):
    first = list(ask(agent, agent_key, "hi", stream=True))
    conversation = next(c for c in first if isinstance(c, Conversation))
    account._states.clear()  # a new process: nothing remembered
    HailuoAI._identities.clear()
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": text_of(first)}]
    history.append({"role": "user", "content": "more"})
    assert ask(agent, agent_key, history, protocol="agent", conversation=conversation) == agent.reply_for(
        "more", 2
    )
    assert not any(p.startswith("/minimax-cloud") for p in paths(agent))


def test_a_5xx_page_is_a_5xx_not_missing_session_routes(agent, agent_key):
    with pytest.raises(ResponseStatusError, match="500"):
        ask(agent, agent_key, "[[scenario:http_500_html]] hi", protocol="agent", retries=0)
    assert not any(p.startswith(CHAT) for p in paths(agent))
    assert not any(state.matrix for state in account._states.values())


def test_delete_after_deletes_the_chat_retrying_while_it_runs(agent, agent_token, agent_key):
    prompt = "[[scenario:busy_delete]] clean up"
    chunks = list(ask(agent, agent_key, prompt, stream=True, delete_after=True))
    assert text_of(chunks) == answer_for(prompt, 1)
    assert isinstance(chunks[-1], FinishReason)
    chat = only_chat(agent, agent_token)
    assert chat.deleted and len(chat.deletes) == 2  # "chat is running" once, then deleted
    assert chat.deletes[1] - chat.deletes[0] >= matrix_turn.DELETE_RETRY_SECONDS - TOLERANCE
    assert bodies(agent, DELETE) == [{"chat_id": int(chat.chat_id)}] * 2
    assert agent.requests[-1].path == DELETE and agent.requests[-1].status == 200


def test_a_failed_delete_keeps_the_answer(agent, agent_token, agent_key, debug_log, monkeypatch):
    monkeypatch.setattr(matrix_turn, "DELETE_RETRY_SECONDS", 0.05)
    monkeypatch.setenv("HAILUOAI_DELETE_CHATS", "1")
    prompt = "[[scenario:normal busy_deletes=9]] keep"
    assert ask(agent, agent_key, prompt) == answer_for(prompt, 1)
    chat = only_chat(agent, agent_token)
    assert not chat.deleted and len(chat.deletes) == 1 + matrix_turn.DELETE_RETRIES
    assert any("could not delete" in line and "RateLimitError" in line for line in debug_log)


def test_without_delete_after_nothing_is_deleted(agent, agent_key):
    ask(agent, agent_key, "keep me")
    assert DELETE not in paths(agent)


def test_delete_after_under_the_session_api_does_nothing_and_says_so(agent, agent_key, debug_log):
    for words in ("one", "two"):
        assert ask(agent, agent_key, words, protocol="agent", delete_after=True) == agent.reply_for(words, 1)
    assert not any("delete" in p for p in paths(agent))
    assert sum("no known delete" in line for line in debug_log) == 1


async def test_quota_under_matrix_calls_no_session_route(agent, agent_token, agent_key):
    agent.set_credits(agent_token, 42)
    quota = await HailuoAI.get_quota(api_key=agent_key, base_url=agent.url, protocol="matrix")
    assert quota["protocol"] == "matrix" and quota["credits"] == 42
    assert paths(agent) == ["/matrix/api/v1/commerce/get_membership_info"]


def test_the_fakes_chat_routes_are_strict_and_list_newest_first(agent, agent_token, agent_key):
    # A sync test: g4f's sync front door run inside a running loop would leave its loop's sessions.
    for words in ("one", "two"):
        ask(agent, agent_key, words)
    asyncio.run(_check_chat_routes(agent, agent_key))
    assert [r.rejected for r in agent.requests[-3:]] == ["device_id", "user_id", "signature"]


async def _check_chat_routes(agent: FakeAgent, agent_key: str) -> None:
    identity = dataclasses.replace(Identity.from_token(agent_key), device_id="12345678")
    settings = resolve_settings(base_url=agent.url)
    first_page = {"page_size": 1, "workspace_storage_mode": 0}
    async with aiohttp.ClientSession() as session:
        site = AgentSite(session, settings, identity)
        page = await site.call("POST", matrix_turn.LIST_PATH, first_page)
        assert [c["chat_title"] for c in page["chats"]] == ["two"] and page["has_more"]
        after = {**first_page, "next_page_index_id": page["next_page_index_id"]}
        page = await site.call("POST", matrix_turn.LIST_PATH, after)
        assert [c["chat_title"] for c in page["chats"]] == ["one"] and not page["has_more"]
        with pytest.raises(BadRequestError, match="device_id"):
            await AgentSite(session, settings, dataclasses.replace(identity, device_id="abc")).call(
                "POST", matrix_turn.LIST_PATH, first_page
            )
        with pytest.raises(MissingAuthError, match="401"):
            await AgentSite(session, settings, dataclasses.replace(identity, real_user_id="1")).call(
                "POST", matrix_turn.LIST_PATH, first_page
            )
        url, headers = site._signed(DETAIL, '{"chat_id":1}', origin=agent.url)
        async with session.post(
            url, data=b'{"chat_id":2}', headers=headers
        ) as response:  # not what was signed
            assert response.status == 400 and await response.json() == {"error": "invalid signature"}
