"""g4f's web chat page (``../shared/g4f.dev``) in headless Debian Chromium, offline.

What a chat-page test needs besides ``g4f gui`` (``_g4f_processes.start_gui``):

- :func:`frontend_dir`: the page's files. ``g4f gui`` serves ``./g4f.dev/`` of its working
  directory when ``./g4f.dev/dist`` exists; g4f's wheel does not ship them. Looked for in
  ``$G4F_GUI_FRONTEND``, then ``<repo>/../shared/g4f.dev``, then ``<repo>/g4f.dev``; missing,
  the test is skipped, but fails under ``CI=true`` or ``G4F_HAILUO_E2E=required``.
- :class:`OfflineRouter`: loopback passes; ``https://g4f.dev/dist/...`` is answered from the
  folder's ``dist/``, ``https://<host>/<path>`` from ``_cdn/<host>/<path>`` when that file is
  there; everything else is aborted (and noted in ``refused``).
- :func:`open_browser`: Playwright's Python API on ``/usr/bin/chromium`` (``executable_path``:
  no browser download), a context that routes every request through the router and, before
  any page script runs, switches the "cake baker" (a proof-of-work miner) and the tokenizer off.
- :class:`ChatPage`: the few things a user does on the page, each waiting on a page condition.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from _g4f_processes import REQUIRED_ENV, require_modules, skip_or_fail

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright, Route

__all__ = [
    "CHROMIUM",
    "ChatPage",
    "OfflineRouter",
    "frontend_dir",
    "open_browser",
    "screenshots_dir",
]

PROJECT = Path(__file__).resolve().parents[1]
FRONTEND_ENV = "G4F_GUI_FRONTEND"
CHROMIUM = os.environ.get("G4F_HAILUO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root in a container
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--font-render-hinting=none",
]
SEND_LOCK_S = 3  # chat.v1.js: after a send, the send button does nothing for 3 s
TIMEOUT_MS = 20_000  # one page condition; the test's own timeout bounds the whole

# Before the page's scripts: the cake baker (cake-baker.js) reads g4f_cake_settings and then
# neither starts its workers nor polls; countTokens=false skips the tokenizer download; the
# error popup is shown in English (a non-English browser asks g4f.space to translate it).
INIT_SCRIPT = """
try {
    localStorage.setItem("g4f_cake_settings", JSON.stringify({enabled: false}));
    localStorage.setItem("countTokens", "false");
} catch (error) {}
"""


def _required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get(REQUIRED_ENV, "") == "required"


def frontend_dir() -> Path:
    """The g4f.dev front-end (``chat/``, ``dist/``, ``_cdn/``); skip (fail in CI) without it."""
    configured = os.environ.get(FRONTEND_ENV, "").strip()
    candidates = (
        [Path(configured).expanduser()]
        if configured
        else [PROJECT.parent / "shared" / "g4f.dev", PROJECT / "g4f.dev"]
    )
    for candidate in candidates:
        path = candidate.resolve()
        if (path / "chat" / "index.html").is_file() and (path / "dist" / "js" / "chat.v1.js").is_file():
            return path
    reason = (
        f"g4f's web chat page is not at {' or '.join(map(str, candidates))} "
        f"(a copy of gpt4free/g4f.dev with chat/ and dist/; set {FRONTEND_ENV})"
    )
    if _required():
        import pytest

        pytest.fail(f"{reason}; CI needs it", pytrace=False)
    skip_or_fail(reason)
    raise AssertionError("unreachable")  # skip_or_fail raised


def require_browser() -> None:
    """Playwright and Debian's chromium, or a skip (a failure under CI=true / required)."""
    if _required():
        os.environ.setdefault(REQUIRED_ENV, "required")  # skip_or_fail reads it
    require_modules("playwright", hint="pip install -e '.[test]' (no browser download: Debian's chromium)")
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"no Chromium at {CHROMIUM}: apt-get install chromium fonts-wqy-microhei")


def screenshots_dir() -> Path:
    path = Path(os.environ.get("G4F_HAILUO_SCREENSHOTS") or PROJECT / "artifacts" / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class OfflineRouter:
    """Loopback to the GUI; g4f.dev's ``dist/`` and the CDN files from the folder; nothing else."""

    frontend: Path
    local_origins: tuple[str, ...]
    served: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def local_file(self, url: str) -> Path | None:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            return None
        if parts.hostname == "g4f.dev" and parts.path.startswith("/dist/"):
            candidate = self.frontend / parts.path.lstrip("/")
        else:
            candidate = self.frontend / "_cdn" / parts.hostname / parts.path.lstrip("/")
        resolved = candidate.resolve()
        if self.frontend not in resolved.parents or not resolved.is_file():
            return None
        return resolved

    def __call__(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(self.local_origins):
            route.continue_()
            return
        local = self.local_file(url)
        if local is not None:
            self.served.append(url)
            route.fulfill(path=str(local))
            return
        self.refused.append(url)
        route.abort()

    def refused_hosts(self) -> set[str]:
        return {urlsplit(url).hostname or url for url in self.refused}


@contextlib.contextmanager
def open_browser(playwright: Playwright, router: OfflineRouter) -> Iterator[BrowserContext]:
    """Headless Debian Chromium with one context whose every request goes through ``router``."""
    browser: Browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=60_000
    )
    try:
        context = browser.new_context(
            viewport={"width": 1280, "height": 860}, locale="en-US", service_workers="block"
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.route("**/*", router)
        context.add_init_script(INIT_SCRIPT)
        try:
            yield context
        finally:
            context.close()
    finally:
        browser.close()


def js_string(value: str) -> str:
    return json.dumps(value)


@dataclass
class ChatPage:
    """g4f's chat page as a user drives it: settings, provider and model lists, the input box."""

    page: Page
    shots: Path
    prefix: str
    page_errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def open(self, url: str) -> None:
        self.page.goto(url, wait_until="domcontentloaded")
        # The page has asked the GUI for its providers and filled the list.
        self.provider_option("HailuoAI").wait_for(state="attached")

    def screenshot(self, step: str) -> Path:
        path = self.shots / f"{self.prefix}-{step}.png"
        self.page.screenshot(path=str(path))
        return path

    # -- settings -------------------------------------------------------------------------------

    def open_settings(self, tab: str) -> None:
        if self.page.locator("section.settings").is_hidden():
            self.page.get_by_role("button", name="Open settings").click()
        self.page.locator(f".settings-tab[data-tab='{tab}']").click()
        self.page.locator(f"#tab-{tab}").wait_for(state="visible")

    def close_settings(self) -> None:
        self.page.locator(".settings-back-button").click()
        self.page.locator("section.settings").wait_for(state="hidden")

    def expand(self, container: str) -> None:
        """Open a collapsible section of the settings (a no-op when already open)."""
        section = self.page.locator(f"{container} .field.collapsible").first
        if section.locator(".collapsible-content").is_hidden():
            section.locator(".collapsible-header").click()
        section.locator(".collapsible-content").wait_for(state="visible")

    def enable_provider(self, name: str) -> None:
        """Settings > Providers > "Providers (Enable/Disable)": switch the provider on."""
        self.open_settings("providers")
        self.expand("#providers-toggle-container")
        toggle = self.page.locator(f"#Provider{name}")
        if not toggle.is_checked():
            self.page.locator(f"label[for='Provider{name}']").click()
        assert toggle.is_checked()

    def api_key_box(self, name: str) -> Locator:
        return self.page.locator(f"#{name}-api_key")

    def type_api_key(self, name: str, key: str) -> None:
        """Settings > Providers > API keys: type the key into the provider's box.

        The box is focused from the keyboard, not clicked: the first time the pointer enters
        the provider's row the page checks the key it has stored (``GET
        /backend-api/v2/quota/<provider>``) and, on a 401, empties the box and forgets the key
        ("Invalid API key"), which races with the typing. A key lost all the same (the page
        rebuilding its settings) is typed again.
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

        self.open_settings("providers")
        self.expand("#providers-api-keys-container")
        stored = f"localStorage.getItem({js_string(name + '-api_key')}) === {js_string(key)}"
        for attempt in range(3):
            box = self.api_key_box(name)
            box.wait_for(state="visible")
            # On focus the page puts the stored key back into the (masked) box: let it, then replace it.
            box.focus()
            box.evaluate(
                """el => new Promise(resolve => {
                    const done = () => el.value === (el.dataset.value || "");
                    const check = () => done() ? resolve() : setTimeout(check, 20);
                    check();
                })"""
            )
            box.fill(key)
            box.blur()  # "change": the page stores the key; on blur it masks the box
            try:
                self.page.wait_for_function(stored, timeout=2_000 if attempt < 2 else TIMEOUT_MS)
                return
            except PlaywrightTimeoutError:
                if attempt == 2:
                    raise

    def close_error_popup(self) -> None:
        self.page.locator(".error-popup-close").click()
        self.page.locator(".error-popup").wait_for(state="detached")

    # -- the chat -------------------------------------------------------------------------------

    def provider_option(self, name: str) -> Locator:
        return self.page.locator(f"#provider option[value='{name}']")

    def pick_provider(self, name: str) -> None:
        self.page.select_option("#provider", name)
        self.page.wait_for_function(
            f"document.getElementById('provider').value === {js_string(name)}"
            " && document.querySelector('#model option:not([disabled])') !== null"
            " && !document.getElementById('model').textContent.includes('Loading')"
        )

    def model_options(self) -> list[str]:
        values: list[str] = self.page.eval_on_selector_all(
            "#model option:not([disabled])", "options => options.map(option => option.value)"
        )
        return values

    def messages(self) -> Locator:
        return self.page.locator("#chatBody .message:has(.content_inner)")

    def assistant_messages(self) -> Locator:
        return self.page.locator("#chatBody .message:has(> .assistant):has(.content_inner)")

    def send(self, text: str) -> Locator:
        """Type and send ``text``; the assistant's message that answers it."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

        before = self.assistant_messages().count()
        self.page.locator("#userInput").fill(text)
        # The page ignores a click within 3 s of the last one (its prompt_lock); a user clicks
        # again. It has taken the message when it empties the input box.
        deadline = time.monotonic() + SEND_LOCK_S + 2
        while True:
            self.page.locator("#sendButton").click()
            try:
                self.page.wait_for_function("document.getElementById('userInput').value === ''", timeout=500)
                break
            except PlaywrightTimeoutError:
                if time.monotonic() > deadline:
                    raise
        answer = self.assistant_messages().nth(before)
        answer.wait_for(state="attached")
        return answer

    def watch_answers(self) -> None:
        """Record every text the last message of the chat shows while a reply streams in."""
        self.page.evaluate(
            """() => {
                window.__answerStates = [];
                const body = document.getElementById("chatBody");
                new MutationObserver(() => {
                    const inner = body.querySelector(".message:last-child .content_inner");
                    const text = inner ? inner.innerText.trim() : "";
                    const states = window.__answerStates;
                    if (text && states[states.length - 1] !== text) states.push(text);
                }).observe(body, {childList: true, subtree: true, characterData: true});
            }"""
        )

    def answer_states(self) -> list[str]:
        states: list[str] = self.page.evaluate("window.__answerStates || []")
        return states

    def wait_until_done(self) -> None:
        """The page has finished the reply: no cursor, the stop button hidden again."""
        self.page.wait_for_function(
            "document.querySelector('#chatBody .cursor') === null"
            " && document.querySelector('.stop_generating-hidden') !== null"
        )

    def answer_text(self, answer: Locator) -> str:
        """The visible answer of a message, without its reasoning box."""
        text: str = answer.locator(".content_inner").evaluate(
            """inner => {
                const copy = inner.cloneNode(true);
                copy.querySelectorAll('.reasoning_body, .reasoning_title, .reasoning_text')
                    .forEach(el => el.remove());
                return copy.innerText;
            }"""
        )
        return " ".join(text.split())

    def storage(self, key: str) -> Any:
        return self.page.evaluate(f"localStorage.getItem({js_string(key)})")


def normalized(text: str) -> str:
    """Whitespace collapsed: what a reply reads like on the page."""
    return " ".join(text.split())


def markdown_plain(text: str) -> str:
    """``text`` as the page shows it once Markdown is rendered (only ``**bold**`` used here)."""
    return re.sub(r"\*\*([^*]+)\*\*", r"\1", text)
