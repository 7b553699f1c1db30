"""The account pool: every account serves one reply at a time, the others wait in line.

Hailuo answers a second concurrent reply on one account with nothing, so each
account (token) is a slot that one request holds while its reply streams. A
request takes a free account of its pool (the one idle longest) or waits in a
first-come-first-served queue, at most ``timeout`` seconds, then gets a
``RateLimitError``. A request continuing a conversation waits for the account
that made it. An account that turns out banned or expired is *retired*: it
leaves every pool, the waiters it strands are woken, and it is reported (by its
fingerprint, never its token).

The state is process-wide and loop-agnostic: g4f's GUI serves each request on
its own thread with its own event loop, so the slots live under a
``threading.Lock`` and waiters are woken with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from g4f import debug
from g4f.errors import RateLimitError

from g4f_hailuo.accounts.identity import Identity

__all__ = ["AccountPool", "AccountsGone", "exclusive", "report", "reset"]

logger = logging.getLogger("g4f_hailuo")

_MAX_SLOTS = 4096  # idle live slots beyond this are forgotten, least recently used first


class AccountsGone(Exception):
    """Every account a request could use was retired while it waited (internal)."""


@dataclass(eq=False)
class _Slot:
    key: str
    busy: bool = False
    retired: str | None = None
    last_used: float = 0.0


@dataclass(eq=False)
class _Waiter:
    eligible: list[str]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    granted: str | None = None
    gone: bool = False


_lock = threading.Lock()
_slots: dict[str, _Slot] = {}
_waiters: deque[_Waiter] = deque()


def report(message: str) -> None:
    """Tell the user about an account (never with its token): g4f's debug log
    when it is on, else a warning of the ``g4f_hailuo`` logger (stderr by default)."""
    if debug.logging:
        debug.log(message)
    else:
        logger.warning(message)


def reset() -> None:
    """Forget every slot and waiter (tests)."""
    with _lock:
        _slots.clear()
        _waiters.clear()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _wake(waiter: _Waiter) -> bool:
    try:
        waiter.loop.call_soon_threadsafe(_resolve, waiter.future)
    except RuntimeError:  # its loop is closed: the waiter is gone
        return False
    return True


def _slot(key: str) -> _Slot:
    slot = _slots.get(key)
    if slot is None:
        slot = _slots[key] = _Slot(key)
    return slot


def _hand_over(slot: _Slot) -> None:
    """Give a free slot to the first waiter that can use it (caller holds the lock)."""
    for waiter in list(_waiters):
        if slot.key not in waiter.eligible:
            continue
        _waiters.remove(waiter)
        waiter.granted, slot.busy = slot.key, True
        if _wake(waiter):
            return
        waiter.granted, slot.busy = None, False


def _release(key: str) -> None:
    slot = _slot(key)
    slot.busy = False
    slot.last_used = time.monotonic()
    if slot.retired is None:
        _hand_over(slot)


def _forgettable(slot: _Slot, wanted: set[str]) -> bool:
    """A slot whose loss changes nothing: idle, awaited by nobody, and not retired
    (a forgotten retired account would come back live the next time it is given)."""
    return not slot.busy and slot.retired is None and slot.key not in wanted


def _forget_idle_slots() -> None:
    if len(_slots) <= _MAX_SLOTS:
        return
    wanted = {key for waiter in _waiters for key in waiter.eligible}
    idle = sorted(
        (slot for slot in _slots.values() if _forgettable(slot, wanted)),
        key=lambda slot: slot.last_used,
    )
    for slot in idle[: len(_slots) - _MAX_SLOTS]:
        del _slots[slot.key]


async def _acquire(keys: Sequence[str], timeout: float) -> str | None:
    """Hold one of ``keys``: at once if one is free, else first come first served.

    Returns the key held, ``None`` after ``timeout`` seconds; raises
    :class:`AccountsGone` when every key was retired meanwhile."""
    with _lock:
        slots = [slot for slot in map(_slot, keys) if slot.retired is None]
        if not slots:
            raise AccountsGone
        free = [slot for slot in slots if not slot.busy]
        if free:
            slot = min(free, key=lambda slot: slot.last_used)
            slot.busy = True
            return slot.key
        loop = asyncio.get_running_loop()
        waiter = _Waiter([slot.key for slot in slots], loop, loop.create_future())
        _waiters.append(waiter)
    try:
        await asyncio.wait({waiter.future}, timeout=timeout)
    except BaseException:  # cancelled: give back what may have been handed over meanwhile
        with _lock:
            if waiter.granted is not None:
                _release(waiter.granted)
            elif waiter in _waiters:
                _waiters.remove(waiter)
        raise
    with _lock:
        if waiter.granted is None and waiter in _waiters:
            _waiters.remove(waiter)
        granted = waiter.granted
    if granted is None and waiter.gone:
        raise AccountsGone
    return granted


def _retire(key: str, reason: str) -> bool:
    with _lock:
        slot = _slot(key)
        if slot.retired is not None:
            return False
        slot.retired = reason
        for waiter in list(_waiters):
            if key in waiter.eligible:
                waiter.eligible.remove(key)
                if not waiter.eligible:
                    _waiters.remove(waiter)
                    waiter.gone = True
                    _wake(waiter)
        return True


@dataclass
class AccountPool:
    """The accounts one request may use, in the order they were given."""

    origin: str
    identities: Sequence[Identity]
    _by_key: dict[str, Identity] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_key = {}
        for identity in self.identities:
            self._by_key.setdefault(self._key(identity.account), identity)
        with _lock:
            for key in self._by_key:
                _slot(key)
            _forget_idle_slots()

    def __repr__(self) -> str:
        return f"AccountPool(origin={self.origin!r}, accounts={len(self._by_key)}, live={len(self.live())})"

    def _key(self, account: str) -> str:
        return f"{self.origin} {account}"

    def __len__(self) -> int:
        return len(self._by_key)

    def live(self) -> list[Identity]:
        with _lock:
            return [identity for key, identity in self._by_key.items() if _slot(key).retired is None]

    def retired_reasons(self) -> list[tuple[str, str]]:
        """``(account fingerprint, why it left)`` for each retired account of this pool."""
        with _lock:
            reasons = [(identity.account, _slot(key).retired) for key, identity in self._by_key.items()]
        return [(account, reason) for account, reason in reasons if reason is not None]

    def retire(self, identity: Identity, reason: str) -> bool:
        """Take an account out of every pool; whether it was still serving."""
        return _retire(self._key(identity.account), reason)

    def reinstate(self, identity: Identity) -> None:
        """Put an account back (a fresh login proved it alive)."""
        with _lock:
            slot = _slot(self._key(identity.account))
            if slot.retired is not None:
                slot.retired = None
                if not slot.busy:
                    _hand_over(slot)

    def lease(self, prefer: str | None, timeout: float) -> _Lease:
        """Hold one live account for one reply (``async with``): ``prefer`` (an
        account fingerprint) when it is live in this pool, else any.

        Raises ``RateLimitError`` after ``timeout`` seconds in the queue and
        :class:`AccountsGone` when no live account is left."""
        return _Lease(self, prefer, timeout)


class _Lease:
    """``AccountPool.lease``. A class, not an ``@asynccontextmanager``: that is an
    async generator of its own, which ``loop.shutdown_asyncgens()`` may close
    before the provider's generator inside it, and leaving it then fails."""

    __slots__ = ("_key", "_pool", "_prefer", "_timeout")

    def __init__(self, pool: AccountPool, prefer: str | None, timeout: float) -> None:
        self._pool, self._prefer, self._timeout = pool, prefer, timeout
        self._key: str | None = None

    async def __aenter__(self) -> Identity:
        pool = self._pool
        live = {pool._key(identity.account): identity for identity in pool.live()}
        preferred = pool._key(self._prefer) if self._prefer else None
        keys = [preferred] if preferred in live else list(live)
        if not keys:
            raise AccountsGone
        key = await _acquire(keys, self._timeout)
        if key is None:
            if len(keys) == 1 and len(live) > 1:
                what = "The Hailuo account of this conversation is busy with another reply"
            elif len(keys) == 1:
                what = "The Hailuo account is busy with another reply (one reply at a time per account)"
            else:
                what = f"All {len(keys)} Hailuo accounts are busy (one reply at a time per account)"
            raise RateLimitError(
                f"{what}; gave up after waiting {self._timeout:g} s in the queue"
                " (queue_timeout / HAILUOAI_QUEUE_TIMEOUT)"
            )
        self._key = key
        return live[key]

    async def __aexit__(self, *exc_info: object) -> None:
        key, self._key = self._key, None
        if key is not None:
            with _lock:
                _release(key)


def exclusive(name: str, timeout: float) -> _Exclusive:
    """One holder at a time for ``name`` across threads and loops (the browser
    login): ``async with`` gives ``False`` when ``timeout`` seconds passed without a turn."""
    return _Exclusive(f"exclusive {name}", timeout)


class _Exclusive:
    """``exclusive``: a class for the same reason as :class:`_Lease`."""

    __slots__ = ("_held", "_key", "_timeout")

    def __init__(self, key: str, timeout: float) -> None:
        self._key, self._timeout = key, timeout
        self._held: str | None = None

    async def __aenter__(self) -> bool:
        self._held = await _acquire([self._key], self._timeout)
        return self._held is not None

    async def __aexit__(self, *exc_info: object) -> None:
        held, self._held = self._held, None
        if held is not None:
            with _lock:
                _release(held)
