"""The cached logins: one JSON file in g4f's cookies dir, 0600, written atomically.

The file holds the newest login at its top level (``token``, ``uuid``,
``device_id``, ``user_agent``: the shape of one g4f ``AuthResult``), and any
older logins of *other* accounts under ``other_logins``, newest first. With one
login it is exactly the one-login file of earlier releases.

Changes (read-modify-write) hold a lock across threads and, on POSIX, across
processes (``g4f api --workers N``): ``flock`` on a ``<file>.lock`` beside it,
removed again when done. On Windows only the threads of one process are serialized.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from g4f_hailuo._conversation import token_fingerprint
from g4f_hailuo.accounts.identity import jwt_claims

__all__ = [
    "AUTH_FILE_NAME",
    "ORIGIN",
    "add_login",
    "auth_file",
    "delete_auth",
    "for_origin",
    "locked",
    "login_key",
    "read_auth",
    "read_logins",
    "remove_login",
    "write_auth",
    "write_logins",
]

# Not g4f's default ``auth_HailuoAI.json``: the built-in provider's file has another shape.
AUTH_FILE_NAME = "auth_g4f_hailuo.json"
OTHER_LOGINS = "other_logins"
ORIGIN = "origin"  # the site a login was made on

# Read-modify-write of the file, across the threads of this process (g4f's GUI
# serves each request on its own thread and event loop).
_lock = threading.RLock()
# The lock files this process holds (only the thread holding ``_lock`` touches it):
# nested changes (add_login -> write_logins -> delete_auth) take the file lock once.
_held: set[str] = set()


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _flock(lock: Path) -> int:
    """An open, exclusively locked descriptor of ``lock`` (POSIX).

    The holder removes the file when done, so a lock taken on a file that was
    removed (or replaced) meanwhile protects nothing: take it again."""
    import fcntl

    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            opened, current = os.fstat(fd), os.stat(lock)
            if (opened.st_dev, opened.st_ino) == (current.st_dev, current.st_ino):
                return fd
        except FileNotFoundError:  # removed by the holder before us
            pass
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the cache file's lock, across threads and (on POSIX) processes."""
    with _lock:
        lock = _lock_path(path)
        if sys.platform == "win32" or str(lock) in _held:
            yield
            return
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = _flock(lock)
        _held.add(str(lock))
        try:
            yield
        finally:
            _held.discard(str(lock))
            with contextlib.suppress(OSError):
                os.unlink(lock)  # while still locked: the next holder sees it is gone
            os.close(fd)


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (POSIX; best effort: not every
    file system can sync a directory, and the rename itself is done)."""
    if sys.platform == "win32":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def auth_file() -> Path:
    from g4f.cookies import get_cookies_dir

    return Path(get_cookies_dir()) / AUTH_FILE_NAME


def read_auth(path: Path) -> dict[str, Any] | None:
    """The stored file as a dict, or ``None`` when missing or unreadable (never raises)."""
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
    _sync_directory(path.parent)


def delete_auth(path: Path) -> None:
    if not path.parent.is_dir():
        return  # nothing to delete; and no cookies dir made for the lock
    with locked(path), contextlib.suppress(FileNotFoundError):
        path.unlink()


def login_key(token: str) -> str:
    """Which account a login is: the user id in the token's claims, else the token's fingerprint."""
    user = jwt_claims(token).get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    if isinstance(user_id, (str, int)) and not isinstance(user_id, bool) and str(user_id):
        return f"user:{user_id}"
    return token_fingerprint(token)


def _is_login(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("token"), str) and bool(value["token"])


def read_logins(path: Path) -> list[dict[str, Any]]:
    """Every stored login, newest first (``[]`` when there is none)."""
    data = read_auth(path)
    if data is None:
        return []
    top = {key: value for key, value in data.items() if key != OTHER_LOGINS}
    others = data.get(OTHER_LOGINS)
    logins = [top] + (list(others) if isinstance(others, list) else [])
    return [login for login in logins if _is_login(login)]


def write_logins(path: Path, logins: list[dict[str, Any]]) -> None:
    """Store ``logins`` (newest first); no login at all deletes the file."""
    with locked(path):
        if not logins:
            delete_auth(path)
            return
        data = {key: value for key, value in logins[0].items() if key != OTHER_LOGINS}
        if len(logins) > 1:
            data[OTHER_LOGINS] = [
                {key: value for key, value in login.items() if key != OTHER_LOGINS} for login in logins[1:]
            ]
        write_auth(path, data)


def add_login(path: Path, login: dict[str, Any], *, newest: bool = True) -> None:
    """Store ``login``, replacing any stored login of the same account: as the
    newest one, or (``newest=False``) where the replaced one stood."""
    key = login_key(login["token"])
    with locked(path):
        logins = read_logins(path)
        position = next((i for i, old in enumerate(logins) if login_key(old["token"]) == key), None)
        if position is not None:
            del logins[position]
        logins.insert(0 if newest or position is None else position, dict(login))
        write_logins(path, logins)


def for_origin(login: dict[str, Any], origin: str) -> bool:
    """Whether a stored login serves ``origin``: the site it was made on (a token of
    www.hailuo.ai is no token of hailuoai.com); one stored without a site serves any."""
    made_on = login.get(ORIGIN)
    return not isinstance(made_on, str) or not made_on or made_on == origin


def remove_login(path: Path, token: str, origin: str | None = None) -> bool:
    """Forget the login holding ``token`` (only the one serving ``origin``, when
    given: a refusal by one site says nothing of another); whether there was one."""
    if not path.exists():
        return False
    with locked(path):
        logins = read_logins(path)
        kept = [
            login
            for login in logins
            if login["token"] != token or (origin is not None and not for_origin(login, origin))
        ]
        if len(kept) == len(logins):
            return False
        write_logins(path, kept)
        return True
