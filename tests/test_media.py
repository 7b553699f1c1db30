"""The attachment helpers alone (pure): types from names and bytes, names from types, what
``attachment_from`` reads and refuses. The front-door tests are in ``agent/test_agent_attachments.py``."""

from __future__ import annotations

import io
import zipfile

import pytest
from g4f.errors import BadRequestError

from g4f_hailuo.protocols.agent.uploads import form_body
from g4f_hailuo.protocols.media import Attachment, attachment_from, collect_attachments
from g4f_hailuo.protocols.media_types import name_for, sniff_type, type_from_name

OFFICE = "application/vnd.openxmlformats-officedocument."


def _zip(*members: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for member in members:
            archive.writestr(member, "x")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (b"\x89PNG\r\n\x1a\n\0\0", "image/png"),
        (b"\xff\xd8\xff\xdb\0", "image/jpeg"),
        (b"GIF89a\0\0", "image/gif"),
        (b"RIFF\x10\0\0\0WEBPVP8 ", "image/webp"),
        (b"RIFF\x10\0\0\0WAVEfmt ", "audio/wav"),
        (b"\0\0\0\x18ftypheic\0\0", "image/heic"),
        (b"\0\0\0\x18ftypisom\0\0", "video/mp4"),
        (b"BM" + b"\x46\0\0\0" + b"\0\0\0\0" + b"\x36\0\0\0" + b"\0" * 16, "image/bmp"),
        (b"%PDF-1.4\n", "application/pdf"),
        (b"ID3\x03\0", "audio/mpeg"),
        (_zip("[Content_Types].xml", "word/document.xml"), OFFICE + "wordprocessingml.document"),
        (_zip("[Content_Types].xml", "xl/workbook.xml"), OFFICE + "spreadsheetml.sheet"),
        (_zip("readme.txt"), "application/zip"),
        (b"PK\x03\x04broken", "application/zip"),
        ("Grüße\n".encode(), "text/plain"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
        (b"\0\x01\x02binary", "application/octet-stream"),
        (("x" * 8191 + "ü").encode(), "text/plain"),  # a character cut by the 8 KiB probe
        (b"\xc3\x28", "application/octet-stream"),
    ],
)
def test_sniffing(data, mime):
    assert sniff_type(data) == mime


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("a.PNG", "image/png"),
        ("b.webp", "image/webp"),
        ("c.md", "text/markdown"),
        ("d", None),
        ("e.zzz", None),
    ],
)
def test_type_from_name(name, mime):
    assert type_from_name(name) == mime


@pytest.mark.parametrize(
    ("mime", "name"),
    [
        ("image/jpeg", "image.jpg"),
        ("application/pdf", "document.pdf"),
        ("text/plain", "document.txt"),
        ("audio/mpeg", "audio.mp3"),
        ("application/octet-stream", "file.bin"),
        ("application/x-unknown", "file.bin"),
    ],
)
def test_name_for(mime, name):
    assert name_for(mime) == name


def test_a_data_uri_may_carry_its_name_and_a_file_object_its_own():
    png = b"\x89PNG\r\n\x1a\nrest"
    named = attachment_from("data:image/png;name=my%20cat.png;base64,iVBORw0KGgpyZXN0")
    assert named == Attachment(png, "my cat.png", "image/png")
    opened = io.BytesIO(png)
    opened.name = "/tmp/shot.png"
    assert attachment_from(opened) == Attachment(png, "shot.png", "image/png")
    assert attachment_from(opened).data == png  # read again from the start
    assert attachment_from("data:,hello%20world").data == b"hello world"


def test_text_mode_files_and_odd_objects_are_refused():
    with pytest.raises(BadRequestError, match="text mode"):
        attachment_from(io.StringIO("words"), "a.txt")
    with pytest.raises(BadRequestError, match="of type int"):
        attachment_from(3, "a.txt")


def test_messages_before_the_last_assistant_turn_give_no_files():
    old = {
        "role": "user",
        "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}],
    }
    history = [old, {"role": "assistant", "content": "seen"}, {"role": "user", "content": "and now?"}]
    assert collect_attachments(None, history) == []


def test_the_form_puts_the_fields_in_order_and_the_file_last_with_escaped_names():
    file = Attachment(b"\x00data", 'we"ird\nname.png', "image/png")
    body, content_type = form_body([("key", "k/1"), ("policy", "cG9s")], file)
    boundary = content_type.split("boundary=")[1].encode()
    parts = body.split(b"--" + boundary)
    assert parts[0] == b"" and parts[-1] == b"--\r\n"
    assert [p.split(b'name="')[1].split(b'"')[0] for p in parts[1:-1]] == [b"key", b"policy", b"file"]
    assert b'filename="we%22ird%0Aname.png"\r\nContent-Type: image/png\r\n\r\n\x00data\r\n' in parts[3]
