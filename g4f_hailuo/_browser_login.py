"""Log in through a real browser (the ``browser`` extra: nodriver).

Opens the site, waits until the user has logged in (``localStorage._token``),
then reads the device identity the site stored and the browser's user agent.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import time
from dataclasses import dataclass

from g4f.errors import MissingAuthError, MissingRequirementsError

__all__ = ["BrowserLogin", "browser_login", "browser_login_available", "find_browser"]

_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "msedge")
_READ_STORAGE = (
    "JSON.stringify({token: localStorage.getItem('_token'),"
    " device: localStorage.getItem('USER_HARD_WARE_INFO'),"
    " uuid: localStorage.getItem('UNIQUE_USER_ID'), ua: navigator.userAgent})"
)


@dataclass(frozen=True)
class BrowserLogin:
    token: str
    device_id: str | None
    uuid: str | None
    user_agent: str | None

    def __repr__(self) -> str:
        return f"BrowserLogin(device_id={self.device_id!r})"


def find_browser() -> str | None:
    for name in _BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def browser_login_available() -> bool:
    return importlib.util.find_spec("nodriver") is not None and find_browser() is not None


async def browser_login(
    url: str, *, proxy: str | None = None, timeout: float = 300.0, headless: bool = False
) -> BrowserLogin:
    """Wait (at most ``timeout`` seconds) for a login in a browser window."""
    if importlib.util.find_spec("nodriver") is None:
        raise MissingRequirementsError(
            'Browser login needs the browser extra: pip install "g4f-hailuo[browser]"'
        )
    executable = find_browser()
    if executable is None:
        raise MissingRequirementsError("Browser login needs Chrome or Chromium; none was found on PATH")
    import nodriver

    args = ["--no-first-run", "--disable-background-networking"]
    if proxy:
        args.append(f"--proxy-server={proxy}")
    browser = await nodriver.start(
        headless=headless, browser_executable_path=executable, browser_args=args, sandbox=False
    )
    try:
        page = await browser.get(url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            stored = await page.evaluate(_READ_STORAGE)
            found = _parse(stored)
            if found is not None:
                return found
            await asyncio.sleep(0.5)
    finally:
        browser.stop()
    raise MissingAuthError(f"No Hailuo login within {timeout:g} s in the browser window")


def _parse(stored: object) -> BrowserLogin | None:
    import json

    try:
        values = json.loads(stored) if isinstance(stored, str) else None
    except ValueError:
        return None
    if not isinstance(values, dict) or not values.get("token"):
        return None
    token = str(values["token"]).strip('"')
    device = str(values.get("device") or "").strip('"')
    client_uuid = str(values.get("uuid") or "").strip('"')
    return BrowserLogin(
        token=token,
        device_id=device if device.isdigit() else None,
        uuid=client_uuid or None,
        user_agent=values.get("ua") if isinstance(values.get("ua"), str) else None,
    )
