"""Configuration: origin, region, proxy, timeouts and retries — resolved, and seen on the wire."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator

import aiohttp
import g4f
import pytest
from aiohttp import web
from g4f.errors import BadRequestError

from g4f_hailuo._config import (
    DEFAULT_RETRIES,
    REGIONS,
    getenv,
    resolve_settings,
    seconds_setting,
    settings_from,
)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_defaults():
    settings = resolve_settings()
    assert settings.origin == "https://www.hailuo.ai" and settings.region == "intl"
    assert settings.proxy is None and settings.retries == DEFAULT_RETRIES
    assert (settings.connect_timeout, settings.read_timeout) == (30.0, 120.0)


@pytest.mark.parametrize(
    ("region", "origin"), [("cn", REGIONS["cn"]), ("China", REGIONS["cn"]), ("intl", REGIONS["intl"])]
)
def test_region_selects_the_site(region, origin):
    assert resolve_settings(region=region).origin == origin


def test_base_url_wins_over_region_and_env_wins_over_default(monkeypatch):
    monkeypatch.setenv("HAILUOAI_REGION", "cn")
    assert resolve_settings().origin == REGIONS["cn"]
    monkeypatch.setenv("HAILUOAI_BASE_URL", "http://127.0.0.1:9/")
    assert resolve_settings().origin == "http://127.0.0.1:9"
    assert (
        resolve_settings(base_url="https://mirror.example/hailuo/").origin == "https://mirror.example/hailuo"
    )
    assert resolve_settings(base_url="https://mirror.example", region="cn").region == "cn"


def test_settings_resolved_once_follow_every_change_of_options_or_environment(monkeypatch):
    """Each request resolves its options; the result is kept per options and environment."""
    monkeypatch.delenv("HAILUOAI_RETRIES", raising=False)
    first = settings_from({"retries": 1})
    assert settings_from({"retries": 1}) is first
    assert settings_from({"retries": 2}).retries == 2
    monkeypatch.setenv("HAILUOAI_RETRIES", "5")
    assert settings_from({}).retries == 5
    monkeypatch.setenv("HAILUOAI_RETRIES", "6")
    assert settings_from({}).retries == 6
    monkeypatch.setenv("HAILUOAI_BASE_URL", "http://127.0.0.1:1")
    assert settings_from({}).origin == "http://127.0.0.1:1"
    monkeypatch.setenv("HAILUOAI_RETRIES", "many")
    with pytest.raises(BadRequestError, match="retries"):
        settings_from({})
    with pytest.raises(BadRequestError):  # an unhashable option is still resolved (and refused)
        settings_from({"retries": ["1"]})


@pytest.mark.parametrize("value", [None, "", "12", "海螺 ünïcode", "x=y z"])
def test_getenv_reads_what_os_environ_holds(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("HAILUOAI_TEST_VALUE", raising=False)
    else:
        monkeypatch.setenv("HAILUOAI_TEST_VALUE", value)
    assert getenv("HAILUOAI_TEST_VALUE") == os.environ.get("HAILUOAI_TEST_VALUE") == value


def test_timeouts_and_retries(monkeypatch):
    assert resolve_settings(timeout=5).connect_timeout == 5 and resolve_settings(timeout=5).read_timeout == 5
    assert resolve_settings(timeout=5, stream_timeout=9).read_timeout == 9
    monkeypatch.setenv("HAILUOAI_RETRIES", "4")
    assert resolve_settings().retries == 4 and resolve_settings(retries=0).retries == 0
    monkeypatch.setenv("G4F_PROXY", "http://127.0.0.1:3128")
    assert resolve_settings().proxy == "http://127.0.0.1:3128"
    assert resolve_settings(proxy="http://127.0.0.1:8080").proxy == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"region": "mars"}, "Unknown Hailuo region"),
        ({"base_url": "ftp://example.com"}, "Bad Hailuo base URL"),
        ({"base_url": "https://example.com/?x=1"}, "Bad Hailuo base URL"),
        ({"timeout": "soon"}, "timeout must be a number"),
        ({"stream_timeout": -1}, "stream_timeout must be positive"),
        ({"retries": 11}, "between 0 and 10"),
        ({"retries": "two"}, "whole number"),
    ],
)
def test_bad_values_are_clear_errors(options, words):
    with pytest.raises(BadRequestError, match=words):
        resolve_settings(**options)


def test_bad_option_through_g4f_sends_nothing(fake, token):
    with pytest.raises(BadRequestError, match="region"):
        g4f.ChatCompletion.create(
            model="",
            messages=user("hi"),
            provider="HailuoAI",
            api_key=token,
            base_url=fake.url,
            region="mars",
        )
    assert not fake.requests


def test_cn_region_sends_the_cn_fingerprint(fake, token):
    answer = g4f.ChatCompletion.create(
        model="", messages=user("你好"), provider="HailuoAI", api_key=token, base_url=fake.url, region="cn"
    )
    assert answer == fake.reply_for("你好", 1)
    sent = fake.chat_requests()[0]
    assert sent.signature_ok
    assert sent.query["version_code"] == "22200" and sent.query["browser_language"] == "zh-CN"
    assert "biz_id" not in sent.query and sent.query["device_memory"] == "8"


class RecordingProxy:
    """A forwarding HTTP proxy on loopback that remembers what passed through it."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(f"{request.method} {request.url}")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "proxy-connection")}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method, request.url, headers=headers, data=await request.read(), allow_redirects=False
            ) as upstream,
        ):
            response = web.StreamResponse(status=upstream.status)
            response.content_type = upstream.content_type
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    with RecordingProxy() as running:
        yield running


def test_proxy_keyword_carries_every_request(fake, token, proxy):
    answer = g4f.ChatCompletion.create(
        model="",
        messages=user("via proxy"),
        provider="HailuoAI",
        api_key=token,
        base_url=fake.url,
        proxy=proxy.url,
    )
    assert answer == fake.reply_for("via proxy", 1)
    assert [line.split("?")[0] for line in proxy.seen] == [
        f"GET {fake.url}/v1/api/user/info",
        f"POST {fake.url}/v4/api/chat/msg",
    ]
    assert all(request.signature_ok for request in fake.requests)


def test_g4f_proxy_environment_variable(fake, token, proxy, monkeypatch):
    monkeypatch.setenv("G4F_PROXY", proxy.url)
    g4f.ChatCompletion.create(
        model="", messages=user("env proxy"), provider="HailuoAI", api_key=token, base_url=fake.url
    )
    assert any("/v4/api/chat/msg" in line for line in proxy.seen)


@pytest.mark.parametrize("name", ["queue_timeout", "login_timeout"])
def test_duration_options_keyword_then_environment_then_default(name, monkeypatch):
    env = f"HAILUOAI_{name.upper()}"
    assert seconds_setting(name, None, env, 60.0) == 60.0
    monkeypatch.setenv(env, "2.5")
    assert seconds_setting(name, None, env, 60.0) == 2.5
    assert seconds_setting(name, 7, env, 60.0) == 7.0
    monkeypatch.setenv(env, "later")
    with pytest.raises(BadRequestError, match=f"{name} must be a number"):
        seconds_setting(name, None, env, 60.0)
