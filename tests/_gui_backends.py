"""The fake sites a chat-page test runs against, one per protocol, behind one small interface.

:class:`GuiBackend` is what ``tests/test_gui_chat_page.py`` asks of a fake: the environment
``g4f gui`` needs to reach it, tokens it accepts, the reply it will stream to a prompt, and
what it recorded (each chat POST: which session, which text, with which token, answered how).
Adding a protocol is adding one subclass and one entry in :data:`BACKENDS`.

``hailuo-v4``: ``g4f_hailuo.fake.hailuo_v4.server.FakeHailuo`` (no thinking scenario).
``agent`` (the default protocol, ``HAILUOAI_PROTOCOL`` unset): ``g4f_hailuo.fake.agent.server.FakeAgent``;
the key a user pastes is ``<realUserID>+<token>``; ``[[scenario:thinking]]`` streams thinking first.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from g4f_hailuo.fake.common import RecordedRequest
from g4f_hailuo.protocols.agent.models import KNOWN_MODELS as KNOWN_AGENT_MODELS

__all__ = ["BACKENDS", "AgentBackend", "ChatPost", "GuiBackend", "HailuoV4Backend", "available_protocols"]


@dataclass(frozen=True)
class ChatPost:
    """One chat request the fake received: the session it named ("0"/"" for a new one),
    the text of the new message as sent, and the answer's HTTP status."""

    session: str
    text: str
    status: int


class GuiBackend(ABC):
    protocol: str
    models: tuple[str, ...]  # models the page's model list must offer for this protocol
    thinking_prompt: str | None = None  # a prompt whose reply carries thinking (None: no such scenario)
    cjk: str  # CJK characters every reply holds
    title_turn = 1  # the turn whose reply brings the site's chat title to the page
    # Every reply comes in frames 0.15 s apart: the page shows it growing (and screenshots catch it).
    scenario = "normal delay=0.15"

    @property
    @abstractmethod
    def url(self) -> str: ...

    @abstractmethod
    def env(self) -> dict[str, str]:
        """The variables ``g4f gui`` needs to use this fake (base URL, protocol)."""

    @abstractmethod
    def issue_token(self) -> str:
        """A token as a user pastes it into the page's API key box."""

    @abstractmethod
    def reply_for(self, prompt: str, turn: int) -> str:
        """The whole reply text to ``prompt`` as turn ``turn`` of its session."""

    @abstractmethod
    def chat_posts(self, token: str) -> list[ChatPost]:
        """The chat requests made with ``token``, oldest first."""

    @abstractmethod
    def sessions(self, token: str) -> dict[str, list[str]]:
        """session id -> the user messages it holds, for the account of ``token``."""

    @abstractmethod
    def requests_with(self, token: str) -> list[RecordedRequest]:
        """Every request that carried ``token``."""

    def thinking_of(self, prompt: str) -> str:
        """The thinking text of the thinking scenario's reply."""
        raise NotImplementedError

    @abstractmethod
    def stop(self) -> None: ...


class HailuoV4Backend(GuiBackend):
    protocol = "hailuo-v4"
    models = ("MiniMax",)
    cjk = "海螺"

    def __init__(self) -> None:
        from g4f_hailuo.fake.hailuo_v4.server import run_in_thread

        self.fake = run_in_thread(scenario=self.scenario)

    @property
    def url(self) -> str:
        return str(self.fake.url)

    def env(self) -> dict[str, str]:
        return {"HAILUOAI_PROTOCOL": self.protocol, "HAILUOAI_BASE_URL": self.url}

    def issue_token(self) -> str:
        return str(self.fake.issue_token())

    def reply_for(self, prompt: str, turn: int) -> str:
        return str(self.fake.reply_for(prompt, turn))

    def chat_posts(self, token: str) -> list[ChatPost]:
        return [
            ChatPost(r.form.get("chatID", ""), r.form.get("msgContent", ""), r.status)
            for r in self.fake.chat_requests()
            if r.form is not None and r.headers.get("token") == token
        ]

    def sessions(self, token: str) -> dict[str, list[str]]:
        return dict(self.fake.chats(token))

    def requests_with(self, token: str) -> list[RecordedRequest]:
        return [r for r in self.fake.requests if token in (r.headers.get("token") or "")]

    def stop(self) -> None:
        self.fake.stop()


class AgentBackend(GuiBackend):
    protocol = "agent"
    models = ("MiniMax", *KNOWN_AGENT_MODELS)
    thinking_prompt = "[[scenario:thinking delay=0.15]] Think before you answer about **snails**"
    cjk = "智能体"
    # The provider reads the session's title before a turn that continues it: the second one.
    title_turn = 2

    def __init__(self) -> None:
        from g4f_hailuo.fake.agent.server import run_in_thread

        self.fake = run_in_thread(scenario=self.scenario)
        self._tokens: dict[str, str] = {}  # the key a user pastes -> the token inside it

    @property
    def url(self) -> str:
        return str(self.fake.url)

    def env(self) -> dict[str, str]:
        return {"HAILUOAI_BASE_URL": self.url}  # the default protocol: HAILUOAI_PROTOCOL unset

    def issue_token(self) -> str:
        token = self.fake.issue_token()
        key = str(self.fake.api_key(token))
        self._tokens[key] = token
        return key

    def _token(self, key: str) -> str:
        return self._tokens.get(key, key)

    def reply_for(self, prompt: str, turn: int) -> str:
        return str(self.fake.reply_for(prompt, turn))

    def thinking_of(self, prompt: str) -> str:
        return str(self.fake.thinking_for(prompt))

    def chat_posts(self, token: str) -> list[ChatPost]:
        raw = self._token(token)
        return [
            ChatPost(r.path.split("/")[5], str(r.json.get("content", "")), r.status)
            for r in self.fake.message_requests()
            if r.headers.get("token") == raw and isinstance(r.json, dict)
        ]

    def sessions(self, token: str) -> dict[str, list[str]]:
        return dict(self.fake.sessions(self._token(token)))

    def requests_with(self, token: str) -> list[RecordedRequest]:
        raw = self._token(token)
        return [r for r in self.fake.requests if raw in (r.headers.get("token") or "")]

    def stop(self) -> None:
        self.fake.stop()


# protocol -> the backend's factory: the default protocol first.
BACKENDS: dict[str, Callable[[], GuiBackend]] = {"agent": AgentBackend, "hailuo-v4": HailuoV4Backend}


def available_protocols() -> list[str]:
    return list(BACKENDS)
