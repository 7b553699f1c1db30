"""The token never shows: not in logs (g4f's debug on), error messages, repr(), the GUI's
stored conversation, the API server's responses or the CLI's output; the auth cache is
0600 and written atomically."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import traceback
from pathlib import Path
from typing import Any

import g4f
import g4f.debug
import pytest
from g4f.errors import G4FError, MissingAuthError
from g4f.providers.response import AuthResult

from _g4f_processes import require_modules, seed_provider_list, skip_if_gui_needs_newer_python
from g4f_hailuo.accounts import auth_cache as _auth_cache
from g4f_hailuo.accounts.browser_login import BrowserLogin
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.accounts.pool import AccountPool
from g4f_hailuo.accounts.token_sources import find_tokens
from g4f_hailuo.provider import Conversation, HailuoAI


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def chat(fake, text: str, **kwargs: Any) -> str:
    return g4f.ChatCompletion.create(
        model="", messages=[user(text)], provider="HailuoAI", base_url=fake.url, **kwargs
    )


def assert_hidden(tokens: list[str], *texts: str) -> None:
    for text in texts:
        for token in tokens:
            assert token not in text
            assert token.split(".")[-1] not in text  # not even the signature part


@pytest.fixture
def fake_browser(monkeypatch, fake) -> list[str]:
    logins: list[str] = []

    async def login(url, **kwargs):
        logins.append(fake.issue_token(name="browser"))
        return BrowserLogin(token=logins[-1], device_id=None, uuid="browser-uuid", user_agent="BrowserUA/1.0")

    monkeypatch.setattr("g4f_hailuo.provider.browser_login_available", lambda: True)
    monkeypatch.setattr("g4f_hailuo.accounts.login_flow.browser_login", login)
    return logins


@pytest.fixture
def offline_g4f(tmp_path, monkeypatch) -> None:
    """Listing providers (the GUI, the API server) reads a cached provider list instead of g4f.dev."""
    config = tmp_path / "g4f-config"
    seed_provider_list(config)
    monkeypatch.setenv("G4F_CACHE_DIR", str(config / "cache"))


# -- logs ------------------------------------------------------------------------------------------


def test_no_token_in_logs_with_g4f_debug_on(fake, debug_log, fake_browser, isolated_g4f, capfd, caplog):
    given, revoked = fake.issue_token(), fake.issue_token()
    soon = fake.issue_token(expires_in=3600)
    expired = fake.issue_token(expires_in=-60)
    cached = fake.issue_token()
    fake.revoke(revoked)
    chat(fake, "explicit", api_key=given)
    chat(fake, "pool", api_key=f"{revoked},{soon},{expired}")  # a refusal, a warning, an expiry
    HailuoAI.write_cache_file(HailuoAI.get_cache_file(), AuthResult(**Identity.from_token(cached).to_dict()))
    fake.revoke(cached)
    chat(fake, "relogin")  # the cached login is refused: one browser login
    HailuoAI.reset_auth()
    har = {
        "log": {
            "entries": [
                {
                    "startedDateTime": "2025-01-01T00:00:00Z",
                    "request": {
                        "url": f"{fake.url}/v1/api/user/info?uuid=u",
                        "headers": [{"name": "token", "value": given}],
                    },
                }
            ]
        }
    }
    (isolated_g4f / "session.har").write_text(json.dumps(har))
    chat(fake, "from a har file")
    with pytest.raises(MissingAuthError):
        chat(fake, "expired", api_key=expired)

    out, err = capfd.readouterr()
    logged = "\n".join(debug_log)
    assert "left the pool" in logged and "expires on" in logged and "logging in through the browser" in logged
    assert_hidden([given, revoked, soon, expired, cached, *fake_browser], logged, out, err, caplog.text)


# -- errors ------------------------------------------------------------------------------------------


def _refused(fake, case: str) -> tuple[str, BaseException]:
    token = fake.issue_token(expires_in=-60 if case == "expired" else 86400)
    if case == "revoked before the first use":
        fake.revoke(token)
    elif case in ("revoked mid-life", "banned"):
        chat(fake, "warm up", api_key=token)
        fake.revoke(token) if case == "revoked mid-life" else fake.ban(token)
    message = f"[[scenario:stream_error msg={token}]] echo" if case == "the site echoes it" else "hi"
    try:
        chat(fake, message, api_key=token)
    except G4FError as error:
        return token, error
    raise AssertionError("no error")


@pytest.mark.parametrize(
    "case", ["revoked before the first use", "revoked mid-life", "banned", "expired", "the site echoes it"]
)
def test_no_token_in_error_messages(fake, case):
    token, error = _refused(fake, case)
    assert_hidden([token], str(error), repr(error), "".join(traceback.format_exception(error)))


def test_no_token_when_every_account_of_a_pool_is_refused(fake, fake_browser):
    """A browser login is at hand (``fake_browser``, so no real browser starts), yet
    given tokens are never replaced by one: the refusal itself is what the caller sees."""
    tokens = [fake.issue_token() for _ in range(3)]
    for token in tokens:
        fake.revoke(token)
    for _ in range(2):  # the refusal, then the retired pool
        with pytest.raises(MissingAuthError) as raised:
            chat(fake, "hi", api_key=",".join(tokens))
        assert_hidden(tokens, str(raised.value), "".join(traceback.format_exception(raised.value)))
    assert fake_browser == [], "given tokens must never be replaced by a browser login"


# -- repr ---------------------------------------------------------------------------------------------


def test_no_token_in_any_repr(fake, isolated_g4f):
    token = fake.issue_token()
    identity = Identity.from_token(token)
    HailuoAI.write_cache_file(HailuoAI.get_cache_file(), AuthResult(**identity.to_dict()))
    objects = [
        identity,
        BrowserLogin(token=token, device_id="1", uuid="u", user_agent="UA"),
        Conversation(token=identity.account, chatID="1"),
        find_tokens(token, fake.url),
        find_tokens(None, fake.url),
        AccountPool(fake.url, [identity]),
        HailuoAI.get_auth_result(),
    ]
    assert_hidden([token], *(repr(o) for o in objects), *(str(o) for o in objects))


# -- the GUI ---------------------------------------------------------------------------------------------


@pytest.fixture
def gui(offline_g4f, fake, monkeypatch):
    require_modules("flask", hint="g4f's GUI needs flask (the test extra installs it)")
    skip_if_gui_needs_newer_python()
    from g4f.gui import get_gui_app

    monkeypatch.setenv("HAILUOAI_BASE_URL", fake.url)  # the GUI drops base_url from requests
    return get_gui_app().test_client()


def gui_events_of(text: str) -> list[dict[str, Any]]:
    """The GUI's event stream (``event: NAME`` / ``data: JSON`` frames, or JSON lines in older g4f)."""
    lines = text.splitlines()
    return [json.loads(line.removeprefix("data:")) for line in lines if line.startswith(("data:", "{"))]


def gui_events(response) -> list[dict[str, Any]]:
    return gui_events_of(response.get_data(as_text=True))


def test_no_token_in_what_the_gui_streams_and_stores(gui, fake, debug_log):
    token = fake.issue_token()
    body = {"provider": "HailuoAI", "model": "MiniMax", "api_key": token, "messages": [user("hi")], "id": "1"}
    first = gui.post("/backend-api/v2/conversation", json=body)
    assert first.status_code == 200
    events = gui_events(first)
    (stored,) = [event["conversation"]["HailuoAI"] for event in events if event["type"] == "conversation"]
    assert stored["token"].startswith("sha256:")
    # the GUI hands the stored conversation back on the next turn: the chat continues
    body.update(messages=[user("hi"), assistant("x"), user("again")], conversation=stored)
    second = gui.post("/backend-api/v2/conversation", json=body).get_data(as_text=True)  # (streams lazily)
    assert fake.chat_requests()[-1].form["chatID"] == stored["chatID"]
    assert fake.reply_for("again", 2) in "".join(e.get("content", "") for e in gui_events_of(second))
    assert_hidden([token], first.get_data(as_text=True), second, "\n".join(debug_log))


def test_the_gui_login_button_stores_a_login_and_answers_without_it(gui, fake, fake_browser):
    response = gui.post("/backend-api/v2/oauth/HailuoAI", json={})
    assert response.status_code == 200 and response.get_json() == {"status": "success"}
    (token,) = fake_browser
    assert json.loads(HailuoAI.get_cache_file().read_text())["token"] == token
    assert_hidden([token], response.get_data(as_text=True))


# -- the API server ------------------------------------------------------------------------------------


async def asgi_call(app, path: str, body: dict[str, Any], token: str) -> tuple[int, str]:
    """One request to an ASGI app, without an HTTP client library."""
    sent = False
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}  # pragma: no cover

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    headers = [(b"content-type", b"application/json"), (b"authorization", f"Bearer {token}".encode())]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    await app(scope, receive, send)
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    return status, b"".join(
        m.get("body", b"") for m in messages if m["type"] == "http.response.body"
    ).decode()


def test_no_token_in_the_api_servers_responses(offline_g4f, fake, monkeypatch, capfd):
    require_modules("fastapi", "uvicorn", hint='g4f\'s API server: pip install "g4f[api]"')
    skip_if_gui_needs_newer_python()  # g4f.api imports g4f.gui
    monkeypatch.setenv("HAILUOAI_BASE_URL", fake.url)
    from g4f.api import create_app

    app = create_app()
    token, revoked = fake.issue_token(), fake.issue_token()
    fake.revoke(revoked)
    request = {"model": "MiniMax", "provider": "HailuoAI", "messages": [user("hi")]}

    async def calls() -> list[tuple[int, str]]:
        return [
            await asgi_call(app, "/v1/chat/completions", request, token),
            await asgi_call(app, "/v1/chat/completions", {**request, "stream": True}, token),
            await asgi_call(app, "/v1/chat/completions", request, revoked),
            await asgi_call(app, "/v1/chat/completions", {**request, "stream": True}, revoked),
        ]

    (ok, answer), (ok_stream, streamed), (refused, error), (_, error_stream) = asyncio.run(calls())
    assert (ok, ok_stream, refused) == (200, 200, 401)
    assert fake.reply_for("hi", 1).split(":")[0] in answer and json.loads(answer)["conversation"]
    out, err = capfd.readouterr()
    assert_hidden([token, revoked], answer, streamed, error, error_stream, out, err)


# -- the CLI ---------------------------------------------------------------------------------------------


def test_no_token_in_the_clis_output(fake, monkeypatch, capsys):
    from g4f_hailuo import cli

    token = fake.issue_token()
    monkeypatch.setenv("HAILUOAI_API_KEY", token)
    cli.main(["status", "--base-url", fake.url])
    cli.main(["status", "--json", "--base-url", fake.url])
    cli.main(["chat", "-m", "hi", "--base-url", fake.url])
    fake.revoke(token)
    cli.main(["chat", "-m", "hi", "--base-url", fake.url])
    out, err = capsys.readouterr()
    assert fake.reply_for("hi", 1) in out
    assert_hidden([token], out, err)


# -- the auth cache ----------------------------------------------------------------------------------------


def test_the_auth_cache_stays_private_through_adds_and_removals(isolated_g4f):
    path = HailuoAI.get_cache_file()
    _auth_cache.add_login(path, {"token": "a.b.c"})
    _auth_cache.add_login(path, {"token": "d.e.f"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    _auth_cache.remove_login(path, "a.b.c")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [login["token"] for login in _auth_cache.read_logins(path)] == ["d.e.f"]


@pytest.mark.parametrize("failing", ["json.dump", "os.fsync", "os.replace"])
def test_a_crash_at_any_point_of_a_write_leaves_the_old_logins(isolated_g4f, monkeypatch, failing):
    path = HailuoAI.get_cache_file()
    _auth_cache.add_login(path, {"token": "a.b.c"})
    _auth_cache.add_login(path, {"token": "d.e.f"})
    before = path.read_bytes()
    module, name = failing.split(".")

    def crash(*args: Any, **kwargs: Any) -> None:
        raise OSError("crash")

    monkeypatch.setattr(getattr(_auth_cache, module), name, crash)
    with pytest.raises(OSError):
        _auth_cache.add_login(path, {"token": "g.h.i"})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]  # no temporary file left behind


def test_the_one_login_file_keeps_its_earlier_shape(isolated_g4f):
    path = HailuoAI.get_cache_file()
    HailuoAI.write_cache_file(path, AuthResult(token="a.b.c", uuid="u", device_id="1", user_agent="UA"))
    assert json.loads(path.read_text()) == {
        "token": "a.b.c",
        "uuid": "u",
        "device_id": "1",
        "user_agent": "UA",
    }
    Path(path).write_text(json.dumps({"token": "x.y.z", "other_logins": [{"token": "a.b.c"}, {"nope": 1}]}))
    assert [login["token"] for login in _auth_cache.read_logins(path)] == ["x.y.z", "a.b.c"]
