"""Who shares the rule "one reply at a time per account": the lease backends.

The pool (:mod:`.pool`) keeps the rule, its first-come-first-served queue, conversation
affinity and retired accounts inside one process. A *backend* shares them further:

- ``HAILUOAI_LEASES=machine`` (the default): every process that uses the same cookies dir
  (``g4f api --workers N``, several scripts), through OS file locks there (:mod:`.leases_files`);
- ``HAILUOAI_LEASE_URL=redis://...``: every process of every machine using that Redis, through
  expiring leases renewed while a reply streams (:mod:`.leases_redis`, the ``cluster`` extra);
- ``HAILUOAI_LEASES=process``, on Windows, and where the cookies dir cannot be written: nobody
  (no backend: the pool alone, as before; a line in g4f's debug log says why).

A backend hands each request a :class:`LeaseSession`: the request's place in the shared queue,
then the account it holds, given back (and the place left) by ``close``. Accounts are named by
the pool's keys: ``<origin tag>-<account fingerprint>``, never a token.
"""

from __future__ import annotations

import sys
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from g4f import debug
from g4f.errors import MissingRequirementsError

from g4f_hailuo._config import (
    LEASE_TTL_ENV,
    LEASE_URL_ENV,
    LEASES_ENV,
    MACHINE,
    PROCESS,
    LeaseSettings,
    env_keys,
    env_stamp,
    lease_settings,
)

__all__ = ["DIR_NAME", "Changes", "LeaseBackend", "LeaseSession", "backend", "forget_backends"]

DIR_NAME = "hailuo_leases"  # in g4f's cookies dir: the machine's leases (lock files, queue, retired)
RETIRED_FOR = 86400.0  # a shared retirement lapses after a day: the account gets another chance then
_KEPT = 8  # backends kept (each cookies dir / URL in use); an evicted one is closed

# Retirements (key -> reason) and reinstatements (key -> None).
Changes = dict[str, str | None]


class LeaseSession(ABC):
    """One request's dealings with the shared store: its place in the queue, then its account."""

    backend: LeaseBackend

    @abstractmethod
    async def take(self, free: Sequence[str], wanted: Sequence[str], deadline: float) -> str | None:
        """Hold the first of ``free`` (keys, best first) that is not retired and that no live
        request queued before this one wants. Else ``None``, this request queued (once) for
        ``wanted`` until ``deadline`` (``time.time()``) at the latest."""

    @abstractmethod
    async def close(self) -> None:
        """Give back the account held, leave the queue; idempotent, never raises."""


class LeaseBackend(ABC):
    """One shared store (a cookies dir, a Redis URL), for the whole process."""

    poll_interval: float  # how often a queued request looks again (a release here wakes it at once)

    def __init__(self) -> None:
        self._seen_lock = threading.Lock()
        self._seen: dict[str, str] = {}  # the retired accounts, as last read
        self._changes: Changes = {}

    @abstractmethod
    def session(self) -> LeaseSession: ...

    @abstractmethod
    async def record(self, changes: Changes) -> None:
        """Store retirements and reinstatements for everyone."""

    def record_now(self, changes: Changes) -> bool:
        """Store them without waiting on the network, if this backend can (``True`` then)."""
        return False

    def pop_changes(self) -> Changes:
        """What others retired or reinstated since the last call (the last ``take`` looked)."""
        if not self._changes:
            return {}
        with self._seen_lock:
            changes, self._changes = self._changes, {}
        return changes

    def _saw(self, retired: dict[str, str]) -> None:
        """The retired accounts as read now: the difference is kept for :meth:`pop_changes`."""
        with self._seen_lock:
            for key, reason in retired.items():
                if self._seen.get(key) != reason:
                    self._changes[key] = reason
            for key in self._seen.keys() - retired.keys():
                self._changes[key] = None
            self._seen = retired

    def retired_now(self) -> frozenset[str]:
        with self._seen_lock:
            return frozenset(self._seen)

    def close(self) -> None:  # noqa: B027 (most backends keep nothing open)
        """Let go of what the process keeps open for this store (an evicted backend)."""


_backends: OrderedDict[tuple[object, ...], LeaseBackend | None] = OrderedDict()
_backends_lock = threading.Lock()
_ENV_KEYS = env_keys(LEASES_ENV, LEASE_URL_ENV, LEASE_TTL_ENV)  # what the backend depends on
_MISSING: Any = object()
_last: tuple[tuple[object, ...], LeaseBackend | None] = ((), None)  # the one asked for last
_cookies: Any = None  # g4f's CookiesConfig: its attribute, not get_cookies_dir() (a stat and a chmod)
_warned_windows = False


def backend() -> LeaseBackend | None:
    """The backend the environment asks for now; ``None``: the pool alone (this process)."""
    global _cookies, _last
    if _cookies is None:
        from g4f.cookies import CookiesConfig

        _cookies = CookiesConfig
    key = (*env_stamp(_ENV_KEYS), _cookies.cookies_dir)
    last_key, last = _last
    if key == last_key:
        return last
    with _backends_lock:
        found = _backends.get(key, _MISSING)
    if found is _MISSING:
        made = _create(lease_settings(), key[3] or ".")
        with _backends_lock:
            found = _backends.setdefault(key, made)  # another thread's, if it was first
            while len(_backends) > _KEPT:
                _, evicted = _backends.popitem(last=False)
                if evicted is not None and evicted not in _backends.values():
                    evicted.close()
        if made is not None and made is not found:
            made.close()
    _last = (key, found)
    return found


def _create(settings: LeaseSettings, cookies_dir: str) -> LeaseBackend | None:
    global _warned_windows
    if settings.scope == PROCESS:
        return None
    if settings.scope == MACHINE:
        if sys.platform == "win32":
            if not _warned_windows:
                _warned_windows = True
                debug.log("HailuoAI: no file locks on Windows: each process keeps its own account leases")
            return None
        from g4f_hailuo.accounts.leases_files import FileLeases

        try:
            return FileLeases.usable(Path(cookies_dir) / DIR_NAME)
        except OSError as error:  # e.g. a read-only cookies dir, tokens given by environment
            debug.log(f"HailuoAI: no account leases in {cookies_dir} ({error}): each process keeps its own")
            return None
    try:
        from g4f_hailuo.accounts.leases_redis import RedisLeases
    except ImportError as error:
        raise MissingRequirementsError(
            f"{LEASE_URL_ENV} puts the account leases in Redis, which needs the redis package"
            f' ({error.name or error}): pip install "g4f-hailuo[cluster]"'
        ) from None
    assert settings.url is not None
    return RedisLeases(settings.url, settings.ttl)


def forget_backends() -> None:
    """Close and forget every backend (tests)."""
    global _last
    with _backends_lock:
        found = list(_backends.values())
        _backends.clear()
        _last = ((), None)
    for each in found:
        if each is not None:
            each.close()
