"""The accounts' slots in this process: who holds each account, who waits for which, which
are retired; and the same through a lease backend (:mod:`.leases`), which shares it with the
other processes of the machine or with other machines. :mod:`.pool` is the interface.

The state is process-wide and loop-agnostic: g4f's GUI serves each request on its own thread
with its own event loop, so it lives under a ``threading.Lock`` and waiters are woken with
``call_soon_threadsafe``.

Through a backend, a request takes a free account in the shared store (the fast path: one file
lock, or one Redis script), else queues there and looks again when this process gives back an
account it wants, or every ``poll_interval``. The shared queue is first come first served as
well: an account goes to the request queued longest of those that want it; one just arriving
takes it only when no queued request wants it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from g4f import debug
from g4f.errors import G4FError

from g4f_hailuo.accounts import leases

__all__ = [
    "AccountsGone",
    "Slot",
    "Waiter",
    "acquire",
    "acquire_shared",
    "apply",
    "by_key",
    "flush",
    "generation",
    "lock",
    "reinstate",
    "release",
    "retire",
    "retired_elsewhere",
    "share",
    "slot_of",
    "unsaved",
    "waiters",
    "watchers",
]


class AccountsGone(Exception):
    """Every account a request could use was retired while it waited (internal)."""


@dataclass(eq=False, slots=True)
class Slot:
    key: str
    busy: bool = False
    retired: str | None = None
    last_used: float = 0.0


@dataclass(eq=False)
class Waiter:
    eligible: list[str]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    granted: str | None = None
    gone: bool = False


lock = threading.Lock()
by_key: dict[str, Slot] = {}
waiters: deque[Waiter] = deque()  # queued in this process alone (no backend)
watchers: list[Waiter] = []  # queued in a shared store: woken to look again
unsaved: leases.Changes = {}  # retirements and reinstatements not yet in the shared store
# Bumped whenever an account is retired or put back: a pool's list of live accounts is kept
# until it changes (under ``lock``; a list per pool, not a look at every slot per request).
generation = 0


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def wake(waiter: Waiter) -> bool:
    try:
        waiter.loop.call_soon_threadsafe(_resolve, waiter.future)
    except RuntimeError:  # its loop is closed: the waiter is gone
        return False
    return True


def slot_of(key: str) -> Slot:
    slot = by_key.get(key)
    if slot is None:
        slot = by_key[key] = Slot(key)
    return slot


def _last_used(key: str) -> float:
    return by_key[key].last_used


def hand_over(slot: Slot) -> bool:
    """Give a free slot to the first waiter that can use it (caller holds the lock)."""
    for waiter in list(waiters):
        if slot.key not in waiter.eligible:
            continue
        waiters.remove(waiter)
        waiter.granted, slot.busy = slot.key, True
        if wake(waiter):
            return True
        waiter.granted, slot.busy = None, False
    return False


def nudge(key: str, everyone: bool = False) -> None:
    """Wake the first (or every) request queued in the shared store that wants ``key``: it looks again."""
    for waiter in watchers:
        if key in waiter.eligible and wake(waiter) and not everyone:
            return


def release(key: str) -> None:
    slot = slot_of(key)
    slot.busy = False
    slot.last_used = time.monotonic()
    if slot.retired is None and not hand_over(slot):
        nudge(key)


async def acquire(keys: Sequence[str], timeout: float) -> str | None:
    """Hold one of ``keys``: at once if one is free, else first come first served.

    Returns the key held, ``None`` after ``timeout`` seconds; raises
    :class:`AccountsGone` when every key was retired meanwhile."""
    with lock:
        slots = [slot for slot in map(slot_of, keys) if slot.retired is None]
        if not slots:
            raise AccountsGone
        free = [slot for slot in slots if not slot.busy]
        if free:
            slot = min(free, key=lambda slot: slot.last_used)
            slot.busy = True
            return slot.key
        loop = asyncio.get_running_loop()
        waiter = Waiter([slot.key for slot in slots], loop, loop.create_future())
        waiters.append(waiter)
    try:
        await asyncio.wait({waiter.future}, timeout=timeout)
    except BaseException:  # cancelled: give back what may have been handed over meanwhile
        with lock:
            if waiter.granted is not None:
                release(waiter.granted)
            elif waiter in waiters:
                waiters.remove(waiter)
        raise
    with lock:
        if waiter.granted is None and waiter in waiters:
            waiters.remove(waiter)
        granted = waiter.granted
    if granted is None and waiter.gone:
        raise AccountsGone
    return granted


def retire(key: str, reason: str) -> bool:
    """Retire ``key`` here (caller holds the lock); whether it was still serving."""
    global generation
    slot = slot_of(key)
    if slot.retired is not None:
        return False
    slot.retired = reason
    generation += 1
    for waiter in list(waiters):
        if key in waiter.eligible:
            waiter.eligible.remove(key)
            if not waiter.eligible:
                waiters.remove(waiter)
                waiter.gone = True
                wake(waiter)
    nudge(key, everyone=True)  # they look again, and see what is left
    return True


def reinstate(key: str) -> bool:
    """Put ``key`` back here (caller holds the lock); whether it was retired."""
    global generation
    slot = slot_of(key)
    if slot.retired is None:
        return False
    slot.retired = None
    generation += 1
    if not slot.busy and not hand_over(slot):
        nudge(key)
    return True


def share(key: str, reason: str | None) -> None:
    """Tell the other processes (machines) of a retirement (``None``: a reinstatement):
    at once where the backend can, else at this process's next lease."""
    try:
        found = leases.backend()
        if found is None or found.record_now({key: reason}):
            return
    except (G4FError, OSError) as error:  # a setting that leasing reports; a full disk
        debug.log(f"HailuoAI: the account's retirement is not shared yet: {error}")
    with lock:
        unsaved[key] = reason


def retired_elsewhere(key: str) -> bool:
    """Whether the shared store had ``key`` retired, when last looked at."""
    try:
        found = leases.backend()
    except G4FError:  # a bad setting: leasing reports it
        return False
    return found is not None and key in found.retired_now()


async def flush(found: leases.LeaseBackend) -> None:
    """Store the retirements and reinstatements this process has not shared yet."""
    with lock:
        if not unsaved:
            return
        changes = dict(unsaved)
        unsaved.clear()
    try:
        await found.record(changes)
    except BaseException:
        with lock:
            for key, reason in changes.items():
                unsaved.setdefault(key, reason)
        raise


def apply(changes: leases.Changes) -> None:
    """What the other processes (machines) retired and reinstated, here."""
    if not changes:
        return
    with lock:
        for key, reason in changes.items():
            if reason is not None:
                retire(key, reason)
            elif key in by_key:
                reinstate(key)


async def acquire_shared(
    found: leases.LeaseBackend, keys: Sequence[str], timeout: float
) -> tuple[str, leases.LeaseSession] | None:
    """:func:`acquire` through the shared store: the key held and its session, or ``None``."""
    session = found.session()
    try:
        key = await _queue_shared(found, session, list(keys), timeout)
    except BaseException:
        await session.close()
        raise
    if key is None:
        await session.close()
        return None
    return key, session


async def _queue_shared(
    found: leases.LeaseBackend, session: leases.LeaseSession, eligible: list[str], timeout: float
) -> str | None:
    until, deadline = time.monotonic() + timeout, time.time() + timeout
    waiter: Waiter | None = None
    try:
        while True:
            if unsaved:
                await flush(found)
            with lock:
                if waiter is not None and waiter.future.done():  # a nudge from now on wakes the next wait
                    waiter.future = waiter.loop.create_future()
                live = [key for key in eligible if slot_of(key).retired is None]
                free = sorted((key for key in live if not by_key[key].busy), key=_last_used)
            if not live:
                raise AccountsGone
            key = await session.take(free, live, deadline)
            apply(found.pop_changes())
            if key is not None:
                with lock:
                    slot = slot_of(key)
                    if slot.retired is not None:  # retired by this process meanwhile
                        raise AccountsGone
                    slot.busy = True
                return key
            if waiter is None:
                loop = asyncio.get_running_loop()
                waiter = Waiter(eligible, loop, loop.create_future())
                with lock:
                    watchers.append(waiter)
            remaining = until - time.monotonic()
            if remaining <= 0:
                return None
            await asyncio.wait({waiter.future}, timeout=min(remaining, found.poll_interval))
    finally:
        if waiter is not None:
            with lock:
                watchers.remove(waiter)
