"""Shared fixtures: an isolated g4f home, and the fake Hailuo server."""

from __future__ import annotations

import atexit
import copy
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from _g4f_processes import SEEDED_PROVIDER_LIST, make_home


def _keep_users_pip_settings(real_home: Path) -> None:
    """pip (tests/test_install.py) finds its user config and cache through HOME: keep them."""
    if sys.platform == "win32":
        return  # pip's user files live under %APPDATA% / %LOCALAPPDATA% there, not HOME
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or real_home / ".config")
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or real_home / ".cache")
    configs = [config_home / "pip" / "pip.conf", real_home / ".pip" / "pip.conf"]
    cache = cache_home / "pip"
    if sys.platform == "darwin":
        configs.insert(0, real_home / "Library" / "Application Support" / "pip" / "pip.conf")
        cache = real_home / "Library" / "Caches" / "pip"
    found = next((config for config in configs if config.is_file()), None)
    if found is not None:
        os.environ.setdefault("PIP_CONFIG_FILE", str(found))
    os.environ.setdefault("PIP_CACHE_DIR", str(cache))


# Before anything imports g4f: a developer's own ~/.g4f (tokens, .env, cookies)
# must never leak into a test, and g4f computes its dirs at import time. g4f 8.4
# and 8.7 ignore G4F_CONFIG_DIR and use ~/.g4f, hence a HOME of our own, whose
# provider-list cache is seeded so that listing providers never fetches g4f.dev.
_keep_users_pip_settings(Path.home())
_ROOT = tempfile.mkdtemp(prefix="g4f-hailuo-tests-")
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
_HOME = make_home(Path(_ROOT))
os.environ["HOME"] = str(_HOME)
if os.name == "nt":
    os.environ["USERPROFILE"] = str(_HOME)  # Path.home() reads this one on Windows
os.environ["G4F_CONFIG_DIR"] = str(_HOME / ".g4f")


def _settings_from_outside() -> list[str]:
    """Environment variables that would change what the plugin or g4f does in a test."""
    return [
        name
        for name in os.environ
        if name.startswith("HAILUOAI_") or name in ("G4F_PROXY", "G4F_LOGIN_URL", "G4F_CACHE_DIR")
    ]


for _name in _settings_from_outside():
    del os.environ[_name]

import pytest  # noqa: E402

from g4f_hailuo.fake.hailuo_v4.server import FakeHailuo, run_in_thread  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_g4f(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cookies dir (where the auth cache lives) and no Hailuo env.

    g4f 8.4 reads its provider-list cache from the cookies dir: seeding it there would
    put files beside the auth cache, so g4f gets the seeded list in memory instead.
    """
    from g4f import debug
    from g4f.client.factory import AbstractClientFactory
    from g4f.cookies import CookiesConfig

    from g4f_hailuo.provider import HailuoAI

    cookies = tmp_path / "cookies"
    monkeypatch.setattr(CookiesConfig, "cookies_dir", str(cookies))
    monkeypatch.setattr(AbstractClientFactory, "_live_providers", copy.deepcopy(SEEDED_PROVIDER_LIST))
    monkeypatch.setattr(debug, "version_check", False)  # no PyPI look-up from tests
    for name in _settings_from_outside():  # whatever a test before this one left set
        monkeypatch.delenv(name)
    HailuoAI._identities.clear()
    return cookies


@pytest.fixture
def debug_log(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """g4f's debug log switched on, captured into a list."""
    from g4f import debug

    lines: list[str] = []
    monkeypatch.setattr(debug, "logging", True)
    monkeypatch.setattr(debug, "logs", [])
    monkeypatch.setattr(
        debug, "log_handler", lambda *values, file=None: lines.append(" ".join(map(str, values)))
    )
    monkeypatch.setattr(debug, "log", debug.log)  # g4f's GUI replaces it: put it back afterwards
    return lines


def _serving() -> Iterator[FakeHailuo]:
    server = run_in_thread()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake() -> Iterator[FakeHailuo]:
    """The fake Hailuo server on a random loopback port, on its own thread's
    loop, so both sync g4f calls (which run their own loop) and async tests use it."""
    yield from _serving()


@pytest.fixture(scope="module")
def hailuo() -> Iterator[FakeHailuo]:
    """One fake Hailuo server for a whole module: for tests that start ``g4f api``
    or ``g4f gui`` once per module and point it at this server."""
    yield from _serving()


@pytest.fixture
def token(fake: FakeHailuo) -> str:
    return fake.issue_token()
