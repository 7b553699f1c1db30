"""g4f's web chat page in real headless Chromium: what a user does with Hailuo AI, step by step.

``g4f gui`` runs on loopback with the plugin installed (the editable install in the venv; this
process does not import it into the GUI), from a working directory whose ``./g4f.dev`` is the
front-end in ``../shared/g4f.dev`` (``_gui_page.frontend_dir``). Playwright drives Debian's
``/usr/bin/chromium``; a request router answers ``https://g4f.dev/dist/...`` and the CDN files
from that folder and refuses everything else off loopback; the cake baker is off before the
page's scripts run. The fake Hailuo site of each protocol (``_gui_backends``) runs in this process.

The user story, each step checked on the page *and* on what the fake site received:

1. the provider list offers "Hailuo AI"; the user switches it on in the settings and picks it;
2. the model list offers the protocol's models;
3. without a token, sending brings up g4f's error prompt with a readable message (no request);
4. with a bad token typed into the settings' API key box: the prompt again, the site said 401;
5. with a good token in that box: the reply streams in, Markdown rendered (bold), 海螺 as text,
   the token is what the site received, the provider's title is the conversation's title;
6. a second message continues the same session, and carries only the new message;
7. (protocols with a thinking scenario) the thinking shows in the reasoning box, not the answer.

Screenshots: ``artifacts/screenshots/<protocol>-<step>.png`` (or ``$G4F_HAILUO_SCREENSHOTS``).
Under ``CI=true`` or ``G4F_HAILUO_E2E=required`` a missing front-end, Playwright or Chromium fails.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from _g4f_processes import G4FProcess, isolated_env, make_home, require_modules, start_gui
from _gui_backends import BACKENDS, GuiBackend, available_protocols
from _gui_page import (
    ChatPage,
    OfflineRouter,
    frontend_dir,
    markdown_plain,
    normalized,
    open_browser,
    require_browser,
    screenshots_dir,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request

pytestmark = [pytest.mark.slow]

BAD_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.not-issued-by-this-server"
FIRST = "Tell me about **Hailuo** and its sea snails"
SECOND = "And what do they eat?"
# The hosts the page reaches for that the router refuses, as README.md of the front-end lists them.
EXPECTED_REFUSALS = {
    "g4f.space",
    "mcp.g4f.space",
    "cdn.jsdelivr.net",
    "fonts.googleapis.com",
    "fonts.gstatic.com",
    "www.youtube.com",
}


@pytest.fixture(params=available_protocols())
def backend(request: pytest.FixtureRequest) -> Iterator[GuiBackend]:
    protocol = request.param
    if protocol not in BACKENDS:
        pytest.fail(f"the {protocol} fake server exists now: add its GuiBackend to tests/_gui_backends.py")
    fake = BACKENDS[protocol]()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def gui(backend: GuiBackend, tmp_path: Path) -> Iterator[G4FProcess]:
    """``g4f gui`` on loopback, run where ``./g4f.dev`` is the front-end; no token configured."""
    frontend = frontend_dir()
    require_modules("flask", "asgiref", hint='pip install -e ".[test]" (g4f[gui], flask[async])')
    home = make_home(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "g4f.dev").symlink_to(frontend, target_is_directory=True)
    env = isolated_env(home, {**backend.env(), "HAILUOAI_BROWSER_LOGIN": "0"})
    with start_gui(home, env, cwd=work) as server:
        yield server


@pytest.mark.timeout(240)
def posted_conversation(request: Request) -> list[dict[str, Any]]:
    if request.method != "POST" or not request.url.endswith("/backend-api/v2/conversation"):
        return []
    body = json.loads(request.post_data or "{}")
    return [body] if isinstance(body, dict) else []


def expect_title(page: Page, title: str) -> None:
    """The site's title (not the page's own: the first message) heads the chat and names it in the list."""
    from playwright.sync_api import expect

    expect(page.locator(".chat-top-panel .convo-title")).to_have_text(title)
    expect(page.locator("a.left .convo-title", has_text=title)).to_have_count(1)  # the sidebar


def test_chat_page_with_hailuo(backend: GuiBackend, gui: G4FProcess) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)
    frontend = frontend_dir()
    router = OfflineRouter(frontend, local_origins=(gui.url + "/",))
    token = backend.issue_token()
    gui_requests: list[str] = []
    failed: list[str] = []
    quota_checks: list[tuple[str | None, int]] = []  # the page's key checks: (x-api-key, status)
    conversation_posts: list[dict[str, Any]] = []  # what the page POSTed to /backend-api/v2/conversation

    with sync_playwright() as playwright, open_browser(playwright, router) as context:
        page = context.new_page()
        page.on("request", lambda r: gui_requests.append(f"{r.method} {r.url}"))
        page.on("request", lambda r: conversation_posts.extend(posted_conversation(r)))
        page.on(
            "response",
            lambda r: (
                quota_checks.append((r.request.headers.get("x-api-key"), r.status))
                if "/backend-api/v2/quota/HailuoAI" in r.url
                else None
            ),
        )
        page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
        chat = ChatPage(page, screenshots_dir(), backend.protocol)
        chat.open(f"{gui.url}/chat/")

        # -- 1. the provider list offers Hailuo AI; switched on in the settings, picked --------
        option = chat.provider_option("HailuoAI")
        assert normalized(option.inner_text()).startswith("Hailuo AI")
        assert page.evaluate("JSON.parse(localStorage.getItem('g4f_cake_settings')).enabled") is False
        chat.enable_provider("HailuoAI")
        expect(option).to_be_enabled()
        chat.screenshot("01-provider-enabled")
        chat.close_settings()
        chat.pick_provider("HailuoAI")
        expect(page.locator("#provider")).to_have_value("HailuoAI")

        # -- 2. the model list --------------------------------------------------------------
        offered = chat.model_options()
        assert set(backend.models) <= set(offered), offered
        assert any(f"{gui.url}/backend-api/v2/models/HailuoAI" in r for r in gui_requests)
        chat.screenshot("02-models")
        assert backend.chat_posts(token) == [] and not backend.requests_with(BAD_TOKEN)

        # -- 3. no token: g4f's error prompt, readable; nothing reaches the site -------------
        answer = chat.send("Hello?")
        expect(answer.locator(".content_inner")).to_contain_text("An error occurred")
        popup = page.locator(".error-popup .error-popup-message")
        expect(popup).to_be_visible()
        message = normalized(popup.inner_text())
        assert message.startswith("MissingAuthError: No Hailuo token"), message
        assert "api_key" in message and "Traceback" not in message, message
        expect(answer.locator(".content_inner")).to_contain_text("No Hailuo token")
        chat.wait_until_done()
        chat.screenshot("03-missing-token")
        chat.close_error_popup()
        assert not [r for r in backend.chat_posts(token)], "no chat without a token"

        # -- 4. a bad token in the settings: the prompt again; the site answered 401 ---------
        chat.type_api_key("HailuoAI", BAD_TOKEN)
        chat.close_settings()
        page.evaluate("localStorage.removeItem('errorPopupLastShown')")  # the popup shows once an hour
        answer = chat.send("Hello again?")
        expect(answer.locator(".content_inner")).to_contain_text("An error occurred")
        assert conversation_posts[-1].get("api_key") == BAD_TOKEN, conversation_posts[-1]
        expect(popup).to_contain_text("401")
        message = normalized(popup.inner_text())
        # "<ErrorClass>: <what the site said and what to do>", e.g. MissingAuthError / Unauthorized
        assert re.match(r"\w+: \S", message) and "401" in message and "Traceback" not in message, message
        expect(answer.locator(".content_inner")).to_contain_text("401")
        chat.wait_until_done()
        chat.screenshot("04-bad-token")
        chat.close_error_popup()
        refused = backend.requests_with(BAD_TOKEN)
        assert refused, "the bad token typed into the page reached the site"
        assert all(r.status == 401 for r in refused), [(r.path, r.status) for r in refused]
        assert backend.sessions(BAD_TOKEN) == {}

        # -- 5. the right token in the settings: a reply, rendered, with its title -----------
        chat.type_api_key("HailuoAI", token)
        chat.close_settings()
        page.locator(".new_convo").first.click()
        expect(page.locator(".chat-top-panel .convo-title")).to_have_text("New Conversation")
        chat.watch_answers()
        answer = chat.send(FIRST)
        first_reply = backend.reply_for(FIRST, 1)
        inner = answer.locator(".content_inner")
        expect(inner).to_contain_text(backend.cjk)
        chat.screenshot("05-reply-streaming")
        chat.wait_until_done()
        growing = [state for state in chat.answer_states() if "(fake)" in state]
        assert len(growing) >= 2, f"the reply did not stream in: {growing}"
        assert backend.cjk in chat.answer_text(answer)
        assert chat.answer_text(answer) == normalized(markdown_plain(first_reply))
        expect(inner.locator("strong, b").filter(has_text="Hailuo")).to_have_count(1)  # **Hailuo**, quoted
        assert "**" not in chat.answer_text(answer)
        assert conversation_posts[-1].get("api_key") == token, "the key from the settings is sent"
        posts = backend.chat_posts(token)
        assert [(p.text, p.status) for p in posts] == [(FIRST, 200)], posts
        ((session, held),) = backend.sessions(token).items()
        assert held == [FIRST]
        title = " ".join(FIRST.split())[:20]  # the fake site's title: the first message, cut
        if backend.title_turn == 1:
            expect_title(page, title)
        chat.screenshot("06-reply-and-title")

        # -- 6. the second message continues the same session --------------------------------
        answer = chat.send(SECOND)
        chat.wait_until_done()
        assert chat.answer_text(answer) == normalized(markdown_plain(backend.reply_for(SECOND, 2)))
        posts = backend.chat_posts(token)
        assert [p.text for p in posts] == [FIRST, SECOND], "the second POST carries only the new message"
        assert posts[1].session == session, "the second message must continue the same session"
        assert backend.sessions(token) == {session: [FIRST, SECOND]}
        if backend.title_turn == 2:
            expect_title(page, title)
        # After a reply the page checks the key (g4f's get_quota): answered, the key kept, no chat.
        deadline = page.evaluate("Date.now()") + 20_000
        while not [c for c in quota_checks if c[0] == token] and page.evaluate("Date.now()") < deadline:
            page.wait_for_timeout(100)
        assert (token, 200) in quota_checks, quota_checks
        assert chat.storage("HailuoAI-api_key") == token, "the page forgot a good key"
        assert [p.text for p in backend.chat_posts(token)] == [FIRST, SECOND], "get_quota sent a chat"
        chat.screenshot("07-second-message")

        # -- 7. thinking goes to the reasoning box, not into the answer ----------------------
        if backend.thinking_prompt is not None:
            prompt = backend.thinking_prompt
            answer = chat.send(prompt)
            chat.wait_until_done()
            thinking = normalized(backend.thinking_of(prompt))
            box = answer.locator(".reasoning_body")
            expect(box).to_be_visible()
            box.locator(".reasoning_title").click()  # the finished box is folded: open it
            expect(box.locator(".reasoning_text")).to_be_visible()
            thinking = normalized(markdown_plain(thinking))
            assert thinking in normalized(box.locator(".reasoning_text").inner_text())
            assert thinking not in chat.answer_text(answer) and "The user wrote" not in chat.answer_text(
                answer
            )
            assert chat.answer_text(answer) == normalized(markdown_plain(backend.reply_for(prompt, 3)))
            chat.screenshot("08-reasoning")

        # The page's only uncaught errors are the refused off-loopback fetches; no request to
        # the GUI failed.
        assert all(error == "Failed to fetch" for error in chat.page_errors), chat.page_errors
        assert not [f for f in failed if f.startswith(gui.url)], failed

    # Off loopback only what the front-end's README lists was asked for, and refused; the
    # cake baker neither fetched work nor baked.
    assert router.refused_hosts() <= EXPECTED_REFUSALS, router.refused_hosts()
    assert not [url for url in router.refused if "/cake/issue" in url or "/cake/bake" in url]
    assert any("markdown-it" in url for url in router.served), "markdown-it came from _cdn/"
    log = gui.log()
    assert token not in log and BAD_TOKEN not in log, "a token appears in g4f gui's log"
