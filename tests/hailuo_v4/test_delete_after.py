"""``delete_after`` / HAILUOAI_DELETE_CHATS on the ``/v4`` chat: ``DELETE /v1/api/chat/history/{chatID}``
once the answer is whole; a failed delete never spoils the answer."""

from __future__ import annotations

import g4f
import pytest
from g4f.errors import BadRequestError
from g4f.providers.response import FinishReason

from g4f_hailuo.protocols.hailuo_v4 import turn as v4_turn
from g4f_hailuo.provider import Conversation


def ask(fake, token, text, **kwargs):
    return g4f.ChatCompletion.create(
        model="MiniMax",
        messages=[{"role": "user", "content": text}],
        provider="HailuoAI",
        api_key=token,
        base_url=fake.url,
        **kwargs,
    )


def deletes(fake):
    return [r for r in fake.requests if r.method == "DELETE"]


def test_delete_after_removes_the_chat_once_the_answer_is_whole(fake, token):
    chunks = list(ask(fake, token, "Hello", stream=True, delete_after=True))
    assert "".join(c for c in chunks if isinstance(c, str)) == fake.reply_for("Hello", 1)
    assert isinstance(chunks[-1], FinishReason)
    conversation = next(c for c in chunks if isinstance(c, Conversation))  # still yielded
    (deleted,) = deletes(fake)
    assert deleted.path == f"/v1/api/chat/history/{conversation.chatID}"
    assert deleted.signature_ok and deleted.token_ok and deleted.status == 200
    assert fake.chats(token) == {}


def test_the_environment_switch_deletes_too(fake, token, monkeypatch):
    monkeypatch.setenv("HAILUOAI_DELETE_CHATS", "1")
    assert ask(fake, token, "Hi") == fake.reply_for("Hi", 1)
    assert len(deletes(fake)) == 1 and fake.chats(token) == {}


def test_without_it_the_chat_stays(fake, token):
    ask(fake, token, "Hi")
    assert deletes(fake) == [] and len(fake.chats(token)) == 1


def test_a_failed_delete_keeps_the_answer(fake, token, debug_log, monkeypatch):
    monkeypatch.setattr(v4_turn, "HISTORY_PATH", "/v1/api/chat/nowhere")  # the fake answers 404
    assert ask(fake, token, "Hi", delete_after=True) == fake.reply_for("Hi", 1)
    assert [r.status for r in deletes(fake)] == [404]
    assert any("could not delete the Hailuo chat" in line for line in debug_log)
    assert not any(token in line for line in debug_log)


def test_a_bad_value_is_refused_before_any_request(fake, token):
    with pytest.raises(BadRequestError, match="delete_after"):
        ask(fake, token, "Hi", delete_after="sometimes")
    assert fake.requests == []
