"""The provider through g4f's front doors, against the fake Hailuo server."""

from __future__ import annotations

import g4f
import pytest
from g4f.client import AsyncClient, Client
from g4f.errors import ModelNotFoundError
from g4f.providers.response import JsonConversation

from g4f_hailuo.provider import Conversation, HailuoAI


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def chat(fake, token, messages, **kwargs):
    return g4f.ChatCompletion.create(
        model="MiniMax", messages=messages, provider="HailuoAI", api_key=token, base_url=fake.url, **kwargs
    )


def test_provider_name_resolves_to_this_package():
    from g4f.Provider import ProviderLoader

    assert ProviderLoader.from_name("HailuoAI") is HailuoAI
    assert HailuoAI.__module__ == "g4f_hailuo.provider"


def test_chat_completion_non_stream(fake, token):
    answer = chat(fake, token, [user("Hello there")])
    assert answer == fake.reply_for("Hello there", 1)
    (sent,) = fake.chat_requests()
    assert sent.headers["token"] == token and sent.signature_ok and sent.token_ok
    assert sent.form["msgContent"] == "Hello there" and sent.form["chatID"] == "0"
    assert sent.form["characterID"] == "1" and sent.form["searchMode"] == "0"
    assert sent.headers["Accept"] == "text/event-stream"
    assert sent.headers["Origin"] == fake.url and sent.headers["Referer"] == fake.url + "/"


def test_chat_completion_stream_yields_text_then_finish(fake, token):
    chunks = list(chat(fake, token, [user("Stream please")], stream=True))
    text = "".join(c for c in chunks if isinstance(c, str))
    assert text == fake.reply_for("Stream please", 1)
    assert sum(isinstance(c, str) and c != "" for c in chunks) > 1, "expected several deltas"
    kinds = [type(c).__name__ for c in chunks if not isinstance(c, str)]
    assert kinds[:2] == ["TitleGeneration", "Conversation"] and kinds[-2:] == ["Usage", "FinishReason"]


def test_token_and_base_url_from_the_environment(fake, token, monkeypatch):
    monkeypatch.setenv("HAILUOAI_API_KEY", token)
    monkeypatch.setenv("HAILUOAI_BASE_URL", fake.url)
    answer = g4f.ChatCompletion.create(model="minimax", messages=[user("from env")], provider="HailuoAI")
    assert answer == fake.reply_for("from env", 1)


def test_sync_client(fake, token):
    client = Client(api_key=token, base_url=fake.url)
    response = client.chat.completions.create(
        model="MiniMax", messages=[user("sync client")], provider="HailuoAI"
    )
    assert response.choices[0].message.content == fake.reply_for("sync client", 1)


async def test_async_client_streaming(fake, token):
    client = AsyncClient(api_key=token, base_url=fake.url)
    stream = client.chat.completions.create(
        model="MiniMax", messages=[user("async stream")], provider="HailuoAI", stream=True
    )
    parts = [chunk.choices[0].delta.content async for chunk in stream if chunk.choices[0].delta.content]
    assert "".join(parts) == fake.reply_for("async stream", 1)
    assert len(parts) > 1


def _conversation(chunks) -> Conversation:
    (conversation,) = [c for c in chunks if isinstance(c, Conversation)]
    return conversation


def test_three_turns_send_history_once_then_only_the_newest_message(fake, token):
    messages = [{"role": "system", "content": "Be brief."}, user("first")]
    chunks = list(chat(fake, token, messages, stream=True))
    conversation = _conversation(chunks)
    replies = ["".join(c for c in chunks if isinstance(c, str))]
    for turn, text in enumerate(["second", "third"], start=2):
        messages += [assistant(replies[-1]), user(text)]
        chunks = list(chat(fake, token, messages, stream=True, conversation=conversation))
        replies.append("".join(c for c in chunks if isinstance(c, str)))
        assert replies[-1] == fake.reply_for(text, turn)
    first, second, third = fake.chat_requests()
    assert first.form["chatID"] == "0"
    assert first.form["msgContent"] == "System: Be brief.\nUser: first\nAssistant:"
    assert (second.form["chatID"], second.form["msgContent"]) == (conversation.chatID, "second")
    assert (third.form["chatID"], third.form["msgContent"]) == (conversation.chatID, "third")
    assert third.headers["Referer"] == f"{fake.url}/?chat={conversation.chatID}"
    assert fake.chats(token)[conversation.chatID] == [
        "System: Be brief.\nUser: first\nAssistant:",
        "second",
        "third",
    ]


def test_conversation_never_holds_the_token(fake, token):
    conversation = _conversation(chat(fake, token, [user("hi")], stream=True))
    assert token not in repr(conversation.get_dict()) and token not in repr(conversation)
    assert conversation.token.startswith("sha256:")


def test_conversation_round_trips_as_a_plain_dict_like_the_gui_stores_it(fake, token):
    conversation = _conversation(chat(fake, token, [user("one")], stream=True))
    stored = JsonConversation(**conversation.get_dict())  # what g4f's GUI and API hand back
    chat(fake, token, [user("one"), assistant("x"), user("two")], conversation=stored)
    assert fake.chat_requests()[-1].form["chatID"] == conversation.chatID


@pytest.mark.parametrize(
    "foreign",
    [
        JsonConversation(
            token="some-other-raw-token", chatID="242830597915504644", characterID=1
        ),  # built-in's
        JsonConversation(message_id="abc"),
        {"chatID": "123"},
        "not a conversation",
    ],
    ids=["builtin-shape", "other-shape", "dict-without-token", "string"],
)
def test_foreign_conversation_starts_a_new_chat(fake, token, foreign):
    messages = [user("a"), assistant("b"), user("c")]
    assert chat(fake, token, messages, conversation=foreign) == fake.reply_for("c", 1)
    sent = fake.chat_requests()[-1]
    assert (
        sent.form["chatID"] == "0" and sent.form["msgContent"] == "User: a\nAssistant: b\nUser: c\nAssistant:"
    )


def test_conversation_of_another_account_starts_a_new_chat(fake, token):
    conversation = _conversation(chat(fake, token, [user("mine")], stream=True))
    other = fake.issue_token(name="other")
    chat(fake, other, [user("mine"), assistant("x"), user("yours")], conversation=conversation)
    assert fake.chat_requests()[-1].form["chatID"] == "0"


def test_return_conversation_false_yields_none(fake, token):
    chunks = list(chat(fake, token, [user("hi")], stream=True, return_conversation=False))
    assert not any(isinstance(c, (Conversation, JsonConversation)) for c in chunks)


def test_model_aliases_and_unknown_models(fake, token):
    assert HailuoAI.get_model("") == HailuoAI.get_model("auto") == "MiniMax"
    assert HailuoAI.get_model("minimax") == HailuoAI.get_model("MINIMAX") == "MiniMax"
    assert "MiniMax" in HailuoAI.get_models()
    with pytest.raises(ModelNotFoundError, match="gpt-4o"):
        g4f.ChatCompletion.create(
            model="gpt-4o", messages=[user("hi")], provider="HailuoAI", api_key=token, base_url=fake.url
        )
    assert not fake.chat_requests()


def test_device_id_comes_from_the_token_claims(fake, token):
    from g4f_hailuo.accounts.identity import claims_device_id, jwt_claims

    chat(fake, token, [user("hi")])
    assert not [r for r in fake.requests if r.path.endswith("/device/register")]
    (sent,) = fake.chat_requests()
    assert sent.query["device_id"] == claims_device_id(jwt_claims(token))


def test_device_registration_when_the_token_names_none_happens_once(fake):
    token = fake.issue_token(with_device_id=False)
    chat(fake, token, [user("one")])
    chat(fake, token, [user("two")])
    registrations = [r for r in fake.requests if r.path.endswith("/device/register")]
    assert len(registrations) == 1 and "device_id" not in registrations[0].query
    assert registrations[0].json == {"uuid": registrations[0].query["uuid"]}
    first, second = fake.chat_requests()
    assert first.query["device_id"] == second.query["device_id"] and first.query["device_id"].isdigit()
    assert first.query["uuid"] == second.query["uuid"]


def test_a_registered_device_is_kept_for_the_next_process_without_the_token(fake, isolated_g4f):
    """Every g4f api worker and CLI run is a new process: the account keeps its one device."""
    import stat

    from g4f_hailuo.accounts.devices import DEVICES_FILE_NAME

    token = fake.issue_token(with_device_id=False)
    chat(fake, token, [user("one")])
    HailuoAI._identities.clear()  # what a new process starts with
    chat(fake, token, [user("two")])
    assert len([r for r in fake.requests if r.path.endswith("/device/register")]) == 1
    first, second = fake.chat_requests()
    assert first.query["device_id"] == second.query["device_id"]
    stored = isolated_g4f / DEVICES_FILE_NAME
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert token not in stored.read_text() and first.query["device_id"] in stored.read_text()
    assert not HailuoAI.get_cache_file().exists()  # the token itself is still never stored
    from g4f_hailuo.accounts import token_files
    from g4f_hailuo.accounts import token_sources as _token_sources

    assert _token_sources.tokens_in_files(isolated_g4f, fake.url) == ((), ())
    assert not [
        key for key in token_files._parsed if key[0].name == DEVICES_FILE_NAME
    ]  # not read as an export


def test_the_token_is_checked_once_per_process_with_user_info(fake, token):
    chat(fake, token, [user("one")])
    chat(fake, token, [user("two")])
    assert len([r for r in fake.requests if r.path == "/v1/api/user/info"]) == 1


def test_each_request_has_its_own_unix_and_a_valid_signature(fake, token):
    chat(fake, token, [user("one")])
    chat(fake, token, [user("two")])
    unixes = [r.query["unix"] for r in fake.requests]
    assert len(set(unixes)) == len(unixes)
    assert all(r.signature_ok for r in fake.requests)


async def test_get_quota_checks_the_token_without_a_chat(fake, token):
    quota = await HailuoAI.get_quota(api_key=token, base_url=fake.url)
    assert quota["protocol"] == "hailuo-v4" and quota["account"].startswith("sha256:")
    assert not fake.chat_requests()
    assert "/v1/api/user/info" in [r.path for r in fake.requests]
