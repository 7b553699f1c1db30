"""Where the token comes from, the auth cache, and what happens when it is refused."""

from __future__ import annotations

import asyncio
import inspect
import json
import stat

import g4f
import pytest
from g4f.errors import MissingAuthError, MissingRequirementsError
from g4f.providers.response import AuthResult, RequestLogin

from g4f_hailuo.accounts import auth_cache as _auth_cache
from g4f_hailuo.accounts.browser_login import BrowserLogin
from g4f_hailuo.provider import HailuoAI


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


@pytest.fixture
def no_browser(monkeypatch):
    monkeypatch.setattr("g4f_hailuo.provider.browser_login_available", lambda: False)


@pytest.fixture
def fake_browser(monkeypatch, fake):
    """A stand-in for the browser window: each login hands out a fresh token."""
    logins: list[str] = []

    async def login(url, **kwargs):
        assert url == fake.url
        logins.append(fake.issue_token(name=f"browser{len(logins)}"))
        return BrowserLogin(token=logins[-1], device_id=None, uuid=None, user_agent="BrowserUA/1.0")

    monkeypatch.setattr("g4f_hailuo.provider.browser_login_available", lambda: True)
    monkeypatch.setattr("g4f_hailuo.accounts.login_flow.browser_login", login)
    return logins


def cache_login(token: str) -> None:
    HailuoAI.write_cache_file(HailuoAI.get_cache_file(), AuthResult(token=token, uuid="u-1", device_id=None))


def test_on_auth_async_is_an_async_generator():
    assert inspect.isasyncgenfunction(HailuoAI.on_auth_async)


async def test_on_auth_async_checks_a_given_token_and_yields_its_auth_result(fake):
    token = fake.issue_token(with_device_id=False)  # so the device is registered first
    results = [chunk async for chunk in HailuoAI.on_auth_async(api_key=token, base_url=fake.url)]
    assert len(results) == 1 and isinstance(results[0], AuthResult)
    auth = results[0].get_dict()
    assert auth["token"] == token and auth["device_id"].isdigit()
    assert [r.path for r in fake.requests] == ["/v1/api/user/device/register", "/v1/api/user/info"]
    assert fake.requests[1].query["device_id"] == auth["device_id"]


async def test_on_auth_async_refuses_a_revoked_token(fake, token):
    fake.revoke(token)
    with pytest.raises(MissingAuthError, match="401") as raised:
        async for _ in HailuoAI.on_auth_async(api_key=token, base_url=fake.url):
            pass
    assert token not in str(raised.value)


def test_without_any_token_the_error_says_how_to_give_one(fake, no_browser):
    with pytest.raises(MissingAuthError) as raised:
        g4f.ChatCompletion.create(model="", messages=[user("hi")], provider="HailuoAI", base_url=fake.url)
    assert "HAILUOAI_API_KEY" in str(raised.value) and "api_key" in str(raised.value)
    assert not fake.requests


def test_login_url_is_offered_before_the_error(fake, no_browser, monkeypatch):
    monkeypatch.setenv("G4F_LOGIN_URL", "http://127.0.0.1:1/login")
    stream = g4f.ChatCompletion.create(
        model="", messages=[user("hi")], provider="HailuoAI", base_url=fake.url, stream=True
    )
    first = next(stream)
    assert isinstance(first, RequestLogin) and first.login_url == "http://127.0.0.1:1/login"
    with pytest.raises(MissingAuthError):
        next(stream)


def test_rejected_token_raises_before_any_text_and_never_shows_the_token(fake, token):
    fake.revoke(token)
    stream = g4f.ChatCompletion.create(
        model="", messages=[user("hi")], provider="HailuoAI", api_key=token, base_url=fake.url, stream=True
    )
    with pytest.raises(MissingAuthError) as raised:
        next(stream)
    assert "401" in str(raised.value) and token not in str(raised.value)


def test_expired_token_is_refused_before_any_request(fake):
    token = fake.issue_token(expires_in=-60)
    with pytest.raises(MissingAuthError, match="expired") as raised:
        g4f.ChatCompletion.create(
            model="", messages=[user("hi")], provider="HailuoAI", api_key=token, base_url=fake.url
        )
    assert "log in again" in str(raised.value) and "HAILUOAI_API_KEY" in str(raised.value)
    assert not fake.requests


def test_a_browser_that_cannot_start_is_a_missing_login_for_the_caller(fake, monkeypatch):
    """E.g. Chromium on a server without a display: g4f api answers 401, with the ways to give a token."""

    async def cannot_start(url, **kwargs):
        raise MissingRequirementsError("Could not start the browser /usr/bin/chromium (FileNotFoundError)")

    monkeypatch.setattr("g4f_hailuo.provider.browser_login_available", lambda: True)
    monkeypatch.setattr("g4f_hailuo.accounts.login_flow.browser_login", cannot_start)
    with pytest.raises(MissingAuthError, match="browser login cannot run: Could not start") as raised:
        g4f.ChatCompletion.create(model="", messages=[user("hi")], provider="HailuoAI", base_url=fake.url)
    assert "HAILUOAI_API_KEY" in str(raised.value)
    assert not fake.requests


def test_explicit_token_is_never_written_to_disk(fake, token):
    g4f.ChatCompletion.create(
        model="", messages=[user("hi")], provider="HailuoAI", api_key=token, base_url=fake.url
    )
    assert not HailuoAI.get_cache_file().exists()


def test_cached_login_is_used_when_no_token_is_given(fake, token):
    cache_login(token)
    answer = g4f.ChatCompletion.create(
        model="", messages=[user("cached")], provider="HailuoAI", base_url=fake.url
    )
    assert answer == fake.reply_for("cached", 1)
    assert fake.chat_requests()[0].headers["token"] == token


def test_auth_cache_is_our_own_file_private_to_the_user(isolated_g4f, token):
    cache_login(token)
    path = HailuoAI.get_cache_file()
    assert path.name == "auth_g4f_hailuo.json" and path.parent == isolated_g4f
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["token"] == token


def test_a_crash_mid_write_leaves_the_old_file(isolated_g4f, monkeypatch):
    path = HailuoAI.get_cache_file()
    _auth_cache.write_auth(path, {"token": "old"})

    def broken_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(_auth_cache.json, "dump", broken_dump)
    with pytest.raises(OSError):
        _auth_cache.write_auth(path, {"token": "new"})
    assert json.loads(path.read_text()) == {"token": "old"}
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_unreadable_cache_counts_as_not_logged_in(isolated_g4f):
    path = HailuoAI.get_cache_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    with pytest.raises(MissingAuthError):
        HailuoAI.get_auth_result()


def test_browser_login_is_used_and_cached_when_there_is_no_token(fake, fake_browser):
    answer = g4f.ChatCompletion.create(
        model="", messages=[user("hi")], provider="HailuoAI", base_url=fake.url
    )
    assert answer == fake.reply_for("hi", 1)
    assert len(fake_browser) == 1
    stored = json.loads(HailuoAI.get_cache_file().read_text())
    assert stored["token"] == fake_browser[0] and stored["device_id"].isdigit()
    assert stored["user_agent"] == "BrowserUA/1.0"
    assert fake.chat_requests()[0].headers["User-Agent"] == "BrowserUA/1.0"


def test_rejected_cached_login_triggers_exactly_one_relogin(fake, token, fake_browser):
    cache_login(token)
    fake.revoke(token)
    answer = g4f.ChatCompletion.create(
        model="", messages=[user("again")], provider="HailuoAI", base_url=fake.url
    )
    assert answer == fake.reply_for("again", 1)
    assert len(fake_browser) == 1
    assert json.loads(HailuoAI.get_cache_file().read_text())["token"] == fake_browser[0]


def test_relogin_that_is_also_rejected_fails_without_looping(fake, token, monkeypatch):
    cache_login(token)
    fake.revoke(token)
    calls = []

    async def login(url, **kwargs):
        calls.append(url)
        return BrowserLogin(token=token, device_id="123456789012345678", uuid=None, user_agent=None)

    monkeypatch.setattr("g4f_hailuo.provider.browser_login_available", lambda: True)
    monkeypatch.setattr("g4f_hailuo.accounts.login_flow.browser_login", login)
    with pytest.raises(MissingAuthError) as raised:
        g4f.ChatCompletion.create(model="", messages=[user("x")], provider="HailuoAI", base_url=fake.url)
    assert len(calls) == 1 and token not in str(raised.value)


def test_a_cached_login_refused_mid_life_is_replaced_by_one_browser_login(fake, fake_browser):
    token = fake.issue_token()
    HailuoAI.write_cache_file(
        HailuoAI.get_cache_file(), AuthResult(token=token, uuid="u-1", device_id="310000000000000099")
    )
    assert g4f.ChatCompletion.create(model="", messages=[user("one")], provider="HailuoAI", base_url=fake.url)
    fake.revoke(token)  # the site stops accepting it while the cache still holds it
    answer = g4f.ChatCompletion.create(
        model="", messages=[user("two")], provider="HailuoAI", base_url=fake.url
    )
    assert answer == fake.reply_for("two", 1)
    assert len(fake_browser) == 1
    assert [r.headers["token"] for r in fake.chat_requests()] == [token, token, fake_browser[0]]
    assert [login["token"] for login in _auth_cache.read_logins(HailuoAI.get_cache_file())] == fake_browser


def test_an_expired_cached_login_is_replaced_without_sending_it(fake, fake_browser):
    expired = fake.issue_token(expires_in=-60)
    cache_login(expired)
    answer = g4f.ChatCompletion.create(
        model="", messages=[user("hi")], provider="HailuoAI", base_url=fake.url
    )
    assert answer == fake.reply_for("hi", 1)
    assert len(fake_browser) == 1
    assert expired not in [r.headers.get("token") for r in fake.requests]


def test_an_explicit_token_refused_never_opens_the_browser(fake, token, fake_browser):
    fake.revoke(token)
    with pytest.raises(MissingAuthError, match="401"):
        g4f.ChatCompletion.create(
            model="", messages=[user("hi")], provider="HailuoAI", api_key=token, base_url=fake.url
        )
    assert not fake_browser


def test_concurrent_requests_without_a_login_share_one_browser_login(fake, monkeypatch):
    import asyncio

    logins: list[str] = []

    async def slow_login(url, **kwargs):
        await asyncio.sleep(0.3)  # the user takes a moment
        logins.append(fake.issue_token())
        return BrowserLogin(token=logins[-1], device_id=None, uuid=None, user_agent=None)

    monkeypatch.setattr("g4f_hailuo.provider.browser_login_available", lambda: True)
    monkeypatch.setattr("g4f_hailuo.accounts.login_flow.browser_login", slow_login)

    async def ask(n: int) -> str:
        chunks = [
            c
            async for c in HailuoAI.create_async_generator("", [user(f"q{n}")], base_url=fake.url)
            if isinstance(c, str)
        ]
        return "".join(chunks)

    async def main() -> list[str]:
        return await asyncio.gather(*(ask(n) for n in range(4)))

    assert asyncio.run(main()) == [fake.reply_for(f"q{n}", 1) for n in range(4)]
    assert len(logins) == 1


def test_login_for_the_gui_button_adds_accounts_and_returns_no_token(fake, fake_browser):
    import asyncio

    first = asyncio.run(HailuoAI.login(base_url=fake.url))
    second = asyncio.run(HailuoAI.login(base_url=fake.url))
    assert inspect.iscoroutinefunction(HailuoAI.login)
    assert (first["logins"], second["logins"]) == (1, 2)
    assert not any(token in repr(first) + repr(second) for token in fake_browser)
    stored = [login["token"] for login in _auth_cache.read_logins(HailuoAI.get_cache_file())]
    assert stored == fake_browser[::-1]  # newest first, both kept: a pool of two


def test_browser_login_can_be_switched_off(monkeypatch):
    from g4f_hailuo.accounts import browser_login as _browser_login

    monkeypatch.setattr(_browser_login, "find_browser", lambda: "/usr/bin/chromium")
    monkeypatch.setattr(_browser_login.importlib.util, "find_spec", lambda name: object())
    assert _browser_login.browser_login_available()
    for off in ("0", "false", "off", "no"):
        monkeypatch.setenv("HAILUOAI_BROWSER_LOGIN", off)
        assert not _browser_login.browser_login_available()


def test_the_login_button_honours_the_switch_and_opens_no_browser(fake, fake_browser, monkeypatch):
    monkeypatch.setenv("HAILUOAI_BROWSER_LOGIN", "0")
    with pytest.raises(MissingRequirementsError, match="switched off"):
        asyncio.run(HailuoAI.login(base_url=fake.url))
    assert fake_browser == [] and not HailuoAI.get_cache_file().exists()


def test_two_login_clicks_at_once_open_one_browser_window_at_a_time(fake, monkeypatch):
    open_windows: list[int] = []
    most_open = 0

    async def slow_login(url, **kwargs):
        nonlocal most_open
        open_windows.append(1)
        most_open = max(most_open, len(open_windows))
        await asyncio.sleep(0.2)
        open_windows.pop()
        return BrowserLogin(token=fake.issue_token(), device_id=None, uuid=None, user_agent=None)

    monkeypatch.setattr("g4f_hailuo.accounts.login_flow.browser_login", slow_login)

    async def two_clicks():
        return await asyncio.gather(HailuoAI.login(base_url=fake.url), HailuoAI.login(base_url=fake.url))

    first, second = asyncio.run(two_clicks())
    assert most_open == 1 and {first["logins"], second["logins"]} == {1, 2}


def test_a_login_serves_only_the_site_it_was_made_on(fake, no_browser):
    """A token of one site is no token of another (a mirror, the cn site): it is
    neither sent there nor forgotten because of it."""
    from g4f_hailuo.fake.hailuo_v4.server import run_in_thread

    token = fake.issue_token()

    async def log_in() -> None:
        async for auth in HailuoAI.on_auth_async(api_key=token, base_url=fake.url):
            HailuoAI.write_cache_file(HailuoAI.get_cache_file(), auth)

    asyncio.run(log_in())
    assert json.loads(HailuoAI.get_cache_file().read_text())["origin"] == fake.url
    other = run_in_thread()
    try:
        with pytest.raises(MissingAuthError, match="No Hailuo token"):
            g4f.ChatCompletion.create(
                model="", messages=[user("hi")], provider="HailuoAI", base_url=other.url
            )
        assert not other.requests
    finally:
        other.stop()
    answer = g4f.ChatCompletion.create(
        model="", messages=[user("home")], provider="HailuoAI", base_url=fake.url
    )
    assert answer == fake.reply_for("home", 1)


def test_a_refusal_by_another_site_keeps_the_login(fake, isolated_g4f):
    """A login stored without its site is tried anywhere; refused by one site it is
    forgotten for that site only when it was made there."""
    token = fake.issue_token()
    cache = HailuoAI.get_cache_file()
    HailuoAI.write_cache_file(
        cache, AuthResult(token=token, uuid="u", device_id="1", origin="http://a.example")
    )
    assert not _auth_cache.remove_login(cache, token, "http://b.example")
    assert _auth_cache.read_logins(cache)[0]["token"] == token
    assert _auth_cache.remove_login(cache, token, "http://a.example")
    assert not cache.exists()
