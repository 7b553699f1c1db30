"""``g4f api`` end to end: the official OpenAI client, g4f's server, the fake Hailuo.

``g4f api`` runs as a subprocess with the plugin installed, not imported (see
``_g4f_processes``); the fake Hailuo server runs in this process on loopback and
reaches g4f through ``HAILUOAI_BASE_URL``. The Hailuo token is the OpenAI API
key: it arrives as ``Authorization: Bearer``, and g4f hands it to the provider.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _g4f_processes import G4FProcess, isolated_env, make_home, require_modules, start_api
from g4f_hailuo.fake.hailuo_v4.server import FakeHailuo

require_modules("openai", "fastapi", "uvicorn", hint='pip install openai "g4f[api]"')

import openai  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

PROVIDER = {"provider": "HailuoAI"}


def user(text: str) -> Any:  # Any: the OpenAI client's message types are TypedDicts
    return {"role": "user", "content": text}


def assistant(text: str) -> Any:
    return {"role": "assistant", "content": text}


@pytest.fixture(scope="module")
def api(hailuo: FakeHailuo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[G4FProcess]:
    home = make_home(tmp_path_factory.mktemp("g4f-api"))
    with start_api(home, isolated_env(home, {"HAILUOAI_BASE_URL": hailuo.url})) as server:
        yield server


@pytest.fixture
def token(hailuo: FakeHailuo, api: G4FProcess) -> Iterator[str]:
    """A fresh account per test; afterwards, the server's log must not show it."""
    issued = hailuo.issue_token()
    yield issued
    assert issued not in api.log(), "the Hailuo token appears in g4f's log"


def client_for(api: G4FProcess, key: str) -> openai.OpenAI:
    # No retries: a 429 or 5xx must reach the test as it was answered.
    return openai.OpenAI(base_url=f"{api.url}/v1", api_key=key, max_retries=0, timeout=60)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def chat(client: openai.OpenAI, messages: list[Any], **extra: Any) -> Any:
    return client.chat.completions.create(
        model="MiniMax",
        messages=messages,
        extra_body={**PROVIDER, **extra},
    )


# -- listing ------------------------------------------------------------------------------------


def test_providers_endpoint_lists_hailuo(api: G4FProcess) -> None:
    listed = {entry["id"]: entry for entry in get_json(f"{api.url}/v1/providers")}
    assert listed["HailuoAI"]["label"] == "Hailuo AI"
    detail = get_json(f"{api.url}/v1/providers/HailuoAI")
    assert detail["id"] == "HailuoAI" and "api_key" in detail["params"]


def test_models_endpoints_list_hailuo(api: G4FProcess, token: str) -> None:
    models = {model.id for model in client_for(api, token).models.list()}
    assert "HailuoAI" in models  # g4f lists every provider as a "model" too
    own = get_json(f"{api.url}/api/HailuoAI/models")
    assert [model["id"] for model in own["data"]] == ["MiniMax"]


# -- chat ---------------------------------------------------------------------------------------


def test_non_stream_chat_completion(api: G4FProcess, hailuo: FakeHailuo, token: str) -> None:
    response = chat(client_for(api, token), [user("Hello from the OpenAI client")])
    assert response.choices[0].message.content == hailuo.reply_for("Hello from the OpenAI client", 1)
    assert response.choices[0].finish_reason == "stop"
    assert response.model == "MiniMax"
    assert response.model_dump()["provider"] == "HailuoAI"
    sent = hailuo.chat_requests()[-1]
    assert sent.headers["token"] == token, "the Bearer key must reach Hailuo as the token header"
    assert sent.token_ok and sent.signature_ok and sent.form is not None and sent.form["chatID"] == "0"


def test_stream_chat_completion(api: G4FProcess, hailuo: FakeHailuo, token: str) -> None:
    stream = client_for(api, token).chat.completions.create(
        model="MiniMax",
        messages=[user("Stream it please")],
        stream=True,
        extra_body=PROVIDER,
    )
    chunks = list(stream)
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(deltas) == hailuo.reply_for("Stream it please", 1)
    assert len(deltas) > 1, "expected the reply in several pieces"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_two_turns_continue_the_same_hailuo_chat(api: G4FProcess, hailuo: FakeHailuo, token: str) -> None:
    """g4f returns the provider's conversation in the response; sent back in
    ``extra_body``, the second turn continues the chat and sends only the new message."""
    client = client_for(api, token)
    first = chat(client, [user("What is a conch?")])
    conversation = first.model_dump()["conversation"]
    assert token not in json.dumps(conversation), "the conversation must not carry the token"
    answer = first.choices[0].message.content
    history = [user("What is a conch?"), assistant(answer), user("And a sea snail?")]
    second = chat(client, history, conversation=conversation)
    assert second.choices[0].message.content == hailuo.reply_for("And a sea snail?", 2)
    first_sent, second_sent = hailuo.chat_requests()[-2:]
    assert first_sent.form is not None and second_sent.form is not None
    assert second_sent.form["chatID"] == conversation["chatID"] != "0"
    assert second_sent.form["msgContent"] == "And a sea snail?"
    assert hailuo.chats(token) == {conversation["chatID"]: ["What is a conch?", "And a sea snail?"]}


def test_two_turns_with_history_only_start_a_chat_with_it(
    api: G4FProcess, hailuo: FakeHailuo, token: str
) -> None:
    """Without the conversation, the history is the context of a new chat."""
    client = client_for(api, token)
    answer = chat(client, [user("Remember the word kelp")]).choices[0].message.content
    second = chat(client, [user("Remember the word kelp"), assistant(answer), user("Which word?")])
    sent = hailuo.chat_requests()[-1]
    assert sent.form is not None and sent.form["chatID"] == "0"
    assert "Remember the word kelp" in sent.form["msgContent"] and answer in sent.form["msgContent"]
    assert second.choices[0].message.content == hailuo.reply_for(sent.form["msgContent"], 1)


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_bad_token_is_http_401(api: G4FProcess, hailuo: FakeHailuo, stream: bool) -> None:
    bad = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.not-issued-by-this-server"
    with pytest.raises(openai.AuthenticationError) as caught:
        client_for(api, bad).chat.completions.create(
            model="MiniMax",
            messages=[user("hi")],
            stream=stream,
            extra_body=PROVIDER,
        )
    assert caught.value.status_code == 401
    assert "Authentication required" in _error_message(caught.value)
    assert bad not in api.log()


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_rate_limit_is_http_429(api: G4FProcess, token: str, stream: bool) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        client_for(api, token).chat.completions.create(
            model="MiniMax",
            messages=[user("too fast [[scenario:http_429]]")],
            stream=stream,
            extra_body=PROVIDER,
        )
    assert caught.value.status_code == 429
    assert "Hailuo answered HTTP 429 (rate limited; retry after 7 s)" in api.log()


@pytest.mark.parametrize("scenario", ["http_500", "http_502", "http_503"])
def test_upstream_5xx_is_a_5xx_with_a_readable_message(api: G4FProcess, token: str, scenario: str) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        chat(client_for(api, token), [user(f"boom [[scenario:{scenario} tag={scenario}]]")])
    assert caught.value.status_code >= 500
    message = _error_message(caught.value)
    # g4f >= 8.8 replaces the text of other errors with a generic one in the
    # response ("Request execution failed"); the provider's own text goes to its log.
    assert message and ("Hailuo" in message or message == "Request execution failed"), message
    status = scenario.removeprefix("http_")
    assert f"Hailuo answered HTTP {status}" in api.log()


@pytest.mark.parametrize("scenario", ["http_500", "http_503"])
def test_upstream_5xx_in_a_stream_is_an_error_never_a_complete_answer(
    api: G4FProcess, token: str, scenario: str
) -> None:
    prompt = f"boom [[scenario:{scenario} tag={scenario}-stream]]"
    chunks: list[Any] = []
    with pytest.raises(openai.APIError) as caught:  # at the request (an HTTP 5xx) or in the stream
        stream = client_for(api, token).chat.completions.create(
            model="MiniMax", messages=[user(prompt)], stream=True, extra_body=PROVIDER
        )
        chunks.extend(stream)
    error = caught.value
    assert not [c for c in chunks if c.choices and c.choices[0].delta.content], "no answer text"
    assert not [c for c in chunks if c.choices and c.choices[0].finish_reason], "never marked complete"
    if isinstance(error, openai.APIStatusError):
        assert error.status_code >= 500
    message = _error_message(error) if isinstance(error, openai.APIStatusError) else error.message
    assert message and ("Hailuo" in message or message == "Request execution failed"), message
    assert f"Hailuo answered HTTP {scenario.removeprefix('http_')}" in api.log()


def _error_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("message", ""))
    return str(error)


# -- workers ------------------------------------------------------------------------------------


def test_two_workers_both_serve_the_plugin(hailuo: FakeHailuo, tmp_path: Path) -> None:
    """``--workers 2``: each worker is a fresh interpreter, so each must get the
    plugin through the start-up hook. A worker without it would answer with
    g4f's built-in HailuoAI, which cannot talk to the fake server. Each worker
    checks a new token once (``user/info``), so two checks = two workers served."""
    home = make_home(tmp_path)
    token = hailuo.issue_token()
    with start_api(home, isolated_env(home, {"HAILUOAI_BASE_URL": hailuo.url}), workers=2) as server:
        _wait_for_workers(server, 2)
        for n in range(24):  # a new client, so a new connection, each time: either worker may accept it
            prompt = f"worker request {n}"
            with client_for(server, token) as client:
                assert chat(client, [user(prompt)]).choices[0].message.content == hailuo.reply_for(prompt, 1)
            if n >= 3 and _token_checks(hailuo, token) >= 2:
                break
        assert _token_checks(hailuo, token) == 2, "expected both workers to serve (one token check each)"
        assert token not in server.log()


def _token_checks(hailuo: FakeHailuo, token: str) -> int:
    return sum(
        1 for r in hailuo.requests if r.path == "/v1/api/user/info" and r.headers.get("token") == token
    )


def _wait_for_workers(server: G4FProcess, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.log().count("Started server process") >= count:
            return
        time.sleep(0.25)
    raise AssertionError(f"fewer than {count} workers started; log tail:\n{server.log_tail()}")
