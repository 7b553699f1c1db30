"""Shared fixtures: an isolated g4f home, and the fake Hailuo server."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Before anything imports g4f: a developer's own ~/.g4f (tokens, .env, cookies)
# must never leak into a test, and g4f computes its dirs at import time.
_HOME = tempfile.mkdtemp(prefix="g4f-hailuo-tests-")
os.environ["G4F_CONFIG_DIR"] = os.path.join(_HOME, "g4f")
for _name in (
    "HAILUOAI_API_KEY",
    "HAILUOAI_BASE_URL",
    "HAILUOAI_REGION",
    "HAILUOAI_RETRIES",
    "G4F_PROXY",
    "G4F_LOGIN_URL",
):
    os.environ.pop(_name, None)

import pytest  # noqa: E402

from g4f_hailuo.fake_server import FakeHailuo, run_in_thread  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_g4f(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cookies dir (where the auth cache lives) and no Hailuo env."""
    from g4f import debug
    from g4f.cookies import CookiesConfig

    from g4f_hailuo.provider import HailuoAI

    cookies = tmp_path / "cookies"
    monkeypatch.setattr(CookiesConfig, "cookies_dir", str(cookies))
    monkeypatch.setattr(debug, "version_check", False)  # no PyPI look-up from tests
    for name in (
        "HAILUOAI_API_KEY",
        "HAILUOAI_BASE_URL",
        "HAILUOAI_REGION",
        "HAILUOAI_RETRIES",
        "G4F_PROXY",
        "G4F_LOGIN_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    HailuoAI._identities.clear()
    return cookies


@pytest.fixture
def fake() -> Iterator[FakeHailuo]:
    """The fake Hailuo server on a random loopback port, on its own thread's
    loop, so both sync g4f calls (which run their own loop) and async tests use it."""
    server = run_in_thread()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def token(fake: FakeHailuo) -> str:
    return fake.issue_token()
