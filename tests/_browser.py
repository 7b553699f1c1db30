"""What the real-browser login tests share: :func:`need_real_browser` (skip, or fail in CI, without
nodriver or a Chromium; a module's ``real_browser`` fixture calls it), the deadline they allow a
login, and checks that nothing is left behind (the temporary profile, the browser's processes).

Other test runs on the same machine log in too: :func:`private_tempdir` gives a test's logins a
temporary directory of their own, so that these checks see only them.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import tempfile
from pathlib import Path

import pytest

from _g4f_processes import REQUIRED_ENV
from g4f_hailuo.accounts.browser_login import find_browser

__all__ = ["LOGIN_TIMEOUT", "browser_processes", "login_profiles", "need_real_browser", "private_tempdir"]

LOGIN_TIMEOUT = 30  # seconds: generous for a slow CI machine; a login here takes about 1 s
_PROFILE_PREFIX = "g4f-hailuo-login-"


def _missing() -> str | None:
    if importlib.util.find_spec("nodriver") is None:
        return "nodriver is not installed (pip install nodriver, or the package's browser extra)"
    if find_browser() is None:
        return "no Chrome/Chromium found (apt-get install -y chromium)"
    return None


def need_real_browser() -> None:
    """Skip the test without nodriver or a Chromium; fail it instead under G4F_HAILUO_E2E=required."""
    missing = _missing()
    if missing is None:
        return
    if os.environ.get(REQUIRED_ENV) == "required":
        pytest.fail(f"the browser login test cannot run: {missing}")
    pytest.skip(f"the browser login test needs a real browser: {missing}")


def private_tempdir(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """Where this process makes temporary files (the login's profile among them) until the test ends."""
    directory.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(tempfile, "tempdir", str(directory))


def login_profiles() -> set[str]:
    """The browser login's temporary profiles that exist now."""
    return set(glob.glob(os.path.join(tempfile.gettempdir(), _PROFILE_PREFIX + "*")))


def browser_processes() -> list[int]:
    """The processes (Linux: /proc) of a browser the login started: its command line names one
    of the login's temporary profiles. Elsewhere: none known."""
    marker = os.path.join(tempfile.gettempdir(), _PROFILE_PREFIX).encode()
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found
