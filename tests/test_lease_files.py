"""The file-lock leases' own bookkeeping (``accounts.leases_files``): the lock files stay open
between leases, so the requests and threads of one process must exclude each other without a
second ``flock``, the open files are bounded, and a forked child never lets go of its
parent's locks. "Another process" is a second backend object: its own descriptors."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fcntl", reason="file leases are POSIX")

from g4f_hailuo.accounts import leases_files  # (after the skip: it imports fcntl)
from g4f_hailuo.accounts.leases_files import FileLeases


def open_files() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def test_a_held_account_is_refused_here_and_elsewhere_until_given_back(tmp_path: Path) -> None:
    here, elsewhere = FileLeases(tmp_path), FileLeases(tmp_path)
    assert here.lock("a")
    assert not here.lock("a")  # another request of this process
    assert not elsewhere.lock("a")  # another process
    here.unlock("a")
    assert elsewhere.lock("a") and not here.lock("a")
    elsewhere.unlock("a")
    assert here.lock("a")


def test_threads_of_one_process_never_hold_one_account_together(tmp_path: Path) -> None:
    backend = FileLeases(tmp_path)
    holders: list[int] = []
    overlaps: list[int] = []
    guard = threading.Lock()

    def worker() -> None:
        for _ in range(300):
            if backend.lock("shared"):
                with guard:
                    holders.append(1)
                    overlaps.append(len(holders))
                time.sleep(0.0002)  # the others try meanwhile
                with guard:
                    holders.pop()
                backend.unlock("shared")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps and max(overlaps) == 1


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc/self/fd")
def test_lock_files_kept_open_are_bounded(tmp_path: Path) -> None:
    backend = FileLeases(tmp_path)
    before = open_files()
    for n in range(3 * leases_files._KEPT_OPEN):
        assert backend.lock(f"k{n}")
        backend.unlock(f"k{n}")
    assert open_files() - before <= leases_files._KEPT_OPEN + 2  # (+ the queue file)
    backend.close()
    assert open_files() <= before


def test_the_files_kept_open_follow_the_open_files_limit() -> None:
    """An eighth of the soft limit, from 16 to 256 (macOS starts at 256, Linux at 1,024), so that
    a process's descriptors stay below select()'s 1,024."""
    bound = leases_files.kept_open_bound
    assert [bound(limit) for limit in (64, 256, 1024, 2048, 20_000, 1 << 20)] == [16, 32, 128, 256, 256, 256]
    assert bound(-1) == 256  # RLIM_INFINITY
    assert bound(None) == 128  # unknown
    assert bound(leases_files._soft_open_files_limit()) == leases_files._KEPT_OPEN


def test_a_pool_within_the_bound_opens_each_lock_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 accounts served round and round (the benchmark's short replies) open no file again."""
    monkeypatch.setattr(leases_files, "_KEPT_OPEN", 256)
    opened: list[str] = []
    real_open = os.open

    def counting_open(path: str, *args: int) -> int:
        opened.append(str(path))
        return real_open(path, *args)

    monkeypatch.setattr(leases_files.os, "open", counting_open)
    backend = FileLeases(tmp_path)
    keys = [f"k{n}" for n in range(200)]
    for _ in range(3):
        for key in keys:
            assert backend.lock(key)
        for key in keys:
            backend.unlock(key)
    assert sorted(path for path in opened if path.endswith(".lock")) == sorted(
        str(tmp_path / f"{key}.lock") for key in keys
    )
    backend.close()


def test_more_accounts_held_at_once_than_files_kept_open(tmp_path: Path) -> None:
    """Held locks are never closed to keep the bound; it is kept again once they are given back."""
    backend, elsewhere = FileLeases(tmp_path), FileLeases(tmp_path)
    keys = [f"k{n}" for n in range(leases_files._KEPT_OPEN + 20)]
    for key in keys:
        assert backend.lock(key)
        backend.unlock(keys[0])  # one given back now and then: the least recently used to close
        assert backend.lock(keys[0]) or key == keys[0]
    assert not any(elsewhere.lock(key) for key in keys)  # every one still held
    for key in keys:
        backend.unlock(key)
    assert all(elsewhere.lock(key) for key in keys)
    assert len(backend._idle) <= leases_files._KEPT_OPEN


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_leaves_its_parents_locks_held(tmp_path: Path) -> None:
    parent, elsewhere = FileLeases(tmp_path), FileLeases(tmp_path)
    assert parent.lock("a")
    child = os.fork()
    if child == 0:  # the child shares the open lock file; unlocking it would free the parent's lock
        child_backend_forgot = not parent._busy and not parent._idle
        os._exit(0 if child_backend_forgot else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not elsewhere.lock("a")  # still the parent's
    parent.unlock("a")
    assert elsewhere.lock("a")


def test_a_closed_backend_keeps_the_locks_still_held_until_given_back(tmp_path: Path) -> None:
    """An evicted backend (``leases.backend()`` keeps a few) must not free a reply's account."""
    evicted, elsewhere = FileLeases(tmp_path), FileLeases(tmp_path)
    assert evicted.lock("a")
    evicted.close()
    assert not elsewhere.lock("a")
    evicted.unlock("a")
    assert elsewhere.lock("a")


@pytest.mark.parametrize("removed", ["the lock file", "the directory"])
def test_a_lock_file_deleted_while_kept_open_is_not_held_twice(tmp_path: Path, removed: str) -> None:
    here = FileLeases(tmp_path / "leases")
    assert here.lock("a")
    here.unlock("a")  # kept open
    if removed == "the directory":
        shutil.rmtree(tmp_path / "leases")
    else:
        (tmp_path / "leases" / "a.lock").unlink()
    elsewhere = FileLeases(tmp_path / "leases")
    assert elsewhere.lock("a")  # on a new file
    assert not here.lock("a")  # here looks at the path's file again, not at the deleted one
    elsewhere.unlock("a")
    assert here.lock("a")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_while_a_lease_was_being_taken_can_take_leases(tmp_path: Path) -> None:
    backend = FileLeases(tmp_path)
    with backend._files_lock:  # another thread in the middle of lock() at the fork
        child = os.fork()
        if child == 0:
            signal.alarm(5)  # a deadlock ends the child instead of the test run
            os._exit(0 if backend.lock("a") else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_failing_lock_call_leaves_no_file_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = FileLeases(tmp_path)
    assert backend.lock("a")
    backend.unlock("a")  # kept open

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    before = open_files()
    monkeypatch.setattr(leases_files.fcntl, "flock", no_locks)
    for key in ("a", "b"):
        with pytest.raises(OSError):
            backend.lock(key)
    assert not backend._idle and not backend._busy
    if before:
        assert open_files() == before - 1  # the kept one closed, the new one never left open
