"""``g4f-hailuo chat`` under the Agent protocol (the default) and its ``--protocol`` option, run as
a subprocess (``python -m g4f_hailuo``) against the fake Agent site, in an isolated home."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from _g4f_processes import isolated_env, make_home
from g4f_hailuo.cli import EXIT_AUTH, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE
from g4f_hailuo.fake.agent.server import FakeAgent

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def run_cli(
    home: Path, key: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m g4f_hailuo ARGS`` with ``key`` as HAILUOAI_API_KEY, in an isolated ``home``."""
    argv = [sys.executable, "-m", "g4f_hailuo", *args]
    environment = isolated_env(home, {"HAILUOAI_API_KEY": key, **(env or {})})
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=environment,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path)


@pytest.mark.parametrize(
    ("options", "env"),
    [
        pytest.param([], {}, id="by-default"),
        pytest.param(
            ["--protocol", "agent"], {"HAILUOAI_PROTOCOL": "hailuo-v4"}, id="option-over-environment"
        ),
    ],
)
def test_chat_answers_with_the_agent_protocol(
    home: Path, agent: FakeAgent, agent_token: str, agent_key: str, options: list[str], env: dict[str, str]
) -> None:
    done = run_cli(home, agent_key, "chat", "-m", "hi", "--base-url", agent.url, *options, env=env)
    assert done.returncode == EXIT_OK, done.stderr
    assert done.stdout == agent.reply_for("hi", 1) + "\n"
    assert len(agent.message_requests()) == 1
    assert agent_token not in done.stdout + done.stderr


def test_protocol_hailuo_v4_against_the_agent_site_fails_clearly(
    home: Path, agent: FakeAgent, agent_token: str, agent_key: str
) -> None:
    done = run_cli(home, agent_key, "chat", "-m", "hi", "--base-url", agent.url, "--protocol", "hailuo-v4")
    # The /v4 routes get the Agent site's app page (a new device) or a 401: Hailuo "failing" or
    # the token refused, never a crash or an answer.
    assert done.returncode in (EXIT_AUTH, EXIT_UNAVAILABLE), done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("g4f-hailuo chat: Hailuo answered "), done.stderr
    assert "Traceback" not in done.stderr
    assert not agent.message_requests(), "the /v4 chat never reaches the Agent routes"
    assert agent_token not in done.stderr


def test_an_unknown_protocol_is_a_usage_error(home: Path, agent: FakeAgent, agent_key: str) -> None:
    done = run_cli(home, agent_key, "chat", "-m", "hi", "--base-url", agent.url, "--protocol", "matrix-v9")
    assert done.returncode == EXIT_USAGE
    assert "invalid choice: 'matrix-v9'" in done.stderr
    assert not agent.requests


def test_status_shows_plan_and_credits_never_the_token_or_user_id(tmp_path):
    from g4f_hailuo.fake.agent.server import run_in_thread

    fake = run_in_thread()
    try:
        token = fake.issue_token()
        fake.set_credits(token, 432)
        home = make_home(tmp_path)
        env = isolated_env(home, {"HAILUOAI_API_KEY": fake.api_key(token), "HAILUOAI_BASE_URL": fake.url})
        for extra in ([], ["--json"]):
            done = subprocess.run(
                [sys.executable, "-m", "g4f_hailuo", "status", *extra],
                capture_output=True,
                text=True,
                timeout=60,
                env=env,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            shown = done.stdout + done.stderr
            assert token not in shown and fake.real_user_id(token) not in shown
            if extra:
                (account,) = json.loads(done.stdout)["accounts"]
                assert account["credits"] == 432 and account["live"] is True and account["plan"] == "Free"
            else:
                assert "Alive: yes" in done.stdout and "Plan: Free; 432 credits left" in done.stdout
        fake.revoke(token)
        done = subprocess.run(
            [sys.executable, "-m", "g4f_hailuo", "status"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
        assert done.returncode == 3 and "Alive: no, MiniMax Agent rejected the token" in done.stdout
    finally:
        fake.stop()


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # a PNG signature is enough for the type


def test_chat_with_model_reasoning_and_an_attached_file(
    home: Path, tmp_path: Path, agent: FakeAgent, agent_key: str
) -> None:
    picture = tmp_path / "cat.png"
    picture.write_bytes(PNG)
    args = ("chat", "-m", "look", "-m", "again", "--base-url", agent.url, "--model", "minimax-m3")
    done = run_cli(home, agent_key, *args, "--reasoning", "on", "--attach", str(picture))
    assert done.returncode == EXIT_OK, done.stderr
    first, second = agent.message_requests()
    assert json.loads(first.body)["model"] == {
        "provider_id": "minimax",
        "model_id": "MiniMax-M3",
        "reasoning": True,
    }
    assert [a["meta"]["file_name"] for a in json.loads(first.body)["attachments"]] == ["cat.png"]
    assert "attachments" not in json.loads(second.body)  # the file goes with the first message only
    thinking = agent.thinking_for("look")
    # The thinking comes before the answer, on its own line (not dimmed: no terminal here).
    assert done.stdout.startswith(thinking + "\n" + agent.reply_for("look", 1, files=("cat.png",)) + "\n")
    off = run_cli(
        home,
        agent_key,
        "chat",
        "-m",
        "quiet",
        "--base-url",
        agent.url,
        "--model",
        "MiniMax-M3",
        "--reasoning",
        "off",
    )
    assert off.returncode == EXIT_OK and off.stdout == agent.reply_for("quiet", 1) + "\n"
    assert json.loads(agent.message_requests()[-1].body)["model"]["reasoning"] is False


def test_chat_attach_of_a_missing_file_is_a_usage_error(home: Path, agent: FakeAgent, agent_key: str) -> None:
    done = run_cli(
        home, agent_key, "chat", "-m", "hi", "--base-url", agent.url, "--attach", "/nonexistent.png"
    )
    assert done.returncode == EXIT_USAGE and "nonexistent.png" in done.stderr
    assert agent.message_requests() == []
