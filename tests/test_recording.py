"""Record and replay: the scrubber leaves no planted secret or personal value; recording is off
unless asked for; ``HAILUOAI_RECORD`` records a chat; every recording in ``tests/fixtures/`` replays
through the fake replay site and the client's checks (the doctor) and text (the provider) come out
as recorded; the fixtures are what the recorder writes today; ``python -m g4f_hailuo.fake --replay``."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import aiohttp
import g4f
import pytest
from yarl import URL

from _g4f_processes import isolated_env, make_home
from _recordings import DETERMINISTIC, FIXTURES, record
from g4f_hailuo._config import resolve_settings
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.diagnosis import diagnose
from g4f_hailuo.diagnosis.report import Report
from g4f_hailuo.fake.replay import comparable, expected_outcome, load, replay_token, run_in_thread
from g4f_hailuo.transport import recording
from g4f_hailuo.transport.recording_file import Exchange, dumps, render

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyIjp7ImlkIjoiNDIifX0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
REAL_USER_ID = "287654321098765432"
CLIENT_UUID = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
DEVICE_ID = "73519264"
NAME = "Alice Example"
EMAIL = "alice.example@corp.example.com"
PHONE = "+8613812345678"
MOBILE = "13987654321"
SESSION_ID = "400000000012345"
AGENT_ID = "300000000067890"
MSG_ID = 500000000024680
CHAT_ID = 123456789012
TURN_ID = "0b4e7f6a-1c2d-4e3f-8a9b-0c1d2e3f4a5b"
IP = "203.0.113.77"
COOKIE = "ak_bmsc=Zq9SecretCookieValue42"
PROMPT = "my private question about Alice"
PLANTED = [TOKEN, REAL_USER_ID, CLIENT_UUID, DEVICE_ID, NAME, EMAIL, PHONE, MOBILE, SESSION_ID, AGENT_ID]
PLANTED += [str(MSG_ID), str(CHAT_ID), TURN_ID, IP, "Zq9SecretCookieValue42", PROMPT]


@pytest.fixture(autouse=True)
def fresh_agent_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the Agent protocol keeps per process (each account's /config, generation, agent)."""
    from g4f_hailuo.protocols.agent import account

    monkeypatch.setattr(account, "_states", OrderedDict())
    monkeypatch.setattr(account, "_adopted", OrderedDict())


def _exchange(method: str, path: str, answer: Any, *, body: Any = None, stream: bool = False) -> Exchange:
    query = (
        f"user_id={REAL_USER_ID}&uuid={CLIENT_UUID}&device_id={DEVICE_ID}&token={TOKEN}&unix=1780470413250"
    )
    exchange = Exchange(method, URL(f"https://agent.minimax.io{path}?{query}"), 100.0)
    exchange.request_headers = [("token", TOKEN), ("Cookie", COOKIE), ("Content-Type", "application/json")]
    if body is not None:
        exchange.request_body += json.dumps(body).encode()
    content_type = "text/event-stream" if stream else "application/json"
    exchange.status, exchange.answered = 200, 100.01
    exchange.response_headers = [
        ("Content-Type", content_type),
        ("Set-Cookie", COOKIE),
        ("X-Request-Id", TURN_ID),
    ]
    text = "".join(f"data:{json.dumps(frame)}\n\n" for frame in answer) if stream else json.dumps(answer)
    exchange.chunks = [(100.02, text.encode()[:50]), (100.03, text.encode()[50:])]
    exchange.ended = 100.04
    return exchange


def planted_exchanges() -> list[Exchange]:
    user = {"realUserID": REAL_USER_ID, "userID": 42, "name": NAME, "email": EMAIL, "phone": PHONE}
    user_info = {"statusInfo": {"code": 0}, "data": {"userInfo": {**user, "uuid": CLIENT_UUID}}}
    agents = {"agents": [{"name": AGENT_ID, "agent_role": "mavis", "devices": [{"deviceID": DEVICE_ID}]}]}
    created = {"agent_name": AGENT_ID, "session_id": SESSION_ID, "base_resp": {"status_code": 0}}
    echo = {"role": "user", "msg_content": PROMPT, "turn_id": TURN_ID, "msg_id": MSG_ID}
    frames = [
        {"type": 2, "agent_message": echo},
        {"type": 6, "agent_message_chunk": {"msg_content": f"Hello {NAME}, {EMAIL}, call {MOBILE}."}},
        {"type": 6, "agent_message_chunk": {"msg_content": f" Id {REAL_USER_ID}, token {TOKEN}, ip {IP}."}},
        {
            "type": 2,
            "agent_message": {"role": "assistant", "msg_content": "ok", "extra": {"chat_id": CHAT_ID}},
        },
    ]
    message = {"content": PROMPT, "turn_id": TURN_ID, "chat_id": CHAT_ID}
    api = "/minimax-cloud/api/v1"
    return [
        _exchange("GET", "/v1/api/user/info", user_info),
        _exchange("GET", f"{api}/agent", agents),
        _exchange("POST", f"{api}/agent/{AGENT_ID}/session", created, body={"model": {"x": 1}}),
        _exchange("POST", f"{api}/session/{SESSION_ID}/message", frames, stream=True, body=message),
    ]


def test_the_scrubber_leaves_no_planted_value_and_keeps_the_shapes():
    outcome = {"text": f"Hello {NAME}", "steps": [{"name": "user/info", "site_message": EMAIL}]}
    rendered = render(planted_exchanges(), 99.0, protocol="agent", outcome=outcome)
    text = dumps(rendered)
    for value in PLANTED:
        assert value not in text, value
    user = json.loads(rendered["exchanges"][0]["response"]["frames"][0]["data"])["data"]["userInfo"]
    assert len(user["realUserID"]) == 18 and user["realUserID"].isdigit()  # a client still reads digits
    assert isinstance(user["userID"], int) and user["email"].endswith("@example.invalid")
    assert user["uuid"].startswith("00000000-0000-4000-8000-")
    # the same value, the same placeholder: the agent id from the list is the one in the next path,
    # the session id of the create answer the one in the message path, the realUserID in the text
    agent = json.loads(rendered["exchanges"][1]["response"]["frames"][0]["data"])["agents"][0]["name"]
    assert rendered["exchanges"][2]["request"]["path"] == f"/minimax-cloud/api/v1/agent/{agent}/session"
    session = json.loads(rendered["exchanges"][2]["response"]["frames"][0]["data"])["session_id"]
    assert rendered["exchanges"][3]["request"]["path"] == f"/minimax-cloud/api/v1/session/{session}/message"
    assert user["realUserID"] in rendered["exchanges"][3]["response"]["frames"][2]["data"]
    message = rendered["exchanges"][3]["request"]
    assert message["query"] == ["user_id", "uuid", "device_id", "token", "unix"]  # names, no values
    assert message["headers"] == ["token", "Cookie", "Content-Type"]
    assert message["body"] == {"content": "str", "turn_id": "str", "chat_id": "int"}
    assert ["Set-Cookie", ""] in rendered["exchanges"][0]["response"]["headers"]
    assert rendered["outcome"]["text"] == f"Hello {user['name']}"


def test_recording_is_off_unless_asked(monkeypatch):
    monkeypatch.delenv(recording.RECORD_ENV, raising=False)
    assert recording.trace_configs() is None

    async def session_traces() -> Any:
        from g4f_hailuo.transport.sessions import PooledSession

        async with PooledSession("off") as session:
            assert isinstance(session, aiohttp.ClientSession)
            return list(session.trace_configs)

    assert asyncio.run(session_traces()) == []


def test_a_chat_with_hailuoai_record_is_recorded_scrubbed_and_replays(tmp_path):
    from g4f_hailuo.fake.agent.server import run_in_thread as run_agent

    fake = run_agent()
    target = tmp_path / "chat.json"
    try:
        token = fake.issue_token(name="Zelda Quux")
        home = make_home(tmp_path)
        env = isolated_env(home, {"HAILUOAI_API_KEY": token, "HAILUOAI_RECORD": str(target)})
        done = subprocess.run(
            [sys.executable, "-m", "g4f_hailuo", "chat", "-m", "hello there", "--base-url", fake.url],
            capture_output=True, text=True, encoding="utf-8", env=env, stdin=subprocess.DEVNULL, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        account = fake.account(token)
    finally:
        fake.stop()
    text = target.read_text(encoding="utf-8")
    identity = Identity.from_token(token)
    devices = (home / ".g4f" / "cookies" / "devices_g4f_hailuo.json").read_text()
    device_id = json.loads(devices).popitem()[1]["device_id"]
    for secret in (token, account.real_user_id, account.jwt_user_id, identity.uuid, device_id):
        assert secret not in text
    for personal in ("Zelda Quux", account.email, *account.agent_ids()):
        assert personal not in text
    recorded = load(target)
    paths = [exchange["request"]["path"].split("/")[-1] for exchange in recorded["exchanges"]]
    assert paths == ["info", "config", "agent", "session", "message"]
    assert "token" in recorded["exchanges"][-1]["request"]["query"]
    assert expected_outcome(recorded)["text"] == done.stdout.rstrip("\n")


def _fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("*.json"))


async def _doctor_on(url: str, protocol: str) -> Report:
    settings = dataclasses.replace(resolve_settings(base_url=url, protocol=protocol), retries=0)
    recorder = recording.Recorder(protocol=protocol)
    recording.start(recorder)
    try:
        return await diagnose(settings, "the replay", [Identity.from_token(replay_token())], recorder)
    finally:
        recording.stop(recorder)


@pytest.mark.parametrize("path", _fixtures(), ids=lambda path: path.stem)
def test_a_recording_replays_to_the_same_checks_and_text(path: Path):
    recorded = load(path)
    protocol = recorded.get("protocol") or "agent"
    expected = expected_outcome(recorded)
    site = run_in_thread(recorded, pace="fast")
    try:
        outcome = recorded.get("outcome")
        if outcome is not None:  # the doctor's checks give what they gave when it was recorded
            report = asyncio.run(_doctor_on(site.url, protocol))
            steps = [(step["name"], step["ok"], step["advice"]) for step in outcome["steps"]]
            assert [(step.name, step.ok, step.advice) for step in report.steps] == steps
            assert (report.generation, report.reply, report.error) == (
                outcome["generation"], outcome["text"], outcome["error"]
            )  # fmt: skip
            assert not site.unanswered
        site.rewind()
        from g4f_hailuo.protocols.agent import account

        account._states.clear()
        messages = [{"role": "user", "content": "Reply with the single word OK."}]
        kwargs = {
            "provider": "HailuoAI",
            "api_key": replay_token(),
            "base_url": site.url,
            "protocol": protocol,
        }
        if expected["error"] is None:
            chunks = g4f.ChatCompletion.create(model="MiniMax", messages=messages, stream=True, **kwargs)
            assert "".join(chunk for chunk in chunks if isinstance(chunk, str)) == expected["text"]
        else:
            with pytest.raises(Exception) as raised:
                g4f.ChatCompletion.create(model="MiniMax", messages=messages, **kwargs)
            assert type(raised.value).__name__ == expected["error"]
    finally:
        site.stop()


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", DETERMINISTIC)
def test_the_fixtures_are_what_the_recorder_writes(name: str):
    committed = load(FIXTURES / f"{name}.json")
    assert comparable(record(name)) == comparable(committed), f"python tests/_recordings.py rewrites {name}"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_command_line_replays_a_recording(tmp_path):
    home = make_home(tmp_path)
    fixture = FIXTURES / "agent-normal.json"
    with subprocess.Popen(
        [sys.executable, "-m", "g4f_hailuo.fake", "--replay", str(fixture), "--fast"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=isolated_env(home),
    ) as server:  # fmt: skip
        try:
            _doctor_against(server, home, fixture)
        finally:
            server.terminate()
            server.wait(timeout=10)


def _doctor_against(server: subprocess.Popen[str], home: Path, fixture: Path) -> None:
    """The doctor, with what the replay server announced (base URL, a token, the protocol)."""
    assert server.stdout is not None
    announced = dict(server.stdout.readline().strip().partition("=")[::2] for _ in range(3))
    assert announced["HAILUOAI_PROTOCOL"] == "agent"
    done = subprocess.run(
        [sys.executable, "-m", "g4f_hailuo", "doctor"],
        capture_output=True, text=True, encoding="utf-8", env=isolated_env(home, announced),
        stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.dumps(load(fixture)["outcome"]["text"][:40], ensure_ascii=False)[1:-1] in done.stdout


def test_a_file_that_is_no_recording_is_refused(tmp_path):
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"format": "something else"}')
    done = subprocess.run(
        [sys.executable, "-m", "g4f_hailuo.fake", "--replay", str(bogus)],
        capture_output=True, text=True, env=isolated_env(make_home(tmp_path)), timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "is not a g4f-hailuo recording" in done.stderr


def test_a_recording_is_saved_when_the_process_ends(tmp_path, monkeypatch):
    target = tmp_path / "at-exit.json"
    monkeypatch.setenv(recording.RECORD_ENV, str(target))
    recorder = recording.current()
    assert recorder is not None and recorder.autosave and recording.current() is recorder
    recorder.exchanges.append(planted_exchanges()[0])
    recording._save_quietly(recorder)
    assert TOKEN not in target.read_text() and load(target)["exchanges"]
    os.environ.pop(recording.RECORD_ENV)
    assert time.time() and recording.trace_configs() is None
