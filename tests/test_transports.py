"""The browser-grade transport (the ``impersonate`` extra, curl_cffi) beside aiohttp: the option, the
extra missing, a bot-protection page answered by sending once more as a browser (and the account
remembering it), the query sent exactly as signed, and aiohttp alone on the default path. The
scenario tests run on both transports through the ``transport`` fixture (``tests/_transports.py``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from g4f.errors import BadRequestError, MissingRequirementsError
from yarl import URL

from g4f_hailuo._config import resolve_settings, settings_as_kwargs
from g4f_hailuo.fake.scenario_kit import cloudflare_reply
from g4f_hailuo.transport import base, impersonate
from g4f_hailuo.transport.http import read_body, send_through, url_for
from g4f_hailuo.transport.sessions import PooledSession, request_timeout

needs_curl = pytest.mark.skipif(not impersonate.available(), reason="the impersonate extra is not installed")


@pytest.fixture(autouse=True)
def no_browser_remembered(isolated_g4f: Any) -> Any:
    base.forget_browsers()
    yield
    base.forget_browsers()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (True, "chrome"),
        ("1", "chrome"),
        ("Safari", "safari"),
        ("chrome124", "chrome124"),
        (False, "off"),
        ("0", "off"),
    ],
)
def test_the_option_names_a_browser_or_switches_it_off(value, expected):
    settings = resolve_settings(impersonate=value)
    assert settings.impersonate == expected
    assert resolve_settings(**settings_as_kwargs(settings)).impersonate == expected


def test_the_environment_sets_it_and_nonsense_is_refused(monkeypatch):
    monkeypatch.setenv("HAILUOAI_IMPERSONATE", "chrome")
    assert resolve_settings().impersonate == "chrome"
    with pytest.raises(BadRequestError, match="browser name"):
        resolve_settings(impersonate="chrome 124; rm")


async def test_the_option_without_the_extra_names_the_install(monkeypatch):
    monkeypatch.setattr(impersonate, "available", lambda: False)
    with pytest.raises(MissingRequirementsError, match=r'pip install "g4f-hailuo\[impersonate\]"'):
        async with PooledSession("account", None, "chrome"):
            pass


@needs_curl
async def test_a_browser_curl_cffi_does_not_know_is_a_bad_request():
    with pytest.raises(BadRequestError, match="not a browser"):
        async with PooledSession("account", None, "netscape4"):
            pass


class _Site:
    """A loopback site: a Cloudflare challenge for clients without a browser's client hints."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []  # (raw path and query, as a browser)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        browser = "sec-ch-ua" in request.headers
        self.seen.append((request.raw_path, browser))
        if not browser:
            page = cloudflare_reply()
            return web.Response(status=page.status, body=page.body, headers=page.headers)
        return web.json_response({"ok": True})


@pytest.fixture
async def site() -> AsyncIterator[tuple[_Site, str]]:
    state = _Site()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = runner.addresses[0][1]
    try:
        yield state, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def _get(origin: str, path: str, account: str, **options: Any) -> tuple[int, bytes, base.Session]:
    settings = resolve_settings(base_url=origin, retries=0, **options)
    timeout = request_timeout(5, 5)

    def send(session: base.Session) -> Any:
        return session.request(
            "GET", url_for(origin, path), data=None, headers={}, proxy=None, timeout=timeout
        )

    async with PooledSession(account, None, settings.impersonate) as session:
        response = await send_through(settings, "test", session, account, send)
        try:
            return response.status, await read_body(response, 1 << 16), session
        finally:
            response.release()


@needs_curl
async def test_a_bot_protection_page_is_answered_as_a_browser_and_the_account_remembers(site, debug_log):
    state, origin = site
    status, body, session = await _get(origin, "/v1/api/user/info?token=SECRET", "alice")
    assert status == 200 and body == b'{"ok": true}'
    assert isinstance(session, aiohttp.ClientSession)
    assert [browser for _, browser in state.seen] == [False, True]
    said = [line for line in debug_log if "bot-protection" in line]
    assert said and "SECRET" not in " ".join(debug_log) and "alice" not in said[0]
    # From now on the account goes out as a browser at once; other accounts do not.
    status, _, session = await _get(origin, "/again", "alice")
    assert status == 200 and isinstance(session, impersonate.CurlSession)
    assert state.seen[-1] == ("/again", True)
    status, _, session = await _get(origin, "/other", "bob", impersonate=False)
    assert status == 403 and state.seen[-1] == ("/other", False)


async def test_without_the_extra_or_switched_off_the_page_is_the_answer(site, monkeypatch):
    state, origin = site
    status, body, _ = await _get(origin, "/off", "carol", impersonate=False)
    assert status == 403 and b"Just a moment" in body
    monkeypatch.setattr(impersonate, "available", lambda: False)
    status, body, _ = await _get(origin, "/missing", "carol")
    assert status == 403 and b"Just a moment" in body  # the peeked page is read again, whole
    assert [browser for _, browser in state.seen] == [False, False]
    assert not base.remembered()


@needs_curl
async def test_the_query_goes_out_exactly_as_signed(site):
    state, origin = site
    path = "/p?a=%2B+b&c=%7E~&d=x%20y&e='q'&f=%2f&g=%E4%BD%A0"
    status, _, _ = await _get(origin, path, "dave", impersonate="chrome")
    assert status == 200 and state.seen == [(path, True)]
    assert str(URL(origin + path, encoded=True)) == origin + path


def test_the_default_path_never_loads_the_browser_transport():
    code = (
        "import asyncio, sys\n"
        "from g4f_hailuo.fake.agent.server import run_in_thread\n"
        "import g4f\n"
        "fake = run_in_thread(); key = fake.api_key(fake.issue_token())\n"
        "g4f.ChatCompletion.create(model='MiniMax', messages=[{'role': 'user', 'content': 'hi'}],"
        " provider='HailuoAI', api_key=key, base_url=fake.url)\n"
        "fake.stop()\n"
        "assert 'g4f_hailuo.transport.impersonate' not in sys.modules\n"
        "assert 'g4f_hailuo.transport.botwall' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
