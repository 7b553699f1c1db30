"""The fake Hailuo server, driven by a plain aiohttp client that signs its own requests.

Token and signature checks, the routes, the exact bytes of the normal stream, every scenario's
distinguishing behaviour, fail_first, exclusive accounts, the thread runner and the CLI.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from yarl import URL

from g4f_hailuo.fake.hailuo_v4 import scenarios as sc
from g4f_hailuo.fake.hailuo_v4.server import FakeHailuo, RecordedRequest, main, run_in_thread
from g4f_hailuo.protocols.hailuo_v4.signing import EMPTY_BODY_SEGMENT, chat_body_segment, sign_request

CHAT = "/v4/api/chat/msg"
USER_INFO = "/v1/api/user/info"
REGISTER = "/v1/api/user/device/register"
UUID = "4a1e8f2c-0000-4000-8000-000000000001"
CODE_2_BODY = '{"statusInfo":{"code":2,"message":"请求异常，请检查请求参数"},"data":{}}'.encode()  # noqa: RUF001
REPO = Path(__file__).resolve().parent.parent


# -- a tiny signing client ------------------------------------------------------------------------


def now_ms() -> str:
    return str(int(time.time() * 1000))


def fingerprint(unix: str, *, device_id: bool = True, lang: str = "en") -> str:
    parts = ["device_platform=web", "biz_id=2", "app_id=3001", "version_code=22201", f"lang={lang}"]
    parts.append(f"uuid={UUID}")
    if device_id:
        parts.append("device_id=310000000000000001")
    parts.append(f"unix={unix}")
    return "&".join(parts)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def call(
    http: aiohttp.ClientSession,
    server: FakeHailuo,
    method: str,
    path: str,
    token: str | None,
    *,
    fields: dict[str, str] | None = None,
    json_text: str | None = None,
    unix: str | None = None,
    query: str | None = None,
    signed_query: str | None = None,
    segment: str | None = None,
    yy: str | None = None,
) -> Reply:
    """Sign (path?signed_query, segment, unix) and send path?query; every part can be bent."""
    unix = unix or now_ms()
    query = fingerprint(unix) if query is None else query
    data: Any = None
    headers: dict[str, str] = {}
    if fields is not None:
        signed_segment = chat_body_segment(
            fields.get("characterID", ""),
            fields.get("msgContent", ""),
            fields.get("chatID", ""),
            fields.get("form", ""),
        )
        data = aiohttp.FormData(default_to_multipart=True)
        for name, value in fields.items():
            data.add_field(name, value)
    elif json_text is not None:
        signed_segment = json_text
        data = json_text.encode()
        headers["Content-Type"] = "application/json"
    else:
        signed_segment = EMPTY_BODY_SEGMENT
    if token is not None:
        headers["token"] = token
    to_sign = f"{path}?{query if signed_query is None else signed_query}"
    headers["yy"] = (
        sign_request(to_sign, signed_segment if segment is None else segment, unix) if yy is None else yy
    )
    url = URL(f"{server.url}{path}?{query}", encoded=True)
    async with http.request(method, url, data=data, headers=headers) as response:
        return Reply(response.status, dict(response.headers), await response.read())


def chat_fields(msg: str, chat_id: str = "0") -> dict[str, str]:
    return {"characterID": "1", "msgContent": msg, "chatID": chat_id, "searchMode": "0"}


async def chat(
    http: aiohttp.ClientSession, server: FakeHailuo, token: str, msg: str, chat_id: str = "0"
) -> Reply:
    return await call(http, server, "POST", CHAT, token, fields=chat_fields(msg, chat_id))


def parse_sse(body: bytes) -> list[tuple[str | None, bytes]]:
    """(event or None, data bytes) per frame; enough for the fake's own well-formed output."""
    frames = []
    for block in body.replace(b"\r\n", b"\n").split(b"\n\n"):
        if not block:
            continue
        event, data = None, b""
        for line in block.split(b"\n"):
            if line.startswith(b"event: "):
                event = line[7:].decode()
            elif line.startswith(b"data: "):
                data = line[6:]
        frames.append((event, data))
    return frames


def payloads(body: bytes) -> list[Any]:
    return [json.loads(data.decode("utf-8", "replace")) for _, data in parse_sse(body)]


def contents(body: bytes) -> list[str]:
    return [p["data"]["messageResult"]["content"] for p in payloads(body) if p.get("type") == 2 and p["data"]]


async def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@pytest_asyncio.fixture
async def server() -> AsyncIterator[FakeHailuo]:
    async with FakeHailuo() as fake:
        yield fake


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


# -- tokens and signatures ------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("case", ["missing", "garbage", "other_server", "revoked", "expired"])
async def test_bad_tokens_get_401_before_the_signature_is_looked_at(
    server: FakeHailuo, http: aiohttp.ClientSession, case: str
) -> None:
    token: str | None = {
        "missing": None,
        "garbage": "not-a-jwt",
        "other_server": FakeHailuo(secret="x").issue_token(),
        "revoked": server.issue_token(),
        "expired": server.issue_token(expires_in=-1),
    }[case]
    if case == "revoked":
        assert token is not None
        assert (await call(http, server, "GET", USER_INFO, token)).status == 200
        server.revoke(token)
    reply = await call(http, server, "GET", USER_INFO, token, yy="0" * 32)
    assert reply.status == 401
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.json()["statusInfo"]["code"] == 1004
    assert server.requests[-1].token_ok is False and server.requests[-1].status == 401


def b64decode_part(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_token_is_a_jwt_with_the_documented_claims() -> None:
    fake = FakeHailuo(secret="s3cret")
    token = fake.issue_token(name="Ann", anonymous=True)
    header, claims, mac = token.split(".")
    assert "=" not in token
    assert json.loads(b64decode_part(header)) == {"alg": "HS256", "typ": "JWT"}
    expected_mac = hmac.new(b"s3cret", f"{header}.{claims}".encode(), hashlib.sha256).digest()
    assert b64decode_part(mac) == expected_mac
    decoded = json.loads(b64decode_part(claims))
    assert decoded["exp"] - decoded["iat"] == 40 * 86400
    user = decoded["user"]
    assert list(user) == ["id", "name", "avatar", "deviceID", "isAnonymous"]
    assert user["name"] == "Ann" and user["isAnonymous"] is True and user["id"].isdigit()
    assert len(user["deviceID"]) == 18 and user["deviceID"].isdigit()
    no_device = fake.issue_token(with_device_id=False).split(".")[1]
    assert "deviceID" not in json.loads(b64decode_part(no_device))["user"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "bend",
    [
        {"yy": "0" * 32},
        {"yy": ""},
        {"query": fingerprint("1700000000000").replace("&unix=1700000000000", ""), "unix": "1700000000000"},
        {"query": fingerprint("1700000000000", device_id=False), "unix": "1700000000000"},
        # the query is altered after signing
        {
            "query": fingerprint("1700000000000", lang="fr"),
            "signed_query": fingerprint("1700000000000"),
            "unix": "1700000000000",
        },
        # the body is altered after signing
        {"segment": chat_body_segment("1", "something else", "0")},
    ],
    ids=["wrong_yy", "empty_yy", "no_unix", "no_device_id", "query_altered", "body_altered"],
)
async def test_bad_signatures_get_400_code_2(
    server: FakeHailuo, http: aiohttp.ClientSession, bend: dict[str, str]
) -> None:
    token = server.issue_token()
    reply = await call(http, server, "POST", CHAT, token, fields=chat_fields("hi"), **bend)
    assert (reply.status, reply.body) == (400, CODE_2_BODY)
    record = server.requests[-1]
    assert (record.token_ok, record.signature_ok, record.status) == (True, False, 400)
    assert server.chats(token) == {}


@pytest.mark.asyncio
async def test_signature_covers_the_raw_query_and_ignores_cr_lf_in_the_message(
    server: FakeHailuo, http: aiohttp.ClientSession
) -> None:
    token = server.issue_token()
    # encodeURIComponent semantics: "!*'()" stay as they are in the signed string
    odd_query = fingerprint("1700000000001").replace("lang=en", "lang=en!*'()%20x")
    reply = await call(http, server, "GET", USER_INFO, token, query=odd_query, unix="1700000000001")
    assert reply.status == 200
    assert server.requests[-1].raw_path_qs == f"{USER_INFO}?{odd_query}"
    signed_without_newlines = chat_body_segment("1", "line1line2", "0")
    fields = chat_fields("line1\r\nline2")
    reply = await call(http, server, "POST", CHAT, token, fields=fields, segment=signed_without_newlines)
    assert reply.status == 200 and server.requests[-1].signature_ok


@pytest.mark.asyncio
async def test_signature_check_can_be_switched_off(http: aiohttp.ClientSession) -> None:
    async with FakeHailuo(check_signature=False) as server:
        token = server.issue_token()
        reply = await call(http, server, "GET", USER_INFO, token, yy="nonsense")
        assert reply.status == 200
        assert server.requests[-1].signature_ok is False
        assert (await call(http, server, "GET", USER_INFO, None)).status == 401


# -- the plain routes ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_user_info_and_the_recorded_request(server: FakeHailuo, http: aiohttp.ClientSession) -> None:
    token = server.issue_token(name="Ann")
    reply = await call(http, server, "GET", USER_INFO, token, unix="1700000000000")
    assert reply.status == 200
    assert (
        reply.body
        == (
            '{"statusInfo":{"code":0,"message":"成功"},"data":{"userInfo":{"userID":"3000000001",'
            '"nickName":"Ann","avatar":"","isAnonymous":false,"deviceID":"310000000000000001"}}}'
        ).encode()
    )
    record = server.requests[-1]
    assert record == RecordedRequest(
        method="GET",
        path=USER_INFO,
        raw_path_qs=f"{USER_INFO}?{fingerprint('1700000000000')}",
        query=dict(part.split("=") for part in fingerprint("1700000000000").split("&")),
        headers=record.headers,
        form=None,
        json=None,
        signature_ok=True,
        token_ok=True,
        scenario=None,
        status=200,
    )
    assert record.headers["token"] == token and len(record.headers["yy"]) == 32
    assert record.headers["User-Agent"] == record.headers["user-agent"] and "YY" in record.headers
    assert record.headers.get("Token") == token and "user-agent" in list(record.headers)


@pytest.mark.asyncio
async def test_device_registration_is_stable_per_token_and_uuid(
    server: FakeHailuo, http: aiohttp.ClientSession
) -> None:
    first, second = server.issue_token(), server.issue_token()

    async def register(token: str, body: str) -> Reply:
        query = fingerprint(now := now_ms(), device_id=False)
        return await call(http, server, "POST", REGISTER, token, json_text=body, query=query, unix=now)

    a = await register(first, '{"uuid":"u-1"}')
    assert a.status == 200 and a.json()["statusInfo"]["code"] == 0
    device = a.json()["data"]["deviceIDStr"]
    assert len(device) == 18 and device.isdigit() and a.json()["data"]["userID"] == "3000000001"
    assert server.requests[-1].json == {"uuid": "u-1"}
    assert (await register(first, '{"uuid":"u-1"}')).json()["data"]["deviceIDStr"] == device
    assert (await register(first, '{"uuid":"u-2"}')).json()["data"]["deviceIDStr"] != device
    assert (await register(second, '{"uuid":"u-1"}')).json()["data"]["deviceIDStr"] != device
    assert (await register(first, "{}")).body == CODE_2_BODY


@pytest.mark.asyncio
async def test_delete_chat_forgets_it_and_unknown_chats_get_a_nonzero_code(
    server: FakeHailuo, http: aiohttp.ClientSession
) -> None:
    token = server.issue_token()
    await chat(http, server, token, "hello")
    [chat_id] = server.chats(token)
    path = f"/v1/api/chat/history/{chat_id}"
    reply = await call(http, server, "DELETE", path, token)
    assert reply.status == 200 and reply.json() == {"statusInfo": {"code": 0, "message": "成功"}, "data": {}}
    assert server.chats(token) == {}
    again = await call(http, server, "DELETE", path, token)
    assert again.status == 200 and again.json()["statusInfo"]["code"] != 0


@pytest.mark.asyncio
async def test_home_page_unknown_routes_and_missing_chat_fields(
    server: FakeHailuo, http: aiohttp.ClientSession
) -> None:
    async with http.get(server.url + "/") as response:
        assert response.status == 200 and response.content_type == "text/html"
        assert "<title>" in await response.text()
    async with http.get(server.url + "/v1/api/nope") as response:
        assert response.status == 404
        assert await response.json() == {"statusInfo": {"code": 404, "message": "not found"}, "data": {}}
    async with http.get(server.url + CHAT) as response:
        assert response.status == 405 and response.content_type == "application/json"
    token = server.issue_token()
    reply = await call(http, server, "POST", CHAT, token, fields={"characterID": "1", "chatID": "0"})
    assert reply.body == CODE_2_BODY
    assert [r.status for r in server.requests] == [200, 404, 405, 400]


# -- the chat stream ---------------------------------------------------------------------------


NORMAL_STREAM = (
    "event: send_result\n"
    'data: {"type":1,"statusInfo":{"code":0,"message":"成功"},"data":{"sendResult":'
    '{"chatID":"240000000000000001","chatTitle":"hello","userMsgID":"1","systemMsgID":"2"}}}\n\n'
    "event: message_result\n"
    'data: {"type":2,"statusInfo":{"code":0,"message":"成功"},"data":{"messageResult":'
    '{"chatID":"240000000000000001","msgID":"2","isEnd":1,"content":"Hailuo 海螺 (fak"}}}\n\n'
    "event: message_result\n"
    'data: {"type":2,"statusInfo":{"code":0,"message":"成功"},"data":{"messageResult":'
    '{"chatID":"240000000000000001","msgID":"2","isEnd":1,"content":"Hailuo 海螺 (fake) reply #1: yo"}}}\n\n'
    "event: message_result\n"
    'data: {"type":2,"statusInfo":{"code":0,"message":"成功"},"data":{"messageResult":'
    '{"chatID":"240000000000000001","msgID":"2","isEnd":0,'
    '"content":"Hailuo 海螺 (fake) reply #1: you said \\"hello\\"."}}}\n\n'
    "event: close_chunk\n"
    "data: {}\n\n"
).encode()


@pytest.mark.asyncio
async def test_normal_stream_exact_bytes(server: FakeHailuo, http: aiohttp.ClientSession) -> None:
    token = server.issue_token()
    reply = await chat(http, server, token, "hello")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert reply.body == NORMAL_STREAM
    assert contents(reply.body)[-1] == FakeHailuo.reply_for("hello", 1)
    assert server.chats(token) == {"240000000000000001": ["hello"]}
    [record] = server.chat_requests()
    assert record.form == chat_fields("hello") and record.scenario == "normal" and record.status == 200
    assert (server.active_streams, server.disconnects) == (0, 0)


@pytest.mark.asyncio
async def test_second_turn_continues_the_chat(server: FakeHailuo, http: aiohttp.ClientSession) -> None:
    token = server.issue_token()
    await chat(http, server, token, "User: first\nAssistant: sure\nUser: what now?\nAssistant:")
    [chat_id] = server.chats(token)
    reply = await chat(http, server, token, "and then?", chat_id)
    first, *_ = payloads(reply.body)
    assert first["data"]["sendResult"] == {
        "chatID": chat_id,
        "chatTitle": "User: first Assistan",
        "userMsgID": "3",
        "systemMsgID": "4",
    }
    assert contents(reply.body)[-1] == 'Hailuo 海螺 (fake) reply #2: you said "and then?".'
    assert FakeHailuo.reply_for("User: a\nAssistant: b\nUser: what now?\nAssistant:", 1).endswith(
        '"what now?".'
    )
    assert len(server.chats(token)[chat_id]) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize("whose", ["never_issued", "other_token"])
async def test_unknown_chat_id_gets_one_error_frame(
    server: FakeHailuo, http: aiohttp.ClientSession, whose: str
) -> None:
    token = server.issue_token()
    chat_id = "123456789012345678"
    if whose == "other_token":
        other = server.issue_token()
        await chat(http, server, other, "mine")
        [chat_id] = server.chats(other)
    reply = await chat(http, server, token, "hi", chat_id)
    assert reply.status == 200
    [(event, data)] = parse_sse(reply.body)
    status = json.loads(data)["statusInfo"]
    assert event == "send_result" and status["code"] != 0 and "chat not found" in status["message"]
    assert server.chats(token) == {}


# -- scenarios -----------------------------------------------------------------------------------


def _types(body: bytes) -> list[Any]:
    return [p.get("type") for p in payloads(body)]


def _events(body: bytes) -> list[str | None]:
    return [event for event, _ in parse_sse(body)]


def check_crlf(body: bytes) -> None:
    assert body.count(b"\n") == body.count(b"\r\n") > 0
    assert _events(body)[-1] == "close_chunk"


def check_heartbeat(body: bytes) -> None:
    assert _types(body) == [1, 3, 2, 3, 2, 3, 2, None]
    beats = [(e, p) for (e, _), p in zip(parse_sse(body), payloads(body), strict=True) if p.get("type") == 3]
    assert all(event is None and p["statusInfo"]["code"] != 0 for event, p in beats)


def check_type8_end(body: bytes) -> None:
    assert parse_sse(body)[-1] == (None, b'{"type":8,"data":{}}')
    assert "close_chunk" not in _events(body)


def check_isend_only(body: bytes) -> None:
    last = payloads(body)[-1]
    assert last["type"] == 2 and last["data"]["messageResult"]["isEnd"] == 0


def check_no_end(body: bytes) -> None:
    assert _types(body) == [1, 2, 2, 2]
    assert all(p["data"]["messageResult"]["isEnd"] == 1 for p in payloads(body)[1:])


def check_follow_up(body: bytes) -> None:
    assert _events(body)[-2:] == ["follow_up_question_result", "close_chunk"]
    follow = payloads(body)[-2]
    assert follow["type"] == 4 and follow["data"]["messageResult"]["content"] == sc.FOLLOW_UP_QUESTION
    links = follow["data"]["extra"]["netSearchStatus"]["linkDetail"]
    assert links[0] == {"detail": "Example page A", "url": "https://example.com/a"}
    assert payloads(body)[-3]["data"]["messageResult"]["extra"]["netSearchStatus"]["linkDetail"] == links


def check_fffd(body: bytes) -> None:
    texts = contents(body)
    cut = next(i for i, text in enumerate(texts) if text.endswith("\ufffd"))
    assert texts[cut + 1].startswith(texts[cut][:-1]) and texts[cut + 1][len(texts[cut]) - 1] != "\ufffd"
    assert texts[-1] == FakeHailuo.reply_for("x", 1)


def check_stream_error(code: int, message: str, frames_before: int) -> Callable[[bytes], None]:
    def check(body: bytes) -> None:
        assert _types(body) == [1] + [2] * frames_before + [2]
        assert payloads(body)[-1] == {"type": 2, "statusInfo": {"code": code, "message": message}, "data": {}}

    return check


def check_malformed_json(body: bytes) -> None:
    bad = []
    for _, data in parse_sse(body):
        try:
            json.loads(data)
        except ValueError:
            bad.append(data)
    assert len(bad) == 1 and _events(body)[-1] == "close_chunk"


def check_invalid_utf8(event: str) -> Callable[[bytes], None]:
    def check(body: bytes) -> None:
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
        assert _events(body)[2] == event and _events(body)[-1] == "close_chunk"
        assert b"\xe6\xb5" in body

    return check


def check_unknown_event(body: bytes) -> None:
    assert _events(body)[2] == "something_new" and payloads(body)[2]["type"] == 42


def check_frames(n: int) -> Callable[[bytes], None]:
    def check(body: bytes) -> None:
        assert _types(body) == [1] + [2] * n + [None]

    return check


def check_size(size: int) -> Callable[[bytes], None]:
    def check(body: bytes) -> None:
        assert len(contents(body)[-1]) == size

    return check


def check_cjk_escaped(body: bytes) -> None:
    assert body.isascii() and b"\\u" in body
    final = contents(body)[-1]
    assert len(final) == 300 and final == FakeHailuo.reply_for("[[scenario:normal chars=cjk size=300]] x", 1)


def check_empty(body: bytes) -> None:
    assert body == b""


STREAM_SCENARIOS: list[tuple[str, Callable[[bytes], None]]] = [
    ("crlf", check_crlf),
    ("heartbeat", check_heartbeat),
    ("type8_end", check_type8_end),
    ("isend_only", check_isend_only),
    ("no_end", check_no_end),
    ("follow_up", check_follow_up),
    ("fffd", check_fffd),
    ("stream_error", check_stream_error(1000, "服务繁忙，请稍后再试", 1)),  # noqa: RUF001
    ("stream_error code=7 msg='went wrong' after=2", check_stream_error(7, "went wrong", 2)),
    ("banned", check_stream_error(22, "账号已被封禁", 0)),
    ("no_credits", check_stream_error(2200005, "今日额度已用完，请明天再试", 0)),  # noqa: RUF001
    ("malformed_json", check_malformed_json),
    ("invalid_utf8", check_invalid_utf8("message_result")),
    ("invalid_utf8 where=event", check_invalid_utf8("binary_noise")),
    ("unknown_event", check_unknown_event),
    ("normal frames=5", check_frames(5)),
    ("normal size=5000", check_size(5000)),
    ("normal chars=cjk size=300 ascii=1", check_cjk_escaped),
    ("empty_200", check_empty),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("directive", "check"), STREAM_SCENARIOS, ids=[d for d, _ in STREAM_SCENARIOS])
async def test_stream_scenario(
    server: FakeHailuo, http: aiohttp.ClientSession, directive: str, check: Callable[[bytes], None]
) -> None:
    token = server.issue_token()
    reply = await chat(http, server, token, f"[[scenario:{directive}]] x")
    assert reply.status == 200 and reply.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    check(reply.body)
    assert server.chat_requests()[-1].scenario == directive.split()[0]


HTTP_SCENARIOS: list[tuple[str, int, str, bytes, dict[str, str]]] = [
    ("http_400", 400, "application/json", CODE_2_BODY, {}),
    ("http_401", 401, "application/json", b'"code":1004', {}),
    ("http_403", 403, "text/html", b"<title>Just a moment...</title>", {"cf-mitigated": "challenge"}),
    ("http_429", 429, "application/json", b'"code":1002', {"Retry-After": "7"}),
    ("http_429 retry=3", 429, "application/json", b"statusInfo", {"Retry-After": "3"}),
    ("http_500", 500, "application/json", b'"code":500', {}),
    ("http_502", 502, "text/html", b"502 Bad Gateway", {}),
    ("http_503", 503, "text/html", b"503 Service", {}),
    ("html_200", 200, "text/html", b"<!DOCTYPE html>", {}),
    ("json_200_error", 200, "application/json", b'"code":1000', {}),
    ("json_200_error code=22", 200, "application/json", b'{"statusInfo":{"code":22,', {}),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("directive", "status", "content_type", "marker", "headers"),
    HTTP_SCENARIOS,
    ids=[s[0] for s in HTTP_SCENARIOS],
)
async def test_http_scenario(
    server: FakeHailuo,
    http: aiohttp.ClientSession,
    directive: str,
    status: int,
    content_type: str,
    marker: bytes,
    headers: dict[str, str],
) -> None:
    token = server.issue_token()
    reply = await chat(http, server, token, f"[[scenario:{directive}]] x")
    assert reply.status == status
    assert reply.headers["Content-Type"].startswith(content_type)
    assert marker in reply.body
    assert {name: reply.headers.get(name) for name in headers} == headers
    assert server.chats(token) == {}  # nothing reached a chat
    assert server.chat_requests()[-1].status == status


@pytest.mark.asyncio
async def test_split_frames_sends_the_same_bytes_in_many_small_writes(
    server: FakeHailuo, http: aiohttp.ClientSession
) -> None:
    token = server.issue_token()
    url = URL(f"{server.url}{CHAT}?{fingerprint(unix := now_ms())}", encoded=True)
    fields = chat_fields("[[scenario:split_frames]] hello")
    data = aiohttp.FormData(default_to_multipart=True)
    for name, value in fields.items():
        data.add_field(name, value)
    segment = chat_body_segment("1", fields["msgContent"], "0")
    headers = {"token": token, "yy": sign_request(str(url.raw_path_qs), segment, unix)}
    pieces = []
    async with http.post(url, data=data, headers=headers) as response:
        async for piece in response.content.iter_any():
            pieces.append(piece)
    assert b"".join(pieces) == NORMAL_STREAM
    # 1..7-byte writes with a short pause after each: the client reads (nearly) every one alone
    assert len(pieces) > 100 and sum(len(piece) <= 7 for piece in pieces) >= 0.9 * len(pieces)


@pytest.mark.asyncio
async def test_scenario_can_be_set_server_wide_and_directives_without_a_name_add_parameters(
    server: FakeHailuo, http: aiohttp.ClientSession
) -> None:
    token = server.issue_token()
    server.scenario = "crlf frames=2"
    body = (await chat(http, server, token, "a")).body
    assert b"\r\n" in body and _types(body) == [1, 2, 2, None]
    body = (await chat(http, server, token, "[[scenario: frames=4]] b")).body
    assert b"\r\n" in body and _types(body) == [1, 2, 2, 2, 2, None]
    body = (await chat(http, server, token, "[[scenario:normal]] c")).body
    assert b"\r\n" not in body


@pytest.mark.asyncio
async def test_bad_directives_are_refused_loudly(server: FakeHailuo, http: aiohttp.ClientSession) -> None:
    token = server.issue_token()
    for directive in ("nope", "normal colour=red", "normal frames=0", "normal frames=x"):
        reply = await chat(http, server, token, f"[[scenario:{directive}]] x")
        assert reply.status == 400 and reply.json()["statusInfo"]["code"] == 9999
        assert "fake server" in reply.json()["statusInfo"]["message"]
    with pytest.raises(ValueError, match="unknown scenario"):
        server.scenario = "nope"
    with pytest.raises(ValueError):
        FakeHailuo(scenario="normal size=-1")


@pytest.mark.asyncio
async def test_giant_line_default_is_a_megabyte_and_more() -> None:
    async with FakeHailuo(scenario="giant_line") as server, aiohttp.ClientSession() as http:
        body = (await chat(http, server, server.issue_token(), "big")).body
    last_line = max(body.split(b"\n"), key=len)
    assert len(last_line) > 1_000_000
    assert contents(body)[-1] == FakeHailuo.reply_for("big", 1, "giant_line")
    assert len(FakeHailuo.reply_for("big", 1, "giant_line")) == 1_000_000


@pytest.mark.asyncio
async def test_delay_spaces_the_frames(server: FakeHailuo, http: aiohttp.ClientSession) -> None:
    started = time.monotonic()
    await chat(http, server, server.issue_token(), "[[scenario:normal frames=2 delay=0.03]] x")
    assert time.monotonic() - started >= 0.09  # send, 2 messages, close: three gaps


# -- dropped, stalled and refused streams ----------------------------------------------------------


@pytest.mark.asyncio
async def test_drop_aborts_the_connection_mid_stream(server: FakeHailuo, http: aiohttp.ClientSession) -> None:
    with pytest.raises(aiohttp.ClientPayloadError):
        await chat(http, server, server.issue_token(), "[[scenario:drop]] x")
    assert server.chat_requests()[-1].status == 200
    await wait_until(lambda: server.active_streams == 0)
    assert server.disconnects == 0  # the server left, not the client


@pytest.mark.asyncio
@pytest.mark.parametrize("scenario", ["stall_before", "stall_during"])
async def test_a_client_giving_up_on_a_stall_is_counted(
    server: FakeHailuo, http: aiohttp.ClientSession, scenario: str
) -> None:
    token = server.issue_token()
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(chat(http, server, token, f"[[scenario:{scenario}]] x"), 0.2)
    await wait_until(lambda: server.disconnects == 1 and server.active_streams == 0)
    assert time.monotonic() - started < 2
    assert server.chat_requests()[-1].status == (0 if scenario == "stall_before" else 200)


@pytest.mark.asyncio
async def test_close_does_not_wait_for_a_stalled_stream(http: aiohttp.ClientSession) -> None:
    server = FakeHailuo()
    await server.start()
    token = server.issue_token()
    task = asyncio.create_task(chat(http, server, token, "[[scenario:stall_during seconds=60]] x"))
    await wait_until(lambda: server.active_streams == 1)
    started = time.monotonic()
    await server.close()
    assert time.monotonic() - started < 1.5
    with pytest.raises(aiohttp.ClientPayloadError):
        await task
    assert (server.active_streams, server.disconnects) == (0, 0)
    await server.close()  # closing twice is harmless


@pytest.mark.asyncio
async def test_fail_first_then_the_scenario(server: FakeHailuo, http: aiohttp.ClientSession) -> None:
    token = server.issue_token()
    statuses = [
        (await chat(http, server, token, "[[scenario:normal fail_first=2]] x")).status for _ in range(3)
    ]
    assert statuses == [503, 503, 200]
    other = "[[scenario:normal fail_first=1 fail_status=429 tag=b]] y"
    assert [(await chat(http, server, token, other)).status for _ in range(2)] == [429, 200]
    assert [len(msgs) for msgs in server.chats(token).values()] == [1, 1]


@pytest.mark.asyncio
async def test_exclusive_accounts_answer_a_concurrent_reply_empty(http: aiohttp.ClientSession) -> None:
    async with FakeHailuo(exclusive_accounts=True) as server:
        token, other = server.issue_token(), server.issue_token()
        url = URL(f"{server.url}{CHAT}?{fingerprint(unix := now_ms())}", encoded=True)
        fields = chat_fields("[[scenario:stall_during seconds=30]] slow")
        data = aiohttp.FormData(default_to_multipart=True)
        for name, value in fields.items():
            data.add_field(name, value)
        yy = sign_request(str(url.raw_path_qs), chat_body_segment("1", fields["msgContent"], "0"), unix)
        async with http.post(url, data=data, headers={"token": token, "yy": yy}) as slow:
            await slow.content.readuntil(b"message_result")
            busy = await chat(http, server, token, "second")
            assert (busy.status, busy.body) == (200, b"")
            assert busy.headers["Content-Type"].startswith("text/event-stream")
            assert server.chat_requests()[-1].scenario == "exclusive_busy"
            assert contents((await chat(http, server, other, "free")).body)[-1] == FakeHailuo.reply_for(
                "free", 1
            )
        await wait_until(lambda: server.active_streams == 0)
        assert server.disconnects == 1
        assert contents((await chat(http, server, token, "later")).body)[-1] == FakeHailuo.reply_for(
            "later", 1
        )


@pytest.mark.asyncio
async def test_connections_opened_shows_keep_alive(server: FakeHailuo) -> None:
    token = server.issue_token()
    async with aiohttp.ClientSession() as http:
        for _ in range(3):
            assert (await chat(http, server, token, "x")).status == 200
    assert server.connections_opened == 1
    async with aiohttp.ClientSession() as http:
        await call(http, server, "GET", USER_INFO, token)
    assert server.connections_opened == 2


# -- the thread runner and the command line ---------------------------------------------------------


def _signed_user_info(url: str, token: str) -> urllib.request.Request:
    query = fingerprint(unix := now_ms())
    yy = sign_request(f"{USER_INFO}?{query}", EMPTY_BODY_SEGMENT, unix)
    return urllib.request.Request(f"{url}{USER_INFO}?{query}", headers={"token": token, "yy": yy})


def test_run_in_thread_serves_synchronous_callers() -> None:
    fake = run_in_thread(scenario="crlf")
    try:
        assert fake.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(
            _signed_user_info(fake.url, fake.issue_token(name="Sync")), timeout=5
        ) as r:
            assert json.load(r)["data"]["userInfo"]["nickName"] == "Sync"
        assert fake.requests[-1].status == 200
    finally:
        fake.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(fake.url + "/", timeout=2)


def test_cli_prints_url_and_token_and_exits_cleanly_on_sigterm() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        [sys.executable, "-m", "g4f_hailuo.fake.hailuo_v4.server", "--port", "0"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        try:
            url_line, token_line = proc.stdout.readline().strip(), proc.stdout.readline().strip()
            assert url_line.startswith("HAILUOAI_BASE_URL=http://127.0.0.1:")
            assert token_line.startswith("HAILUOAI_API_KEY=ey")
            url, token = url_line.split("=", 1)[1], token_line.split("=", 1)[1]
            with urllib.request.urlopen(_signed_user_info(url, token), timeout=5) as r:
                assert json.load(r)["data"]["userInfo"]["nickName"] == "tester"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
            assert "fake Hailuo server on" in proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()


def test_cli_refuses_a_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err
    assert main(["--scenario", "nope"]) == 2
