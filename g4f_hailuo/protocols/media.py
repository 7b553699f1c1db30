"""The images and files of a turn, as :class:`Attachment` s (pure: no sockets, nothing fetched).

g4f gives a provider its files two ways: ``media=[(data, file name), …]`` and parts of the
newest user messages (``image_url`` parts, files of g4f's own buckets);
:func:`g4f.tools.media.merge_media` yields both, and :func:`collect_attachments` turns each into
bytes, a file name and a MIME type:

- **data**: bytes, a ``pathlib.Path`` (or any path-like object), a ``data:`` URI, or an open
  binary file. A plain string that is not a ``data:`` URI is refused, never opened as a path:
  through ``g4f api`` it would let a caller read files of the server. **A URL is refused**
  (``BadRequestError``): nothing is downloaded here. (g4f resolves links to its own
  ``/files/…`` buckets to local paths before we see them; any other link is still a link.)
- **MIME type**: from the file name's extension; else the type a ``data:`` URI declares; else
  sniffed from the bytes (:mod:`.media_types`).
- **file name**: the one given (a path's or open file's own name when none is), cut to its
  last path component; else one made from the type (``image.png``, ``document.pdf``).
- **limits** (our choice: the protocol doc names none): an image up to :data:`IMAGE_LIMIT`
  (20 MB), any other file up to :data:`FILE_LIMIT` (50 MB), nothing empty, at most
  :data:`MAX_FILES` files a turn. A file over its limit is a ``BadRequestError`` naming it,
  raised before anything is sent; a path or ``data:`` URI far over it is not even read.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from g4f.errors import BadRequestError

from g4f_hailuo.protocols.media_types import OCTET_STREAM, name_for, sniff_type, type_from_name

__all__ = [
    "FILE_LIMIT",
    "IMAGE_LIMIT",
    "MAX_FILES",
    "Attachment",
    "attachment_from",
    "collect_attachments",
    "refuse_attachments",
]

MB = 1024 * 1024
IMAGE_LIMIT = 20 * MB
FILE_LIMIT = 50 * MB  # also the most read of anything before its type is known
MAX_FILES = 20
_NAME_LENGTH = 200
_GENERIC_TYPES = frozenset({"", OCTET_STREAM, "binary/octet-stream"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WHITESPACE = re.compile(rb"\s+")


@dataclass(frozen=True)
class Attachment:
    """One file of a turn: its bytes, file name and MIME type."""

    data: bytes = field(repr=False)
    file_name: str
    mime_type: str

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")


def collect_attachments(media: Any, messages: Any) -> list[Attachment]:
    """Every file of the turn (``media`` and the newest user messages), checked; [] if none."""
    items = _merged(media, messages)
    if len(items) > MAX_FILES:
        raise BadRequestError(f"{len(items)} files in one message: HailuoAI sends at most {MAX_FILES}")
    return [attachment_from(data, name, index) for index, (data, name) in enumerate(items, 1)]


_merge_media: Any = None  # g4f.tools.media.merge_media


def refuse_attachments(media: Any, messages: Any, why: str) -> None:
    """``BadRequestError(why)`` if the turn has any image or file (a protocol that cannot send them)."""
    if _merged(media, messages):
        raise BadRequestError(why)


def _merged(media: Any, messages: Any) -> list[tuple[Any, Any]]:
    global _merge_media
    if _merge_media is None:  # imported on first use: it imports g4f's image helpers
        from g4f.tools.media import merge_media

        _merge_media = merge_media
    listed = None if media is None else [_pair(item) for item in _as_list(media)]
    user_messages = [m for m in messages or () if isinstance(m, dict)]
    return [_pair(item) for item in _merge_media(listed, user_messages)]


def _as_list(media: Any) -> list[Any]:
    return list(media) if isinstance(media, list) else [media]  # as g4f's client does


def _pair(item: Any) -> tuple[Any, Any]:
    """``(data, name)``; a bare item has no name."""
    if isinstance(item, (tuple, list)) and len(item) == 2:
        return item[0], item[1]
    return item, None


def attachment_from(data: Any, name: Any = None, index: int = 1) -> Attachment:
    """One file (``data`` as described above, ``name`` its file name or None)."""
    given = _clean_name(name) or _own_name(data)
    label = repr(given) if given else f"attachment {index}"
    raw, declared = _read(data, label)
    mime = (type_from_name(given) if given else None) or (
        declared if declared not in _GENERIC_TYPES else None
    )
    mime = mime or sniff_type(raw)
    attachment = Attachment(raw, given or name_for(mime), mime)
    label = repr(given) if given else f"attachment {index} ({attachment.file_name}, no file name given)"
    if not raw:
        raise BadRequestError(f"The file {label} is empty")
    if attachment.size > (IMAGE_LIMIT if attachment.is_image else FILE_LIMIT):
        raise BadRequestError(f"The file {label} is {_megabytes(attachment.size)}: {_LIMITS}")
    return attachment


_LIMITS = (
    f"HailuoAI sends images of up to {IMAGE_LIMIT // MB} MB and other files of up to {FILE_LIMIT // MB} MB"
)


def _megabytes(size: int) -> str:
    return f"{size / MB:.1f} MB ({size:,} bytes)"


def _too_large(label: str, size: int) -> BadRequestError:
    return BadRequestError(f"The file {label} is {_megabytes(size)} or more: {_LIMITS}")


def _clean_name(name: Any) -> str | None:
    """The last path component, without control characters, at most 200 characters (the
    extension kept); None when nothing is left."""
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    if not isinstance(name, str):
        return None
    name = _CONTROL.sub("", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if name in ("", ".", ".."):
        return None
    if len(name) > _NAME_LENGTH:
        stem, extension = os.path.splitext(name)
        extension = extension if len(extension) <= 16 else ""
        name = stem[: _NAME_LENGTH - len(extension)] + extension
    return name


def _own_name(data: Any) -> str | None:
    """The name a path, an open file or a ``data:`` URI (``;name=`` or ``;filename=``) carries."""
    if isinstance(data, os.PathLike):
        return _clean_name(data)
    if isinstance(data, str):
        return _data_uri_name(data) if data[:5].lower() == "data:" else None
    if isinstance(data, (bytes, bytearray, memoryview)):
        return None
    own = getattr(data, "name", None)
    return _clean_name(own) if isinstance(own, str) else None


def _read(data: Any, label: str) -> tuple[bytes, str]:
    """The bytes, and the MIME type a ``data:`` URI declares ("" otherwise)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data), ""
    if isinstance(data, os.PathLike):
        return _read_path(os.fspath(data), label), ""
    if isinstance(data, str):
        if data[:5].lower() == "data:":
            return _data_uri(data, label)
        scheme = urlsplit(data).scheme.lower() if "://" in data else ""
        if scheme:
            raise BadRequestError(
                f"The file {label} is a link ({_shown_link(data)}): HailuoAI does not download files"
                " from the internet; attach the file itself (bytes, a pathlib.Path or a data: URI)"
            )
        raise BadRequestError(
            f"The file {label} is a string that is not a data: URI: attach bytes, a pathlib.Path or"
            " a data: URI (a plain string is never opened as a path)"
        )
    if callable(getattr(data, "read", None)):
        return _read_file_object(data, label), ""
    raise BadRequestError(
        f"The file {label} is of type {type(data).__name__}: attach bytes, a pathlib.Path, an open binary"
        " file or a data: URI"
    )


def _read_path(path: Any, label: str) -> bytes:
    try:
        size = os.stat(path).st_size
        if not os.path.isfile(path):
            raise BadRequestError(f"The file {label} is not a regular file")
        if size > FILE_LIMIT:
            raise _too_large(label, size)
        with open(path, "rb") as file:
            return file.read(FILE_LIMIT + 1)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise BadRequestError(f"The file {label} cannot be read ({reason})") from None


def _read_file_object(file: Any, label: str) -> bytes:
    seek = getattr(file, "seek", None)
    if callable(seek):
        with contextlib.suppress(OSError, ValueError):
            seek(0)  # read whole, also when an earlier attempt (another account) read it
    try:
        data = file.read(FILE_LIMIT + 1)
    except (OSError, ValueError) as error:
        raise BadRequestError(f"The file {label} cannot be read ({type(error).__name__})") from None
    if not isinstance(data, (bytes, bytearray)):
        raise BadRequestError(f"The file {label} is open in text mode: open it with 'rb'")
    return bytes(data)


def _data_uri(uri: str, label: str) -> tuple[bytes, str]:
    """``data:[type][;name=…][;base64],payload``: the bytes and the declared type."""
    header, comma, payload = uri[5:].partition(",")
    if not comma:
        raise BadRequestError(f"The file {label} is a data: URI without a comma before its data")
    declared, *params = (part.strip() for part in header.split(";"))
    encoded = any(param.lower() == "base64" for param in params)
    if encoded:
        if len(payload) * 3 // 4 > FILE_LIMIT + 3:
            raise _too_large(label, len(payload) * 3 // 4)
        return _base64(payload.encode("ascii", "replace"), label), declared.lower()
    return unquote_to_bytes(payload), declared.lower()


def _data_uri_name(uri: str) -> str | None:
    """The file name a ``data:`` URI carries in a ``name=`` or ``filename=`` parameter, if any."""
    header = uri[5:].partition(",")[0]
    for param in header.split(";")[1:]:
        key, equals, value = param.strip().partition("=")
        if equals and key.lower() in ("name", "filename"):
            return _clean_name(unquote(value.strip('"')))
    return None


def _base64(payload: bytes, label: str) -> bytes:
    compact = _WHITESPACE.sub(b"", payload)
    compact += b"=" * (-len(compact) % 4)
    for alphabet in (None, b"-_"):
        try:
            return base64.b64decode(compact, altchars=alphabet, validate=True)
        except (binascii.Error, ValueError):
            continue
    raise BadRequestError(f"The file {label} is a data: URI whose base64 data is not valid")


def _shown_link(url: str) -> str:
    """A link without its query and fragment (they may hold credentials), cut to 100 characters."""
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.hostname or ''}{parts.path}"
    return shown if len(shown) <= 100 else shown[:99] + "…"
