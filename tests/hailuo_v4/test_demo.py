"""The README's offline demo, run as a user runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def run_demo(tmp_path: Path, *args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "G4F_CONFIG_DIR": str(tmp_path)}
    argv = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "g4f_hailuo.demo", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)


def test_demo_streams_a_multi_turn_chat(tmp_path):
    done = run_demo(tmp_path, "first question", "second question")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "g4f resolves provider 'HailuoAI' to g4f_hailuo.provider.HailuoAI" in out
    assert 'reply #1: you said "first question"' in out and 'reply #2: you said "second question"' in out
    assert "the server received 2 messages; chatIDs sent: 0, " in out and "multi-turn chat: OK" in out


def test_demo_default_turns_continue_the_chat_the_first_one_opened(tmp_path):
    done = run_demo(tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for turn in (1, 2, 3):
        assert f"reply #{turn}: you said " in out
    (ids,) = re.findall(r"the server received 3 messages; chatIDs sent: (.*)", out)
    first, second, third = ids.split(", ")
    assert first == "0" and second == third and second.isdigit() and second != "0"
    assert "multi-turn chat: OK" in out


# The demo as g4f would run it if conversations were dropped between turns: every message
# then starts a new chat (chatID 0, 0, 0), which the demo must not call a multi-turn chat.
FORGETFUL = """
import sys
import g4f

create = g4f.ChatCompletion.create

def forgetful(*args, **kwargs):
    kwargs["conversation"] = None
    return create(*args, **kwargs)

g4f.ChatCompletion.create = forgetful
from g4f_hailuo.demo import main
sys.exit(main(sys.argv[1:]))
"""


def test_demo_fails_when_the_turns_do_not_continue_one_chat(tmp_path):
    done = run_demo(tmp_path, "one", "two", "three", code=FORGETFUL)
    assert "chatIDs sent: 0, 0, 0" in done.stdout, done.stdout + done.stderr
    assert "multi-turn chat: UNEXPECTED" in done.stdout and "multi-turn chat: OK" not in done.stdout
    assert done.returncode == 1
