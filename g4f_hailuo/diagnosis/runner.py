"""Running the steps: each one timed, its last HTTP answer read off the recorder (status, the
site's code and message), a failure explained (``advice``); and the steps every protocol has:
reaching the site (:func:`reach`) and reading a reply's text (:func:`collect_text`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from g4f.errors import G4FError
from yarl import URL

from g4f_hailuo._config import Settings
from g4f_hailuo.cli.common import EXIT_UNAVAILABLE, describe
from g4f_hailuo.diagnosis.advice import Context, explain, wall_advice
from g4f_hailuo.diagnosis.observe import bot_wall, site_said
from g4f_hailuo.diagnosis.report import Failed, Passed, Report, Step, mask
from g4f_hailuo.transport.base import Session
from g4f_hailuo.transport.http import read_body
from g4f_hailuo.transport.recording import Recorder
from g4f_hailuo.transport.recording_file import Exchange
from g4f_hailuo.transport.sessions import request_timeout

__all__ = ["PROMPT", "Runner", "answered", "collect_text", "reach"]

PROMPT = "Reply with the single word OK."
_PAGE_LIMIT = 64 * 1024
_SHOWN = 60
_DETAIL = 160
_FAILURES = (G4FError, aiohttp.ClientError, asyncio.TimeoutError, OSError)


class Runner:
    """Runs steps into ``report`` until one fails; ``recorder`` sees every HTTP exchange."""

    def __init__(self, report: Report, recorder: Recorder, context: Context) -> None:
        self.report = report
        self.recorder = recorder
        self.context = context
        self.secrets: set[str] = set()  # shown only masked, whatever a message says

    def hide(self, text: str | None) -> str | None:
        """``text`` with every secret of :attr:`secrets` masked."""
        for secret in self.secrets:
            if text and len(secret) >= 6 and secret in text:
                text = text.replace(secret, mask(secret))
        return text

    def check(self, name: str, action: Callable[[], Passed]) -> bool:
        """A check that makes no request; True when it passed."""
        started = time.monotonic()
        try:
            return self._finish(name, started, None, action(), None, None)
        except Failed as failed:
            return self._finish(name, started, None, None, failed, None)

    async def step(self, name: str, action: Callable[[], Awaitable[Passed]]) -> bool:
        """Run ``action`` (it makes requests); True when it passed."""
        started, mark = time.monotonic(), len(self.recorder.exchanges)
        try:
            passed = await action()
        except Failed as failed:
            return self._finish(name, started, mark, None, failed, None)
        except _FAILURES as error:
            return self._finish(name, started, mark, None, None, error)
        return self._finish(name, started, mark, passed, None, None)

    def _finish(
        self,
        name: str,
        started: float,
        mark: int | None,
        passed: Passed | None,
        failed: Failed | None,
        error: BaseException | None,
    ) -> bool:
        exchanges = self.recorder.since(mark) if mark is not None else []
        answered_ = [exchange for exchange in exchanges if exchange.status is not None]
        last = answered_[-1] if answered_ else (exchanges[-1] if exchanges else None)
        step = Step(name, ok=passed is not None, seconds=time.monotonic() - started)
        if last is not None:
            step.http_status = last.status
            step.site_code, step.site_message = site_said(last)
        if passed is not None:
            step.detail, step.advice = passed.detail, passed.advice
        elif failed is not None:
            step.detail, step.advice, step.exit_code = failed.detail, failed.advice, failed.exit_code
        elif error is not None:
            step.advice, step.exit_code = explain(name, error, last if answered_ else None, self.context)
            detail = describe(error)
            step.detail = detail if len(detail) <= _DETAIL else detail[: _DETAIL - 1] + "…"
            self.report.error = type(error).__name__
        step.detail = self.hide(step.detail) or ""
        step.site_message, step.advice = self.hide(step.site_message), self.hide(step.advice)
        self.report.steps.append(step)
        return step.ok


async def reach(session: Session, settings: Settings, user_agent: str) -> Passed:
    """The site's home page (no token sent), and the stream host's when it is another: reachable
    (DNS, TLS, proxy), and no bot-protection page."""
    seen = []
    timeout = request_timeout(settings.connect_timeout, settings.read_timeout)
    headers = {"User-Agent": user_agent, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    for origin in dict.fromkeys(filter(None, (settings.origin, settings.stream_origin))):
        started, url = time.monotonic(), URL(origin + "/")
        response = await session.request(
            "GET", url, data=None, headers=headers, proxy=settings.proxy, timeout=timeout
        )
        try:
            body = await read_body(response, _PAGE_LIMIT)
        finally:
            response.close()
        page = Exchange("GET", url, started, status=response.status)
        page.response_headers, page.chunks = list(response.headers.items()), [(started, body)]
        vendor = bot_wall(page)
        if vendor is not None:
            raise Failed(wall_advice(vendor), EXIT_UNAVAILABLE, f"{origin} answered HTTP {response.status}")
        if response.status >= 500:
            raise Failed(
                f"the site is failing (HTTP {response.status}): try again later", EXIT_UNAVAILABLE, origin
            )
        seen.append(f"{origin} answers (HTTP {response.status})")
    return Passed("; ".join(seen) + "; no bot-protection page")


async def collect_text(chunks: AsyncIterator[Any]) -> str:
    """The text of a reply (its ``str`` chunks); the reply's error, if any, is raised."""
    parts = [chunk async for chunk in chunks if isinstance(chunk, str)]
    return "".join(parts)


def answered(text: str) -> Passed:
    shown = " ".join(text.split())
    shown = shown if len(shown) <= _SHOWN else shown[: _SHOWN - 1] + "…"
    return Passed(f'answered "{shown}" ({len(text)} characters)')
