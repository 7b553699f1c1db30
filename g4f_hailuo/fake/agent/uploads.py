"""The fake MiniMax Agent site's uploads (``minimax-agent-protocol.md`` section 5.4, Gen C).

- ``POST /minimax-cloud/api/v1/uploads/prepare`` ``{"purpose":1,"file_name","mime_type","size_bytes"}``,
  with every strict check of the other routes (token, ``user_id``, ``device_id``, signature, ``/config``
  first): ``{object_key, upload_instruction{method:"POST", url, form_fields}, base_resp}``. The
  fields are an OSS PostObject form: ``key``, ``policy`` (base64 JSON: expiration, bucket, key,
  ``content-length-range`` of exactly ``size_bytes``), ``OSSAccessKeyId``, ``signature``
  (HMAC-SHA1 of the policy), ``success_action_status`` ``204``, ``x-oss-security-token``. A body
  that is not that: 400; over :data:`MAX_SIZE`: base_resp ``file too large``.
- ``POST /fake-oss/{bucket}``: the storage, on the same loopback port, answering as OSS does (an
  XML ``<Error>`` with ``Code`` and ``Message``). Strict: no MiniMax credential may arrive there
  (a ``token``/``yy``/``x-signature`` header or any query: 400 ``InvalidArgument``); a
  ``multipart/form-data`` body whose fields are exactly the prepared ones, in order, with one
  ``file`` part, with a file name, last (else 400/403); the policy not expired (403); the file's size
  ``size_bytes`` (400 ``EntityTooLarge``/``EntityTooSmall``). Then 204, and the object is stored.
  ``UploadStore.storage_failures = N``: the next N storage POSTs answer 503 ``InternalError``.
- The turn (``POST …/session/{sid}/message``, :func:`turn_files`): ``attachments`` may name only
  objects this account stored, with the ``meta`` they were prepared with; else 400
  ``{"error":"invalid attachments: …"}``. The object keys each such request named are kept.

Everything lands in ``FakeAgent.uploads`` (:class:`~.state.UploadStore`): ``prepared``,
``stored`` (the bytes, file name and content type of each object) and ``referenced``.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from g4f_hailuo.fake.agent.state import OK, AgentAccount, PreparedUpload, StoredObject, UploadStore
from g4f_hailuo.fake.common import RecordedRequest, json_response

if TYPE_CHECKING:
    from g4f_hailuo.fake.agent.server import FakeAgent

__all__ = [
    "BUCKET",
    "MAX_SIZE",
    "PREPARE_PATH",
    "STORAGE_PREFIX",
    "UploadStore",
    "add_upload_routes",
    "turn_files",
]

PREPARE_PATH = "/minimax-cloud/api/v1/uploads/prepare"
STORAGE_PREFIX = "/fake-oss"
BUCKET = "minimax-agent-fake"
ACCESS_KEY_ID = "STS.fakeAccessKeyId"
SECURITY_TOKEN = "CAIS-fake-security-token"
POLICY_SECONDS = 3600.0
MAX_SIZE = 100 * 1024 * 1024
OBJECT_ID_BASE = 700_000_000_000_000
_MINIMAX_HEADERS = ("token", "yy", "x-signature", "x-timestamp")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _policy(bucket: str, key: str, size: int, expires_at: float) -> str:
    expiration = datetime.datetime.fromtimestamp(expires_at, datetime.timezone.utc)
    document = {
        "expiration": expiration.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "conditions": [
            {"bucket": bucket},
            ["eq", "$key", key],
            ["content-length-range", size, size],
            {"success_action_status": "204"},
        ],
    }
    return base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode("ascii")


def _signature(store: UploadStore, policy: str) -> str:
    return base64.b64encode(hmac.new(store.secret, policy.encode("ascii"), hashlib.sha1).digest()).decode()


def _bad(error: str) -> web.Response:
    return json_response({"error": error}, 400)


async def _prepare(
    fake: FakeAgent, request: web.Request, record: RecordedRequest, account: AgentAccount
) -> web.Response:
    body = record.json
    if not isinstance(body, dict) or body.get("purpose") != 1:
        return _bad("invalid params: purpose 1 is required")
    name, mime, size = body.get("file_name"), body.get("mime_type"), body.get("size_bytes")
    if not isinstance(name, str) or not name.strip() or not isinstance(mime, str) or "/" not in mime:
        return _bad("invalid params: file_name and mime_type are required")
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        return _bad("invalid params: size_bytes must be a positive integer")
    if size > MAX_SIZE:
        return json_response({"base_resp": {"status_code": 1400010300, "status_msg": "file too large"}})
    store = fake.uploads
    key = f"agent/{account.real_user_id}/{fake.new_id(OBJECT_ID_BASE)}/{_UNSAFE.sub('_', name)[:80]}"
    expires_at = fake.clock() + POLICY_SECONDS
    policy = _policy(BUCKET, key, size, expires_at)
    fields = {
        "key": key,
        "policy": policy,
        "OSSAccessKeyId": ACCESS_KEY_ID,
        "signature": _signature(store, policy),
        "success_action_status": "204",
        "x-oss-security-token": SECURITY_TOKEN,
    }
    store.prepared[key] = PreparedUpload(key, account.token, BUCKET, name, mime, size, fields, expires_at)
    url = f"{request.scheme}://{request.host}{STORAGE_PREFIX}/{BUCKET}"
    instruction = {"method": "POST", "url": url, "form_fields": fields}
    return json_response({"object_key": key, "upload_instruction": instruction, "base_resp": OK})


def _oss_error(status: int, code: str, message: str) -> web.Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n'
        f"  <Code>{code}</Code>\n  <Message>{message}</Message>\n  <RequestId>FAKE</RequestId>\n</Error>\n"
    )
    return web.Response(status=status, text=body, content_type="application/xml")


Part = tuple[str, str | None, str, bytes]  # name, filename, content type, data


async def _parts(request: web.Request) -> list[Part] | None:
    """The form's parts in order, or None when the body is not ``multipart/form-data``."""
    if request.content_type != "multipart/form-data":
        return None
    parts: list[Part] = []
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            return parts
        if not isinstance(part, BodyPartReader) or part.name is None:
            return None
        data = await part.read(decode=False)
        parts.append((part.name, part.filename, part.headers.get("Content-Type", ""), bytes(data)))


async def _store(fake: FakeAgent, request: web.Request) -> web.Response:
    record = fake.record(request)
    response = await _stored_or_refused(fake, request, record)
    record.status = response.status
    return response


async def _stored_or_refused(fake: FakeAgent, request: web.Request, record: RecordedRequest) -> web.Response:
    if fake.uploads.storage_failures > 0:
        fake.uploads.storage_failures -= 1
        record.rejected = "failure"
        return _oss_error(503, "InternalError", "Please try again (a planned failure)")
    if any(header in request.headers for header in _MINIMAX_HEADERS) or request.query_string:
        record.rejected = "credentials"
        return _oss_error(400, "InvalidArgument", "MiniMax credentials must not reach the storage")
    try:
        parts = await _parts(request)
    except ValueError:
        parts = None
    if not parts:
        record.rejected = "form"
        return _oss_error(400, "InvalidArgument", "A multipart/form-data body is required")
    _, filename, content_type, data = parts[-1]
    sent = {name: value.decode("utf-8", "replace") for name, _, _, value in parts[:-1]}
    prepared = fake.uploads.prepared.get(sent.get("key", ""))
    rejection = _form_rejection(fake, request, prepared, parts)
    if rejection is not None or prepared is None:
        record.rejected = "policy"
        return rejection or _oss_error(403, "AccessDenied", "Unknown key")
    if len(data) != prepared.size_bytes:
        record.rejected = "size"
        code = "EntityTooLarge" if len(data) > prepared.size_bytes else "EntityTooSmall"
        return _oss_error(400, code, "Your proposed upload does not match the policy's content-length-range")
    stored = StoredObject(prepared.object_key, prepared.token, filename or "", content_type, data)
    fake.uploads.stored[prepared.object_key] = stored
    return web.Response(status=204)


def _form_rejection(
    fake: FakeAgent, request: web.Request, prepared: PreparedUpload | None, parts: list[Part]
) -> web.Response | None:
    """Why the form does not match what ``prepare`` gave (None when it does)."""
    *fields, (file_field, filename, _, _) = parts
    if file_field != "file" or not filename or any(name == "file" for name, *_ in fields):
        return _oss_error(400, "InvalidArgument", "The file must be the last form field, with a filename")
    if prepared is None or request.match_info["bucket"] != prepared.bucket:
        return _oss_error(403, "AccessDenied", "Unknown key for this bucket")
    if [name for name, *_ in fields] != list(prepared.form_fields):
        return _oss_error(400, "InvalidArgument", "The form fields are not those of the policy, in order")
    if any(value.decode("utf-8", "replace") != prepared.form_fields[name] for name, _, _, value in fields):
        return _oss_error(403, "SignatureDoesNotMatch", "The form fields do not match the signed policy")
    if fake.clock() > prepared.expires_at:
        return _oss_error(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    return None


def turn_files(
    store: UploadStore, account: AgentAccount, body: dict[str, Any]
) -> tuple[str, ...] | web.Response:
    """The file names a turn's ``attachments`` name, or the 400 for attachments that are not right."""
    attachments = body.get("attachments")
    if attachments is None or attachments == []:
        return ()
    if not isinstance(attachments, list):
        return _bad("invalid attachments: a list is expected")
    names, keys = [], []
    for entry in attachments:
        meta = entry.get("meta") if isinstance(entry, dict) else None
        cloud = entry.get("cloud") if isinstance(entry, dict) else None
        if not isinstance(meta, dict) or not isinstance(cloud, dict) or meta.get("attachment_type") != "file":
            return _bad("invalid attachments: each needs meta (attachment_type file) and cloud")
        key = cloud.get("object_key")
        stored = store.stored.get(key) if isinstance(key, str) else None
        if stored is None or stored.token != account.token:
            return _bad("invalid attachments: unknown object_key")
        prepared = store.prepared[stored.object_key]
        described = (meta.get("file_name"), meta.get("mime_type"), meta.get("size_bytes"))
        if described != (prepared.file_name, prepared.mime_type, len(stored.data)):
            return _bad("invalid attachments: meta does not match the upload")
        names.append(prepared.file_name)
        keys.append(stored.object_key)
    store.referenced.append(keys)
    return tuple(names)


def add_upload_routes(fake: FakeAgent, app: web.Application) -> None:
    """Add the prepare route (strict checks, ``/config`` first) and the storage endpoint."""

    async def prepare(request: web.Request, record: RecordedRequest, account: AgentAccount) -> web.Response:
        return await _prepare(fake, request, record, account)

    async def storage(request: web.Request) -> web.Response:
        return await _store(fake, request)

    endpoint: Callable[[web.Request], Awaitable[web.StreamResponse]] = fake._route(prepare, needs_config=True)
    app.router.add_post(PREPARE_PATH, endpoint)
    app.router.add_post(f"{STORAGE_PREFIX}/{{bucket}}", storage)
