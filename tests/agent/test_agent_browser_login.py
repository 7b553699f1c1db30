"""The browser login on the MiniMax Agent site, for real: headless Chromium driven by nodriver,
against the fake Agent site's login pages (``FakeAgent(login_as=...)``, :mod:`g4f_hailuo.fake.agent.pages`).

A visitor first has no ``_token`` or a guest's; once "logged in", the page stores ``_token``,
``user_detail_agent`` (realUserID), ``UNIQUE_USER_ID`` and ``sessionStorage.tab_device_id``. The
login reads them, checks them with the site (a missing realUserID comes from ``user/info``) and
caches them; a chat without a token then sends those ids. Needs Chromium and nodriver, as
``tests/hailuo_v4/test_browser_login.py``: skipped without them, failed under CI.
"""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import g4f
import pytest
from g4f.errors import MissingAuthError, MissingRequirementsError

from _browser import LOGIN_TIMEOUT, browser_processes, login_profiles, need_real_browser, private_tempdir
from _g4f_processes import isolated_env
from g4f_hailuo.accounts import browser_login as _browser_login
from g4f_hailuo.accounts.browser_login import browser_login
from g4f_hailuo.fake.agent import scenarios as sc
from g4f_hailuo.fake.agent.server import USER_INFO, FakeAgent, run_in_thread
from g4f_hailuo.provider import HailuoAI

AUTH_FILE = "auth_g4f_hailuo.json"


@pytest.fixture
def real_browser(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Chromium and nodriver; the login's profile in this test's own temporary directory."""
    need_real_browser()
    private_tempdir(monkeypatch, tmp_path / "tmp")


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start fake Agent sites with the given options; each is stopped after the test."""
    started: list[FakeAgent] = []

    def start(**options: Any) -> FakeAgent:
        started.append(run_in_thread(**options))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def site(serve: Any) -> FakeAgent:
    """The fake Agent site, with a visitor that logs in as "alice" by itself."""
    return serve(login_as="alice", login_delay=0.1)


def ask(site: FakeAgent, text: str, **kwargs: Any) -> Any:
    return g4f.ChatCompletion.create(
        model="MiniMax",
        messages=[{"role": "user", "content": text}],
        provider="HailuoAI",
        base_url=site.url,
        **kwargs,
    )


def user_info_calls(site: FakeAgent) -> int:
    return sum(1 for r in site.requests if r.path == USER_INFO)


def cached() -> dict[str, Any]:
    cache = HailuoAI.get_cache_file()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    return json.loads(cache.read_text())


def assert_the_login_is_cached(site: FakeAgent, stored: dict[str, Any]) -> dict[str, str]:
    (login,) = site.logins
    assert stored["token"] == login["token"] and stored["origin"] == site.url
    assert stored["real_user_id"] == login["real_user_id"] == site.real_user_id(login["token"])
    assert stored["device_id"] == login["device_id"] and len(login["device_id"]) == 8
    assert stored["uuid"] == login["uuid"] and "Chrome" in stored["user_agent"]
    return login


def assert_a_chat_sends_the_ids(site: FakeAgent, login: dict[str, str]) -> None:
    (sent,) = site.message_requests()
    assert sent.headers["token"] == login["token"] and sent.signature_ok
    assert (sent.query["user_id"], sent.query["device_id"], sent.query["uuid"]) == (
        login["real_user_id"],
        login["device_id"],
        login["uuid"],
    )


def test_the_agent_login_is_cached_and_a_chat_then_sends_its_ids(real_browser, site):
    profiles = login_profiles()
    summary = asyncio.run(HailuoAI.login(base_url=site.url, headless=True, login_timeout=LOGIN_TIMEOUT))
    login = assert_the_login_is_cached(site, cached())
    assert login["name"] == "alice" and summary["name"] == "alice"
    assert summary["device_id"] == login["device_id"] and login["token"] not in repr(summary)
    assert user_info_calls(site) == 0, "the realUserID was in the page's storage"
    assert login_profiles() == profiles and browser_processes() == []

    assert ask(site, "after the login") == site.reply_for("after the login", 1)
    assert_a_chat_sends_the_ids(site, login)


def test_a_chat_without_any_token_logs_in_once_in_the_browser(real_browser, site):
    answer = ask(site, "first chat", headless=True, login_timeout=LOGIN_TIMEOUT)
    assert answer == site.reply_for("first chat", 1)
    assert_a_chat_sends_the_ids(site, assert_the_login_is_cached(site, cached()))


def test_a_realUserID_missing_from_the_page_comes_from_user_info(real_browser, serve):
    site = serve(login_as="bob", login_delay=0.1, login_omits=("user_detail_agent",))
    asyncio.run(HailuoAI.login(base_url=site.url, headless=True, login_timeout=LOGIN_TIMEOUT))
    login = assert_the_login_is_cached(site, cached())
    assert user_info_calls(site) == 1
    assert ask(site, "bob here") == site.reply_for("bob here", 1)
    assert_a_chat_sends_the_ids(site, login)


@pytest.mark.parametrize(
    "options",
    [{}, {"login_as": "alice", "login_delay": 3600}],
    ids=["no-token", "guest-token"],
)
def test_the_guest_state_alone_is_never_a_login(real_browser, serve, options):
    site = serve(**options)
    profiles = login_profiles()
    started = time.monotonic()
    # longer than the wait for the rest of a login's values: a guest token taken for a login would be seen
    with pytest.raises(MissingAuthError, match=r"No MiniMax Agent login within 4 s") as raised:
        asyncio.run(HailuoAI.login(base_url=site.url, headless=True, login_timeout=4))
    assert time.monotonic() - started < 4 + 15 and "login_timeout" in str(raised.value)
    assert [r.path for r in site.requests][:1] == ["/"], "the page was never loaded"
    assert not site.logins and not HailuoAI.get_cache_file().exists()
    assert login_profiles() == profiles and browser_processes() == [], "the browser window was left open"


async def test_the_browser_login_reads_the_agent_sites_storage_and_cookies(real_browser, serve):
    site = serve(login_as="carol", login_delay=0.1)
    found = await browser_login(site.url, headless=True, timeout=LOGIN_TIMEOUT, agent=True)
    (login,) = site.logins
    assert (found.token, found.real_user_id) == (login["token"], login["real_user_id"])
    assert (found.device_id, found.uuid) == (login["device_id"], login["uuid"])
    assert set(found.cookies) == {"ak_bmsc"}, "the site's HttpOnly cookie"
    assert login["token"] not in repr(found) and found.cookies["ak_bmsc"] not in repr(found)


def test_g4f_hailuo_login_browser_headless_on_the_agent_site(real_browser, site, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    options = ["--browser", "--headless", "--base-url", site.url, "--login-timeout", str(LOGIN_TIMEOUT)]
    done = subprocess.run(
        [sys.executable, "-m", "g4f_hailuo", "login", *options],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        env=isolated_env(home),
        timeout=LOGIN_TIMEOUT + 30,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    auth_file = Path(home, ".g4f", "cookies", AUTH_FILE)
    assert stat.S_IMODE(auth_file.stat().st_mode) == 0o600
    login = assert_the_login_is_cached(site, json.loads(auth_file.read_text()))
    assert "Logged in" in done.stdout and "as alice" in done.stdout
    assert login["token"] not in done.stdout + done.stderr


def test_the_switch_keeps_the_browser_closed(site, monkeypatch):
    monkeypatch.setenv("HAILUOAI_BROWSER_LOGIN", "0")
    with pytest.raises(MissingRequirementsError, match="switched off"):
        asyncio.run(HailuoAI.login(base_url=site.url, headless=True))
    assert not site.requests and not HailuoAI.get_cache_file().exists()


# -- without a browser: the fake's pages, what is read from a page ---------------------------------------


def fetch(url: str, form: dict[str, str] | None = None) -> tuple[str, str]:
    """The page's text and its Set-Cookie header."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    with urllib.request.urlopen(url, data=data, timeout=5) as response:
        return response.read().decode(), response.headers.get("Set-Cookie", "")


def test_the_fake_sites_pages_without_a_browser(serve):
    """The server side of the login flow, for machines without Chromium."""
    nobody, alice = serve(), serve(login_as="alice", login_omits=("user_detail_agent",))
    assert fetch(nobody.url + "/")[0] == sc.APP_PAGE  # no token at all
    home, cookie = fetch(alice.url + "/")
    assert "localStorage.setItem('_token', guest)" in home and "/login?as=" in home and '"alice"' in home
    assert cookie.startswith("ak_bmsc=") and "HttpOnly" in cookie
    assert 'name="email"' in fetch(alice.url + "/login?as=alice")[0]
    page = fetch(alice.url + "/login", {"email": "bob"})[0]
    (login,) = alice.logins
    assert login["name"] == "bob" and login["real_user_id"] == alice.real_user_id(login["token"])
    assert f"sessionStorage.setItem({json.dumps('tab_device_id')}, {json.dumps(login['device_id'])})" in page
    for key, value in (("_token", login["token"]), ("UNIQUE_USER_ID", login["uuid"])):
        assert f"localStorage.setItem({json.dumps(key)}, {json.dumps(value)})" in page
    assert "user_detail_agent" not in page and "location.replace('/')" in page
    assert [r.path for r in alice.requests] == ["/", "/login", "/login"]
    assert ask(alice, "bob here", api_key=login["token"]) == alice.reply_for("bob here", 1)


TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyIjp7ImlkIjoiMSJ9fQ.sig"  # user.id "1", not a guest
GUEST = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyIjp7ImlzQW5vbnltb3VzIjp0cnVlfX0.sig"  # user.isAnonymous


def agent_storage(token: object, detail: object = None, device: object = "12345678") -> str:
    return json.dumps({"token": token, "detail": detail, "device": device, "uuid": "u-1", "ua": "UA"})


@pytest.mark.parametrize(
    ("token", "detail", "device", "expected"),
    [
        (TOKEN, '{"realUserID":"210000000000000001"}', "12345678", (TOKEN, "210000000000000001", "12345678")),
        (json.dumps({"token": TOKEN, "expire": 1}), None, "12345678", (TOKEN, None, "12345678")),
        (TOKEN, '{"realUserID":210000000000000003}', '"87654321"', (TOKEN, "210000000000000003", "87654321")),
        (TOKEN, "not json", "tab-1", (TOKEN, None, None)),
    ],
    ids=["plain", "json-token", "number-and-quoted", "unreadable"],
)
def test_the_agent_sites_values_are_read(token, detail, device, expected):
    found = _browser_login._parse(agent_storage(token, detail, device))
    assert found is not None and (found.token, found.real_user_id, found.device_id) == expected
    assert found.uuid == "u-1" and TOKEN not in repr(found)


@pytest.mark.parametrize(
    "token", [None, GUEST, json.dumps({"token": GUEST}), json.dumps({"token": None}), "{bad"]
)
def test_no_token_or_a_guests_is_not_a_login_yet(token):
    assert _browser_login._parse(agent_storage(token, '{"realUserID":"210000000000000001"}')) is None
