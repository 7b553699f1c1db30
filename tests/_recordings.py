"""The recordings in ``tests/fixtures/``: ``g4f-hailuo doctor --record`` against the fake sites, one
per scenario (:data:`SPECS`). ``python tests/_recordings.py`` writes them all again;
``tests/test_recording.py`` regenerates them and compares, so that they stay what the recorder
writes. A recording of the live site (``g4f-hailuo doctor --record FILE``) dropped into
``tests/fixtures/`` has no ``fake`` entry: it is replayed, never regenerated.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _g4f_processes import isolated_env, make_home
from g4f_hailuo.fake.replay import load
from g4f_hailuo.transport.recording_file import dumps

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# name -> how the fake is set up: protocol, server-wide scenario, credits, session routes, and a
# transform of another recording ("archon": the Gen C exchange as a site serving Gen B would give it).
SPECS: dict[str, dict[str, Any]] = {
    "agent-normal": {},
    "agent-thinking": {"scenario": "thinking"},
    "agent-tool-step": {"scenario": "tool_step"},
    "agent-no-credits": {"credits": 0},
    "agent-rate-limited": {"scenario": "http_429 retry=3"},
    "agent-matrix": {"session_routes": False},
    "agent-archon": {"transform": "archon"},
    "hailuo-v4-normal": {"protocol": "hailuo-v4"},
}
# Recordings whose every byte is the same each time (the polling API's number of polls depends on
# timing, so agent-matrix is only replayed).
DETERMINISTIC = tuple(name for name in SPECS if name != "agent-matrix")


def _doctor(url: str, key: str, protocol: str, target: Path, home: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "g4f_hailuo", "doctor", "--base-url", url, "--protocol", protocol],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=isolated_env(home, {"HAILUOAI_API_KEY": key, "HAILUOAI_RECORD": str(target)}),
        stdin=subprocess.DEVNULL,
        timeout=90,
    )
    if not target.is_file():
        raise RuntimeError(f"the doctor wrote no recording: {done.stdout}{done.stderr}")


def record(name: str) -> dict[str, Any]:
    """The recording ``name`` as the recorder writes it today."""
    spec = SPECS[name]
    if spec.get("transform") == "archon":
        return as_archon(record("agent-normal"), name)
    protocol = spec.get("protocol", "agent")
    with tempfile.TemporaryDirectory(prefix="g4f-hailuo-recording-") as scratch:
        target = Path(scratch) / "recording.json"
        if protocol == "hailuo-v4":
            from g4f_hailuo.fake.hailuo_v4.server import run_in_thread as run_v4

            fake: Any = run_v4(scenario=spec.get("scenario", "normal"))
            key = fake.issue_token(with_device_id=False)
        else:
            from g4f_hailuo.fake.agent.server import run_in_thread

            fake = run_in_thread(scenario=spec.get("scenario", "normal"))
            fake.session_routes = spec.get("session_routes", True)
            key = fake.issue_token(credits=spec.get("credits", 1000))
        try:
            _doctor(fake.url, key, protocol, target, make_home(Path(scratch)))
        finally:
            fake.stop()
        recording = load(target)
    recording["fake"] = {"name": name, **spec}
    return recording


def as_archon(normal: dict[str, Any], name: str) -> dict[str, Any]:
    """A Gen C recording as a site serving Gen B (``/archon``) would have answered: ``/config``
    under ``/minimax-cloud`` gets the app page, every session route moves under ``/archon``."""
    recording = copy.deepcopy(normal)
    home_page = recording["exchanges"][0]  # GET /: the app page
    exchanges = []
    for exchange in recording["exchanges"]:
        path = exchange["request"]["path"]
        if path == "/minimax-cloud/api/v1/config":
            missing = copy.deepcopy(exchange)
            missing["response"]["headers"] = copy.deepcopy(home_page["response"]["headers"])
            missing["response"]["frames"] = copy.deepcopy(home_page["response"]["frames"])
            exchanges.append(missing)
        exchange["request"]["path"] = path.replace("/minimax-cloud/api/v1", "/archon/api/v1")
        exchanges.append(exchange)
    recording["exchanges"] = exchanges
    recording["outcome"]["generation"] = "archon"
    recording["fake"] = {"name": name, **SPECS[name]}
    return recording


def main() -> int:
    FIXTURES.mkdir(exist_ok=True)
    for name in SPECS:
        (FIXTURES / f"{name}.json").write_text(dumps(record(name)) + "\n", encoding="utf-8")
        print(f"wrote {FIXTURES / name}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
