"""The login cache shared by processes: ``g4f api --workers N`` runs several, and each may add or
remove a login at the same moment. Every change must survive, and the file must stay private."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from g4f_hailuo.accounts import auth_cache as _auth_cache

WORKERS, LOGINS_EACH = 6, 15

# Each worker waits for the start signal (a file), then adds its own logins one by one.
ADD_LOGINS = """
import sys, time
from pathlib import Path
from g4f_hailuo.accounts import auth_cache as _auth_cache
path, worker, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
while not go.exists():
    time.sleep(0.002)
for n in range(count):
    _auth_cache.add_login(path, {"token": f"worker{worker}.login{n}.sig", "uuid": worker})
"""


@pytest.mark.skipif(sys.platform == "win32", reason="the lock across processes is POSIX only (flock)")
def test_logins_added_by_concurrent_processes_all_survive(tmp_path):
    path = tmp_path / "cookies" / _auth_cache.AUTH_FILE_NAME
    _auth_cache.add_login(path, {"token": "before.the.workers"})
    go = tmp_path / "go"
    workers = [
        subprocess.Popen([sys.executable, "-c", ADD_LOGINS, str(path), str(n), str(LOGINS_EACH), str(go)])
        for n in range(WORKERS)
    ]
    time.sleep(1.0)  # let every worker get to its start line
    go.touch()
    assert [worker.wait(timeout=60) for worker in workers] == [0] * WORKERS
    tokens = {login["token"] for login in _auth_cache.read_logins(path)}
    expected = {f"worker{w}.login{n}.sig" for w in range(WORKERS) for n in range(LOGINS_EACH)}
    expected.add("before.the.workers")
    assert tokens == expected, f"{len(expected - tokens)} of {len(expected)} logins lost"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(path.parent) == [path.name]  # no lock or temporary file left behind


def test_a_removal_and_an_addition_in_one_process_keep_the_lock_once(isolated_g4f):
    """Nested changes (remove_login -> write_logins -> delete_auth) do not wait for themselves."""
    path = isolated_g4f / _auth_cache.AUTH_FILE_NAME
    _auth_cache.add_login(path, {"token": "a.b.c"})
    assert _auth_cache.remove_login(path, "a.b.c") and not path.exists()
    assert not _auth_cache.remove_login(path, "a.b.c")
    missing = isolated_g4f / "missing" / _auth_cache.AUTH_FILE_NAME
    _auth_cache.delete_auth(missing)
    assert not missing.parent.exists()  # nothing to delete: no directory made for a lock


@pytest.mark.skipif(sys.platform == "win32", reason="directories cannot be synced on Windows")
def test_the_rename_is_made_durable_by_syncing_the_directory(isolated_g4f, monkeypatch):
    synced: list[bool] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    _auth_cache.add_login(isolated_g4f / _auth_cache.AUTH_FILE_NAME, {"token": "a.b.c"})
    assert synced == [False, True]  # the new file's data, then the directory holding the rename


def test_a_directory_that_cannot_be_synced_does_not_fail_the_write(isolated_g4f, monkeypatch):
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(22, "Invalid argument")  # some file systems refuse to sync a directory
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    path = isolated_g4f / _auth_cache.AUTH_FILE_NAME
    _auth_cache.add_login(path, {"token": "a.b.c"})
    assert [login["token"] for login in _auth_cache.read_logins(path)] == ["a.b.c"]


@pytest.mark.skipif(sys.platform == "win32", reason="no lock file on Windows")
def test_the_lock_file_is_private_while_held(isolated_g4f, monkeypatch):
    path = isolated_g4f / _auth_cache.AUTH_FILE_NAME
    seen: list[int] = []
    real_write = _auth_cache.write_auth

    def write_auth(target: Path, data: dict) -> None:
        seen.append(stat.S_IMODE((target.parent / (target.name + ".lock")).stat().st_mode))
        real_write(target, data)

    monkeypatch.setattr(_auth_cache, "write_auth", write_auth)
    _auth_cache.add_login(path, {"token": "a.b.c"})
    assert seen and all(mode & 0o077 == 0 for mode in seen)
