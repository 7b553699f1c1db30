"""g4f's own command line, ``g4f client -p HailuoAI``: the plugin installed, never
imported by the caller, found by name in a fresh interpreter."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from _g4f_processes import g4f_command, isolated_env, make_home
from g4f_hailuo.fake.hailuo_v4.server import FakeHailuo

pytestmark = pytest.mark.slow


def run_client(fake: FakeHailuo, home: Path, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = isolated_env(home, {"HAILUOAI_BASE_URL": fake.url, "HAILUOAI_API_KEY": token})
    return subprocess.run(
        [*g4f_command(), "client", "-p", "HailuoAI", "-N", *args],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_g4f_client_chats_with_the_plugin(fake: FakeHailuo, tmp_path: Path) -> None:
    home = make_home(tmp_path)
    token = fake.issue_token()
    result = run_client(fake, home, token, "hello from g4f client")
    assert result.returncode == 0, result.stderr[-2000:]
    assert fake.reply_for("hello from g4f client", 1) in result.stdout
    (sent,) = fake.chat_requests()
    assert sent.headers["token"] == token and sent.signature_ok
    assert token not in result.stdout + result.stderr


def test_g4f_client_reports_a_rejected_token_without_showing_it(fake: FakeHailuo, tmp_path: Path) -> None:
    home = make_home(tmp_path)
    token = fake.issue_token()
    fake.revoke(token)
    result = run_client(fake, home, token, "hi")
    output = result.stdout + result.stderr
    assert "401" in output and "HAILUOAI_API_KEY" in output
    assert token not in output
    assert not fake.chat_requests()
