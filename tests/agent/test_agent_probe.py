"""The protocol probe under ``protocol="agent"``: which API generation the account is served
(``/minimax-cloud``, ``/archon``, the polling API) is found from the site's answers, once per
account and process, and the session calls use the prefix found."""

from __future__ import annotations

from pathlib import Path

import g4f
import pytest

from agent.front_door import ask, paths
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.fake.agent.server import FakeAgent
from g4f_hailuo.fake.replay import load, replay_token, run_in_thread
from g4f_hailuo.protocols.agent import account

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CONFIG = "GET /minimax-cloud/api/v1/config"
ARCHON_CONFIG = "GET /archon/api/v1/config"


def test_gen_c_is_found_with_the_config_the_account_needs_anyway(agent: FakeAgent, agent_token, agent_key):
    for _ in range(2):
        assert ask(agent, agent_key, "hi") == agent.reply_for("hi", 1)
    assert paths(agent).count(CONFIG) == 1 and ARCHON_CONFIG not in paths(agent)
    assert account.generation(agent.url, Identity.from_token(agent_token).account) == "minimax-cloud"


@pytest.mark.parametrize("missing", [False, "404"], ids=["app-page", "http-404"])
def test_neither_session_api_served_is_matrix_found_once(agent: FakeAgent, agent_token, agent_key, missing):
    agent.session_routes = missing
    for _ in range(2):
        assert ask(agent, agent_key, "hi") == agent.reply_for("hi", 1)
    asked = paths(agent)
    assert asked.count(CONFIG) == 1 and asked.count(ARCHON_CONFIG) == 1  # once per account and process
    assert asked.index(CONFIG) < asked.index(ARCHON_CONFIG) < asked.index("POST /matrix/api/v1/chat/send_msg")
    assert account.generation(agent.url, Identity.from_token(agent_token).account) == "matrix"


def test_gen_b_is_the_same_shapes_under_archon():
    """A site serving only ``/archon`` (a recording of one): the session calls go there."""
    recording = load(FIXTURES / "agent-archon.json")
    site = run_in_thread(recording, pace="fast")
    try:
        token = replay_token()
        messages = [{"role": "user", "content": "Reply with the single word OK."}]
        text = g4f.ChatCompletion.create(
            model="MiniMax", messages=messages, provider="HailuoAI", api_key=token, base_url=site.url
        )
        assert text == recording["outcome"]["text"]
        asked = [f"{r.method} {r.path}" for r in site.requests]
        assert asked[:3] == ["GET /v1/api/user/info", CONFIG, ARCHON_CONFIG]
        assert all(path.split()[1].startswith("/archon/") for path in asked[3:]) and len(asked) == 6
        assert not site.unanswered
        assert account.generation(site.url, Identity.from_token(token).account) == "archon"
    finally:
        site.stop()


def test_an_account_configured_again_keeps_its_generation():
    state = account._state("https://agent.example", "sha256:x")
    state.generation, state.api, state.configured = "archon", "/archon/api/v1", True
    account.forget("https://agent.example", "sha256:x")
    again = account._state("https://agent.example", "sha256:x")
    assert (again.generation, again.api, again.configured) == ("archon", "/archon/api/v1", False)
