"""The account pool: every account serves one reply at a time, the others wait in line.

Hailuo answers a second concurrent reply on one account with nothing, so each
account (token) is a slot that one request holds while its reply streams. A
request takes a free account of its pool (the one idle longest) or waits in a
first-come-first-served queue, at most ``timeout`` seconds, then gets a
``RateLimitError``. A request continuing a conversation waits for the account
that made it. An account that turns out banned or expired is *retired*: it
leaves every pool, the waiters it strands are woken, and it is reported (by its
fingerprint, never its token).

By default the rule, the queue and the retirements hold for every process using the same
cookies dir, and with ``HAILUOAI_LEASE_URL`` for every machine using that Redis
(:mod:`.leases`); the slots themselves are kept by :mod:`.slots`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from g4f import debug
from g4f.errors import RateLimitError

from g4f_hailuo.accounts import leases
from g4f_hailuo.accounts import slots as _slots
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.accounts.slots import AccountsGone, Slot, release

__all__ = ["AccountPool", "AccountsGone", "exclusive", "report", "reset"]

logger = logging.getLogger("g4f_hailuo")

_MAX_SLOTS = 4096  # idle live slots beyond this are forgotten, least recently used first
_MAX_POOLS = 256  # pools kept for reuse (AccountPool.of)
_release = release  # (tests wrap it: when an account is given back)
_pools: dict[tuple[str, tuple[Identity, ...]], AccountPool] = {}  # AccountPool.of, oldest first


def report(message: str) -> None:
    """Tell the user about an account (never with its token): g4f's debug log
    when it is on, else a warning of the ``g4f_hailuo`` logger (stderr by default)."""
    if debug.logging:
        debug.log(message)
    else:
        logger.warning(message)


def reset() -> None:
    """Forget every slot and waiter, and the lease backends (tests)."""
    with _slots.lock:
        _slots.generation += 1
        _pools.clear()
        _slots.by_key.clear()
        _slots.waiters.clear()
        _slots.watchers.clear()
        _slots.unsaved.clear()
    leases.forget_backends()


@functools.lru_cache(maxsize=64)
def _origin_tag(origin: str) -> str:
    return hashlib.sha256(origin.encode("utf-8")).hexdigest()[:12]


def _forgettable(slot: Slot, wanted: set[str]) -> bool:
    """A slot whose loss changes nothing: idle, awaited by nobody, and not retired
    (a forgotten retired account would come back live the next time it is given)."""
    return not slot.busy and slot.retired is None and slot.key not in wanted


def _forget_idle_slots() -> None:
    if len(_slots.by_key) <= _MAX_SLOTS:
        return
    wanted = {key for waiter in (*_slots.waiters, *_slots.watchers) for key in waiter.eligible}
    idle = sorted(
        (slot for slot in _slots.by_key.values() if _forgettable(slot, wanted)),
        key=lambda slot: slot.last_used,
    )
    for slot in idle[: len(_slots.by_key) - _MAX_SLOTS]:
        del _slots.by_key[slot.key]


@dataclass
class AccountPool:
    """The accounts one request may use, in the order they were given."""

    origin: str
    identities: Sequence[Identity]
    _by_key: dict[str, Identity] = field(init=False, repr=False)
    _tag: str = field(init=False, repr=False)
    # The live accounts by key, and the slots' generation they were read at.
    _live: dict[str, Identity] = field(init=False, repr=False, default_factory=dict)
    _live_at: int = field(init=False, repr=False, default=-1)
    # Until then (time.time) no live account's token expires or comes near it: see provider._pool.
    quiet_until: float = field(init=False, repr=False, default=0.0)

    def __post_init__(self) -> None:
        self._by_key = {}
        self._tag = _origin_tag(self.origin)
        for identity in self.identities:
            self._by_key.setdefault(self._key(identity.account), identity)
        with _slots.lock:
            for key in self._by_key:
                _slots.slot_of(key)
            _forget_idle_slots()

    @classmethod
    def of(cls, origin: str, identities: tuple[Identity, ...]) -> AccountPool:
        """The pool of these accounts on ``origin``, made once and kept (the most recent
        ``_MAX_POOLS``): a request reuses its keys and live list instead of building them."""
        key = (origin, identities)
        with _slots.lock:
            pool = _pools.pop(key, None)
            if pool is not None:
                _pools[key] = pool  # the most recently used last
                return pool
        pool = cls(origin, identities)
        with _slots.lock:
            _pools[key] = pool
            while len(_pools) > _MAX_POOLS:
                del _pools[next(iter(_pools))]
        return pool

    def __repr__(self) -> str:
        return f"AccountPool(origin={self.origin!r}, accounts={len(self._by_key)}, live={len(self.live())})"

    def _key(self, account: str) -> str:
        """The account's name in every store: the origin's tag and the token's fingerprint."""
        return f"{self._tag}-{account.removeprefix('sha256:')}"

    def __len__(self) -> int:
        return len(self._by_key)

    def live_by_key(self) -> dict[str, Identity]:
        """The accounts not retired, by key (kept until an account is retired or put back;
        not to be changed by the caller)."""
        with _slots.lock:
            if self._live_at != _slots.generation:
                self._live = {
                    key: identity
                    for key, identity in self._by_key.items()
                    if _slots.slot_of(key).retired is None
                }
                self._live_at = _slots.generation
                self.quiet_until = 0.0  # an account came back: look at its expiry again
            return self._live

    def live(self) -> list[Identity]:
        return list(self.live_by_key().values())

    def retired_reasons(self) -> list[tuple[str, str]]:
        """``(account fingerprint, why it left)`` for each retired account of this pool."""
        with _slots.lock:
            reasons = [
                (identity.account, _slots.slot_of(key).retired) for key, identity in self._by_key.items()
            ]
        return [(account, reason) for account, reason in reasons if reason is not None]

    def retire(self, identity: Identity, reason: str) -> bool:
        """Take an account out of every pool, here and wherever the leases are shared;
        whether it was still serving."""
        key = self._key(identity.account)
        with _slots.lock:
            retired = _slots.retire(key, reason)
        if retired:
            _slots.share(key, reason)
        return retired

    def reinstate(self, identity: Identity) -> None:
        """Put an account back (a fresh login proved it alive)."""
        key = self._key(identity.account)
        with _slots.lock:
            was_retired = _slots.reinstate(key)
        if was_retired or _slots.retired_elsewhere(key):
            _slots.share(key, None)

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

    __slots__ = ("_key", "_pool", "_prefer", "_session", "_timeout")

    def __init__(self, pool: AccountPool, prefer: str | None, timeout: float) -> None:
        self._pool, self._prefer, self._timeout = pool, prefer, timeout
        self._key: str | None = None
        self._session: leases.LeaseSession | None = None

    async def __aenter__(self) -> Identity:
        pool = self._pool
        live = pool.live_by_key()
        preferred = pool._key(self._prefer) if self._prefer else None
        keys = [preferred] if preferred in live else list(live)
        if not keys:
            raise AccountsGone
        found = leases.backend()
        if found is None:
            key = await _slots.acquire(keys, self._timeout)
        else:
            held = await _slots.acquire_shared(found, keys, self._timeout)
            key, self._session = held or (None, None)
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
        session, self._session = self._session, None
        try:
            if session is not None:
                try:  # a retirement during the reply is stored before anyone else may take the account
                    if _slots.unsaved:
                        await _slots.flush(session.backend)
                except Exception as error:
                    debug.log(f"HailuoAI: the account's retirement is not shared yet: {error}")
                await session.close()
        finally:
            if key is not None:
                with _slots.lock:
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
        self._held = await _slots.acquire([self._key], self._timeout)
        return self._held is not None

    async def __aexit__(self, *exc_info: object) -> None:
        held, self._held = self._held, None
        if held is not None:
            with _slots.lock:
                _release(held)
