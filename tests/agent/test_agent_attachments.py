"""Images and files through g4f's front doors (``AsyncClient``, ``ChatCompletion.create``) against
the fake Agent site: uploads/prepare, the storage form POST, the turn's ``attachments``; the
limits, names and types; what ``matrix`` and ``hailuo-v4`` do with files."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import g4f
import pytest
from g4f.client import AsyncClient
from g4f.errors import BadRequestError, ResponseStatusError

from agent.front_door import ask, paths
from g4f_hailuo.fake.agent.server import FakeAgent
from g4f_hailuo.fake.agent.state import StoredObject
from g4f_hailuo.fake.agent.uploads import STORAGE_PREFIX
from g4f_hailuo.protocols.agent import uploads as client_uploads

API = "/minimax-cloud/api/v1"
PREPARE = f"POST {API}/uploads/prepare"
MB = 1024 * 1024
IMAGE_LIMIT, FILE_LIMIT = 20 * MB, 50 * MB  # as documented in the README
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(200))
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def user(content: Any) -> list[dict[str, Any]]:
    """One user message: text, or a list of content parts."""
    return [{"role": "user", "content": content}]


def image_part(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def stored(agent: FakeAgent) -> list[StoredObject]:
    return list(agent.uploads.stored.values())


def turn_bodies(agent: FakeAgent) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in agent.message_requests()]


def storage_posts(agent: FakeAgent) -> list[Any]:
    return [r for r in agent.requests if r.path.startswith(STORAGE_PREFIX)]


def nothing_sent(agent: FakeAgent) -> bool:
    """No upload asked for, nothing stored, no session, no turn."""
    sent = paths(agent)
    return (
        PREPARE not in sent
        and not storage_posts(agent)
        and not agent.message_requests()
        and not any(p.endswith("/session") for p in sent)
    )


async def test_an_image_through_async_client_is_stored_whole_and_named_in_the_turn(agent, agent_key):
    client = AsyncClient(api_key=agent_key)
    done = await client.chat.completions.create(
        model="MiniMax",
        messages=user("What is in this picture?"),
        provider="HailuoAI",
        base_url=agent.url,
        media=[(PNG, "cat.png")],
    )
    assert done.choices[0].message.content == agent.reply_for(
        "What is in this picture?", 1, files=("cat.png",)
    )
    (obj,) = stored(agent)
    assert obj.data == PNG and obj.content_type == "image/png" and obj.file_name == "cat.png"
    (turn,) = turn_bodies(agent)
    assert turn["content"] == "What is in this picture?"
    assert turn["attachments"] == [
        {
            "meta": {
                "attachment_type": "file",
                "file_name": "cat.png",
                "mime_type": "image/png",
                "size_bytes": len(PNG),
            },
            "cloud": {"object_key": obj.object_key},
        }
    ]
    assert agent.uploads.referenced == [[obj.object_key]]
    prepare = next(r for r in agent.requests if f"{r.method} {r.path}" == PREPARE)
    assert prepare.json == {
        "purpose": 1,
        "file_name": "cat.png",
        "mime_type": "image/png",
        "size_bytes": len(PNG),
    }
    # Uploads come before the session and the turn; the storage gets no MiniMax credential.
    order = paths(agent)
    assert order.index(PREPARE) < min(i for i, p in enumerate(order) if p.endswith("/session"))
    (post,) = storage_posts(agent)
    assert post.status == 204 and post.query == {} and not post.rejected
    assert not {"token", "yy", "x-signature", "x-timestamp"} & set(post.headers)


async def test_image_content_parts_and_media_arrive_in_order_named_from_their_type(agent, agent_key):
    client = AsyncClient(api_key=agent_key)
    messages = user([{"type": "text", "text": "Compare them"}, image_part(data_uri("image/png", PNG))])
    done = await client.chat.completions.create(
        model="MiniMax", messages=messages, provider="HailuoAI", base_url=agent.url, media=[(JPEG, None)]
    )
    names = ("image.png", "image.jpg")  # the message's image first, then media; no names given
    assert done.choices[0].message.content == agent.reply_for("Compare them", 1, files=names)
    assert [(o.file_name, o.content_type, o.data) for o in stored(agent)] == [
        ("image.png", "image/png", PNG),
        ("image.jpg", "image/jpeg", JPEG),
    ]


def test_a_missing_file_name_comes_from_the_sniffed_type_not_a_generic_declared_one(agent, agent_key):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as docx:
        docx.writestr("[Content_Types].xml", "<Types/>")
        docx.writestr("word/document.xml", "<w:document/>")
    media = [(data_uri("application/octet-stream", PDF), None), archive.getvalue(), (b"plain words\n", None)]
    answer = ask(agent, agent_key, "read these", media=media)
    names = ("document.pdf", "document.docx", "document.txt")
    assert answer == agent.reply_for("read these", 1, files=names)
    assert [o.content_type for o in stored(agent)] == [
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "text/plain",
    ]


def test_the_name_decides_the_type_and_a_path_keeps_its_own_name(agent, agent_key, tmp_path: Path):
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n")
    ask(agent, agent_key, "two files", media=[notes, (PNG, "dir/../shot.jpeg")])
    assert [(o.file_name, o.content_type) for o in stored(agent)] == [
        ("notes.md", "text/markdown"),
        ("shot.jpeg", "image/jpeg"),  # the name wins over the bytes; only its last component is kept
    ]


def test_a_file_only_turn_sends_a_blank_content(agent, agent_token, agent_key):
    answer = ask(agent, agent_key, user([image_part(data_uri("image/png", PNG))]))
    assert answer == agent.reply_for(" ", 1, files=("image.png",))
    (turn,) = turn_bodies(agent)
    assert turn["content"] == " " and len(turn["attachments"]) == 1
    assert list(agent.sessions(agent_token).values()) == [[" "]]


def test_a_continuation_uploads_only_its_own_files(agent, agent_key):
    first = list(ask(agent, agent_key, "first", media=[(PNG, "a.png")], stream=True))
    conversation = next(c for c in first if hasattr(c, "chatID"))
    history = [*user("first"), {"role": "assistant", "content": "ok"}, *user("second")]
    answer = ask(agent, agent_key, history, conversation=conversation, media=[(PDF, "b.pdf")])
    assert answer == agent.reply_for("second", 2, files=("b.pdf",))
    assert [o.file_name for o in stored(agent)] == ["a.png", "b.pdf"]
    assert [[a["meta"]["file_name"] for a in t["attachments"]] for t in turn_bodies(agent)] == [
        ["a.png"],
        ["b.pdf"],
    ]


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (PNG + b"\0" * (IMAGE_LIMIT - len(PNG) + 1), "huge.png", "huge.png"),
        (PDF + b"\0" * (FILE_LIMIT - len(PDF) + 1), "huge.pdf", "huge.pdf"),
        (b"\xff\xd8\xff" + b"\0" * IMAGE_LIMIT, None, "image.jpg"),
    ],
    ids=["image over 20 MB", "document over 50 MB", "unnamed image"],
)
def test_a_file_over_its_limit_is_refused_by_name_before_anything_is_sent(
    agent, agent_key, data, name, words
):
    with pytest.raises(BadRequestError, match="MB") as raised:
        ask(agent, agent_key, "too big", media=[(PNG, "small.png"), (data, name)])
    assert words in str(raised.value)
    assert nothing_sent(agent) and agent.uploads.prepared == {}


def test_a_large_path_is_refused_without_reading_it(agent, agent_key, tmp_path: Path):
    big = tmp_path / "scan.pdf"
    with big.open("wb") as file:
        file.truncate(FILE_LIMIT + 1)  # sparse: nothing to read
    with pytest.raises(BadRequestError, match=r"'scan\.pdf' is 50\.0 MB"):
        ask(agent, agent_key, "too big", media=[big])
    assert nothing_sent(agent)


@pytest.mark.parametrize(
    ("media", "message"),
    [
        ([("https://example.com/cat.png?sig=SECRET", "cat.png")], "'cat.png' is a link"),
        ([("/etc/hostname", "hosts.txt")], "not a data: URI"),
        ([(b"", "empty.txt")], "'empty.txt' is empty"),
        ([("data:image/png;base64,@@@", "bad.png")], "base64"),
        ([(PNG, f"{i}.png") for i in range(21)], "at most 20"),
    ],
    ids=["link", "plain string", "empty", "bad base64", "too many"],
)
def test_media_that_cannot_be_sent_is_a_bad_request_before_any_upload(agent, agent_key, media, message):
    with pytest.raises(BadRequestError, match=message) as raised:
        ask(agent, agent_key, "look", media=media)
    assert "SECRET" not in str(raised.value)  # a link's query is never shown
    assert nothing_sent(agent)


def test_a_link_in_an_image_part_is_never_fetched(agent, agent_key):
    link = f"{agent.url}/pictures/cat.png"
    with pytest.raises(BadRequestError, match="does not download"):
        ask(agent, agent_key, user([{"type": "text", "text": "see"}, image_part(link)]))
    assert "/pictures/cat.png" not in paths(agent) and nothing_sent(agent)


def test_a_failing_storage_is_retried_then_a_clear_error_without_a_turn(agent, agent_key):
    agent.uploads.storage_failures = 1  # a 503 is retried like any 5xx
    assert ask(agent, agent_key, "retry", media=[(PNG, "a.png")]) == agent.reply_for(
        "retry", 1, files=("a.png",)
    )
    agent.uploads.storage_failures = 99
    with pytest.raises(ResponseStatusError, match=r"'b.png'.*HTTP 503.*InternalError") as raised:
        ask(agent, agent_key, "fail", media=[(PNG, "b.png")])
    assert "storage" in str(raised.value)
    assert len(agent.message_requests()) == 1 and len(agent.session_creates()) == 1  # the first turn only


def test_a_turn_naming_an_object_it_did_not_store_is_refused(agent, agent_key, monkeypatch):
    real = client_uploads.attachment_entry
    monkeypatch.setattr(
        client_uploads, "attachment_entry", lambda file, key: real(file, key.replace("agent/", "other/"))
    )
    with pytest.raises(BadRequestError, match="unknown object_key"):
        ask(agent, agent_key, "sneaky", media=[(PNG, "a.png")])
    assert agent.uploads.referenced == [] and agent.message_requests()[0].status == 400


@pytest.mark.parametrize(
    ("bend", "status", "code"),
    [
        ("none", 204, ""),
        ("a token header", 400, "InvalidArgument"),
        ("a query", 400, "InvalidArgument"),
        ("the file first", 400, "InvalidArgument"),
        ("fields out of order", 400, "InvalidArgument"),
        ("a changed policy", 403, "SignatureDoesNotMatch"),
        ("an unknown key", 403, "AccessDenied"),
        ("another bucket", 403, "AccessDenied"),
        ("a longer file", 400, "EntityTooLarge"),
        ("an expired policy", 403, "Policy expired"),
    ],
)
def test_the_storage_takes_only_the_prepared_form(agent, agent_key, bend, status, code):
    ask(agent, agent_key, "prepare one", media=[(PNG, "a.png")])
    (prepared,) = agent.uploads.prepared.values()
    url = f"{agent.url}{STORAGE_PREFIX}/{'other' if bend == 'another bucket' else prepared.bucket}"
    fields = dict(prepared.form_fields)
    if bend == "a changed policy":
        fields["policy"] = fields["policy"][:-4] + "AAA="
    if bend == "an unknown key":
        fields["key"] += "x"
    pairs = list(reversed(fields.items())) if bend == "fields out of order" else list(fields.items())
    form = aiohttp.FormData()
    content = PNG + (b"x" if bend == "a longer file" else b"")
    for name, value in [("file", b""), *pairs] if bend == "the file first" else [*pairs, ("file", b"")]:
        if name == "file":
            form.add_field("file", content, filename="a.png", content_type="image/png")
        else:
            form.add_field(name, value)
    if bend == "an expired policy":
        agent.clock = lambda: prepared.expires_at + 1
    headers = {"token": "eyJ"} if bend == "a token header" else {}
    target = url + ("?token=eyJ" if bend == "a query" else "")
    assert asyncio.run(_post(target, form, headers)) == (status, code)


async def _post(url: str, form: aiohttp.FormData, headers: dict[str, str]) -> tuple[int, str]:
    """The storage's status and its error ``Code`` (or the expected words of its message)."""
    async with aiohttp.ClientSession() as http, http.post(url, data=form, headers=headers) as response:
        text = await response.text()
    code = re.search(r"<Code>(\w+)</Code>", text)
    said = "Policy expired" if "Policy expired" in text else code.group(1) if code else ""
    return response.status, said


def test_protocol_matrix_refuses_files_before_any_request(agent, agent_key):
    with pytest.raises(BadRequestError, match="protocol 'matrix'"):
        ask(agent, agent_key, "look", protocol="matrix", media=[(PNG, "a.png")])
    assert not any("/matrix/api/v1/chat/" in p for p in paths(agent)) and nothing_sent(agent)


def test_an_account_moved_to_matrix_refuses_files_then_still_chats(agent, agent_key):
    agent.session_routes = False  # the site serves this account only the polling API
    with pytest.raises(BadRequestError, match="protocol 'matrix'"):
        ask(agent, agent_key, "look", media=[(PNG, "a.png")])
    assert not any("/matrix/api/v1/chat/" in p for p in paths(agent)) and agent.uploads.prepared == {}
    assert ask(agent, agent_key, "words only") == agent.reply_for("words only", 1)


def test_protocol_hailuo_v4_refuses_files_before_the_chat(fake, token):
    with pytest.raises(BadRequestError, match="protocol 'hailuo-v4'"):
        g4f.ChatCompletion.create(
            model="MiniMax",
            messages=user([{"type": "text", "text": "look"}, image_part(data_uri("image/png", PNG))]),
            provider="HailuoAI",
            api_key=token,
            base_url=fake.url,
            protocol="hailuo-v4",
        )
    assert fake.chat_requests() == []
