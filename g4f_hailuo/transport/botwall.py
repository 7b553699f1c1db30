"""Bot protection: a Cloudflare or Akamai page where the site's answer should be.

Plain clients have drawn such pages (HTTP 403) on the international site. When one answers an
aiohttp request and the ``impersonate`` extra is installed, the request is sent once more with a
browser's TLS and HTTP/2 fingerprint (curl_cffi), and the account keeps that transport for the
rest of the process. Without the extra, or with ``impersonate=False``, the page stays the answer
(the caller maps the 403 to ``CloudflareError``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from g4f import debug

from g4f_hailuo._config import Settings
from g4f_hailuo.transport import base, impersonate
from g4f_hailuo.transport.http import read_body, send_with_retries
from g4f_hailuo.transport.sessions import PooledSession

__all__ = ["after_wall", "is_bot_wall", "through_browser"]

_PEEK_BYTES = 16 * 1024  # as much of the page as an error message reads
# In a challenge or block page (lower case): Cloudflare's challenge and block pages, Akamai's.
_MARKERS = (
    b"cf-chl",
    b"challenge-platform",
    b"<title>just a moment",
    b"attention required! | cloudflare",
    b"cf-error-details",
    b"errors.edgesuite.net",
    b"reference&#32;&#35;",
    b"akamai",
)

SendVia = Callable[[base.Session], Awaitable[base.Response]]


async def is_bot_wall(response: base.Response) -> bool:
    """Whether a 403 is a bot-protection page. Reads at most the page's first 16 KB, and puts
    them back: the caller reads the same body as if nothing had looked."""
    headers = response.headers
    if "cf-mitigated" in headers or "akamaighost" in headers.get("Server", "").lower():
        return True
    if "html" not in headers.get("Content-Type", "").lower():
        return False
    page = await read_body(response, _PEEK_BYTES)
    response.content = base.body_reader(page, ended=True)
    lowered = page.lower()
    return any(marker in lowered for marker in _MARKERS)


async def after_wall(
    settings: Settings, what: str, account: str, send: SendVia, response: base.Response
) -> base.Response:
    """``response`` (a 403 to an aiohttp request), or, when it is a bot-protection page and the
    extra is installed, the answer to the request sent again as a browser."""
    if not impersonate.available() or not await is_bot_wall(response):
        return response
    response.close()
    base.remember_browser(account, base.DEFAULT_BROWSER)
    debug.log(
        f"HailuoAI: a bot-protection page answered {what}; this account's requests now go out with"
        f" {base.DEFAULT_BROWSER}'s fingerprint (curl_cffi) for the rest of the process"
    )
    return await through_browser(settings, what, account, send)


async def through_browser(settings: Settings, what: str, account: str, send: SendVia) -> base.Response:
    """The request over the account's browser session (pooled like aiohttp's); the session is held
    until the response is done."""
    browser = base.browser_for(settings.impersonate, account) or base.DEFAULT_BROWSER
    pooled = PooledSession(account, settings.proxy, browser)
    session = await pooled.__aenter__()

    async def done() -> None:
        await pooled.__aexit__(None, None, None)

    try:
        response = await send_with_retries(settings, what, lambda: send(session))
    except BaseException:
        await done()
        raise
    if isinstance(response, impersonate.CurlResponse):
        response.on_done(done)
    else:  # pragma: no cover - a browser session answers with CurlResponse
        await done()
    return response
