"""Images and files on MiniMax Agent (Gen C; protocol doc section 5.4).

Each file of a turn (:class:`~g4f_hailuo.protocols.media.Attachment`) goes up before the turn:

1. ``POST /minimax-cloud/api/v1/uploads/prepare`` (under the prefix the account is served)
   ``{"purpose":1,"file_name","mime_type","size_bytes"}``, a signed call like every other; the
   answer (top level, else ``data``) is ``object_key`` and ``upload_instruction{method:"POST",
   url, form_fields}``.
2. A ``multipart/form-data`` POST of the file to that ``url`` (the site's object storage, an
   OSS-style form upload): the form fields in the order given, the file last. No MiniMax header
   or query goes there (no token, no signature). The storage answers 204 (any 2xx is taken).
3. The turn body names each file: ``"attachments":[{"meta":{"attachment_type":"file","file_name",
   "mime_type","size_bytes"},"cloud":{"object_key"}}]`` (:func:`attachment_entry`).

:class:`TurnFiles` uploads a turn's files once, so that a turn redone before it was accepted (a
401 re-checked, a session gone) names the same objects. A failed upload raises before the turn
is sent, naming the file.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from g4f.errors import BadRequestError, G4FError, ResponseError, ResponseStatusError
from g4f.errors import TimeoutError as G4FTimeoutError
from yarl import URL

from g4f_hailuo.protocols.agent.client import API, AgentSite
from g4f_hailuo.protocols.media import Attachment
from g4f_hailuo.transport.http import read_body, send_with_retries
from g4f_hailuo.transport.sessions import request_timeout

__all__ = ["PREPARE_PATH", "TurnFiles", "attachment_entry", "form_body", "prepare_body", "upload_file"]

PREPARE_LEAF = "/uploads/prepare"
PREPARE_PATH = API + PREPARE_LEAF  # Gen C's
PURPOSE_CHAT = 1
_STORED = frozenset({200, 201, 204})
_ERROR_BODY_LIMIT = 4096
_XML_TEXT = re.compile(r"<(Code|Message)>([^<]{0,200})</\1>")
_FIELD_ESCAPES = {ord('"'): "%22", ord("\r"): "%0D", ord("\n"): "%0A"}  # as browsers write them


class TurnFiles:
    """The files of one turn, uploaded on the first :meth:`entries` and remembered."""

    __slots__ = ("_entries", "files")

    def __init__(self, files: Sequence[Attachment]) -> None:
        self.files = list(files)
        self._entries: list[dict[str, Any]] | None = None

    async def entries(self, site: AgentSite, api: str = API) -> list[dict[str, Any]]:
        """The turn body's ``attachments`` (uploading each file the first time, under the session
        API's prefix ``api``); [] for none."""
        if self._entries is None:
            self._entries = [await upload_file(site, file, api) for file in self.files]
        return self._entries


def _described(file: Attachment) -> dict[str, Any]:
    return {"file_name": file.file_name, "mime_type": file.mime_type, "size_bytes": file.size}


def prepare_body(file: Attachment) -> dict[str, Any]:
    return {"purpose": PURPOSE_CHAT, **_described(file)}


def attachment_entry(file: Attachment, object_key: str) -> dict[str, Any]:
    """How a turn names an uploaded file."""
    return {"meta": {"attachment_type": "file", **_described(file)}, "cloud": {"object_key": object_key}}


async def upload_file(site: AgentSite, file: Attachment, api: str = API) -> dict[str, Any]:
    """Prepare, then store ``file``; its :func:`attachment_entry`."""
    try:
        answer = await site.call("POST", f"{api}{PREPARE_LEAF}", prepare_body(file))
    except (BadRequestError, ResponseError) as error:
        if type(error) not in (BadRequestError, ResponseError):
            raise  # auth, "not configured", session API missing: the caller recovers from those
        raise type(error)(f"MiniMax Agent refused to take the file {file.file_name!r}: {error}") from None
    object_key, url, fields = _instruction(answer, file)
    await _store(site, url, fields, file)
    return attachment_entry(file, object_key)


def _instruction(answer: dict[str, Any], file: Attachment) -> tuple[str, str, list[tuple[str, str]]]:
    """``object_key``, the storage URL and its form fields, from the prepare answer."""
    for holder in (answer, answer.get("data")):
        if isinstance(holder, dict) and holder.get("object_key"):
            break
    else:
        raise ResponseError(f"MiniMax Agent gave no object key for the file {file.file_name!r}")
    object_key = str(holder["object_key"])
    instruction = holder.get("upload_instruction")
    instruction = instruction if isinstance(instruction, dict) else {}
    method = str(instruction.get("method") or "POST").upper()
    url = instruction.get("url")
    if method != "POST" or not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise ResponseError(
            f"MiniMax Agent asked for an upload of {file.file_name!r} this package does not know"
            f" ({method} to {'an http(s) URL' if isinstance(url, str) else 'no URL'}): it needs an update"
        )
    return object_key, url, _form_fields(instruction.get("form_fields"))


def _form_fields(fields: Any) -> list[tuple[str, str]]:
    """The storage form's fields, in order: an object, or a list of pairs or ``{name|key, value}``."""
    if isinstance(fields, dict):
        items = list(fields.items())
    elif isinstance(fields, list):
        items = []
        for item in fields:
            if isinstance(item, dict):
                items.append((item.get("name", item.get("key")), item.get("value")))
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                items.append((item[0], item[1]))
    else:
        items = []
    return [
        (str(name), value if isinstance(value, str) else json.dumps(value))
        for name, value in items
        if name is not None and str(name) != "file"
    ]


def form_body(fields: Sequence[tuple[str, str]], file: Attachment) -> tuple[bytes, str]:
    """The storage POST as a browser writes it: ``(body, content type)``, the file part last."""
    texts = [(name.encode("utf-8"), value.encode("utf-8")) for name, value in fields]
    boundary = _boundary(file.data, *(value for _, value in texts))
    dash = b"--" + boundary
    out = bytearray()
    for name, value in texts:
        out += dash + b'\r\nContent-Disposition: form-data; name="' + _escaped(name) + b'"\r\n\r\n'
        out += value + b"\r\n"
    out += dash + b'\r\nContent-Disposition: form-data; name="file"; filename="'
    out += _escaped(file.file_name.encode("utf-8")) + b'"\r\nContent-Type: ' + file.mime_type.encode("ascii")
    out += b"\r\n\r\n" + file.data + b"\r\n" + dash + b"--\r\n"
    return bytes(out), "multipart/form-data; boundary=" + boundary.decode("ascii")


def _boundary(*contents: bytes) -> bytes:
    """A WebKit-style boundary that occurs in none of ``contents``."""
    for _ in range(8):
        boundary = b"----WebKitFormBoundary" + secrets.token_urlsafe(12).replace("-", "x").encode("ascii")
        if all(boundary not in content for content in contents):
            return boundary
    raise ResponseError("Could not find a multipart boundary for the upload")  # never in practice


def _escaped(value: bytes) -> bytes:
    return value.decode("utf-8").translate(_FIELD_ESCAPES).encode("utf-8")


async def _store(site: AgentSite, url: str, fields: list[tuple[str, str]], file: Attachment) -> None:
    """The form POST to the storage: no MiniMax header or query (no token), 204 expected."""
    settings = site.settings
    body, content_type = form_body(fields, file)
    headers = {
        "Content-Type": content_type,
        "Accept": "*/*",
        "User-Agent": site.identity.user_agent,
        "Origin": settings.origin,  # what a browser on the site sends with the form
        "Referer": settings.origin + "/",
    }
    timeout = request_timeout(settings.connect_timeout, settings.read_timeout)
    host = urlsplit(url).hostname or "?"
    where = f"the file {file.file_name!r} to MiniMax Agent's file storage ({host})"

    def attempt() -> Any:
        return site.session.post(URL(url), data=body, headers=headers, proxy=settings.proxy, timeout=timeout)

    try:
        response = await send_with_retries(settings, f"uploading {file.file_name!r}", attempt)
        try:
            if response.status in _STORED:
                return
            said = await read_body(response, _ERROR_BODY_LIMIT)
        finally:
            response.release()
    except (G4FError, asyncio.TimeoutError, aiohttp.ClientError) as error:
        cause = error.__cause__ if isinstance(error, G4FError) and error.__cause__ else error
        failed = G4FTimeoutError if isinstance(cause, asyncio.TimeoutError) else ResponseError
        raise failed(f"Could not upload {where}: {type(cause).__name__}") from None
    details = ": ".join(text.strip() for _, text in _XML_TEXT.findall(said.decode("utf-8", "replace")))
    raise ResponseStatusError(
        f"Could not upload {where}: HTTP {response.status}" + (f" ({details})" if details else "")
    )
