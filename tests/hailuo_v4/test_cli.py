"""The ``g4f-hailuo`` command, run as a subprocess (``python -m g4f_hailuo``) against the fake server.

Every run gets its own HOME / G4F_CONFIG_DIR (so its own login cache) and no
Hailuo variables from the caller. No output may ever contain a token.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import queue
import re
import select
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from _g4f_processes import REQUIRED_ENV, isolated_env
from g4f_hailuo.accounts.browser_login import find_browser
from g4f_hailuo.cli import Spinner
from g4f_hailuo.fake.hailuo_v4.server import FakeHailuo, run_in_thread

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_AUTH, EXIT_UNAVAILABLE = 0, 1, 2, 3, 4
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 130, 141
COMMANDS = ["demo", "chat", "login", "logout", "status", "serve-fake"]
CLOSED_PORT_URL = "http://127.0.0.1:9"  # discard: nothing listens there
AUTH_FILE = "auth_g4f_hailuo.json"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


class Cli:
    """Runs ``python -m g4f_hailuo`` in an isolated home."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.env_extra: dict[str, str] = {}
        self.secrets: list[str] = []

    @property
    def auth_file(self) -> Path:
        return self.home / ".g4f" / "cookies" / AUTH_FILE

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return isolated_env(self.home, {**self.env_extra, **(extra or {})})

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "g4f_hailuo", *args]

    def __call__(
        self, *args: str, stdin: str = "", env: dict[str, str] | None = None, timeout: float = 60
    ) -> Result:
        done = subprocess.run(
            self.argv(*args),
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            cwd=self.root,
            env=self.env(env),
            timeout=timeout,
        )
        result = Result(done.returncode, done.stdout, done.stderr)
        for secret in self.secrets:
            assert secret not in result.text, f"a token was printed by {args}"
        return result


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def site(cli: Cli, fake: FakeHailuo) -> FakeHailuo:
    """The fake server as the CLI's Hailuo (HAILUOAI_BASE_URL)."""
    cli.env_extra["HAILUOAI_BASE_URL"] = fake.url
    return fake


def new_token(cli: Cli, fake: FakeHailuo, **kwargs: object) -> str:
    token = fake.issue_token(**kwargs)  # type: ignore[arg-type]
    cli.secrets.append(token)
    return token


def logged_in(cli: Cli, fake: FakeHailuo, **kwargs: object) -> str:
    token = new_token(cli, fake, **kwargs)
    result = cli("login", stdin=token + "\n")
    assert result.code == EXIT_OK, result.text
    return token


def user_info_calls(fake: FakeHailuo) -> int:
    return sum(1 for r in fake.requests if r.path == "/v1/api/user/info")


def device_registrations(fake: FakeHailuo) -> int:
    return sum(1 for r in fake.requests if r.path == "/v1/api/user/device/register")


def skip_or_fail(reason: str) -> None:
    """Skip the test for a missing end-to-end dependency; fail instead under G4F_HAILUO_E2E=required (CI)."""
    if os.environ.get(REQUIRED_ENV, "").lower() == "required":
        pytest.fail(f"{reason} ({REQUIRED_ENV}=required)", pytrace=False)
    pytest.skip(reason)


def test_a_missing_dependency_skips_but_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRED_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception):
        skip_or_fail("no such thing")
    monkeypatch.setenv(REQUIRED_ENV, "required")
    with pytest.raises(pytest.fail.Exception, match="no such thing"):
        skip_or_fail("no such thing")


# -- help, usage, entry points --------------------------------------------------------------------


def test_help_lists_every_command_and_the_exit_codes(cli: Cli) -> None:
    result = cli("--help")
    assert result.code == EXIT_OK
    for command in COMMANDS:
        assert command in result.out
    assert "Exit codes" in result.out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(cli: Cli, command: str) -> None:
    result = cli(command, "--help")
    assert result.code == EXIT_OK, result.text
    assert result.out.startswith(f"usage: g4f-hailuo {command}")


def test_no_command_or_an_unknown_one_is_a_usage_error(cli: Cli) -> None:
    assert cli().code == EXIT_USAGE
    unknown = cli("fly")
    assert unknown.code == EXIT_USAGE and "invalid choice" in unknown.err


def test_version(cli: Cli) -> None:
    from g4f_hailuo import __version__

    result = cli("--version")
    assert result.code == EXIT_OK and result.out.strip() == f"g4f-hailuo {__version__}"


def test_console_script_when_installed(cli: Cli) -> None:
    script = Path(sys.executable).with_name("g4f-hailuo")
    if not script.exists():
        skip_or_fail("the g4f-hailuo console script is not installed in this environment")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, env=cli.env(), timeout=60)
    assert done.returncode == EXIT_OK and "serve-fake" in done.stdout


# -- login / logout ----------------------------------------------------------------------------


def test_login_with_a_pasted_token_stores_it_privately(cli: Cli, site: FakeHailuo) -> None:
    token = new_token(cli, site)
    result = cli("login", stdin=f'  "Bearer {token}"\n')
    assert result.code == EXIT_OK, result.text
    assert "Logged in to Hailuo as tester" in result.out and "expires on" in result.out
    assert stat.S_IMODE(cli.auth_file.stat().st_mode) == 0o600
    stored = json.loads(cli.auth_file.read_text())
    assert stored["token"] == token and stored["device_id"]


def test_login_registers_a_device_for_a_token_without_one(cli: Cli, site: FakeHailuo) -> None:
    token = new_token(cli, site, with_device_id=False)
    assert cli("login", "--token-stdin", stdin=token).code == EXIT_OK
    assert any(r.path == "/v1/api/user/device/register" for r in site.requests)
    assert json.loads(cli.auth_file.read_text())["device_id"].isdigit()


def test_login_with_a_rejected_token_stores_nothing(cli: Cli, site: FakeHailuo) -> None:
    token = new_token(cli, site)
    site.revoke(token)
    result = cli("login", stdin=token)
    assert result.code == EXIT_AUTH
    assert "Login failed" in result.err and "HTTP 401" in result.err
    assert not cli.auth_file.exists()


def test_login_without_a_token_is_a_usage_error(cli: Cli, site: FakeHailuo) -> None:
    result = cli("login", stdin="\n")
    assert result.code == EXIT_USAGE and "No token given" in result.err


def test_login_when_hailuo_is_unreachable(cli: Cli, fake: FakeHailuo) -> None:
    token = new_token(cli, fake)
    result = cli("login", "--base-url", CLOSED_PORT_URL, stdin=token)
    assert result.code == EXIT_UNAVAILABLE, result.text
    assert CLOSED_PORT_URL in result.err
    assert not cli.auth_file.exists()


def test_browser_login_without_a_browser_says_what_is_missing(cli: Cli, site: FakeHailuo) -> None:
    no_browser = {"PATH": str(Path(sys.executable).parent)}  # no chromium/chrome on it
    result = cli("login", "--browser", env=no_browser)
    assert result.code == EXIT_ERROR
    assert "browser extra" in result.err and "Chromium" in result.err


def test_login_token_and_browser_are_exclusive(cli: Cli) -> None:
    assert cli("login", "--browser", "--token-stdin").code == EXIT_USAGE


def test_login_token_stdin_takes_no_browser_options(cli: Cli) -> None:
    result = cli("login", "--token-stdin", "--headless")
    assert result.code == EXIT_USAGE and "browser login" in result.err
    assert cli("login", "--login-timeout", "0").code == EXIT_USAGE
    assert cli("login", "--login-timeout", "soon").code == EXIT_USAGE


def test_browser_login_switched_off_says_so(cli: Cli, site: FakeHailuo) -> None:
    result = cli("login", "--browser", env={"HAILUOAI_BROWSER_LOGIN": "0"})
    assert result.code == EXIT_USAGE, result.text
    assert "switched off (HAILUOAI_BROWSER_LOGIN=0)" in result.err
    assert "browser extra" not in result.err and "Chromium" not in result.err
    assert not site.requests


def test_login_warns_when_the_environment_token_wins(cli: Cli, site: FakeHailuo) -> None:
    other = new_token(cli, site, name="from-env")
    token = new_token(cli, site)
    result = cli("login", stdin=token, env={"HAILUOAI_API_KEY": other})
    assert result.code == EXIT_OK, result.text
    (warning,) = [line for line in result.err.splitlines() if "warning" in line]
    assert "HAILUOAI_API_KEY (environment)" in warning and "priority" in warning
    plain = cli("login", stdin=token)
    assert plain.code == EXIT_OK and "warning" not in plain.err


def test_login_warns_when_a_dotenv_token_wins(cli: Cli, site: FakeHailuo) -> None:
    dotenv = cli.auth_file.parent / ".env"
    dotenv.parent.mkdir(parents=True)
    dotenv.write_text(f"HAILUOAI_API_KEY={new_token(cli, site, name='dotenv')}\n")
    result = cli("login", stdin=new_token(cli, site))
    assert result.code == EXIT_OK, result.text
    (warning,) = [line for line in result.err.splitlines() if "warning" in line]
    assert f"HAILUOAI_API_KEY in {dotenv}" in warning and "priority" in warning


def test_logout_says_an_environment_or_dotenv_token_is_still_used(cli: Cli, site: FakeHailuo) -> None:
    logged_in(cli, site)
    other = new_token(cli, site, name="from-env")
    result = cli("logout", env={"HAILUOAI_API_KEY": other})
    assert result.code == EXIT_OK and "Logged out" in result.out
    assert "HAILUOAI_API_KEY (environment) is still set" in result.out
    dotenv = cli.auth_file.parent / ".env"
    dotenv.write_text(f"HAILUOAI_API_KEY={other}\n")
    again = cli("logout")
    assert again.code == EXIT_OK and "nothing to do" in again.out
    assert f"HAILUOAI_API_KEY in {dotenv} is still set" in again.out
    dotenv.unlink()
    assert "still" not in cli("logout").out


# -- the browser login, in a real Chromium ---------------------------------------------------------


@pytest.fixture
def real_browser() -> None:
    """The CLI's browser login runs in this interpreter's environment: nodriver and a Chromium."""
    import importlib.util

    if importlib.util.find_spec("nodriver") is None:
        skip_or_fail("the browser login needs nodriver (the browser extra)")
    if find_browser() is None:
        skip_or_fail("the browser login needs Chrome/Chromium (apt-get install -y chromium)")


@pytest.fixture
def login_site(cli: Cli) -> Iterator[FakeHailuo]:
    """A fake site whose visitor logs in as "alice" by itself (see tests/test_browser_login.py)."""
    server = run_in_thread(login_as="alice", login_delay=0.1)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("how", [["--browser", "--headless"], ["--headless"]], ids=["browser", "implied"])
def test_browser_login_in_chromium_from_the_command_line(
    cli: Cli, real_browser: None, login_site: FakeHailuo, how: list[str]
) -> None:
    result = cli("login", *how, "--login-timeout", "60", "--base-url", login_site.url)
    assert result.code == EXIT_OK, result.text
    (login,) = login_site.logins
    assert login["token"] not in result.text
    assert "in a headless browser" in result.err
    assert "Logged in to Hailuo as alice; the token expires on " in result.out
    assert f"Saved to {cli.auth_file} (readable by you only)." in result.out
    assert stat.S_IMODE(cli.auth_file.stat().st_mode) == 0o600
    stored = json.loads(cli.auth_file.read_text())
    assert stored["token"] == login["token"] and stored["device_id"] == login["device_id"]


def test_plain_login_on_a_terminal_tries_the_browser_then_asks_for_a_token(
    cli: Cli, real_browser: None, site: FakeHailuo
) -> None:
    """Plain `login` on a terminal picks the browser where it can run; a browser that cannot
    open its window (a display nobody serves) leaves the hidden prompt instead of a failure."""
    token = new_token(cli, site)
    env = cli.env({"DISPLAY": ":4711", "HAILUOAI_LOGIN_TIMEOUT": "20"})
    terminal = Terminal(cli.argv("login"), env, cli.root)
    try:
        terminal.read_until(f"A browser window opens on {site.url}: log in there")
        terminal.read_until("The browser login cannot run here", timeout=60)
        terminal.read_until("Hailuo token: ")
        terminal.type(token + "\n")
        terminal.read_until("Saved to ")
    finally:
        code = terminal.close()
    assert code == EXIT_OK, terminal.output
    assert "Logged in to Hailuo as tester" in terminal.output and token[-20:] not in terminal.output
    assert json.loads(cli.auth_file.read_text())["token"] == token


def test_plain_login_from_a_pipe_never_opens_a_browser(cli: Cli, site: FakeHailuo) -> None:
    token = new_token(cli, site)
    result = cli("login", stdin=token, env={"DISPLAY": ":4711"})
    assert result.code == EXIT_OK, result.text
    assert "browser" not in result.err


def test_logout_removes_the_login(cli: Cli, site: FakeHailuo) -> None:
    logged_in(cli, site)
    result = cli("logout")
    assert result.code == EXIT_OK and "Logged out" in result.out
    assert not cli.auth_file.exists()
    again = cli("logout")
    assert again.code == EXIT_OK and "nothing to do" in again.out


# -- status ------------------------------------------------------------------------------------


def test_status_when_not_logged_in(cli: Cli, site: FakeHailuo) -> None:
    result = cli("status")
    assert result.code == EXIT_AUTH and "Not logged in" in result.out
    assert user_info_calls(site) == 0


def test_status_shows_account_expiry_and_liveness(cli: Cli, site: FakeHailuo) -> None:
    logged_in(cli, site)
    checks = user_info_calls(site)
    result = cli("status")
    assert result.code == EXIT_OK, result.text
    assert "Account: tester, user 3" in result.out
    assert re.search(r"Token expires: \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in (39|40) days\)", result.out)
    assert "Alive: yes" in result.out
    assert user_info_calls(site) == checks + 1


def test_status_json(cli: Cli, site: FakeHailuo) -> None:
    token = logged_in(cli, site)
    result = cli("status", "--json")
    assert result.code == EXIT_OK
    report = json.loads(result.out)
    assert report["logged_in"] and report["site"] == site.url and report["source"] == "the cached login(s)"
    (account,) = report["accounts"]
    assert account["live"] is True and account["expired"] is False and account["name"] == "tester"
    assert account["account"].startswith("sha256:") and token not in result.out


def test_status_of_several_accounts(cli: Cli, site: FakeHailuo) -> None:
    good, gone = new_token(cli, site, name="good"), new_token(cli, site, name="gone")
    site.revoke(gone)
    result = cli("status", env={"HAILUOAI_API_KEY": f"{good}, {gone}"})
    assert result.code == EXIT_AUTH, result.text
    assert "Logged in with HAILUOAI_API_KEY: 2 accounts." in result.out
    assert "Account: good" in result.out and "Account: gone" in result.out
    assert result.out.count("Alive: yes") == 1 and "Alive: no, Hailuo rejected the token" in result.out


def test_status_offline_asks_nobody(cli: Cli, site: FakeHailuo) -> None:
    logged_in(cli, site)
    checks = user_info_calls(site)
    result = cli("status", "--offline")
    assert result.code == EXIT_OK and "Alive" not in result.out
    assert user_info_calls(site) == checks


def test_status_uses_the_cached_device_of_a_token_without_one(cli: Cli, site: FakeHailuo) -> None:
    """A token without a device id in its claims (here from HAILUOAI_API_KEY) is asked about with
    the device its cached login registered: no new upstream device on every run."""
    token = new_token(cli, site, with_device_id=False)
    assert cli("login", "--token-stdin", stdin=token).code == EXIT_OK
    device = json.loads(cli.auth_file.read_text())["device_id"]
    registered = device_registrations(site)
    for _ in range(2):
        result = cli("status", env={"HAILUOAI_API_KEY": token})
        assert result.code == EXIT_OK, result.text
        assert f"device {device}" in result.out and "Alive: yes" in result.out
    assert device_registrations(site) == registered


def test_status_registers_a_token_without_a_device_once(cli: Cli, site: FakeHailuo) -> None:
    """No login to borrow a device from: the first run registers one, the next runs reuse it."""
    token = new_token(cli, site, with_device_id=False)
    devices = set()
    for _ in range(3):
        result = cli("status", "--json", env={"HAILUOAI_API_KEY": token})
        assert result.code == EXIT_OK, result.text
        (account,) = json.loads(result.out)["accounts"]
        devices.add(account["device_id"])
    assert device_registrations(site) == 1 and len(devices) == 1
    assert not cli.auth_file.exists(), "a token given in the environment is never stored"
    offline = cli("status", "--offline", env={"HAILUOAI_API_KEY": token})
    assert f"device {devices.pop()}" in offline.out


def test_status_offline_registers_no_device(cli: Cli, site: FakeHailuo) -> None:
    token = new_token(cli, site, with_device_id=False)
    result = cli("status", "--offline", env={"HAILUOAI_API_KEY": token})
    assert result.code == EXIT_OK, result.text
    assert not site.requests


def test_status_of_a_revoked_token(cli: Cli, site: FakeHailuo) -> None:
    token = logged_in(cli, site)
    site.revoke(token)
    result = cli("status")
    assert result.code == EXIT_AUTH
    assert "Alive: no, Hailuo rejected the token" in result.out and "login" in result.out


def test_status_of_an_expired_token_needs_no_request(cli: Cli, site: FakeHailuo) -> None:
    token = new_token(cli, site, expires_in=-3600)
    result = cli("status", env={"HAILUOAI_API_KEY": token})
    assert result.code == EXIT_AUTH and "EXPIRED" in result.out
    assert user_info_calls(site) == 0


def test_status_reports_the_environment_token_first(cli: Cli, site: FakeHailuo) -> None:
    logged_in(cli, site, name="cached")
    token = new_token(cli, site, name="from-env")
    result = cli("status", env={"HAILUOAI_API_KEY": token})
    assert result.code == EXIT_OK
    assert "HAILUOAI_API_KEY" in result.out and "Account: from-env" in result.out


def test_status_when_hailuo_is_unreachable(cli: Cli, site: FakeHailuo) -> None:
    token = new_token(cli, site)  # a login cached for the fake site would not serve another one
    result = cli("status", "--base-url", CLOSED_PORT_URL, env={"HAILUOAI_API_KEY": token})
    assert result.code == EXIT_UNAVAILABLE
    assert "Alive: unknown (Cannot reach Hailuo" in result.out


def test_status_with_a_bad_base_url_is_a_usage_error(cli: Cli) -> None:
    result = cli("status", "--base-url", "ftp://example")
    assert result.code == EXIT_USAGE and "Bad Hailuo base URL" in result.err


# -- chat --------------------------------------------------------------------------------------


def test_chat_from_piped_input_continues_one_chat(cli: Cli, site: FakeHailuo) -> None:
    token = logged_in(cli, site)
    result = cli("chat", stdin="Hello there\n\nAnd a second thing\n")
    assert result.code == EXIT_OK, result.text
    assert result.out.splitlines() == [
        site.reply_for("Hello there", 1),
        site.reply_for("And a second thing", 2),
    ]
    assert "(chat title: Hello there)" in result.err
    ((chat_id, messages),) = site.chats(token).items()
    assert messages == ["Hello there", "And a second thing"]
    assert [r.form["chatID"] for r in site.chat_requests() if r.form] == ["0", chat_id]


def test_chat_new_starts_another_chat_and_exit_stops(cli: Cli, site: FakeHailuo) -> None:
    token = logged_in(cli, site)
    result = cli("chat", stdin="one\n/new\ntwo\n/exit\nnever sent\n")
    assert result.code == EXIT_OK
    assert sorted(site.chats(token).values()) == [["one"], ["two"]]
    assert "never sent" not in result.out


def test_chat_messages_as_arguments_with_the_environment_token(cli: Cli, site: FakeHailuo) -> None:
    token = new_token(cli, site)
    result = cli("chat", "-m", "first", "-m", "second", env={"HAILUOAI_API_KEY": token})
    assert result.code == EXIT_OK, result.text
    assert result.out.splitlines() == [site.reply_for("first", 1), site.reply_for("second", 2)]
    assert not cli.auth_file.exists(), "a token given in the environment is never stored"


def test_chat_takes_base_url_from_the_command_line(cli: Cli, fake: FakeHailuo) -> None:
    token = new_token(cli, fake)
    result = cli("chat", "--base-url", fake.url, "-m", "hi", env={"HAILUOAI_API_KEY": token})
    assert result.code == EXIT_OK and result.out.strip() == fake.reply_for("hi", 1)


def test_chat_when_not_logged_in(cli: Cli, site: FakeHailuo) -> None:
    result = cli("chat", stdin="hello\n")
    assert result.code == EXIT_AUTH and "Not logged in" in result.err
    assert not site.chat_requests()


@pytest.mark.parametrize(
    ("scenario", "said", "code"),
    [
        ("http_429", "rate limited", EXIT_UNAVAILABLE),
        ("http_502", "HTTP 502", EXIT_UNAVAILABLE),
        ("banned", "banned", EXIT_AUTH),
        ("no_credits", "out of credits", EXIT_AUTH),
    ],
)
def test_chat_errors_have_messages_and_exit_codes(
    cli: Cli, site: FakeHailuo, scenario: str, said: str, code: int
) -> None:
    token = new_token(cli, site)
    env = {"HAILUOAI_API_KEY": token, "HAILUOAI_RETRIES": "0"}
    result = cli("chat", "-m", f"hi [[scenario:{scenario}]]", env=env)
    assert result.code == code, result.text
    assert said in result.err and result.err.startswith("g4f-hailuo chat: ")
    assert result.out == "", "nothing but answers goes to standard output"


def test_chat_with_a_rejected_cached_login(cli: Cli, site: FakeHailuo) -> None:
    """The provider drops a cached login Hailuo rejects and tries a new one; with no
    browser to log in with, the chat ends with exit code 3 and says how to log in."""
    token = logged_in(cli, site)
    site.revoke(token)
    no_browser = {"PATH": str(Path(sys.executable).parent)}
    result = cli("chat", "-m", "still there?", env=no_browser)
    assert result.code == EXIT_AUTH, result.text
    assert "g4f-hailuo login" in result.err


def test_chat_with_an_unknown_region_is_a_usage_error(cli: Cli) -> None:
    assert cli("chat", "--region", "mars", "-m", "hi").code == EXIT_USAGE


def test_chat_with_an_unknown_model_is_a_usage_error(cli: Cli, site: FakeHailuo) -> None:
    token = new_token(cli, site)
    result = cli("chat", "--model", "gpt-4", "-m", "hi", env={"HAILUOAI_API_KEY": token})
    assert result.code == EXIT_USAGE, result.text
    assert "'gpt-4' is not served" in result.err and "Traceback" not in result.err
    assert not site.requests
    assert cli("chat", "--model", "gpt-4", "-m", "hi").code == EXIT_USAGE  # before "not logged in"
    assert cli("chat", "--model", "hailuo", "-m", "hi", env={"HAILUOAI_API_KEY": token}).code == EXIT_OK


def test_chat_in_the_cn_region_sends_the_cn_fingerprint(cli: Cli, fake: FakeHailuo) -> None:
    token = new_token(cli, fake)
    result = cli(
        "chat", "--base-url", fake.url, "--region", "cn", "-m", "你好", env={"HAILUOAI_API_KEY": token}
    )
    assert result.code == EXIT_OK, result.text
    assert result.out.strip() == fake.reply_for("你好", 1)
    (sent,) = fake.chat_requests()
    assert sent.signature_ok
    assert sent.query["version_code"] == "22200" and sent.query["browser_language"] == "zh-CN"
    assert "biz_id" not in sent.query and sent.query["device_memory"] == "8"


def chat_into_a_closed_pipe(cli: Cli, site: FakeHailuo) -> tuple[int, str]:
    """`g4f-hailuo chat ... | head -c 10`: its exit code and standard error."""
    token = new_token(cli, site)
    site.scenario = "normal frames=20 delay=0.1"  # the answer is still streaming when the reader leaves
    process = subprocess.Popen(
        cli.argv("chat", "-m", "a long answer, please", "-m", "and another"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cli.root,
        env=cli.env({"HAILUOAI_API_KEY": token}),
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        head = process.stdout.read(10)  # what `head -c 10` reads, then it exits
        process.stdout.close()
        err = process.stderr.read().decode("utf-8", "replace")
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        process.stderr.close()  # type: ignore[union-attr]
    assert len(head) == 10
    assert token not in err
    return code, err


def test_chat_into_a_pipe_closed_early_ends_quietly(cli: Cli, site: FakeHailuo) -> None:
    """No BrokenPipeError traceback (nor one at exit); exit 141, as a shell reports it."""
    code, err = chat_into_a_closed_pipe(cli, site)
    assert "BrokenPipe" not in err and "Exception ignored" not in err, err
    assert "g4f_hailuo/cli.py" not in err, err  # no traceback through the command
    assert code == EXIT_BROKEN_PIPE, err


def test_an_abandoned_answer_is_cleaned_up_without_an_error(cli: Cli, site: FakeHailuo) -> None:
    code, err = chat_into_a_closed_pipe(cli, site)
    assert code == EXIT_BROKEN_PIPE
    assert "Traceback" not in err and "error occurred" not in err, err


# -- demo and serve-fake -----------------------------------------------------------------------


def test_demo_runs_offline(cli: Cli) -> None:
    result = cli("demo", timeout=90)
    assert result.code == EXIT_OK, result.text
    assert "multi-turn chat: OK" in result.out
    assert len(re.findall(r"reply #\d", result.out)) == 3


def test_serve_fake_serves_until_interrupted(cli: Cli) -> None:
    process = subprocess.Popen(
        cli.argv("serve-fake", "--port", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=cli.root,
        env=cli.env(),
    )
    try:
        assert process.stdout is not None
        lines = _read_lines(process.stdout, 2, timeout=30)
        values = dict(line.strip().split("=", 1) for line in lines)
        base_url, token = values["HAILUOAI_BASE_URL"], values["HAILUOAI_API_KEY"]
        with urllib.request.urlopen(base_url + "/", timeout=10) as page:
            assert page.status == 200 and b"fake" in page.read()
        # The token it prints works with the other commands.
        status = cli("status", "--base-url", base_url, env={"HAILUOAI_API_KEY": token})
        assert status.code == EXIT_OK and "Alive: yes" in status.out
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == EXIT_OK
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=15)
        if process.stdout is not None:
            process.stdout.close()


def test_serve_fake_refuses_a_public_address(cli: Cli) -> None:
    result = cli("serve-fake", "--host", "0.0.0.0")
    assert result.code == EXIT_USAGE and "refusing" in result.err


def _read_lines(stream: IO[str], count: int, timeout: float) -> list[str]:
    """The first ``count`` lines of ``stream``, read by a helper thread (bounded wait)."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for _ in range(count):
            lines.put(stream.readline())

    threading.Thread(target=read, daemon=True).start()
    found: list[str] = []
    for _ in range(count):
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output within {timeout:g} s (got {found})") from None
        assert line, f"the process ended early (got {found})"
        found.append(line)
    return found


# -- on a terminal: prompt, spinner ----------------------------------------------------------------


class Terminal:
    """A command on a pseudo-terminal (stdin, stdout and stderr), read with deadlines.

    In a session of its own, so without a controlling terminal: getpass cannot open the
    /dev/tty of whoever runs the tests and prompts on this pseudo-terminal instead.
    """

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, *, term: str = "xterm") -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env={**env, "TERM": term},
            start_new_session=True,
        )
        os.close(slave)
        self.output = ""

    def read_until(self, text: str, timeout: float = 30, *, count: int = 1) -> str:
        """Read until ``text`` has appeared ``count`` times in all; the output so far."""
        deadline = time.monotonic() + timeout
        while self.output.count(text) < count:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} did not appear; the terminal shows:\n{self.output}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # EIO: the other side is closed
                    data = b""
                assert data, f"the command ended before {text!r}; the terminal shows:\n{self.output}"
                self.output += data.decode("utf-8", "replace")
        return self.output

    def type(self, text: str) -> None:
        os.write(self.master, text.encode("utf-8"))

    def interrupt_at_the_prompt(self, then: str, *, count: int = 1) -> None:
        """Ctrl-C (SIGINT) for Python's line editor, until ``then`` appears (``count`` times in all).

        readline notices a signal only while it waits in select(): one that lands while it is
        drawing (a busy machine) waits for the next key. Sending it again is safe: Python merges
        pending SIGINTs into one KeyboardInterrupt.
        """
        for _ in range(3):
            time.sleep(0.3)
            self.process.send_signal(signal.SIGINT)
            with contextlib.suppress(AssertionError):
                self.read_until(then, timeout=5, count=count)
                return
        self.read_until(then, timeout=1, count=count)  # fails with what the terminal shows

    def close(self) -> int:
        try:
            return self.process.wait(timeout=20)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=10)
            os.close(self.master)


def test_interactive_chat_on_a_terminal(cli: Cli, site: FakeHailuo) -> None:
    token = logged_in(cli, site)
    site.scenario = "normal delay=0.3"  # slow enough for the spinner to be seen
    terminal = Terminal(cli.argv("chat"), cli.env(), cli.root)
    try:
        terminal.read_until("/exit")  # the banner
        # Type only at a prompt: the line editor may drop what comes before it.
        terminal.read_until("you> ")
        terminal.type("Hello on a terminal\n")
        shown = terminal.read_until(site.reply_for("Hello on a terminal", 1))
        assert "waiting for Hailuo" in shown, "expected a spinner while waiting"
        terminal.read_until("(chat title: Hello on a terminal)")
        terminal.read_until("you> ", count=2)
        terminal.type("Again\n")
        terminal.read_until(site.reply_for("Again", 2))
        terminal.read_until("you> ", count=3)
        terminal.type("\x04")  # Ctrl-D
    finally:
        code = terminal.close()
    assert code == EXIT_OK
    assert token not in terminal.output
    assert list(site.chats(token).values()) == [["Hello on a terminal", "Again"]]


def test_ctrl_c_stops_an_answer_and_the_chat_goes_on(cli: Cli, site: FakeHailuo) -> None:
    token = logged_in(cli, site)
    site.scenario = "normal frames=10 delay=0.5"  # five seconds of answer
    terminal = Terminal(cli.argv("chat"), cli.env(), cli.root)
    try:
        terminal.read_until("you> ")
        terminal.type("Tell me a long story\n")
        terminal.read_until("Hailuo 海螺")  # the answer has begun
        terminal.process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        terminal.read_until("(answer stopped)")
        terminal.read_until("you> ", count=2)
        site.scenario = "normal"
        terminal.type("Still there?\n")
        terminal.read_until(site.reply_for("Still there?", 2))
        terminal.read_until("you> ", count=3)
        terminal.type("\x04")
    finally:
        code = terminal.close()
    assert code == EXIT_OK
    assert list(site.chats(token).values()) == [["Tell me a long story", "Still there?"]]


def test_ctrl_c_at_the_prompt_clears_the_line_and_twice_in_a_row_quits(cli: Cli, site: FakeHailuo) -> None:
    token = logged_in(cli, site)
    terminal = Terminal(cli.argv("chat"), cli.env(), cli.root)
    try:
        terminal.read_until("you> ")
        terminal.type("never sent")
        terminal.read_until("never sent")  # the line editor has it
        terminal.interrupt_at_the_prompt("(line cleared; Ctrl-C again or Ctrl-D quits)")
        terminal.read_until("you> ", count=2)
        terminal.type("Hello after Ctrl-C\n")
        terminal.read_until(site.reply_for("Hello after Ctrl-C", 1))
        terminal.read_until("you> ", count=3)
        terminal.interrupt_at_the_prompt("(line cleared", count=2)  # a line was sent since: clears again
        terminal.read_until("you> ", count=4)
        terminal.interrupt_at_the_prompt("interrupted")  # the second in a row quits
    finally:
        code = terminal.close()
    assert code == EXIT_INTERRUPTED, terminal.output
    assert "Traceback" not in terminal.output
    assert list(site.chats(token).values()) == [["Hello after Ctrl-C"]]


def paste_token_on_a_terminal(terminal: Terminal, token: str) -> tuple[Terminal, int]:
    """Answer ``login``'s hidden prompt with ``token``; the terminal and the exit code."""
    try:
        terminal.read_until("Hailuo token: ")
        terminal.type(token + "\n")
        terminal.read_until("Saved to ")
    finally:
        code = terminal.close()
    return terminal, code


def test_login_on_a_dumb_terminal_prompts_and_hides_the_token(cli: Cli, site: FakeHailuo) -> None:
    """TERM=dumb changes how the spinner draws, never how the token is read."""
    token = new_token(cli, site)
    env = cli.env({"HAILUOAI_BROWSER_LOGIN": "0"})  # plain `login` would open a browser where it can
    terminal, code = paste_token_on_a_terminal(Terminal(cli.argv("login"), env, cli.root, term="dumb"), token)
    assert code == EXIT_OK, terminal.output
    assert "Logged in to Hailuo as tester" in terminal.output
    assert (
        token not in terminal.output
        and token[:20] not in terminal.output
        and token[-20:] not in terminal.output
    )
    assert json.loads(cli.auth_file.read_text())["token"] == token


def test_login_token_stdin_on_a_terminal_hides_the_token(cli: Cli, site: FakeHailuo) -> None:
    token = new_token(cli, site)
    terminal, code = paste_token_on_a_terminal(
        Terminal(cli.argv("login", "--token-stdin"), cli.env(), cli.root), token
    )
    assert code == EXIT_OK, terminal.output
    assert token[:20] not in terminal.output


def test_ctrl_d_at_the_token_prompt_is_no_token(cli: Cli, site: FakeHailuo) -> None:
    env = cli.env({"HAILUOAI_BROWSER_LOGIN": "0"})
    terminal = Terminal(cli.argv("login"), env, cli.root)
    try:
        terminal.read_until("Hailuo token: ")
        terminal.type("\x04")  # Ctrl-D
        terminal.read_until("No token given")
    finally:
        code = terminal.close()
    assert code == EXIT_USAGE, terminal.output
    assert "Traceback" not in terminal.output and "EOFError" not in terminal.output
    assert not cli.auth_file.exists() and not site.requests


def test_status_shows_a_spinner_only_on_a_terminal(cli: Cli, site: FakeHailuo) -> None:
    logged_in(cli, site)
    terminal = Terminal(cli.argv("status"), cli.env(), cli.root)
    try:
        shown = terminal.read_until("Alive: yes")
    finally:
        assert terminal.close() == EXIT_OK
    assert "asking " in shown and "\x1b[K" in shown
    piped = cli("status")
    assert "asking " not in piped.text and "\x1b" not in piped.text


def test_spinner_draws_and_erases_its_line() -> None:
    class FakeTerminal:
        encoding = "utf-8"

        def __init__(self) -> None:
            self.written = ""

        def write(self, text: str) -> int:
            self.written += text
            return len(text)

        def flush(self) -> None:
            pass

        def isatty(self) -> bool:
            return True

    screen = FakeTerminal()
    with Spinner("working", screen, interval=0.01):  # type: ignore[arg-type]
        time.sleep(0.1)
    assert screen.written.startswith("\r⠋ working…")
    assert screen.written.count("\r") > 3 and screen.written.endswith("\r\x1b[K")
    silent = FakeTerminal()
    silent.isatty = lambda: False  # type: ignore[method-assign]
    with Spinner("working", silent):  # type: ignore[arg-type]
        pass
    assert silent.written == ""
