"""The fake MiniMax Agent site's pages: the home page and a login flow, for the browser-login tests.

As on the site, a visitor starts in the guest state and the account's values appear in the
browser's storage only once someone has logged in:

- ``GET /``: without ``login_as``, the app page (no ``_token``: a visitor nobody logs in).
  With ``login_as`` set it stands in for a user: a visitor without ``localStorage._token``
  gets the site's guest token (``user.isAnonymous``, which the API refuses), and one holding
  it is sent to ``/login?as=<login_as>`` after ``login_delay`` seconds. Every visitor gets a
  bot-protection cookie (``ak_bmsc``, HttpOnly), as the site's CDN sets one.
- ``GET /login``: a sign-in form (an ``email`` field, any text). With ``?as=NAME`` the page fills
  in NAME and submits the form itself after ``login_delay`` seconds.
- ``POST /login`` (form field ``email``: the account's name): a new account, recorded in
  ``logins`` (``token``, ``real_user_id``, ``uuid``, ``device_id``, ``name``), and a page that
  stores ``localStorage._token``, ``user_detail_agent`` (JSON: ``realUserID`` as a string, ...),
  ``UNIQUE_USER_ID`` and ``sessionStorage.tab_device_id`` (8 digits), then goes back to ``/``.
  ``login_omits`` names keys it leaves out (e.g. ``user_detail_agent``: the client then asks
  ``user/info``).

Imports only the standard library, aiohttp and ``g4f_hailuo.fake``.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from g4f_hailuo.fake.agent.scenarios import APP_PAGE
from g4f_hailuo.fake.common import html_response, make_jwt

if TYPE_CHECKING:
    from g4f_hailuo.fake.agent.server import FakeAgent

__all__ = ["TAB_DEVICE_ID_BASE", "add_login_pages"]

TAB_DEVICE_ID_BASE = 60_000_000  # tab_device_id: base+1, base+2, ... (8 digits)
_BOT_COOKIE = "ak_bmsc"
_Handler = Callable[[web.Request], Awaitable[web.Response]]


def add_login_pages(fake: FakeAgent, router: web.UrlDispatcher) -> None:
    """Add ``GET /``, ``GET /login`` and ``POST /login`` of ``fake`` to ``router`` (each recorded)."""
    pages = _Pages(fake)
    router.add_get("/", _recorded(fake, pages.home))
    router.add_get("/login", _recorded(fake, pages.login_form))
    router.add_post("/login", _recorded(fake, pages.log_in))


def _recorded(fake: FakeAgent, handler: _Handler) -> _Handler:
    async def endpoint(request: web.Request) -> web.Response:
        record = fake.record(request)
        response = await handler(request)
        record.status = response.status
        return response

    return endpoint


def _storage_of(key: str) -> str:
    """The device id is the tab's (sessionStorage); the rest is the site's (localStorage)."""
    return "sessionStorage" if key == "tab_device_id" else "localStorage"


def _js(value: str) -> str:
    """A JavaScript string literal, safe inside a <script> element."""
    return json.dumps(value).replace("</", "<\\/")


def _page(title: str, body: str, script: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body>{body}<script>{script}</script></body></html>"
    )


def _guest_token() -> str:
    """A JWT-shaped guest token (``user.isAnonymous``): the site's API accepts none of these."""
    user = {"id": "0", "name": "guest", "avatar": "", "deviceID": "", "isAnonymous": True}
    return make_jwt(secrets.token_bytes(16), {"user": user})


_SIGN_IN = _page(
    "Sign in - MiniMax Agent (fake)",
    '<form name="signin" method="post" action="/login"><input name="email" type="text" placeholder="Email">'
    '<input type="submit" value="Continue"></form>',
    "var params = new URLSearchParams(location.search);"
    "if (params.has('as')) setTimeout(function () { var form = document.forms.signin;"
    " form.email.value = params.get('as'); form.submit(); }, @DELAY@);",
)


class _Pages:
    def __init__(self, fake: FakeAgent) -> None:
        self.fake = fake
        self.guest = _guest_token()  # what a visitor of this site holds until someone logs in

    def _delay_ms(self) -> str:
        return str(int(self.fake.login_delay * 1000))

    async def home(self, request: web.Request) -> web.Response:
        name = self.fake.login_as
        if name is None:
            response = html_response(APP_PAGE)
        else:
            script = (
                f"var guest = {_js(self.guest)}, held = localStorage.getItem('_token');"
                "if (!held) localStorage.setItem('_token', guest);"
                "if (!held || held === guest) setTimeout(function () {"
                f" location.assign('/login?as=' + encodeURIComponent({_js(name)})); }}, {self._delay_ms()});"
            )
            root = '<div id="root">MiniMax Agent - fake site for tests</div>'
            response = html_response(_page("MiniMax Agent (fake)", root, script))
        if _BOT_COOKIE not in request.cookies:
            response.set_cookie(_BOT_COOKIE, secrets.token_hex(16), path="/", httponly=True)
        return response

    async def login_form(self, request: web.Request) -> web.Response:
        return html_response(_SIGN_IN.replace("@DELAY@", self._delay_ms()))

    async def log_in(self, request: web.Request) -> web.Response:
        fake = self.fake
        name = str((await request.post()).get("email") or "").strip()[:40] or "tester"
        token = fake.issue_token(name=name)
        account = fake.account(token)
        login = {
            "token": token,
            "real_user_id": account.real_user_id,
            "uuid": str(uuid.uuid4()),
            "device_id": fake.new_id(TAB_DEVICE_ID_BASE),
            "name": name,
        }
        fake.logins.append(login)
        detail = {
            "realUserID": account.real_user_id,  # a string: the number is above 2**53
            "userID": account.jwt_user_id,
            "name": account.name,
            "email": account.email,
            "avatar": "",
        }
        stored = {
            "_token": token,
            "user_detail_agent": json.dumps(detail),
            "UNIQUE_USER_ID": login["uuid"],
            "tab_device_id": login["device_id"],
        }
        script = "".join(
            f"{_storage_of(key)}.setItem({_js(key)}, {_js(value)});"
            for key, value in stored.items()
            if key not in fake.login_omits
        )
        return html_response(_page("Logged in", "Logged in.", f"{script}location.replace('/');"))
