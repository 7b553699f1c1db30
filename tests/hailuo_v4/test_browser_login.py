"""The browser login, for real: headless Chromium driven by nodriver, against the fake site.

The fake server's login page stands in for the user (``FakeHailuo(login_as=...)``): the
home page sends a visitor without ``localStorage._token`` to ``/login``, which fills in a
name and submits the form; the answer stores ``_token``, ``USER_HARD_WARE_INFO`` and
``UNIQUE_USER_ID`` in localStorage, as the site does. No network beyond loopback.

Needs Chromium (``apt-get install -y chromium``) and nodriver (``pip install nodriver``, the
``browser`` extra). Without them the real-browser tests are skipped, or fail when
``G4F_HAILUO_E2E=required`` (CI).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib.util
import json
import os
import stat
import sys
import time
import types
from collections.abc import Iterator

import g4f
import pytest
from aiohttp import web
from g4f.errors import MissingAuthError, MissingRequirementsError

from _browser import LOGIN_TIMEOUT, login_profiles, need_real_browser
from g4f_hailuo.accounts import browser_login as _browser_login
from g4f_hailuo.accounts.browser_login import browser_login, find_browser
from g4f_hailuo.fake.hailuo_v4.server import FakeHailuo, run_in_thread
from g4f_hailuo.provider import HailuoAI


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


@pytest.fixture
def real_browser() -> None:
    need_real_browser()


@pytest.fixture
def site() -> Iterator[FakeHailuo]:
    """The fake site, with a visitor that logs in as "alice" by itself."""
    server = run_in_thread(login_as="alice", login_delay=0.1)
    try:
        yield server
    finally:
        server.stop()


def test_login_in_chromium_is_cached_and_then_chats_with_that_identity(real_browser, site):
    profiles = login_profiles()
    summary = asyncio.run(HailuoAI.login(base_url=site.url, headless=True, login_timeout=LOGIN_TIMEOUT))
    (login,) = site.logins
    assert login["name"] == "alice"
    assert summary["account"].startswith("sha256:") and summary["name"] == "alice"
    assert login["token"] not in repr(summary)

    cache = HailuoAI.get_cache_file()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    stored = json.loads(cache.read_text())
    assert stored["token"] == login["token"]
    assert (stored["uuid"], stored["device_id"]) == (login["uuid"], login["device_id"])
    assert "Chrome" in stored["user_agent"]
    assert login_profiles() == profiles, "the temporary browser profile was left behind"

    answer = g4f.ChatCompletion.create(
        model="", messages=[user("after the login")], provider="HailuoAI", base_url=site.url
    )
    assert answer == site.reply_for("after the login", 1)
    (sent,) = site.chat_requests()
    assert sent.headers["token"] == login["token"] and sent.signature_ok
    assert (sent.query["uuid"], sent.query["device_id"]) == (login["uuid"], login["device_id"])
    assert sent.headers["User-Agent"] == stored["user_agent"]


def test_a_chat_without_any_token_opens_the_browser_once(real_browser, site):
    answer = g4f.ChatCompletion.create(
        model="",
        messages=[user("first chat")],
        provider="HailuoAI",
        base_url=site.url,
        headless=True,
        login_timeout=LOGIN_TIMEOUT,
    )
    assert answer == site.reply_for("first chat", 1)
    assert len(site.logins) == 1
    assert json.loads(HailuoAI.get_cache_file().read_text())["token"] == site.logins[0]["token"]


def test_nobody_logging_in_ends_after_the_bounded_wait(real_browser, fake):
    profiles = login_profiles()
    started = time.monotonic()
    with pytest.raises(MissingAuthError, match=r"No Hailuo login within 2 s") as raised:
        asyncio.run(HailuoAI.login(base_url=fake.url, headless=True, login_timeout=2))
    assert time.monotonic() - started < 2 + 15
    assert "login_timeout" in str(raised.value)
    assert not fake.logins and not HailuoAI.get_cache_file().exists()
    assert login_profiles() == profiles


def test_no_browser_found_is_a_clear_error(fake, monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("G4F_BROWSER_EXECUTABLE_PATH", raising=False)
    monkeypatch.setattr(_browser_login, "_STANDARD_PATHS", ())
    monkeypatch.setattr("g4f.cookies.BrowserConfig.executable_path", None, raising=False)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(  # as if nodriver were installed
        importlib.util,
        "find_spec",
        lambda name, *a: object() if name == "nodriver" else real_find_spec(name, *a),
    )
    with pytest.raises(MissingRequirementsError, match="Chrome or Chromium") as raised:
        asyncio.run(HailuoAI.login(base_url=fake.url))
    assert "G4F_BROWSER_EXECUTABLE_PATH" in str(raised.value)


def test_without_nodriver_the_error_names_the_extra(fake, monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nodriver" else real_find_spec(name, *a)
    )
    with pytest.raises(MissingRequirementsError, match=r"g4f-hailuo\[browser\]"):
        asyncio.run(browser_login(fake.url, timeout=1))


def test_g4f_browser_setting_is_honoured(tmp_path, monkeypatch):
    browser = tmp_path / "my-chrome"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    monkeypatch.setenv("G4F_BROWSER_EXECUTABLE_PATH", str(browser))
    assert find_browser() == str(browser)
    browser.chmod(0o644)  # not executable: ignored
    assert find_browser() != str(browser)


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (
            '{"token":"t.k.n","device":"123456789012345678","uuid":"u-1","ua":"UA"}',
            ("123456789012345678", "u-1"),
        ),
        ('{"token":"\\"t.k.n\\"","device":"\\"123\\"","uuid":"\\"u-2\\"","ua":"UA"}', ("123", "u-2")),
        ('{"token":"t.k.n","device":"not-digits","uuid":null,"ua":null}', (None, None)),
    ],
    ids=["plain", "json-quoted", "partial"],
)
def test_storage_values_are_read_plain_or_json_quoted(stored, expected):
    found = _browser_login._parse(stored)
    assert found is not None and found.token == "t.k.n"
    assert (found.device_id, found.uuid) == expected
    assert "t.k.n" not in repr(found)


@pytest.mark.parametrize("stored", [None, "", "null", '{"token":null}', '{"token":"null"}', "[1]", "{bad"])
def test_no_token_in_storage_means_not_logged_in_yet(stored):
    assert _browser_login._parse(stored) is None


def test_the_fake_sites_login_page_without_a_browser(fake):
    """The server side of the login, for machines without Chromium."""
    import urllib.parse
    import urllib.request

    with urllib.request.urlopen(fake.url + "/login", timeout=5) as response:
        form = response.read().decode()
    assert '<form id="login" method="post" action="/login">' in form and 'name="name"' in form
    data = urllib.parse.urlencode({"name": "bob"}).encode()
    with urllib.request.urlopen(fake.url + "/login", data=data, timeout=5) as response:
        page = response.read().decode()
    (login,) = fake.logins
    assert login["name"] == "bob" and login["device_id"].isdigit()
    for key in ("_token", "USER_HARD_WARE_INFO", "UNIQUE_USER_ID"):
        assert f"localStorage.setItem({json.dumps(key)}" in page
    assert json.dumps(login["token"]) in page and json.dumps(login["uuid"]) in page
    assert "location.replace('/')" in page
    assert g4f.ChatCompletion.create(
        model="", messages=[user("bob here")], provider="HailuoAI", api_key=login["token"], base_url=fake.url
    ) == fake.reply_for("bob here", 1)


# -- guest tokens and the one deadline (a stand-in for nodriver) -----------------------------------


def jwt(**user: object) -> str:
    """A JWT-shaped token with these ``user`` claims (only the claims are read here)."""
    claims = base64.urlsafe_b64encode(json.dumps({"user": {"id": "1", **user}}).encode()).decode()
    return f"eyJhbGciOiJIUzI1NiJ9.{claims.rstrip('=')}.sig"


GUEST, LOGIN = jwt(isAnonymous=True), jwt(isAnonymous=False)


def storage(token: str | None) -> str:
    return json.dumps({"token": token, "device": "123", "uuid": "u-1", "ua": "UA"})


@pytest.mark.parametrize(
    ("token", "accepted"),
    [(GUEST, False), (LOGIN, True), (jwt(), True), ("not-a-jwt", True)],
    ids=["guest", "login", "no-isAnonymous-claim", "no-claims"],
)
def test_a_guest_token_in_storage_is_not_a_login_yet(token, accepted):
    found = _browser_login._parse(storage(token))
    assert (found is not None and found.token == token) == accepted


class FakeBrowser:
    """What ``_browser_login`` uses of a nodriver browser; ``get`` answers ``page``, or hangs."""

    def __init__(self, profile: str, page: object | None = None) -> None:
        self.config = types.SimpleNamespace(user_data_dir=profile)
        self.targets: list[object] = []
        self.page = page
        self.closed = False

    async def get(self, url: str) -> object:
        if self.page is None:
            await asyncio.sleep(3600)  # a first page load that never ends
        return self.page

    async def aclose(self) -> None:
        self.closed = True


class StoragePage:
    """A page whose localStorage holds each of ``tokens`` in turn (the last one stays)."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)

    async def evaluate(self, script: str) -> str:
        return storage(self.tokens.pop(0) if len(self.tokens) > 1 else self.tokens[0])


@pytest.fixture
def fake_nodriver(monkeypatch) -> types.SimpleNamespace:
    """nodriver and a browser as stand-ins; set ``.start`` to what ``nodriver.start`` does."""
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: object() if name == "nodriver" else real_find_spec(name, *a),
    )
    monkeypatch.setattr(_browser_login, "find_browser", lambda: "/usr/bin/true")
    monkeypatch.setattr(_browser_login, "_POLL_SECONDS", 0.01)
    registry: set[object] = set()
    module = types.SimpleNamespace(start=None, registry=registry, browsers=[], profiles=[])
    monkeypatch.setitem(sys.modules, "nodriver", module)
    util = types.SimpleNamespace(get_registered_instances=lambda: registry)
    monkeypatch.setitem(sys.modules, "nodriver.core.util", util)
    return module


async def test_the_browser_login_waits_past_a_guest_token(fake_nodriver):
    async def start(*, user_data_dir: str, **kwargs: object) -> FakeBrowser:
        fake_nodriver.browsers.append(FakeBrowser(user_data_dir, StoragePage("null", GUEST, GUEST, LOGIN)))
        return fake_nodriver.browsers[-1]

    fake_nodriver.start = start
    found = await asyncio.wait_for(browser_login("http://site.test/", timeout=5), 10)
    assert found.token == LOGIN and fake_nodriver.browsers[0].closed


@pytest.mark.parametrize("hangs", ["starting the browser", "loading the first page"])
async def test_the_deadline_covers_the_whole_login(fake_nodriver, hangs):
    async def start(*, user_data_dir: str, **kwargs: object) -> FakeBrowser:
        browser = FakeBrowser(user_data_dir)  # its get() hangs
        fake_nodriver.browsers.append(browser)
        fake_nodriver.profiles.append(user_data_dir)
        if hangs == "starting the browser":
            fake_nodriver.registry.add(browser)  # as nodriver does once the process runs
            await asyncio.sleep(3600)
        return browser

    fake_nodriver.start = start
    started = time.monotonic()
    with pytest.raises(MissingAuthError, match=r"No Hailuo login within 0.5 s") as raised:
        await asyncio.wait_for(browser_login("http://site.test/", timeout=0.5), 10)
    assert time.monotonic() - started < 5 and "login_timeout" in str(raised.value)
    (browser,) = fake_nodriver.browsers
    assert browser.closed, "the browser was left running"
    assert not os.path.exists(fake_nodriver.profiles[0]), "the temporary profile was left behind"


class SwallowingBrowser(FakeBrowser):
    """A browser library that swallows one cancellation of its page load, then goes on."""

    async def get(self, url: str) -> object:
        with contextlib.suppress(asyncio.CancelledError):  # as some library code does
            await asyncio.sleep(3600)
        return StoragePage("null")  # a page where nobody logs in


async def test_the_deadline_holds_when_the_browser_library_swallows_the_cancellation(fake_nodriver):
    async def start(*, user_data_dir: str, **kwargs: object) -> FakeBrowser:
        fake_nodriver.browsers.append(SwallowingBrowser(user_data_dir))
        return fake_nodriver.browsers[-1]

    fake_nodriver.start = start
    started = time.monotonic()
    with pytest.raises(MissingAuthError, match=r"No Hailuo login within 0.5 s"):
        await asyncio.wait_for(browser_login("http://site.test/", timeout=0.5), 10)
    assert time.monotonic() - started < 5 and fake_nodriver.browsers[0].closed


async def test_a_guest_token_on_a_real_page_is_waited_past(real_browser):
    """The site's page first stores a guest token, then (the user logged in) the login's."""
    page = (
        f"<!DOCTYPE html><html><body><script>localStorage.setItem('_token', {json.dumps(GUEST)});"
        f" setTimeout(function () {{ localStorage.setItem('_token', {json.dumps(LOGIN)}); }}, 1500);"
        "</script></body></html>"
    )

    async def home(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", home)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        found = await browser_login(f"http://127.0.0.1:{port}/", headless=True, timeout=LOGIN_TIMEOUT)
    finally:
        await runner.cleanup()
    assert found.token == LOGIN
