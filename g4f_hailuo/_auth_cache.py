"""The cached login: one JSON file in g4f's cookies dir, 0600, written atomically."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["AUTH_FILE_NAME", "auth_file", "delete_auth", "read_auth", "write_auth"]

# Not g4f's default ``auth_HailuoAI.json``: the built-in provider's file has another shape.
AUTH_FILE_NAME = "auth_g4f_hailuo.json"


def auth_file() -> Path:
    from g4f.cookies import get_cookies_dir

    return Path(get_cookies_dir()) / AUTH_FILE_NAME


def read_auth(path: Path) -> dict[str, Any] | None:
    """The stored auth, or ``None`` when missing or unreadable (never raises)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_auth(path: Path, data: dict[str, Any]) -> None:
    """Write to a 0600 temporary file beside it, then rename over it: a crash
    mid-write leaves the old file, and the token is never world-readable."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(data, file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def delete_auth(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
