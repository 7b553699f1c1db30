"""Start ``g4f api`` / ``g4f gui`` as subprocesses for end-to-end tests, offline.

The plugin is *installed*, never imported by these processes: they run g4f's own
command (``<venv>/bin/g4f``, else ``python -m g4f``) from a scratch working
directory, so only the start-up hook can bring ``HailuoAI`` in.

Each process gets:

- its own ``HOME`` and ``G4F_CONFIG_DIR`` (``$HOME/.g4f``): a developer's own
  tokens, ``.env`` and cookies never leak in, and nothing is written outside;
- a seeded provider-list cache (``seed_provider_list``): listing providers
  (``/v1/providers``, the GUI, the ``G4FSpace`` provider) otherwise fetches
  ``https://g4f.dev/dist/js/providers.json`` and, offline, ``g4f api`` dies at start-up;
- an environment without the Hailuo and proxy variables of the caller, plus
  what the test passes (``HAILUOAI_BASE_URL`` of the fake server, usually);
- an HTTP(S) proxy that refuses everything (``127.0.0.1:9``) for every host but
  loopback: what g4f fetches with ``requests`` on its own (its version check on
  PyPI, g4f.dev files) fails at once instead of waiting on a network CI lacks.
  aiohttp, which the provider uses, ignores these variables;
- a new session (process group), so that stopping it also ends uvicorn's
  workers and anything else it started;
- ``PYTHONWARNINGS=always``: every warning is logged, each time. Leaving the
  ``with`` block of a process stops it, then fails if its log shows a leak
  (``LEAK_MARKERS``: an unclosed aiohttp session or connector, a coroutine never
  awaited, a task destroyed while pending, any ``ResourceWarning``).

Waits are bounded; on failure the assertion message carries the log's tail.

g4f 8.4.0's GUI (``g4f/gui/server/website.py``, imported by ``g4f api`` too) does
not compile on Python < 3.12 (quotes nested in an f-string): ``skip_if_gui_needs_newer_python``
skips what needs it then, and only then, even under ``G4F_HAILUO_E2E=required``
(a property of that g4f release and this Python, not a missing install).
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import functools
import importlib.metadata
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "G4FProcess",
    "g4f_command",
    "isolated_env",
    "make_home",
    "require_modules",
    "seed_provider_list",
    "skip_if_gui_needs_newer_python",
    "skip_or_fail",
    "start_api",
    "start_gui",
]

# What g4f.dev's providers.json looks like, reduced to the entries g4f builds providers
# from: "default" (G4FSpace) and "orcarouter" (OrcaRouter). Without the latter, g4f 8.4's
# ``__providers__`` raises ImportError("Provider 'orcarouter' not found") (8.7+ skips it).
SEEDED_PROVIDER_LIST = {
    "providers": {
        "default": {"baseUrl": "http://127.0.0.1:9/v1"},
        "orcarouter": {"baseUrl": "http://127.0.0.1:9/v1"},
    },
    "defaultModels": {"default": "", "orcarouter": ""},
}
# Where g4f looks for that day's copy: 8.7.7+ ($G4F_CACHE_DIR or <config>/cache/.models),
# 8.4.x (<cookies dir>/models), and the releases in between (<cookies dir>/.models).
_PROVIDER_LIST_DIRS = ("cache/.models", "cookies/models", "cookies/.models")

# Variables of the caller that must not reach g4f: the Hailuo settings (a test
# passes its own), proxies (loopback must stay direct), g4f's own settings.
_DROPPED_PREFIXES = ("HAILUOAI_", "G4F_")
PROTOCOL_ENV = "HAILUOAI_PROTOCOL"
_DROPPED_NAMES = frozenset(
    {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "PYTHONPATH"}
)

# Set to "required" (CI does) to turn a missing end-to-end dependency into a failure, not a skip.
REQUIRED_ENV = "G4F_HAILUO_E2E"

REFUSING_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, connections are refused

# Log lines that show a leak: what aiohttp prints for a session or connector never closed,
# what Python prints for a coroutine never awaited, a task destroyed while pending, an unclosed
# socket or file (``ResourceWarning``, shown since start_g4f sets PYTHONWARNINGS=always).
LEAK_MARKERS = (
    "Unclosed client session",
    "Unclosed connector",
    "was never awaited",
    "Task was destroyed but it is pending",
    "ResourceWarning",
)
# Marker lines g4f or a library prints on its own, unrelated to the plugin: each one exact
# (``{port}``: the process's own port), with why it cannot be avoided. Checked with g4f 8.8.6:
# ``g4f api`` and ``g4f gui`` start, chat and stop under PYTHONWARNINGS=always without a
# single warning of their own, but for this one.
TOLERATED_LEAK_LINES = (
    # ``g4f api --workers N``: uvicorn's supervisor (0.54, uvicorn/main.py ``run``) binds the
    # listening socket its workers share and never closes it; Python reports it at exit. A
    # socket listening on the server's own port, without a peer: not one of the plugin's.
    r"^sys:1: ResourceWarning: unclosed <socket\.socket fd=\d+, family=\d+, type=\d+, proto=\d+, "
    r"laddr=\('127\.0\.0\.1', {port}\)>$",
)
# What Python adds after each such warning: part of the report above it, not one more.
_TRACEMALLOC_HINT = "Enable tracemalloc to get the object allocation traceback"

START_TIMEOUT = 90.0  # seconds; g4f imports a lot, and CI machines are slow
STOP_TIMEOUT = 10.0

_running: set[G4FProcess] = set()


def skip_or_fail(reason: str) -> None:
    """Skip the calling test (or module) for a missing end-to-end dependency; fail instead
    under G4F_HAILUO_E2E=required."""
    import pytest

    if os.environ.get(REQUIRED_ENV, "").lower() == "required":
        pytest.fail(f"{reason} ({REQUIRED_ENV}=required)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require_modules(*names: str, hint: str) -> None:
    """Skip the calling test (module) when a module is missing (fail under G4F_HAILUO_E2E=required)."""
    missing = [name for name in names if importlib.util.find_spec(name) is None]
    if missing:
        skip_or_fail(f"needs {', '.join(missing)}: {hint}")


def skip_if_gui_needs_newer_python() -> None:
    """Skip the calling test when this g4f's GUI does not compile on this Python (never a failure)."""
    import pytest

    reason = gui_syntax_error()
    if reason:
        pytest.skip(reason)


@functools.cache
def gui_syntax_error() -> str | None:
    """Why g4f's GUI cannot be imported here, if that is g4f 8.4.0's f-string SyntaxError on Python < 3.12.

    Only that: a GUI that fails for any other reason is not excused, it fails the test.
    """
    if sys.version_info >= (3, 12):
        return None
    spec = importlib.util.find_spec("g4f")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "gui" / "server" / "website.py"
    try:
        source = path.read_bytes()
    except OSError:
        return None
    try:
        compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as error:
        if str(error.msg).startswith("f-string"):
            version = importlib.metadata.version("g4f")
            return (
                f"g4f {version}'s GUI needs Python 3.12+ "
                f"({path.name}, line {error.lineno}: SyntaxError: {error.msg})"
            )
    return None


def seed_provider_list(config: Path) -> None:
    """Write the provider list g4f would fetch from g4f.dev where each g4f 8.x looks for it.

    ``config`` is g4f's config dir (``~/.g4f``, or ``$G4F_CONFIG_DIR`` where honoured).
    """
    today = datetime.date.today()
    for days in (-1, 0, 1):  # g4f names the file by its local date; a run may cross midnight
        day = (today + datetime.timedelta(days=days)).isoformat()
        for sub in _PROVIDER_LIST_DIRS:
            path = config / sub / day / "providers.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(SEEDED_PROVIDER_LIST), encoding="utf-8")


def make_home(root: Path) -> Path:
    """A scratch HOME with a g4f config dir whose provider-list cache is seeded."""
    home = root / "home"
    seed_provider_list(home / ".g4f")
    return home


def isolated_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment, minus Hailuo/g4f/proxy settings, pointed at ``home``.

    ``HAILUOAI_PROTOCOL`` stays: the test directory selects it (``tests/hailuo_v4/conftest.py``)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name == PROTOCOL_ENV or (not name.startswith(_DROPPED_PREFIXES) and name not in _DROPPED_NAMES)
    }
    env.update(
        HOME=str(home),
        G4F_CONFIG_DIR=str(home / ".g4f"),
        HTTP_PROXY=REFUSING_PROXY,
        HTTPS_PROXY=REFUSING_PROXY,
        http_proxy=REFUSING_PROXY,
        https_proxy=REFUSING_PROXY,
        NO_PROXY="127.0.0.1,localhost,::1",
        no_proxy="127.0.0.1,localhost,::1",
        PYTHONUNBUFFERED="1",
        PYTHONIOENCODING="utf-8",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra or {})
    return env


def g4f_command() -> list[str]:
    """g4f's console script beside this interpreter, else ``python -m g4f``."""
    script = Path(sys.executable).with_name("g4f")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "g4f"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(eq=False)
class G4FProcess:
    """A running ``g4f api``/``g4f gui``; ``stop()`` ends its whole process group."""

    name: str
    url: str
    argv: list[str]
    process: subprocess.Popen[bytes]
    log_path: Path
    home: Path
    started_in: float = 0.0
    _log_file: object = field(default=None, repr=False)

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def alive(self) -> bool:
        return self.process.poll() is None

    def leaks(self) -> list[str]:
        """Each leak the log shows (``LEAK_MARKERS``), with the lines that follow it."""
        return leak_reports(self.log(), port=int(self.url.rsplit(":", 1)[1]))

    def assert_no_leaks(self) -> None:
        leaks = self.leaks()
        if leaks:
            shown = "\n---\n".join(leaks[:5])
            raise AssertionError(
                f"{self.name}'s log shows {len(leaks)} leak(s) ({' '.join(self.argv)}):\n{shown}"
            )

    def stop(self) -> None:
        """SIGTERM to the group, SIGKILL after STOP_TIMEOUT; idempotent."""
        _running.discard(self)
        try:
            if self.process.poll() is None:
                _signal_group(self.process.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=STOP_TIMEOUT)
            # Workers may outlive their parent for a moment: end the whole group.
            _signal_group(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_TIMEOUT)
        finally:
            log_file = self._log_file
            self._log_file = None
            if log_file is not None:
                log_file.close()  # type: ignore[attr-defined]

    def __enter__(self) -> G4FProcess:
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        self.stop()
        if exc_type is None:  # a failure already on its way is not masked
            self.assert_no_leaks()


def leak_reports(log: str, *, port: int, context: int = 3) -> list[str]:
    """The lines of ``log`` with a leak marker, each with ``context`` lines after it
    (but for the ``TOLERATED_LEAK_LINES`` of a process on ``port``)."""
    tolerated = [re.compile(pattern.replace("{port}", str(port))) for pattern in TOLERATED_LEAK_LINES]
    lines = log.splitlines()
    return [
        "\n".join(lines[i : i + 1 + context])
        for i, line in enumerate(lines)
        if any(marker in line for marker in LEAK_MARKERS)
        and not line.endswith(_TRACEMALLOC_HINT)
        and not any(pattern.search(line) for pattern in tolerated)
    ]


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


@atexit.register
def _stop_leftovers() -> None:  # a crashed test run must not leave servers behind
    for process in list(_running):
        process.stop()


def _http_answers(url: str, timeout: float) -> bool:
    """True once anything answers HTTP at ``url`` (any status)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read(1)
        return True
    except urllib.error.HTTPError as error:
        error.close()
        return True
    except (OSError, ValueError):
        return False


def start_g4f(
    name: str,
    args_for_port: Iterable[str],
    *,
    port: int,
    home: Path,
    env: Mapping[str, str],
    ready_path: str,
    cwd: Path | None = None,
    timeout: float = START_TIMEOUT,
) -> G4FProcess:
    """Run ``g4f <args>`` and wait until ``ready_path`` answers; the caller stops it.

    Skips the calling test where this g4f's GUI (imported by ``g4f api`` too) needs a newer Python.
    """
    skip_if_gui_needs_newer_python()
    run_dir = cwd or home
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = home.parent / f"{name}-{port}.log"
    argv = [*g4f_command(), *args_for_port]
    log_file = open(log_path, "wb")  # noqa: SIM115 (closed by stop())
    started = time.monotonic()
    process = subprocess.Popen(
        argv,
        cwd=run_dir,
        env={**env, "PYTHONWARNINGS": "always"},  # every warning in the log, which __exit__ scans
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = G4FProcess(name, f"http://127.0.0.1:{port}", argv, process, log_path, home, _log_file=log_file)
    _running.add(server)
    deadline = started + timeout
    while True:
        if _http_answers(server.url + ready_path, timeout=10):
            server.started_in = time.monotonic() - started
            return server
        if not server.alive() or time.monotonic() > deadline:
            code = process.poll()
            server.stop()
            state = f"exited with {code}" if code is not None else f"not answering after {timeout:g} s"
            raise AssertionError(f"{name} ({' '.join(argv)}) {state}; log tail:\n{server.log_tail()}")
        time.sleep(0.25)


def start_api(
    home: Path,
    env: Mapping[str, str],
    *,
    workers: int | None = None,
    extra_args: Iterable[str] = (),
) -> G4FProcess:
    """``g4f api`` on a free loopback port, without the GUI and the "pa" download."""
    port = free_port()
    args = ["api", "--bind", f"127.0.0.1:{port}", "--disable-pa-auto-download", "--no-gui", *extra_args]
    if workers:
        args += ["--workers", str(workers)]
    return start_g4f("g4f-api", args, port=port, home=home, env=env, ready_path="/v1/providers")


def start_gui(home: Path, env: Mapping[str, str], *, cwd: Path | None = None) -> G4FProcess:
    """``g4f gui`` on a free loopback port (Flask's server), run from ``cwd``."""
    port = free_port()
    args = ["gui", "--host", "127.0.0.1", "--port", str(port)]
    return start_g4f(
        "g4f-gui", args, port=port, home=home, env=env, ready_path="/backend-api/v2/providers", cwd=cwd
    )
