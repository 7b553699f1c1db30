"""The README's offline demo, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys


def test_demo_streams_a_multi_turn_chat(tmp_path):
    env = {**os.environ, "G4F_CONFIG_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "g4f_hailuo.demo", "first question", "second question"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "g4f resolves provider 'HailuoAI' to g4f_hailuo.provider.HailuoAI" in out
    assert 'reply #1: you said "first question"' in out and 'reply #2: you said "second question"' in out
    assert "the server received 2 messages; chatIDs sent: 0, " in out and "multi-turn chat: OK" in out
