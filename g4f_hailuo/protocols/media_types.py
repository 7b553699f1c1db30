"""MIME types of attachments: from a file name, sniffed from the bytes, and a file name for a type.

Pure and deterministic: the table below, then Python's built-in table (never the machine's
``/etc/mime.types``, which differs between machines). Sniffing knows the magic numbers of the
common image, document, audio and video formats, looks inside a ZIP for the Office formats,
and calls UTF-8 text without NUL bytes ``text/plain``; anything else is
``application/octet-stream``.
"""

from __future__ import annotations

import io
import mimetypes
import os
import zipfile

__all__ = ["OCTET_STREAM", "extension_for", "name_for", "sniff_type", "type_from_name"]

OCTET_STREAM = "application/octet-stream"
_OFFICE = "application/vnd.openxmlformats-officedocument."
# What Python's own table lacks (in some versions) or spells differently.
_BY_EXTENSION = {
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".avif": "image/avif",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".csv": "text/csv",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".docx": _OFFICE + "wordprocessingml.document",
    ".xlsx": _OFFICE + "spreadsheetml.sheet",
    ".pptx": _OFFICE + "presentationml.presentation",
    ".epub": "application/epub+zip",
    ".m4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".flac": "audio/flac",
    ".wav": "audio/wav",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
}
_EXTENSION_OF = {
    **{mime: ext for ext, mime in reversed(_BY_EXTENSION.items())},  # the first spelling wins
    "text/plain": ".txt",
    "audio/mpeg": ".mp3",
    "application/zip": ".zip",
    OCTET_STREAM: ".bin",
}
_DEFAULTS = mimetypes.MimeTypes(filenames=())  # Python's built-in table only
# (offset, magic, type): the first match wins
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"{\\rtf", "application/rtf"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"OggS", "audio/ogg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"\x1aE\xdf\xa3", "video/webm"),
)
_RIFF = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}
_FTYP = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heif",
    b"avif": "image/avif",
    b"M4A ": "audio/mp4",
    b"qt  ": "video/quicktime",
}
_ZIP_MEMBERS = (
    ("word/", _OFFICE + "wordprocessingml.document"),
    ("xl/", _OFFICE + "spreadsheetml.sheet"),
    ("ppt/", _OFFICE + "presentationml.presentation"),
)
_DOCUMENTS = frozenset({"application/pdf", "application/rtf", "application/epub+zip", "application/msword"})
_TEXT_PROBE = 8192


def type_from_name(name: str) -> str | None:
    """The MIME type a file name's extension says, or None (no extension, or an unknown one)."""
    extension = os.path.splitext(name)[1].lower()
    if not extension:
        return None
    return _BY_EXTENSION.get(extension) or _DEFAULTS.guess_type("file" + extension, strict=False)[0]


def sniff_type(data: bytes) -> str:
    """The MIME type the bytes look like (``application/octet-stream`` when they say nothing)."""
    for offset, magic, mime in _MAGIC:
        if data.startswith(magic, offset):
            return mime
    if data[:4] == b"RIFF" and data[8:12] in _RIFF:
        return _RIFF[data[8:12]]
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        return _FTYP.get(brand, "video/mp4")
    if data[:2] == b"BM" and len(data) >= 26 and data[6:10] == b"\x00\x00\x00\x00":
        return "image/bmp"  # the reserved header words are zero
    if data[:4] == b"PK\x03\x04":
        return _zip_type(data)
    if data[:2] == b"\xff\xfb" or data[:2] == b"\xff\xf3":
        return "audio/mpeg"  # an MP3 frame without an ID3 tag
    return _text_type(data[:_TEXT_PROBE], cut=len(data) > _TEXT_PROBE)


def _zip_type(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "mimetype" in names and archive.read("mimetype").strip() == b"application/epub+zip":
                return "application/epub+zip"
    except (zipfile.BadZipFile, ValueError, OSError, KeyError, RuntimeError):
        return "application/zip"
    for prefix, mime in _ZIP_MEMBERS:
        if any(name.startswith(prefix) for name in names):
            return mime
    return "application/zip"


def _text_type(head: bytes, *, cut: bool) -> str:
    """``text/plain`` (or SVG) for UTF-8 without NUL bytes; ``cut``: ``head`` is the start of more."""
    if not head or b"\x00" in head:
        return OCTET_STREAM
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if not cut or error.start < len(head) - 3:  # not just a character cut at the probe's end
            return OCTET_STREAM
        text = head[: error.start].decode("utf-8")
    opening = text.lstrip("\ufeff \t\r\n")[:256].lower()
    if opening.startswith("<svg") or (opening.startswith("<?xml") and "<svg" in text[:1024].lower()):
        return "image/svg+xml"
    return "text/plain"


def extension_for(mime: str) -> str:
    """The usual extension of a MIME type (``.bin`` when none is known)."""
    return _EXTENSION_OF.get(mime) or _DEFAULTS.guess_extension(mime, strict=False) or ".bin"


def name_for(mime: str) -> str:
    """A file name for an attachment that came without one: ``image.png``, ``document.pdf``…"""
    kind = mime.split("/", 1)[0]
    if kind in ("image", "audio", "video"):
        return kind + extension_for(mime)
    document = kind == "text" or mime.startswith(_OFFICE) or mime in _DOCUMENTS
    return ("document" if document else "file") + extension_for(mime)
