"""MiniMax Agent through g4f's front doors: ``g4f.ChatCompletion.create``, ``AsyncClient``; what
the fake site received; models and reasoning; realUserID; every scenario; the errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from g4f.errors import (
    CloudflareError,
    MissingAuthError,
    ModelNotFoundError,
    PaymentRequiredError,
    RateLimitError,
    ResponseError,
    ResponseStatusError,
)
from g4f.errors import TimeoutError as G4FTimeoutError
from g4f.providers.response import FinishReason, Reasoning, TitleGeneration, Usage

from agent.front_door import ask, paths, stream_with_client, text_of, thinking_of
from g4f_hailuo.fake.agent.server import run_in_thread
from g4f_hailuo.fake.scenario_kit import chat_title
from g4f_hailuo.protocols.agent import account
from g4f_hailuo.provider import Conversation, HailuoAI

USER_INFO = "/v1/api/user/info"


def test_default_protocol_streams_reasoning_text_usage_finish(agent, agent_token, agent_key):
    prompt = "[[scenario:thinking]] Say hello"
    chunks = list(ask(agent, agent_key, prompt, stream=True))
    assert isinstance(chunks[0], Conversation) and chunks[0].protocol == "agent"
    assert text_of(chunks) == agent.reply_for(prompt, 1)
    assert thinking_of(chunks) == agent.thinking_for(prompt)
    assert agent.thinking_for(prompt) not in text_of(chunks)  # thinking never mixed into the answer
    first_text = next(i for i, c in enumerate(chunks) if isinstance(c, str))
    assert all(isinstance(c, Reasoning) for c in chunks[1:first_text])
    usage = [c for c in chunks if isinstance(c, Usage)]
    assert len(usage) == 1 and usage[0].get_dict()["completion_tokens"] > 0
    assert isinstance(chunks[-1], FinishReason) and chunks[-1].reason == "stop"
    api = "/minimax-cloud/api/v1"
    session_id = chunks[0].chatID
    assert paths(agent) == [
        f"GET {api}/config",
        f"GET {api}/agent",
        f"POST {api}/agent/{chunks[0].characterID}/session",
        f"POST {api}/session/{session_id}/message",
    ]
    sent = agent.message_requests()[0]
    assert sent.headers["accept"] == "text/event-stream"
    assert list(json.loads(sent.body)) == ["content", "turn_id", "worktreeMode"]  # default model: none
    assert agent.sessions(agent_token) == {session_id: [prompt]}


def test_non_stream_returns_the_whole_answer(agent, agent_key):
    assert ask(agent, agent_key, "Hello") == agent.reply_for("Hello", 1)


def test_three_turns_continue_one_session_with_only_the_newest_message(agent, agent_token, agent_key):
    history: list[dict[str, str]] = []
    conversation: Conversation | None = None
    titles: list[list[str]] = []
    for turn, words in enumerate(("first question", "second question", "third question"), 1):
        history.append({"role": "user", "content": words})
        chunks = list(ask(agent, agent_key, history, stream=True, conversation=conversation))
        titles.append([c.title for c in chunks if isinstance(c, TitleGeneration)])
        conversation = next(c for c in chunks if isinstance(c, Conversation))
        answer = text_of(chunks)
        assert answer == agent.reply_for(words, turn)
        history.append({"role": "assistant", "content": answer})
    assert len(agent.session_creates()) == 1
    (contents,) = agent.sessions(agent_token).values()
    assert contents[1:] == ["second question", "third question"]  # only the newest message
    # The site's title comes with the idle check before each continuation (no extra request).
    assert titles == [[], [chat_title(contents[0])], [chat_title(contents[0])]]
    assert "first question" in contents[0]
    # A continuation waits until the session is idle: one status look before each later turn.
    assert conversation is not None
    assert paths(agent).count(f"GET /minimax-cloud/api/v1/session/{conversation.chatID}") == 2
    assert [p for p in paths(agent) if p.endswith("/config") or p.endswith("/agent")] == [
        "GET /minimax-cloud/api/v1/config",
        "GET /minimax-cloud/api/v1/agent",
    ]  # once per account and process


def test_a_conversation_of_another_protocol_or_account_starts_a_new_session(agent, agent_key):
    other = Conversation(token="sha256:" + "0" * 32, chatID="400000000000001", characterID="3")
    v4_shape = {"token": "", "chatID": "123", "characterID": "1"}  # an older version of ours
    for conversation in (other, v4_shape):
        chunks = list(ask(agent, agent_key, "hi", stream=True, conversation=conversation))
        assert text_of(chunks) == agent.reply_for("hi", 1)
    assert len(agent.session_creates()) == 2


async def test_async_client_stream_and_reasoning(agent, agent_key):
    prompt = "[[scenario:thinking]] hi there"
    content, reasoning = await stream_with_client(agent, agent_key, prompt)
    assert content == agent.reply_for(prompt, 1)
    assert reasoning == agent.thinking_for(prompt)


@pytest.mark.parametrize(
    ("model", "effort", "sent"),
    [
        ("minimax-m2.7", None, {"provider_id": "minimax", "model_id": "MiniMax-M2.7"}),
        ("MiniMax-M3", "high", {"provider_id": "minimax", "model_id": "MiniMax-M3", "reasoning": True}),
        ("MINIMAX-M3", "none", {"provider_id": "minimax", "model_id": "MiniMax-M3", "reasoning": False}),
        (
            "MiniMax-M2.7-highspeed",
            "minimal",
            {"provider_id": "minimax", "model_id": "MiniMax-M2.7-highspeed", "reasoning": False},
        ),
    ],
)
def test_model_and_reasoning_selection_reach_the_session_and_turn(agent, agent_key, model, effort, sent):
    kwargs = {"reasoning_effort": effort} if effort else {}
    chunks = list(ask(agent, agent_key, "pick", model=model, stream=True, **kwargs))
    assert text_of(chunks) == agent.reply_for("pick", 1)
    assert json.loads(agent.session_creates()[0].body)["model"] == sent
    assert json.loads(agent.message_requests()[0].body)["model"] == sent
    assert (thinking_of(chunks) != "") is bool(sent.get("reasoning"))


def test_the_live_model_list_is_offered_after_config(agent, agent_key):
    assert "MiniMax-M3-Pro-Preview" not in HailuoAI.get_models(timeout=10)
    ask(agent, agent_key, "hi")
    live = HailuoAI.get_models(timeout=10)
    assert "MiniMax-M3-Pro-Preview" in live and live[0] == "MiniMax"
    assert ask(agent, agent_key, "again", model="minimax-m3-pro-preview") == agent.reply_for("again", 1)


def test_an_unknown_model_fails_before_any_request(agent, agent_key):
    with pytest.raises(ModelNotFoundError, match="MiniMax-M3"):
        ask(agent, agent_key, "hi", model="gpt-4o")
    assert agent.requests == []


def test_a_bare_token_discovers_the_real_user_id_once_and_remembers_it(agent, agent_token):
    assert ask(agent, agent_token, "hi") == agent.reply_for("hi", 1)
    assert paths(agent).count(f"GET {USER_INFO}") == 1
    assert all("user_id" not in r.query for r in agent.requests if r.path == USER_INFO)
    assert {r.query.get("user_id") for r in agent.requests if r.path != USER_INFO} == {
        agent.real_user_id(agent_token)
    }
    # A new process (nothing cached in memory) finds the remembered id: no second user/info.
    HailuoAI._identities.clear()
    account._states.clear()
    assert ask(agent, agent_token, "again") == agent.reply_for("again", 1)
    assert paths(agent).count(f"GET {USER_INFO}") == 1


def test_the_plus_form_needs_no_user_info(agent, agent_key):
    ask(agent, agent_key, "hi")
    assert f"GET {USER_INFO}" not in paths(agent)


def test_device_id_is_numeric_and_stable_per_account(agent, agent_token, agent_key):
    ask(agent, agent_key, "one")
    HailuoAI._identities.clear()
    ask(agent, agent_key, "two")
    devices = {r.query["device_id"] for r in agent.requests}
    uuids = {r.query["uuid"] for r in agent.requests}
    assert len(devices) == 1 and len(uuids) == 1
    (device,) = devices
    assert device.isdigit() and len(device) == 8


def test_a_wrong_real_user_id_is_corrected_from_user_info(agent, agent_token, debug_log):
    wrong = f"100000000000000000+{agent_token}"
    assert ask(agent, wrong, "hi") == agent.reply_for("hi", 1)
    assert paths(agent).count(f"GET {USER_INFO}") == 1
    assert any("another realUserID" in line for line in debug_log)
    assert not any(agent.real_user_id(agent_token) in line for line in debug_log)


def test_a_token_of_the_other_region_is_refused_with_the_causes(agent):
    token = agent.issue_token(region="cn")
    with pytest.raises(MissingAuthError, match="401") as raised:
        ask(agent, agent.api_key(token), "hi")
    assert token not in str(raised.value) and agent.real_user_id(token) not in str(raised.value)


def test_a_401_that_user_info_does_not_confirm_keeps_the_account(agent, agent_token, agent_key):
    prompt = "[[scenario:http_401_empty]] hi"
    with pytest.raises(MissingAuthError) as raised:
        ask(agent, agent_key, prompt)
    message = str(raised.value)
    assert "realUserID" in message and "region" in message and "expired" in message
    assert agent.real_user_id(agent_token) not in message and agent_token not in message
    # The account was not retired: the next request is served.
    assert ask(agent, agent_key, "hi") == agent.reply_for("hi", 1)


@pytest.mark.usefixtures("transport")
@pytest.mark.parametrize(
    "scenario",
    [
        "normal",
        "thinking",
        "split_frames",
        "crlf",
        "consecutive_lines",
        "no_type",
        "repeated_final",
        "final_only",
        "done_only_end",
        "finish_only_end",
        "http_502_then_ok",
        "length",
    ],
)
def test_every_good_scenario_gives_the_whole_answer(agent, agent_key, scenario):
    prompt = f"[[scenario:{scenario}]] 你好 hello"
    chunks = list(ask(agent, agent_key, prompt, stream=True))
    assert text_of(chunks) == agent.reply_for(prompt, 1)
    assert isinstance(chunks[-1], FinishReason)
    assert chunks[-1].reason == ("length" if scenario == "length" else "stop")


@pytest.mark.usefixtures("transport")
def test_a_reply_over_a_megabyte_arrives_whole(agent, agent_key):
    prompt = "[[scenario:giant]] big"
    assert ask(agent, agent_key, prompt) == agent.reply_for(prompt, 1)


@pytest.mark.usefixtures("transport")
@pytest.mark.parametrize(
    ("scenario", "error", "words"),
    [
        ("error_quota", RateLimitError, "2056"),
        ("error_credits", PaymentRequiredError, "credits"),
        ("busy", RateLimitError, "chat is running"),
        ("http_403", CloudflareError, "403"),
        ("http_429", RateLimitError, "429"),
        ("http_500_html", ResponseStatusError, "500"),
        ("html_200", ResponseStatusError, "app page"),
    ],
)
def test_error_scenarios_raise_the_mapped_g4f_error_without_text(agent, agent_key, scenario, error, words):
    chunks: list[Any] = []
    with pytest.raises(error, match=words):
        for chunk in ask(agent, agent_key, f"[[scenario:{scenario}]] hi", stream=True, retries=0):
            chunks.append(chunk)
    assert text_of(chunks) == ""


@pytest.mark.usefixtures("transport")
def test_a_drop_mid_turn_is_an_error_after_the_text_so_far(agent, agent_key):
    chunks: list[Any] = []
    with pytest.raises(ResponseError, match="incomplete"):
        for chunk in ask(agent, agent_key, "[[scenario:drop]] hi", stream=True):
            chunks.append(chunk)
    assert text_of(chunks) and not any(isinstance(c, FinishReason) for c in chunks)


@pytest.mark.usefixtures("transport")
def test_heartbeats_alone_do_not_keep_a_turn_alive(agent, agent_key):
    chunks: list[Any] = []
    with pytest.raises(G4FTimeoutError, match="keep-alive"):
        for chunk in ask(
            agent, agent_key, "[[scenario:heartbeat_stall seconds=30]] hi", stream=True, stream_timeout=1
        ):
            chunks.append(chunk)
    assert text_of(chunks)


@pytest.mark.usefixtures("transport")
def test_a_stall_before_the_answer_is_a_timeout(agent, agent_key):
    with pytest.raises(G4FTimeoutError):
        ask(agent, agent_key, "[[scenario:stall_before seconds=30]] hi", stream_timeout=1)


def test_out_of_credits_is_payment_required(agent, agent_token, agent_key):
    agent.set_credits(agent_token, 0)
    with pytest.raises(PaymentRequiredError):
        ask(agent, agent_key, "hi")


def test_the_cn_region_is_signed_for_cn():
    fake = run_in_thread(region="cn")
    try:
        token = fake.issue_token()
        assert ask(fake, fake.api_key(token), "你好", region="cn") == fake.reply_for("你好", 1)
        assert {r.query["region"] for r in fake.requests} == {"cn"}
        assert {r.query["lang"] for r in fake.requests} == {"zh"}
    finally:
        fake.stop()


def test_a_tool_step_shows_as_status_and_sources_never_as_text(agent, agent_key):
    from g4f.providers.response import Sources

    from g4f_hailuo.fake.agent.scenarios import TOOL_RESULTS

    prompt = "[[scenario:tool_step]] weather?"
    chunks = list(ask(agent, agent_key, prompt, stream=True))
    assert text_of(chunks) == agent.reply_for(prompt, 1)
    statuses = [c.status for c in chunks if isinstance(c, Reasoning) and c.status]
    assert statuses == ["Searching the web: fake weather"]  # announced once, on the chunk
    first_text = next(i for i, c in enumerate(chunks) if isinstance(c, str))
    assert any(isinstance(c, Reasoning) and c.status for c in chunks[:first_text])
    (sources,) = [c for c in chunks if isinstance(c, Sources)]
    assert [s["url"] for s in sources.list] == [r["url"] for r in TOOL_RESULTS]
    assert isinstance(chunks[-1], FinishReason)
