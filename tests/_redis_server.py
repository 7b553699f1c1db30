"""A real ``redis-server`` for the lease tests: Debian's package (``scripts/test`` installs it),
on a free loopback port, in a scratch dir, without persistence; stopped when the block ends.

Missing ``redis-server`` (or the ``redis`` package): the calling test is skipped, or fails under
``G4F_HAILUO_E2E=required`` (CI).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from _g4f_processes import free_port, require_modules, skip_or_fail

__all__ = ["redis_server"]

START_TIMEOUT = 20.0


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """``redis://127.0.0.1:<port>/0`` of a ``redis-server`` running until the block ends."""
    require_modules("redis", hint='pip install "g4f-hailuo[cluster]"')
    command = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/sbin:/usr/bin")
    if command is None:
        skip_or_fail("needs redis-server: apt-get install redis-server (scripts/test does, as root)")
    assert command is not None
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "redis.log"
    argv = [command, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(directory), "--logfile", str(log), "--protected-mode", "no"]
    quiet = subprocess.DEVNULL  # it logs to its --logfile
    process = subprocess.Popen(argv, stdin=quiet, stdout=quiet, stderr=quiet)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise AssertionError(f"redis-server did not start ({process.poll()}):\n{tail}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
