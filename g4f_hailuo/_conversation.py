"""The conversation handle g4f hands back to continue a Hailuo chat."""

from __future__ import annotations

import hashlib
from typing import Any

from g4f.providers.response import JsonConversation

__all__ = ["Conversation", "continued_chat", "token_fingerprint"]

NEW_CHAT_ID = "0"
LEGACY_PROTOCOL = "hailuo-v4"  # what a conversation without a protocol field was made with
DEFAULT_CHARACTER_ID = "1"


def token_fingerprint(token: str) -> str:
    """A one-way tag for "which account made this chat".

    g4f's GUI and API server store conversations (the GUI in the browser), so
    the conversation carries this tag, never the token itself.
    """
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:32]


class Conversation(JsonConversation):
    """``token`` is the account's fingerprint (see :func:`token_fingerprint`); ``chatID`` the
    chat (``/v4``) or session (Agent) id; ``characterID`` the character (``/v4``) or agent id;
    ``protocol`` the protocol that made it (missing in conversations of versions that spoke
    only ``hailuo-v4``)."""

    def __init__(
        self,
        token: str = "",
        chatID: str = NEW_CHAT_ID,
        characterID: str = DEFAULT_CHARACTER_ID,
        protocol: str = LEGACY_PROTOCOL,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.token = token
        self.chatID = str(chatID)
        self.characterID = str(characterID)
        self.protocol = protocol

    def __repr__(self) -> str:
        return (
            f"Conversation(protocol={self.protocol!r}, chatID={self.chatID!r},"
            f" characterID={self.characterID!r})"
        )


def _field(conversation: Any, name: str) -> Any:
    if isinstance(conversation, dict):
        return conversation.get(name)
    return getattr(conversation, name, None)


def continued_chat(conversation: Any, token: str, protocol: str = LEGACY_PROTOCOL) -> tuple[str, str] | None:
    """``(chatID, characterID)`` when ``conversation`` continues a chat of this
    account and protocol; ``None`` (start a new chat) for anything else: no conversation,
    one of another account or protocol, of another shape, or left by g4f's built-in provider."""
    if conversation is None:
        return None
    if _field(conversation, "token") != token_fingerprint(token):
        return None
    if (_field(conversation, "protocol") or LEGACY_PROTOCOL) != protocol:
        return None
    chat_id = _field(conversation, "chatID")
    character_id = _field(conversation, "characterID")
    chat_id = str(chat_id) if isinstance(chat_id, (str, int)) else ""
    character_id = str(character_id) if isinstance(character_id, (str, int)) else DEFAULT_CHARACTER_ID
    if not chat_id.isdigit() or chat_id == NEW_CHAT_ID or not character_id.isdigit():
        return None
    return chat_id, character_id
