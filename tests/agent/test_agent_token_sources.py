"""Agent accounts from every token source: ``<realUserID>+<JWT>`` or a bare JWT, comma-separated,
from api_key, HAILUOAI_API_KEY, .env, .har files and localStorage exports of the Agent site."""

from __future__ import annotations

import json
from pathlib import Path

import g4f

from g4f_hailuo.accounts.token_sources import find_tokens
from g4f_hailuo.fake.agent.server import FakeAgent

ORIGIN = "https://agent.minimax.io"


def test_the_plus_form_and_bare_tokens_side_by_side(monkeypatch, agent, isolated_g4f):
    one, two = agent.issue_token(), agent.issue_token()
    monkeypatch.setenv("HAILUOAI_API_KEY", f"{agent.api_key(one)}, {two}")
    found = find_tokens(None, ORIGIN)
    assert [i.token for i in found.identities] == [one, two]
    assert [i.real_user_id for i in found.identities] == [agent.real_user_id(one), None]
    assert agent.real_user_id(one) not in repr(found) and one not in repr(found)


def test_dotenv_holds_the_plus_form(agent, isolated_g4f: Path):
    token = agent.issue_token()
    isolated_g4f.mkdir(parents=True, exist_ok=True)
    (isolated_g4f / ".env").write_text(f"HAILUOAI_API_KEY={agent.api_key(token)}\n")
    (identity,) = find_tokens(None, ORIGIN).identities
    assert identity.token == token and identity.real_user_id == agent.real_user_id(token)


def test_a_local_storage_export_of_the_agent_site(agent, isolated_g4f: Path):
    token = agent.issue_token()
    isolated_g4f.mkdir(parents=True, exist_ok=True)
    export = {
        "origin": ORIGIN,
        "localStorage": {
            "_token": token,
            "user_detail_agent": json.dumps({"realUserID": agent.real_user_id(token), "name": "x"}),
            "UNIQUE_USER_ID": "00000000-0000-4000-8000-000000000001",
        },
    }
    (isolated_g4f / "agent-storage.json").write_text(json.dumps(export))
    found = find_tokens(None, ORIGIN)
    (identity,) = found.identities
    assert found.kind == "files"
    assert identity.real_user_id == agent.real_user_id(token)
    assert identity.uuid == "00000000-0000-4000-8000-000000000001"


def test_a_har_of_the_agent_site_gives_token_and_user_id(agent: FakeAgent, isolated_g4f: Path):
    token = agent.issue_token()
    isolated_g4f.mkdir(parents=True, exist_ok=True)
    url = (
        "https://agent-stream.minimax.io/minimax-cloud/api/v1/session/1/message?device_id=12345678"
        f"&uuid=00000000-0000-4000-8000-000000000002&user_id={agent.real_user_id(token)}&token={token}"
    )
    har = {
        "log": {
            "entries": [
                {
                    "startedDateTime": "2026-11-01T10:00:00Z",
                    "request": {"url": url, "headers": [{"name": "token", "value": token}]},
                }
            ]
        }
    }
    (isolated_g4f / "agent.har").write_text(json.dumps(har))
    (identity,) = find_tokens(None, ORIGIN).identities
    assert (identity.token, identity.real_user_id, identity.device_id) == (
        token,
        agent.real_user_id(token),
        "12345678",
    )


def test_a_chat_from_an_export_uses_its_real_user_id(agent: FakeAgent, isolated_g4f: Path):
    token = agent.issue_token()
    isolated_g4f.mkdir(parents=True, exist_ok=True)
    export = {
        "origin": agent.url,
        "localStorage": {
            "_token": token,
            "user_detail_agent": json.dumps({"realUserID": agent.real_user_id(token)}),
        },
    }
    (isolated_g4f / "storage.json").write_text(json.dumps(export))
    answer = g4f.ChatCompletion.create(
        model="MiniMax", messages=[{"role": "user", "content": "hi"}], provider="HailuoAI", base_url=agent.url
    )
    assert answer == agent.reply_for("hi", 1)
    assert not any(r.path == "/v1/api/user/info" for r in agent.requests)
