"""The machine's account leases: OS file locks in the cookies dir (POSIX).

In ``<cookies dir>/hailuo_leases/`` (0700):

- ``<key>.lock``, one per account (``<origin tag>-<account fingerprint>``, never the token):
  a process holds ``flock(LOCK_EX)`` on it while one of its requests streams a reply on that
  account. The OS drops the lock when the process ends, however it ends (``kill -9``), so none
  is ever left behind. The files stay, empty: removing a lock file that another process may be
  locking would let two processes hold "it".
- ``queue``: the waiting requests, oldest first, a line each: ``<owner> <id> <deadline ms> <key>...``.
  Changed under ``flock`` on the file itself, read under a shared one; rewritten in place and
  never through empty, so that one ``stat`` tells the fast path whether anyone waits at all.
- ``owners/<owner>``: a process with requests in the queue holds ``flock`` on its own file. A
  line whose owner's file is not locked (that process is gone) or whose deadline has passed is
  ignored, and dropped.
- ``retired.json``: ``{key: [unix time, reason]}``, written atomically under
  ``auth_cache.locked``, read again when its ``stat`` changes; an entry lapses after a day.

``flock`` locks belong to an open file, not to a process (``lockf``/``fcntl`` locks would drop
with one ``close`` of any descriptor of the file). A process opens each lock file once and keeps
it open between leases (the most recently used: ``kept_open_bound``); its own requests and threads
exclude each other through the set of keys it holds, since a second ``flock`` on the same open
file would succeed. A forked child closes its copies without unlocking them.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import secrets
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from g4f import debug

from g4f_hailuo.accounts import auth_cache
from g4f_hailuo.accounts.leases import RETIRED_FOR, Changes, LeaseBackend, LeaseSession

__all__ = ["POLL_INTERVAL", "FileLeases"]

POLL_INTERVAL = 0.025  # seconds between two looks of a queued request (a release here wakes it at once)
_GRACE_MS = 5000  # a queue line outlives its request's deadline by this much at most
_MAX_RETIRED = 4096
_REFRESH_EVERY = 1.0  # seconds: the fast path reads a changed retired.json this late at most
_FLAGS = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


def kept_open_bound(soft_limit: int | None) -> int:
    """How many account lock files stay open between leases (an open and a close less per
    reply): an eighth of the process's open-file limit, from 16 to 256. Beyond it, the least
    recently used one that is not locked is closed; a pool that cycles through more accounts
    than this opens a file per lease. Never more than 256: descriptors above 1,023 break code
    that still uses ``select()`` (``FD_SETSIZE``) in the same process."""
    if soft_limit is None or soft_limit < 0:  # unknown, or RLIM_INFINITY (-1)
        return 256 if soft_limit is not None else 128
    return max(16, min(256, soft_limit // 8))


def _soft_open_files_limit() -> int | None:
    try:
        import resource

        return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return None


_KEPT_OPEN = kept_open_bound(_soft_open_files_limit())

_backends: weakref.WeakSet[FileLeases] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child shares the parent's open lock files: it lets go of its copies without
    unlocking them (the parent keeps its locks) and gets names of its own."""
    inherited: list[int] = []
    for backend in list(_backends):
        inherited += [*backend._busy.values(), *backend._idle.values()]
        backend._busy.clear()
        backend._idle.clear()
        # A lock another thread held at the fork stays held in the child forever: new ones.
        backend._files_lock, backend._owner_lock = threading.Lock(), threading.Lock()
        backend._seen_lock = threading.Lock()
        inherited += [fd for fd in (backend._owner_fd, backend._queue_fd) if fd is not None]
        backend._owner, backend._owner_fd, backend._queue_fd = None, None, None
    for fd in inherited:
        with contextlib.suppress(OSError):
            os.close(fd)


os.register_at_fork(after_in_child=_after_fork_in_child)


class _Line(NamedTuple):
    owner: str
    wid: str
    deadline: int  # ms since the epoch
    keys: frozenset[str]


def _parse(data: bytes) -> list[_Line]:
    lines = []
    for line in data.decode("ascii", "replace").splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[2].isdigit():
            lines.append(_Line(fields[0], fields[1], int(fields[2]), frozenset(fields[3:])))
    return lines


def _unparse(lines: Sequence[_Line]) -> bytes:
    text = "".join(f"{line.owner} {line.wid} {line.deadline} {' '.join(line.keys)}\n" for line in lines)
    return text.encode("ascii")


def _retired_entry(entry: object, now: float) -> tuple[float, str] | None:
    """``[unix time, reason]`` of ``retired.json``, if well-formed and not lapsed."""
    if isinstance(entry, list) and len(entry) == 2:
        when, reason = entry
        if isinstance(when, (int, float)) and isinstance(reason, str) and now - when < RETIRED_FOR:
            return float(when), reason
    return None


class FileLeases(LeaseBackend):
    """The leases of one cookies dir, for this process."""

    poll_interval = POLL_INTERVAL

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory
        self._prefix = f"{directory}{os.sep}"
        self._queue = str(directory / "queue")
        self._retired = directory / "retired.json"
        self._owner: str | None = None
        self._owner_fd: int | None = None
        self._owner_lock = threading.Lock()
        self._retired_stat: tuple[int, int, int] | None = None
        self._refreshed = 0.0  # time.monotonic() of the last look at retired.json
        self._queue_fd: int | None = None  # for fstat alone (a lock on it would not exclude threads)
        # key -> the open descriptor of its lock file: held by a request of this process
        # (``_busy``), or not (``_idle``, least recently used first). One descriptor per file,
        # so the threads of this process exclude each other through ``_busy`` (a second flock
        # on it would succeed).
        self._busy: dict[str, int] = {}
        self._idle: OrderedDict[str, int] = OrderedDict()
        self._files_lock = threading.Lock()
        self._closed = False  # evicted (``close``): nothing is kept open any more
        self._made = False
        self._ids = itertools.count(1)
        _backends.add(self)

    @classmethod
    def usable(cls, directory: Path) -> FileLeases:
        """The leases of ``directory``, made and opened here first (``OSError`` if it cannot be)."""
        leases = cls(directory)
        leases.anyone_waiting()
        return leases

    def session(self) -> FileSession:
        return FileSession(self)

    def _dir(self) -> Path:
        if not self._made:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._made = True
        return self.directory

    # -- the accounts' locks ------------------------------------------------------------------

    def lock(self, key: str) -> bool:
        """Take ``key``'s lock; ``False`` when another process or request holds it, or when
        its file is marked retired."""
        with self._files_lock:
            if key in self._busy:
                return False
            taken = self._take(key, self._idle.pop(key, None))
            if taken is not None and taken[1].st_nlink == 0:
                os.close(taken[0])  # a kept file was deleted meanwhile (a cleaned cookies dir)
                taken = self._take(key, None)
            if taken is None:
                return False
            fd, found = taken
            try:
                if found.st_size and self._marked_retired(fd, key):
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    self._keep_idle(key, fd)
                    return False
            except BaseException:
                fcntl.flock(fd, fcntl.LOCK_UN)
                self._keep_idle(key, fd)
                raise
            self._busy[key] = fd
            self._keep_bound()
            return True

    def _take(self, key: str, fd: int | None) -> tuple[int, os.stat_result] | None:
        """``key``'s file (kept open, else opened) locked, and its stat; None if another holds it."""
        if fd is None:
            fd = self._open(key)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd, os.fstat(fd)
        except BlockingIOError:
            self._keep_idle(key, fd)
            return None
        except BaseException:
            os.close(fd)  # (unlocks it too)
            raise

    def _open(self, key: str) -> int:
        """``key``'s lock file, opened (made if need be, with its directory)."""
        if not self._made:
            self._dir()
        path = f"{self._prefix}{key}.lock"
        try:
            return os.open(path, _FLAGS, 0o600)
        except FileNotFoundError:  # the directory went away: made again
            self._made = False
            self._dir()
            return os.open(path, _FLAGS, 0o600)

    def _keep_idle(self, key: str, fd: int) -> None:
        """Keep an unlocked file open for the next lease (not once the backend is closed)."""
        if self._closed:
            os.close(fd)
            return
        self._idle[key] = fd
        self._keep_bound()

    def _keep_bound(self) -> None:
        """Close the least recently used idle files beyond ``_KEPT_OPEN`` open ones (held ones
        are never closed)."""
        while self._idle and len(self._idle) + len(self._busy) > _KEPT_OPEN:
            os.close(self._idle.popitem(last=False)[1])

    def _marked_retired(self, fd: int, key: str) -> bool:
        """A lock file with something in it: its account was retired (``record_now``), unless
        that lapsed or was taken back since (then the mark goes)."""
        self.refresh()
        if key in self._seen:
            return True
        os.ftruncate(fd, 0)
        return False

    def unlock(self, key: str) -> None:
        with self._files_lock:
            fd = self._busy.pop(key, None)
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
                self._keep_idle(key, fd)

    # -- the queue ------------------------------------------------------------------------------

    def anyone_waiting(self) -> bool:
        fd = self._queue_fd
        if fd is None:
            with self._owner_lock:
                if self._queue_fd is None:
                    self._dir()
                    self._queue_fd = os.open(self._queue, _FLAGS, 0o600)
                fd = self._queue_fd
        return os.fstat(fd).st_size > 0

    @contextlib.contextmanager
    def _queue_file(self, exclusive: bool) -> Iterator[tuple[int, list[_Line]]]:
        self._dir()
        fd = os.open(self._queue, _FLAGS, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield fd, _parse(os.pread(fd, os.fstat(fd).st_size, 0))
        finally:
            os.close(fd)

    def lines(self) -> list[_Line]:
        with self._queue_file(exclusive=False) as (_, lines):
            return lines

    def join(self, wid: str, keys: Sequence[str], deadline: float) -> None:
        line = _unparse([_Line(self.owner(), wid, int(deadline * 1000), frozenset(keys))])
        with self._queue_file(exclusive=True) as (fd, _):
            os.pwrite(fd, line, os.fstat(fd).st_size)

    def drop(self, gone: set[tuple[str, str]]) -> None:
        """Take the lines ``(owner, id)`` out of the queue."""
        with self._queue_file(exclusive=True) as (fd, lines):
            kept = [line for line in lines if (line.owner, line.wid) not in gone]
            if len(kept) < len(lines):
                data = _unparse(kept)
                os.pwrite(fd, data, 0)  # then shorten: the file never looks empty while it is not
                os.ftruncate(fd, len(data))

    def new_id(self) -> str:
        return str(next(self._ids))

    def owner(self) -> str:
        """This process's name in the queue; its file stays locked while the process lives."""
        with self._owner_lock:
            if self._owner is None:
                owners = self._dir() / "owners"
                owners.mkdir(mode=0o700, exist_ok=True)
                name = f"{os.getpid()}-{secrets.token_hex(4)}"
                fd, temporary = tempfile.mkstemp(dir=owners, prefix=".")
                fcntl.flock(fd, fcntl.LOCK_EX)  # before it has its name: never seen unlocked
                os.replace(temporary, owners / name)
                self._owner, self._owner_fd = name, fd
            return self._owner

    def alive(self, owner: str) -> bool:
        """Whether the process that queued as ``owner`` still runs (it holds its file's lock)."""
        if owner == self._owner:
            return True
        path = self.directory / "owners" / owner
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink()  # its process is gone; the name is never used again
        return False

    def close(self) -> None:
        with self._owner_lock:
            owner, fd, self._owner, self._owner_fd = self._owner, self._owner_fd, None, None
            queue_fd, self._queue_fd = self._queue_fd, None
        if queue_fd is not None:
            os.close(queue_fd)
        with self._files_lock:
            # Held locks stay held until their requests give them back (then they close).
            self._closed = True
            idle = list(self._idle.values())
            self._idle.clear()
        for lock_fd in idle:
            os.close(lock_fd)
        if owner is not None and fd is not None:
            with contextlib.suppress(OSError):
                (self.directory / "owners" / owner).unlink()
            os.close(fd)

    # -- retired accounts -----------------------------------------------------------------------

    def refresh(self) -> None:
        """Read ``retired.json`` again if it changed (one ``stat`` when it did not)."""
        try:
            found = os.stat(self._retired)
            stamp: tuple[int, int, int] | None = (found.st_ino, found.st_mtime_ns, found.st_size)
        except FileNotFoundError:
            stamp = None
        self._refreshed = time.monotonic()
        if stamp != self._retired_stat:
            self._retired_stat = stamp
            self._saw({key: reason for key, (_, reason) in self._read_retired().items()})

    def _read_retired(self) -> dict[str, tuple[float, str]]:
        now = time.time()
        stored = auth_cache.read_auth(self._retired) or {}
        found = {key: _retired_entry(entry, now) for key, entry in stored.items()}
        return {key: entry for key, entry in found.items() if entry is not None}

    def record_now(self, changes: Changes) -> bool:
        self._dir()
        with auth_cache.locked(self._retired):
            retired = self._read_retired()
            for key, reason in changes.items():
                retired.pop(key, None)
                if reason is not None:
                    retired[key] = (time.time(), reason)
            newest = sorted(retired.items(), key=lambda item: item[1][0])[-_MAX_RETIRED:]
            auth_cache.write_auth(self._retired, {key: list(entry) for key, entry in newest})
        for key, reason in changes.items():  # the mark that a process taking the lock looks for
            fd = self._open(key)
            try:
                if reason is None:
                    os.ftruncate(fd, 0)
                else:
                    os.pwrite(fd, b"retired\n", 0)
            finally:
                os.close(fd)
        self.refresh()
        return True

    async def record(self, changes: Changes) -> None:
        self.record_now(changes)


class FileSession(LeaseSession):
    """One request's place in the machine's queue, then the lock of its account."""

    __slots__ = ("_held", "_wid", "backend")

    def __init__(self, backend: FileLeases) -> None:
        self.backend: FileLeases = backend
        self._held: str | None = None  # the key whose lock it holds
        self._wid: str | None = None  # its line in the queue, once queued

    async def take(self, free: Sequence[str], wanted: Sequence[str], deadline: float) -> str | None:
        backend = self.backend
        if self._wid is not None or time.monotonic() - backend._refreshed > _REFRESH_EVERY:
            backend.refresh()  # (the fast path: a retired account's lock file is marked)
        if self._wid is None and not backend.anyone_waiting():
            ahead: list[_Line] = []
            mine = False
        else:
            ahead, mine = self._ahead(backend.lines())
        retired = backend._seen
        for key in free:
            if key in retired or any(key in line.keys for line in ahead):
                continue
            if backend.lock(key):
                self._held = key
                self._leave()
                return key
        if not mine:  # first time here (or dropped as late): at the end of the line
            self._wid = self._wid or backend.new_id()
            backend.join(self._wid, wanted, deadline)
        return None

    def _ahead(self, lines: list[_Line]) -> tuple[list[_Line], bool]:
        """The live lines before this request's own (all of them before it is queued), and
        whether its own is there. Dead ones are dropped from the file."""
        backend, now = self.backend, time.time() * 1000
        ahead: list[_Line] = []
        dead: set[tuple[str, str]] = set()
        alive: dict[str, bool] = {}
        mine = False
        for line in lines:
            if line.wid == self._wid and line.owner == backend._owner:
                mine = True
                break
            if line.owner not in alive:
                alive[line.owner] = backend.alive(line.owner)
            if line.deadline + _GRACE_MS < now or not alive[line.owner]:
                dead.add((line.owner, line.wid))
            else:
                ahead.append(line)
        if dead:
            backend.drop(dead)
        return ahead, mine

    def _leave(self) -> None:
        wid, self._wid = self._wid, None
        if wid is not None and self.backend._owner is not None:
            self.backend.drop({(self.backend._owner, wid)})

    async def close(self) -> None:
        try:
            self._leave()
        except OSError as error:  # its line lapses with its deadline
            debug.log(f"HailuoAI: could not leave the account queue: {error}")
        held, self._held = self._held, None
        if held is not None:
            self.backend.unlock(held)
