"""``g4f gui`` end to end: g4f's web server as a subprocess, the fake Hailuo, and a real browser.

``g4f gui`` runs with the plugin installed, not imported; the fake Hailuo server
runs in this process and reaches g4f through ``HAILUOAI_BASE_URL``.

Two layers here:

- **The GUI's backend (always; offline).** The requests g4f's chat page makes
  (``/backend-api/v2/providers``, ``/backend-api/v2/models/<provider>``, and
  ``/backend-api/v2/conversation`` with the body the page builds in
  ``chat.v1.js``), read as the page reads them (``event:``/``data:`` frames).
- **g4f gui's provider pages in headless Chromium (always; offline).** Those
  pages are rendered by the server, so they work without the network.
  Playwright drives Debian's ``chromium`` (no browser download).
- The chat page itself (g4f.dev's front-end, in a real browser, for both protocols) is
  ``tests/test_gui_chat_page.py``.

Screenshots go to ``artifacts/screenshots/`` (or ``$G4F_HAILUO_SCREENSHOTS``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _g4f_processes import G4FProcess, isolated_env, make_home, require_modules, skip_or_fail, start_gui
from g4f_hailuo.fake.hailuo_v4.server import FakeHailuo

require_modules("flask", "asgiref", hint='pip install "g4f[gui]" (flask[async])')

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

PROJECT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("G4F_HAILUO_SCREENSHOTS") or PROJECT / "artifacts" / "screenshots")
CHROMIUM = os.environ.get("G4F_HAILUO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BAD_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.not-issued-by-this-server"


@pytest.fixture(scope="module")
def gui(hailuo: FakeHailuo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[G4FProcess]:
    """``g4f gui`` on loopback."""
    root = tmp_path_factory.mktemp("g4f-gui")
    home = make_home(root)
    work = root / "work"
    work.mkdir()
    with start_gui(
        home, isolated_env(home, {"HAILUOAI_BASE_URL": hailuo.url, "HAILUOAI_BROWSER_LOGIN": "0"}), cwd=work
    ) as server:
        yield server


@pytest.fixture
def token(hailuo: FakeHailuo, gui: G4FProcess) -> Iterator[str]:
    issued = hailuo.issue_token()
    yield issued
    assert issued not in gui.log(), "the Hailuo token appears in g4f gui's log"


# -- the GUI's backend, as the page uses it ----------------------------------------------------------


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def page_request(
    text: str, token: str, history: list[dict[str, str]] | None = None, **extra: Any
) -> dict[str, Any]:
    """The body chat.v1.js (``ask_gpt``) posts to /backend-api/v2/conversation."""
    return {
        "id": "test-message",
        "conversation_id": "test-conversation",
        "conversation": None,
        "model": "MiniMax",
        "web_search": False,
        "provider": "HailuoAI",
        "messages": [*(history or []), {"role": "user", "content": text}],
        "action": "next",
        "download_media": True,
        "debug_mode": False,
        "api_key": token,
        "ignored": [],
        "aspect_ratio": "16:9",
        **extra,
    }


def converse(gui: G4FProcess, body: dict[str, Any]) -> list[dict[str, Any]]:
    """POST a conversation request; the events, parsed the way the page parses them."""
    request = urllib.request.Request(
        f"{gui.url}/backend-api/v2/conversation",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
        method="POST",
    )
    events = []
    with urllib.request.urlopen(request, timeout=60) as response:
        for raw in response:
            line = raw.decode("utf-8").rstrip("\r\n")
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
            elif line.startswith("{"):  # older g4f: one JSON object per line
                events.append(json.loads(line))
    return events


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [event for event in events if event.get("type") == kind]


def test_provider_list_shows_hailuo_from_the_plugin(gui: G4FProcess) -> None:
    entries = [
        entry for entry in get_json(f"{gui.url}/backend-api/v2/providers") if entry["name"] == "HailuoAI"
    ]
    assert len(entries) == 1, "the plugin's entry replaces g4f's built-in one"
    (entry,) = entries
    assert entry["label"] == "Hailuo AI"
    assert entry["auth"] is True and entry["login_url"] == "https://agent.minimax.io"  # the Agent site
    # HAILUOAI_BROWSER_LOGIN=0 (a server without a browser): the page shows the key box
    assert entry["login"] is False and entry["nodriver"] is False


def test_provider_models(gui: G4FProcess) -> None:
    models = get_json(f"{gui.url}/backend-api/v2/models/HailuoAI")
    assert "MiniMax" in {model.get("id") or model.get("model") for model in models}


def test_chat_streams_reply_title_and_conversation(gui: G4FProcess, hailuo: FakeHailuo, token: str) -> None:
    events = converse(gui, page_request("Hello from the GUI", token))
    (provider,) = of_type(events, "provider")
    assert provider["provider"]["name"] == "HailuoAI" and provider["provider"]["label"] == "Hailuo AI"
    content = [event["content"] for event in of_type(events, "content")]
    assert "".join(content) == hailuo.reply_for("Hello from the GUI", 1)
    assert len(content) > 1, "expected the reply in several pieces"
    assert [event["title"] for event in of_type(events, "title")] == ["Hello from the GUI"]
    (conversation,) = of_type(events, "conversation")
    assert set(conversation["conversation"]) == {"HailuoAI"}
    assert token not in json.dumps(events), "nothing the page stores may hold the token"
    assert of_type(events, "finish")[-1]["finish"]["reason"] == "stop"
    assert not of_type(events, "error") and not of_type(events, "auth")


def test_second_message_continues_the_same_hailuo_chat(
    gui: G4FProcess, hailuo: FakeHailuo, token: str
) -> None:
    first = converse(gui, page_request("First GUI turn", token))
    answer = "".join(event["content"] for event in of_type(first, "content"))
    (stored,) = of_type(first, "conversation")
    saved = stored["conversation"]["HailuoAI"]  # what the page keeps as conversation.data["HailuoAI"]
    history = [{"role": "user", "content": "First GUI turn"}, {"role": "assistant", "content": answer}]
    second = converse(gui, page_request("Second GUI turn", token, history, conversation=saved))
    assert "".join(event["content"] for event in of_type(second, "content")) == hailuo.reply_for(
        "Second GUI turn", 2
    )
    first_sent, second_sent = hailuo.chat_requests()[-2:]
    assert first_sent.form is not None and second_sent.form is not None
    assert second_sent.form["chatID"] == saved["chatID"] != "0", "the chatID must be reused"
    assert second_sent.form["msgContent"] == "Second GUI turn"


def test_bad_token_brings_up_the_auth_prompt(gui: G4FProcess, hailuo: FakeHailuo) -> None:
    """An ``auth`` event is what makes the page show the provider's key box."""
    events = converse(gui, page_request("Hello?", BAD_TOKEN))
    (auth,) = of_type(events, "auth")
    assert auth["auth"] == "MissingAuthError"
    assert "Hailuo answered HTTP 401" in auth["message"] and "g4f-hailuo login" in auth["message"]
    assert not of_type(events, "content")
    assert BAD_TOKEN not in gui.log()


def test_rate_limit_is_a_readable_error(gui: G4FProcess, token: str) -> None:
    events = converse(gui, page_request("fast [[scenario:http_429]]", token))
    (error,) = of_type(events, "error")
    assert error["error"] == "RateLimitError" and "rate limited" in error["message"]


# -- the page in a real browser -------------------------------------------------------------------


def browser_or_skip() -> None:
    require_modules(
        "playwright", hint="pip install playwright (no browser download: Debian's chromium is used)"
    )
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"no Chromium at {CHROMIUM}: apt-get install chromium")


def test_provider_pages_in_a_real_browser(gui: G4FProcess) -> None:
    """g4f gui's own provider pages (rendered by the server, so they work offline)."""
    browser_or_skip()
    from playwright.sync_api import Route, sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def offline(route: Route) -> None:
        # /screenshot makes g4f open the provider's site in a browser of its own: not here.
        if route.request.url.startswith(gui.url) and "/screenshot" not in route.request.url:
            route.continue_()
        else:
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 860})
            context.route("**/*", offline)
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.goto(f"{gui.url}/providers", wait_until="domcontentloaded")
            card = page.locator(".provider-card", has=page.locator(".provider-name", has_text="HailuoAI"))
            card.scroll_into_view_if_needed()
            assert "https://agent.minimax.io" in card.inner_text()
            card.screenshot(path=str(SCREENSHOTS / "providers-card.png"))
            card.get_by_text("Details").click()
            page.wait_for_url(f"{gui.url}/providers/HailuoAI")
            attributes = page.locator(".attr-table").inner_text()
            assert re.search(r"Needs Auth\s+\S*\s*Yes", attributes), attributes
            assert re.search(r"Supports Stream\s+\S*\s*Yes", attributes), attributes
            assert "MiniMax" in page.locator(".model-list").inner_text()
            page.screenshot(path=str(SCREENSHOTS / "provider-detail.png"), full_page=True)
        finally:
            browser.close()
