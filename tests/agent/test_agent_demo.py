"""The README's offline demo runs the Agent protocol by default, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "G4F_CONFIG_DIR": str(tmp_path)}
    env.pop("HAILUOAI_PROTOCOL", None)
    argv = [sys.executable, "-m", "g4f_hailuo.demo", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)


def test_demo_runs_three_agent_turns_with_model_and_reasoning(tmp_path):
    done = run_demo(tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "fake MiniMax Agent site at http://127.0.0.1:" in out and "model MiniMax-M3, reasoning on" in out
    for turn in (1, 2, 3):
        assert f"**reply** #{turn}: you said " in out
    assert out.count("thinking: The user wrote") == 3
    assert "the site has 1 session(s) with 3 messages" in out and "multi-turn chat: OK" in out


def test_demo_protocol_option_runs_the_old_chat(tmp_path):
    done = run_demo(tmp_path, "--protocol", "hailuo-v4", "one", "two")
    assert done.returncode == 0, done.stderr
    assert "the server received 2 messages; chatIDs sent: 0, " in done.stdout
    assert "multi-turn chat: OK" in done.stdout
