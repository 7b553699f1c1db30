"""A fake Hailuo AI (MiniMax) web-chat server on a loopback port, for tests, benchmarks and demos.

It speaks the protocol of ``hailuo-wire-protocol.md``: the ``token`` header, the ``yy`` signature
over the raw path+query, the fingerprint query, and the chat reply as an event stream, written
frame by frame. It imports only the standard library, aiohttp, ``g4f_hailuo.fake`` (the parts
shared with the agent fake) and ``g4f_hailuo.protocols.hailuo_v4.signing`` (through ``checks``).
The pages are in ``pages``, the request checks in ``checks``, the replies in ``scenarios``
(with ``stream_plans`` and ``payloads``) and the command line in ``cli``.

Routes (every ``/v1/api/*`` and ``/v4/api/*`` one needs a token this server issued, then a valid
signature; failures answer HTTP 401 code 1004, then HTTP 400 code 2):

- ``GET /``: a tiny HTML home page (no token needed). With ``login_as`` set it stands in for
  a user: as on the site, a visitor without ``localStorage._token`` gets a guest token
  (``user.isAnonymous``), and one holding a guest's is sent to ``/login?as=<login_as>``.
- ``GET /login``: a login form (a name field). With ``?as=NAME`` the page fills in NAME and
  submits the form itself after ``login_delay`` seconds.
- ``POST /login`` (form field ``name``): issues a token (``logins`` records it) and answers a
  page that stores ``localStorage._token``, ``USER_HARD_WARE_INFO`` (the device id) and
  ``UNIQUE_USER_ID`` (a new client UUID), as the real site does, then goes back to ``/``.
- ``GET /v1/api/user/info``: ``data.userInfo`` of the token's user.
- ``POST /v1/api/user/device/register`` ``{"uuid": ...}``: ``data.deviceIDStr`` (stable per
  token and uuid) and ``data.userID``.
- ``DELETE /v1/api/chat/history/{chatID}``: forgets one chat of the token.
- ``POST /v4/api/chat/msg`` (multipart ``characterID``, ``msgContent``, ``chatID``,
  ``searchMode``, optional ``form``): the streamed reply.
- Anything else: HTTP 404 (or 405) with a small JSON body.

The reply to turn ``n`` (1-based) of a chat is, by default::

    Hailuo 海螺 (fake) reply #n: you said "<echo>".

where ``<echo>`` is the last line of ``msgContent`` that says something (directives removed,
blank lines and a bare ``Assistant:`` cue skipped, a leading ``User:`` dropped). ``size=N``
pads (or cuts) it to exactly N characters with deterministic filler. ``FakeHailuo.reply_for``
computes it. The chat title is the first 20 characters of the chat's first message. The
stream is ``send_result``, ``frames`` cumulative ``message_result`` frames (``isEnd`` 1, the
last one 0), then ``close_chunk``.

Scenarios (``FakeHailuo.scenario`` for every chat message, or ``[[scenario:NAME k=v ...]]``
inside one message; see ``scenarios`` for the parameters): normal, split_frames, crlf,
giant_line, heartbeat, heartbeat_stall, type8_end, isend_only, no_end, follow_up, fffd,
stream_error, banned, no_credits, drop, stall_before, stall_during, linger, malformed_json,
invalid_utf8, unknown_event, html_200, empty_200, json_200_error, http_400, http_401, http_403, http_429,
http_500, http_502, http_503.

Run it by hand::

    python -m g4f_hailuo.fake.hailuo_v4.server [--host 127.0.0.1] [--port 0] [--scenario NAME]
"""

from __future__ import annotations

import secrets
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from g4f_hailuo.fake import common
from g4f_hailuo.fake.common import (
    FakeServerBase,
    Headers,
    RecordedRequest,
    html_response,
    http_response,
    json_response,
    make_jwt,
)
from g4f_hailuo.fake.hailuo_v4 import pages
from g4f_hailuo.fake.hailuo_v4 import scenarios as sc
from g4f_hailuo.fake.hailuo_v4.checks import CHAT_PATH, read_body, signature_ok
from g4f_hailuo.fake.hailuo_v4.cli import main

__all__ = ["FakeHailuo", "Headers", "RecordedRequest", "main", "run_in_thread"]

_CHAT_FIELDS = ("characterID", "msgContent", "chatID")


@dataclass
class _Account:
    token: str
    user_id: str
    name: str
    device_id: str | None
    anonymous: bool
    expires_at: float
    revoked: bool = False
    banned: bool = False
    chats: dict[str, list[str]] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    devices: dict[str, str] = field(default_factory=dict)  # uuid -> registered device id
    replying: int = 0


def _ok(data: Any) -> web.Response:
    return json_response({"statusInfo": sc.OK_STATUS, "data": data})


class FakeHailuo(FakeServerBase):
    """The fake service's state (usable before start and after close) and its aiohttp app."""

    def __init__(
        self,
        *,
        scenario: str = "normal",
        exclusive_accounts: bool = False,
        check_signature: bool = True,
        secret: str | None = None,
        login_as: str | None = None,
        login_delay: float = 0.2,
    ) -> None:
        super().__init__(scenario)
        self.exclusive_accounts = exclusive_accounts
        self.check_signature = check_signature
        self.login_as = login_as  # who "logs in" on the home page by itself (None: nobody)
        self.login_delay = login_delay
        self.logins: list[dict[str, str]] = []  # {"token", "uuid", "device_id", "name"} per login-page login
        self._secret = (secret or secrets.token_hex(16)).encode("utf-8")
        self._accounts: dict[str, _Account] = {}

    # -- state ---------------------------------------------------------------------------------

    def parse_scenario(self, text: str) -> sc.ScenarioSpec[sc.Params]:
        return sc.parse_spec(text)

    def issue_token(
        self,
        *,
        name: str = "tester",
        with_device_id: bool = True,
        expires_in: float = 40 * 86400,
        anonymous: bool = False,
    ) -> str:
        """A JWT-shaped token this server accepts until it expires or is revoked."""
        now = time.time()
        user: dict[str, Any] = {"id": self.new_id(3_000_000_000), "name": name, "avatar": ""}
        if with_device_id:
            user["deviceID"] = self.new_id(310_000_000_000_000_000)
        user["isAnonymous"] = anonymous
        claims = {"exp": int(now + expires_in), "iat": int(now), "user": user}
        token = make_jwt(self._secret, claims)
        self._accounts[token] = _Account(
            token, user["id"], name, user.get("deviceID"), anonymous, expires_at=now + expires_in
        )
        return token

    def revoke(self, token: str) -> None:
        """Later requests with ``token`` get HTTP 401."""
        if token in self._accounts:
            self._accounts[token].revoked = True

    def ban(self, token: str) -> None:
        """Later chats with ``token`` get the ``banned`` stream (code 22) and ``user/info``
        answers code 22, as for a banned account."""
        if token in self._accounts:
            self._accounts[token].banned = True

    def chats(self, token: str) -> dict[str, list[str]]:
        """chatID -> the user messages (``msgContent`` as received) of the token's live chats."""
        account = self._accounts.get(token)
        return {chat_id: list(msgs) for chat_id, msgs in account.chats.items()} if account else {}

    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path == CHAT_PATH]

    @staticmethod
    def reply_for(prompt: str, turn: int, scenario: str = "normal") -> str:
        """The complete reply text to ``prompt`` (``msgContent``) as turn ``turn`` of its chat.

        A directive inside ``prompt`` is honoured; pass ``scenario`` when the text depends on a
        server-wide default (``giant_line``, or any default with ``size=``/``chars=``).
        """
        return sc.reply_text(prompt, turn, sc.resolve_spec(prompt, scenario).params)

    def _account_for(self, token: str | None) -> _Account | None:
        account = self._accounts.get(token or "")
        if account is None or account.revoked or time.time() >= account.expires_at:
            return None
        return account

    # -- HTTP ----------------------------------------------------------------------------------

    def app(self) -> web.Application:
        """A new aiohttp app over this state. ``start()`` serves it with handler cancellation on,
        which is what lets a stall notice a client leaving; other runners may not."""
        app = self.new_app()
        app.router.add_get("/", self._endpoint(self._home, signed=False))
        app.router.add_get("/login", self._endpoint(self._login_page, signed=False))
        app.router.add_post("/login", self._endpoint(self._login_submit, signed=False))
        app.router.add_get("/v1/api/user/info", self._endpoint(self._user_info))
        app.router.add_post(
            "/v1/api/user/device/register", self._endpoint(self._register_device, needs_device_id=False)
        )
        app.router.add_delete("/v1/api/chat/history/{chatID}", self._endpoint(self._delete_chat))
        app.router.add_post(CHAT_PATH, self._endpoint(self._chat))
        return app

    def unmatched(self, request: web.Request, error: web.HTTPException) -> web.Response:
        """Unknown routes (and wrong methods) answer JSON."""
        message = "not found" if error.status == 404 else error.reason.lower()
        return json_response(
            {"statusInfo": {"code": error.status, "message": message}, "data": {}}, error.status
        )

    def _endpoint(
        self,
        handler: Callable[..., Awaitable[web.StreamResponse]],
        *,
        signed: bool = True,
        needs_device_id: bool = True,
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """Wrap a route: record the request, check token then signature, call ``handler``."""

        async def endpoint(request: web.Request) -> web.StreamResponse:
            record = self.record(request)
            if not signed:
                response = await handler(request, record)
            else:
                account = self._account_for(request.headers.get("token"))
                record.token_ok = account is not None
                segment = await read_body(request, record)
                record.signature_ok = signature_ok(request, segment, needs_device_id)
                if account is None:
                    response = json_response(sc.AUTH_ERROR_BODY, 401)
                elif self.check_signature and not record.signature_ok:
                    response = json_response(sc.BAD_REQUEST_BODY, 400)
                else:
                    response = await handler(request, record, account)
            record.status = response.status
            return response

        return endpoint

    async def _home(self, request: web.Request, record: RecordedRequest) -> web.Response:
        if self.login_as is not None:
            guest = self.issue_token(name="guest", anonymous=True)
            return html_response(pages.home_with_login(self.login_as, self.login_delay, guest))
        return html_response(pages.HOME_PAGE)

    async def _login_page(self, request: web.Request, record: RecordedRequest) -> web.Response:
        return html_response(pages.login_page(self.login_delay))

    async def _login_submit(self, request: web.Request, record: RecordedRequest) -> web.Response:
        name = str((await request.post()).get("name") or "").strip()[:40] or "tester"
        token = self.issue_token(name=name)
        account = self._accounts[token]
        client_uuid = str(uuid.uuid4())
        device_id = account.device_id or self.new_id(320_000_000_000_000_000)
        account.devices[client_uuid] = device_id
        self.logins.append({"token": token, "uuid": client_uuid, "device_id": device_id, "name": name})
        stored = {"_token": token, "USER_HARD_WARE_INFO": device_id, "UNIQUE_USER_ID": client_uuid}
        return html_response(pages.logged_in_page(stored))

    async def _user_info(
        self, request: web.Request, record: RecordedRequest, account: _Account
    ) -> web.Response:
        if account.banned:
            return json_response({"statusInfo": {"code": 22, "message": "账号已被封禁"}, "data": {}})
        info = {
            "userID": account.user_id,
            "nickName": account.name,
            "avatar": "",
            "isAnonymous": account.anonymous,
            "deviceID": account.device_id or "",
        }
        return _ok({"userInfo": info})

    async def _register_device(
        self, request: web.Request, record: RecordedRequest, account: _Account
    ) -> web.Response:
        uuid = record.json.get("uuid") if isinstance(record.json, dict) else None
        if not isinstance(uuid, str) or not uuid:
            return json_response(sc.BAD_REQUEST_BODY, 400)
        if uuid not in account.devices:
            account.devices[uuid] = self.new_id(320_000_000_000_000_000)
        device_id = account.devices[uuid]
        return _ok({"deviceIDStr": device_id, "userID": account.user_id})

    async def _delete_chat(
        self, request: web.Request, record: RecordedRequest, account: _Account
    ) -> web.Response:
        chat_id = request.match_info["chatID"]
        if account.chats.pop(chat_id, None) is None:
            code, message = sc.CHAT_NOT_FOUND
            return json_response({"statusInfo": {"code": code, "message": message}, "data": {}})
        account.titles.pop(chat_id, None)
        return _ok({})

    async def _chat(
        self, request: web.Request, record: RecordedRequest, account: _Account
    ) -> web.StreamResponse:
        form = record.form or {}
        if any(name not in form for name in _CHAT_FIELDS):
            return json_response(sc.BAD_REQUEST_BODY, 400)
        prompt, chat_id = form["msgContent"], form["chatID"]
        try:
            spec = sc.parse_spec("banned") if account.banned else sc.resolve_spec(prompt, self.scenario)
        except ValueError as exc:
            return json_response(
                {"statusInfo": {"code": 9999, "message": f"fake server: {exc}"}, "data": {}}, 400
            )
        record.scenario = spec.name
        if self.exclusive_accounts and account.replying:
            record.scenario = "exclusive_busy"
            return await self._play(request, record, account, sc.StreamPlan([]))
        if self.fails_first(spec.key, spec.params.fail_first):
            return http_response(sc.failure_reply(spec.params.fail_status))
        reply = sc.http_reply(spec)
        if reply is not None:
            return http_response(reply)
        if spec.name == "empty_200":
            return await self._play(request, record, account, sc.StreamPlan([]))
        if chat_id == "0":
            chat_id = self.new_id(240_000_000_000_000_000)
            account.chats[chat_id] = []
            account.titles[chat_id] = sc.chat_title(prompt)
        elif chat_id not in account.chats:
            return await self._play(request, record, account, sc.chat_not_found_plan(chat_id, spec.params))
        messages = account.chats[chat_id]
        messages.append(prompt)
        turn = sc.ChatTurn(
            chat_id=chat_id,
            title=account.titles[chat_id],
            user_msg_id=self.new_id(0),
            system_msg_id=self.new_id(0),
            prompt=prompt,
            turn=len(messages),
        )
        return await self._play(request, record, account, sc.stream_plan(spec, turn))

    async def _play(
        self, request: web.Request, record: RecordedRequest, account: _Account, plan: sc.StreamPlan
    ) -> web.StreamResponse:
        """Write a planned event stream, counting it as the account's reply while it runs."""
        account.replying += 1
        try:
            return await self.play(request, record, plan, sc.EVENT_STREAM)
        finally:
            account.replying -= 1


def run_in_thread(*, host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> FakeHailuo:
    """Start a :class:`FakeHailuo` on its own event loop in a daemon thread; ``.stop()`` ends it.

    For synchronous callers (``g4f.ChatCompletion.create`` runs its own loop). ``kwargs`` go to
    ``FakeHailuo``. Returns once ``url`` is set.
    """
    return common.run_in_thread(FakeHailuo, host, port, **kwargs)


if __name__ == "__main__":
    sys.exit(main())
