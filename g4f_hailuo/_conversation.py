"""The conversation handle g4f hands back to continue a Hailuo chat."""

from __future__ import annotations

import hashlib
from typing import Any

from g4f.providers.response import JsonConversation

__all__ = ["Conversation", "continued_chat", "token_fingerprint"]

NEW_CHAT_ID = "0"
DEFAULT_CHARACTER_ID = "1"


def token_fingerprint(token: str) -> str:
    """A one-way tag for "which account made this chat".

    g4f's GUI and API server store conversations (the GUI in the browser), so
    the conversation carries this tag, never the token itself.
    """
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:32]


class Conversation(JsonConversation):
    """``token`` is the account's fingerprint (see :func:`token_fingerprint`)."""

    def __init__(
        self,
        token: str = "",
        chatID: str = NEW_CHAT_ID,
        characterID: str = DEFAULT_CHARACTER_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.token = token
        self.chatID = str(chatID)
        self.characterID = str(characterID)

    def __repr__(self) -> str:
        return f"Conversation(chatID={self.chatID!r}, characterID={self.characterID!r})"


def _field(conversation: Any, name: str) -> Any:
    if isinstance(conversation, dict):
        return conversation.get(name)
    return getattr(conversation, name, None)


def continued_chat(conversation: Any, token: str) -> tuple[str, str] | None:
    """``(chatID, characterID)`` when ``conversation`` continues a chat of this
    account; ``None`` (start a new chat) for anything else: no conversation, one
    of another account, of another shape, or left by g4f's built-in provider."""
    if conversation is None:
        return None
    if _field(conversation, "token") != token_fingerprint(token):
        return None
    chat_id = _field(conversation, "chatID")
    character_id = _field(conversation, "characterID")
    chat_id = str(chat_id) if isinstance(chat_id, (str, int)) else ""
    character_id = str(character_id) if isinstance(character_id, (str, int)) else DEFAULT_CHARACTER_ID
    if not chat_id.isdigit() or chat_id == NEW_CHAT_ID or not character_id.isdigit():
        return None
    return chat_id, character_id
