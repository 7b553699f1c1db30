"""The HTML pages of the fake Hailuo ``/v4`` site (pure: strings in, HTML out).

- :data:`HOME_PAGE`: ``GET /`` when nobody logs in by themselves (also the ``html_200`` scenario);
- :func:`home_with_login`: ``GET /`` with ``login_as`` set: a visitor without
  ``localStorage._token`` gets a guest token (``user.isAnonymous``), one holding a guest's is
  sent to ``/login?as=<name>`` after the delay;
- :func:`login_page`: ``GET /login``, a login form (a name field) that, with ``?as=NAME``, fills
  in NAME and submits itself after the delay;
- :func:`logged_in_page`: the answer to ``POST /login``: stores the given ``localStorage`` items
  (token, device id, client UUID) and goes back to ``/``.
"""

from __future__ import annotations

import json

__all__ = ["HOME_PAGE", "home_with_login", "logged_in_page", "login_page"]

HOME_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Hailuo AI (fake)</title>'
    '</head><body><div id="root">Hailuo AI - fake server for tests</div></body></html>'
)

_LOGIN_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Log in - Hailuo AI (fake)</title>'
    '</head><body><form id="login" method="post" action="/login">'
    '<label>Name <input id="name" name="name" autocomplete="off"></label>'
    '<button id="submit" type="submit">Log in</button></form><script>'
    "var who = new URLSearchParams(location.search).get('as');"
    "if (who) setTimeout(function () { document.getElementById('name').value = who;"
    " document.getElementById('login').requestSubmit(); }, @DELAY@);"
    "</script></body></html>"
)


def _js(value: str) -> str:
    """A JavaScript string literal, safe inside a <script> element."""
    return json.dumps(value).replace("</", "<\\/")


def home_with_login(name: str, delay: float, guest_token: str) -> str:
    """The home page as the site serves it: a visitor without a token gets a guest's
    (``user.isAnonymous``) at once; one holding a guest's is sent to log in."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Hailuo AI (fake)</title>'
        '</head><body><div id="root">Hailuo AI - fake server for tests</div><script>'
        f"if (!localStorage.getItem('_token')) localStorage.setItem('_token', {_js(guest_token)});"
        "function isGuest(token) { try {"
        " var claims = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');"
        " return JSON.parse(atob(claims)).user.isAnonymous === true; } catch (e) { return false; } }"
        "if (isGuest(localStorage.getItem('_token'))) setTimeout(function () {"
        f" location.href = '/login?as=' + encodeURIComponent({_js(name)}); }}, {int(delay * 1000)});"
        "</script></body></html>"
    )


def login_page(delay: float) -> str:
    """The login form; with ``?as=NAME`` it fills in NAME and submits itself after ``delay`` s."""
    return _LOGIN_PAGE.replace("@DELAY@", str(int(delay * 1000)))


def logged_in_page(stored: dict[str, str]) -> str:
    """The answer to a login: sets each ``localStorage`` item of ``stored``, then goes to ``/``."""
    script = "".join(f"localStorage.setItem({_js(k)}, {_js(v)});" for k, v in stored.items())
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Logged in</title></head>'
        f"<body>Logged in.<script>{script}location.replace('/');</script></body></html>"
    )
