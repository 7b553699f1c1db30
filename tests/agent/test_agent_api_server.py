"""``g4f api`` end to end on the default protocol: the official OpenAI client, g4f's server (a
subprocess, the plugin installed, not imported), the fake MiniMax Agent site."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from _g4f_processes import G4FProcess, isolated_env, make_home, require_modules, start_api
from g4f_hailuo.fake.agent.server import FakeAgent

require_modules("openai", "fastapi", "uvicorn", hint='pip install openai "g4f[api]"')

import openai  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def api(agent_site: FakeAgent, tmp_path_factory: pytest.TempPathFactory) -> Iterator[G4FProcess]:
    home = make_home(tmp_path_factory.mktemp("g4f-api-agent"))
    with start_api(home, isolated_env(home, {"HAILUOAI_BASE_URL": agent_site.url})) as server:
        yield server


@pytest.fixture
def key(agent_site: FakeAgent, api: G4FProcess) -> Iterator[str]:
    """A fresh account per test; afterwards the server's log shows neither its token nor its id."""
    token = agent_site.issue_token()
    yield agent_site.api_key(token)
    assert token not in api.log() and agent_site.real_user_id(token) not in api.log()


def client_for(api: G4FProcess, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{api.url}/v1", api_key=key, max_retries=0, timeout=60)


def user(text: str) -> Any:
    return {"role": "user", "content": text}


def test_reasoning_arrives_in_its_own_field_non_stream(api, agent_site, key):
    prompt = "[[scenario:thinking]] explain"
    done = client_for(api, key).chat.completions.create(
        model="MiniMax-M3", messages=[user(prompt)], extra_body={"provider": "HailuoAI"}
    )
    message = done.choices[0].message
    assert message.content == agent_site.reply_for(prompt, 1)
    assert getattr(message, "reasoning", None) == agent_site.thinking_for(prompt)
    assert done.usage is not None and done.usage.completion_tokens > 0


def test_reasoning_streams_in_its_own_field(api, agent_site, key):
    prompt = "[[scenario:thinking]] stream it"
    stream = client_for(api, key).chat.completions.create(
        model="MiniMax-M3",
        messages=[user(prompt)],
        extra_body={"provider": "HailuoAI", "reasoning_effort": "high"},
        stream=True,
    )
    content, reasoning = [], []
    for chunk in stream:
        if chunk.choices:
            delta = chunk.choices[0].delta
            content.append(delta.content or "")
            reasoning.append(getattr(delta, "reasoning", None) or "")
    assert "".join(content) == agent_site.reply_for(prompt, 1)
    assert "".join(reasoning) == agent_site.thinking_for(prompt)


def test_models_endpoint_lists_the_agent_models(api, key):
    import json
    import urllib.request

    with urllib.request.urlopen(f"{api.url}/api/HailuoAI/models", timeout=30) as response:
        models = [model["id"] for model in json.loads(response.read())["data"]]
    assert models[0] == "MiniMax" and {"MiniMax-M3", "MiniMax-M2.7"} <= set(models)


def test_a_bad_key_is_401_without_the_key(api, agent_site):
    bad = "100000000000000000+eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.c2ln"
    with pytest.raises(openai.AuthenticationError) as raised:
        client_for(api, bad).chat.completions.create(
            model="MiniMax", messages=[user("hi")], extra_body={"provider": "HailuoAI"}
        )
    assert "eyJ4IjoxfQ" not in str(raised.value)


def test_quota_shows_credits_without_a_chat(api, agent_site, key):
    import json
    import urllib.request

    before = len(agent_site.message_requests())
    request = urllib.request.Request(
        f"{api.url}/api/HailuoAI/quota", headers={"Authorization": f"Bearer {key}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        quota = json.loads(response.read())
    assert quota["protocol"] == "agent" and quota["credits"] == 1000 and quota["plan"] == "Free"
    assert quota["account"].startswith("sha256:") and key.split("+")[1] not in json.dumps(quota)
    assert len(agent_site.message_requests()) == before  # never a chat
    assert agent_site.requests[-1].path == "/matrix/api/v1/commerce/get_membership_info"


def test_a_pdf_in_an_image_url_part_is_uploaded_as_a_document(api, agent_site, key):
    # g4f api keeps an image_url part whatever its data URI holds; it strips OpenAI "file" parts to
    # {"type": "file"} and answers 422 for a PDF in "media", so this is how a document gets through.
    import base64

    pdf = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    uri = "data:application/pdf;base64," + base64.b64encode(pdf).decode()
    parts = [{"type": "text", "text": "Summarise this"}, {"type": "image_url", "image_url": {"url": uri}}]
    message: Any = {"role": "user", "content": parts}
    done = client_for(api, key).chat.completions.create(
        model="MiniMax", messages=[message], extra_body={"provider": "HailuoAI"}
    )
    assert done.choices[0].message.content == agent_site.reply_for(
        "Summarise this", 1, files=("document.pdf",)
    )
    token = key.split("+", 1)[1]
    (stored,) = [o for o in agent_site.uploads.stored.values() if o.token == token]
    assert (
        stored.data == pdf and stored.content_type == "application/pdf" and stored.file_name == "document.pdf"
    )
