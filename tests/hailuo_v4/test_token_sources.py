"""Where tokens come from, in priority order: api_key, HAILUOAI_API_KEY, .env, the cached
login(s), .har files and localStorage/cookie exports in g4f's cookies dir."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import g4f
import pytest
from g4f.errors import MissingAuthError
from g4f.providers.response import AuthResult

from g4f_hailuo.accounts import token_sources as ts
from g4f_hailuo.accounts.browser_login import BrowserLogin
from g4f_hailuo.provider import HailuoAI

UA = "Mozilla/5.0 (X11; Linux x86_64) HarChrome/130.0"


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def chat(fake, text: str, **kwargs) -> str:
    return g4f.ChatCompletion.create(
        model="", messages=[user(text)], provider="HailuoAI", base_url=fake.url, **kwargs
    )


def har_entry(url: str, token: str | None, when: str, ua: str = UA) -> dict:
    headers = [{"name": "User-Agent", "value": ua}, {"name": "Accept", "value": "*/*"}]
    if token is not None:
        headers.append({"name": "token", "value": token})
    return {
        "startedDateTime": when,
        "request": {"method": "POST", "url": url, "headers": headers, "queryString": []},
        "response": {"status": 200, "headers": []},
    }


def write_har(directory: Path, name: str, *entries: object) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": list(entries)}}))
    return path


def api_url(origin: str, uuid: str = "har-uuid", device_id: str = "311111111111111111") -> str:
    return f"{origin}/v4/api/chat/msg?device_platform=web&uuid={uuid}&device_id={device_id}&unix=1"


def tokens_of(source: ts.TokenSource) -> list[str]:
    return [identity.token for identity in source.identities]


def jwt(user_id: str, iat: int = 1, **user: Any) -> str:
    """A JWT-shaped token of ``user_id`` (its claims are all that is read here)."""
    claims = json.dumps({"user": {"id": user_id, **user}, "iat": iat}).encode()
    return f"eyJhbGciOiJIUzI1NiJ9.{base64.urlsafe_b64encode(claims).decode().rstrip('=')}.sig"


# -- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a.b.c", ["a.b.c"]),
        (" a.b.c , d.e.f ,, a.b.c ", ["a.b.c", "d.e.f"]),
        ("Bearer a.b.c", ["a.b.c"]),
        ("bearer a.b.c, Bearer d.e.f", ["a.b.c", "d.e.f"]),
        ("", []),
        (None, []),
        ({"HailuoAI": "a.b.c,d.e.f"}, ["a.b.c", "d.e.f"]),
        ({"Other": "x"}, []),
    ],
)
def test_split_tokens(value, expected):
    assert ts.split_tokens(value) == expected


def test_dotenv_value(tmp_path):
    env = tmp_path / ".env"
    env.write_text(
        "# comment\nOTHER=1\nHAILUOAI_API_KEY=first\n"
        "export HAILUOAI_API_KEY = 'quoted # not a comment'\n"
        "HAILUOAI_API_KEYS=ignored\n"
    )
    assert ts.dotenv_value(env, "HAILUOAI_API_KEY") == "quoted # not a comment"
    env.write_text('HAILUOAI_API_KEY="a.b.c,d.e.f"  # two accounts\n')
    assert ts.dotenv_value(env, "HAILUOAI_API_KEY") == "a.b.c,d.e.f"
    env.write_text("HAILUOAI_API_KEY=a.b.c # trailing comment\n")
    assert ts.dotenv_value(env, "HAILUOAI_API_KEY") == "a.b.c"
    assert ts.dotenv_value(tmp_path / "missing", "HAILUOAI_API_KEY") is None


# -- priority --------------------------------------------------------------------------------------


def test_priority_order(fake, isolated_g4f, monkeypatch):
    tokens = {name: fake.issue_token(name=name) for name in ("kwarg", "env", "dotenv", "cache", "har")}
    write_har(
        isolated_g4f, "session.har", har_entry(api_url(fake.url), tokens["har"], "2025-01-01T00:00:00Z")
    )
    assert ts.find_tokens(None, fake.url).kind == ts.FILES
    HailuoAI.write_cache_file(HailuoAI.get_cache_file(), AuthResult(token=tokens["cache"]))
    assert ts.find_tokens(None, fake.url).kind == ts.CACHE
    (isolated_g4f / ".env").write_text(f"HAILUOAI_API_KEY={tokens['dotenv']}\n")
    assert ts.find_tokens(None, fake.url).kind == ts.DOTENV
    monkeypatch.setenv("HAILUOAI_API_KEY", tokens["env"])
    assert ts.find_tokens(None, fake.url).kind == ts.ENV
    found = ts.find_tokens(tokens["kwarg"], fake.url)
    assert (found.kind, tokens_of(found)) == (ts.KEYWORD, [tokens["kwarg"]])

    # and through the front door, each time the first source left wins
    for source in ("kwarg", "env", "dotenv", "cache", "har"):
        answer = chat(fake, f"via {source}", api_key=tokens["kwarg"] if source == "kwarg" else None)
        assert answer == fake.reply_for(f"via {source}", 1)
        assert fake.chat_requests()[-1].headers["token"] == tokens[source]
        if source == "env":
            monkeypatch.delenv("HAILUOAI_API_KEY")
        elif source == "dotenv":
            (isolated_g4f / ".env").unlink()
        elif source == "cache":
            HailuoAI.reset_auth()


def test_dotenv_token_is_used_by_a_plain_script_and_never_cached(fake, isolated_g4f):
    token = fake.issue_token()
    isolated_g4f.mkdir(parents=True, exist_ok=True)
    (isolated_g4f / ".env").write_text(f'HAILUOAI_API_KEY="{token}"\n')
    assert chat(fake, "from .env") == fake.reply_for("from .env", 1)
    assert fake.chat_requests()[0].headers["token"] == token
    assert "HAILUOAI_API_KEY" not in os.environ
    assert not HailuoAI.get_cache_file().exists()


# -- .har files ------------------------------------------------------------------------------------


def test_har_gives_the_newest_token_of_a_hailuo_request_with_its_device(fake, isolated_g4f):
    old, new, other_site = fake.issue_token(name="u"), fake.issue_token(name="u"), fake.issue_token()
    write_har(
        isolated_g4f,
        "hailuo.har",
        har_entry(api_url(fake.url, "old-uuid"), old, "2025-03-01T10:00:00.000Z"),
        har_entry(api_url(fake.url, "new-uuid", "322222222222222222"), new, "2025-03-01T12:00:00+00:00"),
        har_entry(f"{fake.url}/", None, "2025-03-02T00:00:00Z"),  # no token header
        har_entry(api_url("https://example.com"), other_site, "2025-03-03T00:00:00Z"),  # not Hailuo
    )
    found = ts.find_tokens(None, fake.url)
    # only the newest: an older token of the file is a session it left behind
    assert (found.kind, tokens_of(found), found.files) == (ts.FILES, [new], ("hailuo.har",))

    assert chat(fake, "from the har") == fake.reply_for("from the har", 1)
    sent = fake.chat_requests()[0]
    assert sent.headers["token"] == new and sent.headers["User-Agent"] == UA
    assert (sent.query["uuid"], sent.query["device_id"]) == ("new-uuid", "322222222222222222")
    assert not HailuoAI.get_cache_file().exists()


def test_a_har_gives_its_newest_token_by_time_else_by_position(tmp_path):
    origin = "https://www.hailuo.ai"
    first, second, third = jwt("1"), jwt("2"), jwt("3")
    write_har(  # the newest entry is not the last one of the file
        tmp_path,
        "timed.har",
        har_entry(api_url(origin), first, "2025-01-01T00:00:00Z"),
        har_entry(api_url(origin), second, "2025-03-01T00:00:00Z"),
        har_entry(api_url(origin), third, "2025-02-01T00:00:00Z"),
    )
    assert [i.token for i in ts.tokens_in_files(tmp_path, origin)[0]] == [second]
    (tmp_path / "timed.har").unlink()
    write_har(tmp_path, "untimed.har", *(har_entry(api_url(origin), t, "") for t in (third, first, second)))
    assert [i.token for i in ts.tokens_in_files(tmp_path, origin)[0]] == [second]


def test_accounts_of_several_files_form_a_pool_newest_first(tmp_path):
    origin = "https://www.hailuo.ai"
    old, middle, new = jwt("1"), jwt("2"), jwt("3")
    write_har(tmp_path, "a.har", har_entry(api_url(origin), new, "2025-03-01T00:00:00Z"))
    write_har(tmp_path, "c.har", har_entry(api_url(origin), old, "2025-01-01T00:00:00Z"))
    export = tmp_path / "b-hailuo.json"
    export.write_text(json.dumps({"_token": middle, "UNIQUE_USER_ID": "u"}))
    february = 1738368000  # 2025-02-01: an export is as new as the file
    os.utime(export, (february, february))
    identities, files = ts.tokens_in_files(tmp_path, origin)
    assert [i.token for i in identities] == [new, middle, old]
    assert files == ("a.har", "b-hailuo.json", "c.har")


def test_guest_tokens_are_no_login_and_are_skipped(tmp_path, debug_log):
    origin = "https://www.hailuo.ai"
    login, guest, other_guest = (
        jwt("1", isAnonymous=False),
        jwt("2", isAnonymous=True),
        jwt("3", isAnonymous=True),
    )
    write_har(  # a guest request after the login does not hide the login
        tmp_path,
        "visit.har",
        har_entry(api_url(origin), login, "2025-01-01T00:00:00Z"),
        har_entry(api_url(origin), guest, "2025-01-02T00:00:00Z"),
    )
    write_har(tmp_path, "guest.har", har_entry(api_url(origin), other_guest, "2025-01-03T00:00:00Z"))
    (tmp_path / "guest-hailuo.json").write_text(json.dumps({"_token": guest, "UNIQUE_USER_ID": "u"}))
    assert ts.tokens_in_files(tmp_path, origin) == (
        (ts.identity_from(login, "har-uuid", "311111111111111111", UA),),
        ("visit.har",),
    )
    assert any("guest.har" in line and "guest" in line for line in debug_log)
    assert not any(token in line for line in debug_log for token in (login, guest, other_guest))


def test_a_token_without_claims_is_no_guest(tmp_path):
    write_har(tmp_path, "plain.har", har_entry(api_url("https://www.hailuo.ai"), "a.b.c", ""))
    assert [i.token for i in ts.tokens_in_files(tmp_path, "https://www.hailuo.ai")[0]] == ["a.b.c"]


def test_the_same_account_in_two_files_counts_once_newest_wins(tmp_path):
    # two tokens of one user (same user id in the claims)
    older, newer = jwt("42", 1), jwt("42", 2)
    origin = "https://www.hailuo.ai"
    write_har(tmp_path, "a.har", har_entry(api_url(origin), older, "2025-01-01T00:00:00Z"))
    write_har(tmp_path, "b.har", har_entry(api_url(origin), newer, "2025-02-01T00:00:00Z"))
    identities, files = ts.tokens_in_files(tmp_path, origin)
    assert [i.token for i in identities] == [newer] and files == ("b.har",)


def bad_files(directory: Path, secret: str) -> None:
    """Files that are no readable .har or export, or hold nothing usable."""
    origin = "https://www.hailuo.ai"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "broken.har").write_text("{not json")
    entry = har_entry(api_url(origin), secret, "2025-01-01T00:00:00Z")
    write_har(directory, "headers-5.har", {**entry, "request": {**entry["request"], "headers": 5}})
    write_har(
        directory, "bad-url.har", {**entry, "request": {**entry["request"], "url": "https://[hailuo.ai/x"}}
    )
    write_har(directory, "odd-values.har", {"startedDateTime": 5, "request": {"url": 5}}, 7, [])
    deep = "[" * 100_000 + "]" * 100_000
    (directory / "deep.har").write_text(f'{{"log": {{"entries": {deep}}}, "token": "{secret}"}}')
    (directory / "deep.json").write_text(f'{{"_token": "{secret}", "UNIQUE_USER_ID": {deep}}}')
    (directory / "origins-5.json").write_text(json.dumps({"origins": 5, "cookies": 5}))
    (directory / "cookies-odd.json").write_text(json.dumps({"cookies": [{"name": "_token", "domain": 5}]}))
    (directory / "not-utf8.json").write_bytes(b'{"_token": "\xff\xfe"}' + bytes([0xFF]))


def test_broken_and_foreign_files_are_ignored(tmp_path, debug_log):
    origin = "https://www.hailuo.ai"
    secret = jwt("7")
    bad_files(tmp_path, secret)
    (tmp_path / "cookies.json").write_text(
        json.dumps([{"domain": ".example.com", "name": "_token", "value": "x"}])
    )
    (tmp_path / "other-site.json").write_text(json.dumps({"_token": "x.y.z"}))  # no Hailuo marker
    (tmp_path / "auth_HailuoAI.json").write_text(
        json.dumps({"_token": "x", "UNIQUE_USER_ID": "u"})
    )  # g4f's cache
    (tmp_path / "list.json").write_text(json.dumps([1, 2, 3]))
    assert ts.tokens_in_files(tmp_path, origin) == ((), ())
    assert ts.tokens_in_files(tmp_path / "missing", origin) == ((), ())
    for name in ("broken.har", "deep.har", "deep.json", "not-utf8.json"):  # each said once, by name
        assert sum(name in line for line in debug_log) == 1
    assert not any(secret in line or secret.split(".")[1] in line for line in debug_log)

    good = jwt("8")
    write_har(tmp_path, "good.har", har_entry(api_url(origin), good, "2025-01-01T00:00:00Z"))
    assert ts.tokens_in_files(tmp_path, origin) == (
        (ts.identity_from(good, "har-uuid", "311111111111111111", UA),),
        ("good.har",),
    )


def test_a_chat_uses_the_good_har_beside_bad_ones(fake, isolated_g4f):
    token = fake.issue_token()
    bad_files(isolated_g4f, fake.issue_token())
    write_har(isolated_g4f, "good.har", har_entry(api_url(fake.url), token, "2025-01-01T00:00:00Z"))
    assert chat(fake, "despite the bad files") == fake.reply_for("despite the bad files", 1)
    assert fake.chat_requests()[0].headers["token"] == token


# -- exports ---------------------------------------------------------------------------------------


EXPORTS = {
    "localstorage": lambda o, t: {
        "_token": t,
        "USER_HARD_WARE_INFO": "333333333333333333",
        "UNIQUE_USER_ID": "ls-uuid",
    },
    "localstorage-quoted": lambda o, t: {
        "_token": json.dumps(t),
        "USER_HARD_WARE_INFO": '"333333333333333333"',
        "UNIQUE_USER_ID": '"ls-uuid"',
    },
    "wrapped": lambda o, t: {
        "origin": o,
        "localStorage": {
            "_token": t,
            "USER_HARD_WARE_INFO": "333333333333333333",
            "UNIQUE_USER_ID": "ls-uuid",
        },
    },
    "playwright": lambda o, t: {
        "cookies": [],
        "origins": [
            {"origin": "https://example.com", "localStorage": [{"name": "_token", "value": "not-this"}]},
            {
                "origin": o,
                "localStorage": [
                    {"name": "_token", "value": t},
                    {"name": "USER_HARD_WARE_INFO", "value": "333333333333333333"},
                    {"name": "UNIQUE_USER_ID", "value": "ls-uuid"},
                ],
            },
        ],
    },
}


@pytest.mark.parametrize("shape", EXPORTS)
def test_localstorage_exports(fake, isolated_g4f, shape):
    token = fake.issue_token()
    isolated_g4f.mkdir(parents=True, exist_ok=True)
    (isolated_g4f / "export.json").write_text(json.dumps(EXPORTS[shape](fake.url, token)))
    found = ts.find_tokens(None, fake.url)
    assert (found.kind, tokens_of(found)) == (ts.FILES, [token])
    assert chat(fake, shape) == fake.reply_for(shape, 1)
    sent = fake.chat_requests()[0]
    assert sent.headers["token"] == token
    assert (sent.query["uuid"], sent.query["device_id"]) == ("ls-uuid", "333333333333333333")


def test_cookie_export_of_a_hailuo_domain(tmp_path):
    cookies = [
        {"domain": ".example.com", "name": "_token", "value": "not.this.one"},
        {"domain": ".hailuo.ai", "name": "_token", "value": "a.b.c"},
    ]
    (tmp_path / "hailuo-cookies.json").write_text(json.dumps(cookies))
    identities, _ = ts.tokens_in_files(tmp_path, "https://www.hailuo.ai")
    assert [i.token for i in identities] == ["a.b.c"]


def test_a_rejected_file_token_leads_to_one_browser_login_then_the_cache_wins(
    fake, isolated_g4f, monkeypatch
):
    stale = fake.issue_token()
    fake.revoke(stale)
    write_har(isolated_g4f, "old.har", har_entry(api_url(fake.url), stale, "2025-01-01T00:00:00Z"))
    logins: list[str] = []

    async def login(url, **kwargs):
        logins.append(fake.issue_token(name="fresh"))
        return BrowserLogin(token=logins[-1], device_id=None, uuid=None, user_agent=None)

    monkeypatch.setattr("g4f_hailuo.provider.browser_login_available", lambda: True)
    monkeypatch.setattr("g4f_hailuo.accounts.login_flow.browser_login", login)
    assert chat(fake, "one") == fake.reply_for("one", 1)
    assert chat(fake, "two") == fake.reply_for("two", 1)
    assert len(logins) == 1
    assert [r.headers["token"] for r in fake.chat_requests()] == [logins[0], logins[0]]
    assert ts.find_tokens(None, fake.url).kind == ts.CACHE


def test_a_rejected_file_token_without_a_browser_says_why(fake, isolated_g4f, monkeypatch):
    stale = fake.issue_token(expires_in=-60)
    write_har(isolated_g4f, "old.har", har_entry(api_url(fake.url), stale, "2025-01-01T00:00:00Z"))
    monkeypatch.setattr("g4f_hailuo.provider.browser_login_available", lambda: False)
    with pytest.raises(MissingAuthError, match="expired") as raised:
        chat(fake, "hi")
    assert stale not in str(raised.value) and not fake.requests
