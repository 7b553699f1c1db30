"""Log in through a real browser (the ``browser`` extra: nodriver).

Opens the site in Chrome/Chromium with a fresh, temporary profile, waits until
the user has logged in (``localStorage._token`` holds a token that is not a
guest's: claims ``user.isAnonymous``), then reads what the site stored beside it
and the browser's user agent and cookies, closes the browser and deletes the
profile. One deadline bounds it all: starting the browser, loading the page and
the wait.

What is read depends on the site (``agent``):

- the Hailuo ``/v4`` site: ``USER_HARD_WARE_INFO`` (the device id) and ``UNIQUE_USER_ID``;
- the MiniMax Agent site: ``_token`` (the JWT, or JSON holding it in ``token``),
  ``user_detail_agent`` (JSON: ``realUserID``), ``UNIQUE_USER_ID`` and the tab's
  ``sessionStorage.tab_device_id`` (numeric). The site may store these a moment after
  the token: they are waited for briefly, and a missing one is left to the protocol
  (``user/info`` for the realUserID, a made-up device id).

nodriver is used directly rather than through g4f's helpers: g4f >= 8.8 drives
its own CDP client, which shares one browser per profile and places headful
windows off-screen, while a login needs a visible window of its own. g4f's
browser setting (``G4F_BROWSER_EXECUTABLE_PATH``) is honoured.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

from g4f.errors import MissingAuthError, MissingRequirementsError

from g4f_hailuo._config import BROWSER_LOGIN_ENV, switched_off
from g4f_hailuo.accounts.identity import is_guest_token

__all__ = [
    "DEFAULT_LOGIN_TIMEOUT",
    "BrowserLogin",
    "browser_login",
    "browser_login_available",
    "find_browser",
    "storage_value",
    "token_value",
]

DEFAULT_LOGIN_TIMEOUT = 300.0  # seconds; what g4f's GUI allows its Login button
_POLL_SECONDS = 0.25
_EVALUATE_SECONDS = 5.0
_STOP_SECONDS = 10.0
_SETTLE_SECONDS = 2.0  # how long the Agent site may take to store the rest after the token
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "msedge")
_STANDARD_PATHS = (
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
    *(
        os.path.join(os.environ.get(root, ""), *parts)
        for root in ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA")
        if os.environ.get(root)
        for parts in (
            ("Google", "Chrome", "Application", "chrome.exe"),
            ("Microsoft", "Edge", "Application", "msedge.exe"),
        )
    ),
)
# Quiet, short-lived browser: no sync, updates or background traffic.
_BROWSER_ARGS = (
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
_READ_STORAGE = (
    "JSON.stringify({token: localStorage.getItem('_token'),"
    " device: localStorage.getItem('USER_HARD_WARE_INFO'),"
    " uuid: localStorage.getItem('UNIQUE_USER_ID'), ua: navigator.userAgent})"
)
_READ_AGENT_STORAGE = (
    "JSON.stringify({token: localStorage.getItem('_token'),"
    " detail: localStorage.getItem('user_detail_agent'),"
    " device: sessionStorage.getItem('tab_device_id'),"
    " uuid: localStorage.getItem('UNIQUE_USER_ID'), ua: navigator.userAgent})"
)
NO_NODRIVER = 'Browser login needs the browser extra: pip install "g4f-hailuo[browser]"'
NO_BROWSER = (
    "Browser login needs Chrome or Chromium, and none was found: install one"
    " (e.g. apt-get install chromium), or set G4F_BROWSER_EXECUTABLE_PATH to its executable"
)


@dataclass(frozen=True)
class BrowserLogin:
    token: str
    device_id: str | None
    uuid: str | None
    user_agent: str | None
    real_user_id: str | None = None  # MiniMax Agent's realUserID (user_detail_agent)
    cookies: dict[str, str] = field(default_factory=dict)  # the site's, name -> value (HttpOnly too)

    def __repr__(self) -> str:  # never show the token
        return f"BrowserLogin(device_id={self.device_id!r}, uuid={self.uuid!r})"


def _executable(path: str | None) -> str | None:
    return path if path and os.path.isfile(path) and os.access(path, os.X_OK) else None


def find_browser() -> str | None:
    """g4f's configured browser (``G4F_BROWSER_EXECUTABLE_PATH``), else the
    first Chrome/Chromium/Edge on PATH or in its standard place."""
    configured = os.environ.get("G4F_BROWSER_EXECUTABLE_PATH")
    if not configured:
        with contextlib.suppress(ImportError, AttributeError):
            from g4f.cookies import BrowserConfig

            configured = BrowserConfig.executable_path
    found = _executable(configured)
    if found:
        return found
    for name in _BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return next((path for path in _STANDARD_PATHS if _executable(path)), None)


def browser_login_available() -> bool:
    """Whether a browser login can run here: the extra, a browser, and not
    switched off (``HAILUOAI_BROWSER_LOGIN=0``, e.g. on a headless server)."""
    if switched_off(BROWSER_LOGIN_ENV):
        return False
    return importlib.util.find_spec("nodriver") is not None and find_browser() is not None


async def browser_login(
    url: str,
    *,
    proxy: str | None = None,
    timeout: float = DEFAULT_LOGIN_TIMEOUT,
    headless: bool = False,
    agent: bool = False,
) -> BrowserLogin:
    """Open ``url`` in a browser window and wait, at most ``timeout`` seconds
    (starting the browser and loading the page included), for the user to log in.

    ``agent``: the site is MiniMax Agent's (its storage keys), else Hailuo's ``/v4``."""
    if importlib.util.find_spec("nodriver") is None:
        raise MissingRequirementsError(NO_NODRIVER)
    executable = find_browser()
    if executable is None:
        raise MissingRequirementsError(NO_BROWSER)
    args = list(_BROWSER_ARGS)
    if headless:
        args.append("--disable-gpu")
    if proxy:
        args.append(f"--proxy-server={proxy}")
    profile = tempfile.mkdtemp(prefix="g4f-hailuo-login-")
    started: list[Any] = []  # the browser, once nodriver hands it over
    try:
        # The deadline twice: wait_for cancels the wait, and the poll loop ends by itself too,
        # should the browser library swallow that cancellation (wait_for then waits for it).
        deadline = asyncio.get_running_loop().time() + timeout
        login = _start_and_wait(executable, args, profile, url, headless, agent, started, deadline)
        return await asyncio.wait_for(login, timeout)
    except asyncio.TimeoutError:
        raise MissingAuthError(
            f"No {_site_name(agent)} login within {timeout:g} s in the browser window"
            " (log in on the site's page, or allow more time with login_timeout / HAILUOAI_LOGIN_TIMEOUT)"
        ) from None
    finally:
        # Outside the deadline, so that stopping is never cut short; a start cut short
        # by the deadline has registered its browser with nodriver but not returned it.
        for browser in _unique([*started, *_registered_with(profile)]):
            await _stop(browser)
        shutil.rmtree(profile, ignore_errors=True)


def _site_name(agent: bool) -> str:
    return "MiniMax Agent" if agent else "Hailuo"


async def _start_and_wait(
    executable: str,
    args: list[str],
    profile: str,
    url: str,
    headless: bool,
    agent: bool,
    started: list[Any],
    deadline: float,
) -> BrowserLogin:
    import nodriver

    try:
        browser = await nodriver.start(
            headless=headless,
            browser_executable_path=executable,
            browser_args=args,
            user_data_dir=profile,
        )
    except Exception as error:
        raise MissingRequirementsError(
            f"Could not start the browser {executable} ({type(error).__name__}); without a display,"
            " use a token instead (g4f-hailuo login --token-stdin, or HAILUOAI_API_KEY), or set"
            " G4F_BROWSER_EXECUTABLE_PATH to another Chrome/Chromium"
        ) from None
    started.append(browser)
    return await _wait_for_login(browser, url, agent, deadline)


async def _wait_for_login(browser: Any, url: str, agent: bool, deadline: float) -> BrowserLogin:
    """Poll the page's storage until it holds a login, until ``deadline`` (the loop's clock) at
    most; on the Agent site, then briefly until the realUserID and the device id are there too."""
    page = await browser.get(url)
    script = _READ_AGENT_STORAGE if agent else _READ_STORAGE
    clock = asyncio.get_running_loop().time
    settled_at: float | None = None  # when the wait for the rest ends, once a token is there
    while True:
        if clock() >= deadline:
            raise asyncio.TimeoutError  # the caller says which login did not come
        if _exited(browser):
            raise MissingAuthError(f"The browser was closed before the {_site_name(agent)} login finished")
        found = _parse(await _evaluate(page, script))
        if found is not None:
            settled_at = clock() + _SETTLE_SECONDS if settled_at is None else settled_at
            if not agent or (found.real_user_id and found.device_id) or clock() >= settled_at:
                return dataclasses.replace(found, cookies=await _cookies(page, url))
        await asyncio.sleep(_POLL_SECONDS)


async def _evaluate(page: Any, script: str) -> object:
    try:
        return await asyncio.wait_for(page.evaluate(script), _EVALUATE_SECONDS)
    except asyncio.CancelledError:
        raise
    except Exception:  # a page being replaced (navigation) cannot answer for a moment
        return None


async def _cookies(page: Any, url: str) -> dict[str, str]:
    """The browser's cookies for ``url`` (HttpOnly ones too); none when they cannot be read."""
    try:
        import nodriver

        found = await asyncio.wait_for(
            page.send(nodriver.cdp.network.get_cookies(urls=[url])), _EVALUATE_SECONDS
        )
        return {cookie.name: cookie.value for cookie in found if isinstance(cookie.value, str)}
    except asyncio.CancelledError:
        raise
    except Exception:  # an older nodriver, a page going away: the login stands without them
        return {}


def _registered_with(profile: str) -> list[Any]:
    """The browsers nodriver has started with ``profile``."""
    util = sys.modules.get("nodriver.core.util")
    try:
        instances = list(util.get_registered_instances())  # type: ignore[union-attr]
    except Exception:  # not imported, or another nodriver
        return []
    return [b for b in instances if str(getattr(getattr(b, "config", None), "user_data_dir", "")) == profile]


def _unique(items: list[Any]) -> list[Any]:
    return list({id(item): item for item in items}.values())


def _exited(browser: Any) -> bool:
    process = getattr(browser, "_process", None)
    return process is not None and process.returncode is not None


async def _stop(browser: Any) -> None:
    """Close the browser and wait for its process, so that its profile can go."""
    process = getattr(browser, "_process", None)
    # Every tab is a websocket connection with a listener task, and so is the browser.
    for connection in [*getattr(browser, "targets", ()), browser]:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.aclose(), _STOP_SECONDS)
    with contextlib.suppress(Exception):
        if process is not None and process.returncode is None:
            process.terminate()
    if process is not None:
        try:
            await asyncio.wait_for(process.wait(), _STOP_SECONDS)
        except (asyncio.TimeoutError, ProcessLookupError):
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(process.wait(), _STOP_SECONDS)
    # nodriver would try to stop it again at exit
    util = sys.modules.get("nodriver.core.util")
    with contextlib.suppress(Exception):
        util.get_registered_instances().discard(browser)  # type: ignore[union-attr]


def storage_value(value: Any) -> str | None:
    """A localStorage value as text (the site stores some JSON-quoted); ``None`` when empty."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            loaded = json.loads(text)
        except ValueError:
            loaded = text[1:-1]
        text = loaded.strip() if isinstance(loaded, str) else text
    return text or None


def token_value(value: Any) -> str | None:
    """A stored ``_token`` as the JWT: plain, JSON-quoted, or JSON holding it in ``token``."""
    text = storage_value(value)
    if text is None or not text.startswith("{"):
        return text
    try:
        loaded = json.loads(text)
    except ValueError:
        return None
    return storage_value(loaded.get("token")) if isinstance(loaded, dict) else None


def _real_user_id(detail: Any) -> str | None:
    """``realUserID`` of the Agent site's ``user_detail_agent`` (JSON text)."""
    # Imported here: token_files imports this module.
    from g4f_hailuo.accounts.token_files import agent_user_id

    return agent_user_id(detail)


def _parse(stored: object) -> BrowserLogin | None:
    """The login in the page's storage; ``None`` while there is none, or only a guest's.

    ``device`` is the site's device id (``USER_HARD_WARE_INFO`` or ``tab_device_id``);
    ``detail`` (the Agent site only) is ``user_detail_agent``."""
    try:
        values = json.loads(stored) if isinstance(stored, str) else None
    except ValueError:
        return None
    if not isinstance(values, dict):
        return None
    token = token_value(values.get("token"))
    if not token or token in ("null", "undefined") or is_guest_token(token):
        return None
    device = storage_value(values.get("device"))
    return BrowserLogin(
        token=token,
        device_id=device if device and device.isdigit() else None,
        uuid=storage_value(values.get("uuid")),
        user_agent=values.get("ua") if isinstance(values.get("ua"), str) and values.get("ua") else None,
        real_user_id=_real_user_id(values.get("detail")),
    )
