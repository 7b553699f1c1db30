"""The ``g4f-hailuo`` command (also ``python -m g4f_hailuo``).

Commands: ``demo`` (the offline demo), ``chat`` (an interactive, streamed,
multi-turn chat through g4f), ``login`` / ``logout`` (the login cache the
provider reads), ``status`` (who is logged in, until when, and whether Hailuo
still accepts the token) and ``serve-fake`` (the fake Hailuo server).

Nothing here prints a token. g4f is imported only by the commands that need it,
so ``--help`` answers at once.

Exit codes (``EXIT_*``): 0 done; 1 failed; 2 bad usage; 3 the account (not
logged in, token rejected or expired, banned, out of credits); 4 Hailuo
unreachable, rate limited or failing; 130 interrupted; 141 the reader of
standard output went away (``| head``), as a shell reports a SIGPIPE.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from g4f_hailuo import __version__

if TYPE_CHECKING:
    from g4f_hailuo._config import Settings
    from g4f_hailuo.accounts.identity import Identity

__all__ = [
    "EXIT_AUTH",
    "EXIT_BROKEN_PIPE",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "Spinner",
    "main",
]

PROG = "g4f-hailuo"
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_UNAVAILABLE = 4
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a program whose reader left

TOKEN_ENV = "HAILUOAI_API_KEY"
NOT_LOGGED_IN = f"Not logged in to Hailuo: run `{PROG} login` (or set {TOKEN_ENV})."
CHAT_HELP = (
    "/new starts a new chat, /exit (or Ctrl-D) quits, Ctrl-C stops an answer or clears the line "
    "(twice in a row quits)."
)

# Commands handled by another module's own argument parser: their arguments pass through.
_PASS_THROUGH = ("demo", "serve-fake")


class CommandError(Exception):
    """A failure with a message for the user and an exit code."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


# -- waiting ---------------------------------------------------------------------------------------


class Spinner:
    """A one-line spinner on a terminal while the user waits; silent elsewhere.

    Draws its first frame at once, then one every ``interval`` seconds, and
    erases its line when stopped (``stop()`` is idempotent).
    """

    FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
    ASCII_FRAMES = "|/-\\"

    def __init__(
        self, text: str, stream: TextIO | None = None, *, interval: float = 0.1, enabled: bool | None = None
    ) -> None:
        self.text = text
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self.frames = self.FRAMES if _can_encode(self.stream, self.FRAMES) else self.ASCII_FRAMES
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = False
        self._lock = threading.Lock()

    def start(self) -> Spinner:
        if self.enabled and self._thread is None:
            self._draw(self.frames[0])
            self._thread = threading.Thread(target=self._spin, name="spinner", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        with self._lock:
            if self._drawn:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self._drawn = False

    def _spin(self) -> None:
        started = time.monotonic()
        for frame in itertools.islice(itertools.cycle(self.frames), 1, None):
            if self._stop.wait(self.interval):
                return
            self._draw(frame, time.monotonic() - started)

    def _draw(self, frame: str, elapsed: float = 0.0) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            shown = f" {elapsed:.0f} s" if elapsed >= 2 else ""
            self.stream.write(f"\r{frame} {self.text}…{shown}\x1b[K")
            self.stream.flush()
            self._drawn = True

    def __enter__(self) -> Spinner:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _is_tty(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal: decides how input is read (prompts, hidden token)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _is_terminal(stream: TextIO) -> bool:
    """A terminal that can redraw a line (not TERM=dumb): decides only whether the spinner draws."""
    return _is_tty(stream) and os.environ.get("TERM") != "dumb"


def _can_encode(stream: TextIO, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (LookupError, UnicodeEncodeError):
        return False
    return True


# -- shared helpers --------------------------------------------------------------------------------


def _exit_code_for(error: BaseException) -> int:
    """The exit code for a failure (g4f's error types)."""
    from g4f.errors import (
        BadRequestError,
        MissingAuthError,
        ModelNotFoundError,
        NoValidHarFileError,
        PaymentRequiredError,
        RateLimitError,
        ResponseError,
        ResponseStatusError,
    )
    from g4f.errors import TimeoutError as G4FTimeoutError

    if isinstance(error, (MissingAuthError, NoValidHarFileError, PaymentRequiredError)):
        return EXIT_AUTH
    if isinstance(error, ModelNotFoundError):
        return EXIT_USAGE
    if isinstance(error, BadRequestError):  # a ResponseStatusError, but not the service's fault
        return EXIT_ERROR
    if isinstance(error, (RateLimitError, ResponseStatusError, ResponseError, G4FTimeoutError, OSError)):
        return EXIT_UNAVAILABLE
    return EXIT_ERROR


def _describe(error: BaseException) -> str:
    message = " ".join(str(error).split())
    return message or type(error).__name__


def _settings(args: argparse.Namespace) -> Settings:
    """Where Hailuo is (``--base-url``/``--region``, else the environment); bad values are usage errors."""
    from g4f.errors import BadRequestError

    from g4f_hailuo._config import resolve_settings

    try:
        return resolve_settings(base_url=args.base_url, region=args.region)
    except BadRequestError as error:
        raise CommandError(str(error), EXIT_USAGE) from None


def _current_logins(settings: Settings) -> tuple[str, list[Identity]]:
    """The accounts the provider would use and where they come from (``_token_sources``:
    HAILUOAI_API_KEY, the .env of g4f's cookies dir, the login cache, .har/cookie files)."""
    from g4f_hailuo.accounts.token_sources import find_tokens

    found = find_tokens(None, settings.origin)
    return found.describe(), list(found.identities)


def _known_device(settings: Settings, identity: Identity) -> Identity:
    """``identity`` with the device already registered for its account, when it names none.

    A token from HAILUOAI_API_KEY, .env or a file often carries no device id; registering one on
    every ``status`` would give the account a new upstream device each run. Used instead, with
    no request: a cached login of the same account on this site (the device its login
    registered, or its browser reported), else the device remembered for the account
    (``_devices``, shared with the provider).
    """
    if identity.device_id is not None:
        return identity
    from g4f_hailuo.accounts import auth_cache as _auth_cache
    from g4f_hailuo.accounts import devices as _devices
    from g4f_hailuo.accounts.identity import Identity

    account = _auth_cache.login_key(identity.token)
    for login in _auth_cache.read_logins(_auth_cache.auth_file()):
        cached = Identity.from_dict(login)
        if (
            cached is not None
            and cached.device_id
            and _auth_cache.for_origin(login, settings.origin)
            and _auth_cache.login_key(cached.token) == account
        ):
            return dataclasses.replace(
                identity, uuid=cached.uuid, device_id=cached.device_id, user_agent=cached.user_agent
            )
    device_id = _devices.remembered(_devices.devices_file(), settings.origin, identity.account, identity.uuid)
    if device_id is None:
        return identity
    return dataclasses.replace(identity, device_id=device_id)


async def _account_info(settings: Settings, identity: Identity) -> tuple[Identity, dict[str, Any]]:
    """Ask Hailuo who the token is (``user/info``). A token without a known device
    (``_known_device``) gets one registered first, remembered as the provider does."""
    import aiohttp

    from g4f_hailuo.accounts import devices as _devices
    from g4f_hailuo.protocols.hailuo_v4.client import fetch_user_info

    identity = _known_device(settings, identity)
    async with aiohttp.ClientSession() as session:
        if identity.device_id is None:
            identity = await _devices.with_device(session, settings, identity)
        return identity, await fetch_user_info(session, settings, identity)


def _run_checked(coroutine: Any, settings: Settings) -> Any:
    """Run a request to Hailuo; transport failures become a short "cannot reach" message."""
    import aiohttp

    try:
        return asyncio.run(coroutine)
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
        raise CommandError(
            f"Cannot reach Hailuo at {settings.origin} ({type(error).__name__})", EXIT_UNAVAILABLE
        ) from None


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))


def _in_words(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{max(seconds / 60, 1):.0f} minutes"


def _claims_user(identity: Identity) -> dict[str, Any]:
    from g4f_hailuo.accounts.identity import jwt_claims

    user = jwt_claims(identity.token).get("user")
    return user if isinstance(user, dict) else {}


def _add_site_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="the Hailuo origin to talk to (default: $HAILUOAI_BASE_URL, else the region's site)",
    )
    parser.add_argument(
        "--region",
        choices=("intl", "cn"),
        help="intl = www.hailuo.ai, cn = hailuoai.com (default: $HAILUOAI_REGION, else intl)",
    )


# -- chat ------------------------------------------------------------------------------------------


class _Chat:
    """One chat's state: the history and the Hailuo conversation to continue."""

    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.args = args
        self.out = out
        self.err = err
        self.messages: list[dict[str, str]] = []
        self.conversation: Any = None
        self.title: str | None = None

    def reset(self) -> None:
        self.messages = []
        self.conversation = None
        self.title = None

    def ask(self, prompt: str) -> str:
        """Send ``prompt``, stream the answer to ``out``; the history keeps it only on success."""
        import g4f
        from g4f.providers.response import JsonConversation, TitleGeneration

        messages = [*self.messages, {"role": "user", "content": prompt}]
        parts: list[str] = []
        reader_left = False
        spinner = Spinner("waiting for Hailuo", self.err).start()
        stream = g4f.ChatCompletion.create(
            model=self.args.model,
            messages=messages,
            provider="HailuoAI",
            stream=True,
            base_url=self.args.base_url,
            region=self.args.region,
            conversation=self.conversation,
        )
        try:
            # closing: a stream left mid-answer (the reader went away) ends here, its connection
            # closed on g4f's loop, rather than at interpreter exit with an error from its clean-up.
            with contextlib.closing(stream):
                for chunk in stream:
                    if isinstance(chunk, str):
                        if chunk:
                            spinner.stop()
                            parts.append(chunk)
                            self.out.write(chunk)
                            self.out.flush()
                    elif isinstance(chunk, JsonConversation):
                        self.conversation = chunk
                    elif isinstance(chunk, TitleGeneration) and self.title is None:
                        self.title = chunk.title
        except BrokenPipeError:  # the reader of the answer went away: write nothing more (see main)
            reader_left = True
            raise
        finally:
            spinner.stop()
            if parts and not reader_left:
                self.out.write("\n")
                self.out.flush()
        answer = "".join(parts)
        self.messages = [*messages, {"role": "assistant", "content": answer}]
        return answer


def _prompts(args: argparse.Namespace, stdin: TextIO, err: TextIO) -> Iterator[str]:
    if args.message:
        yield from args.message
        return
    if not _is_tty(stdin):
        yield from (line.rstrip("\r\n") for line in stdin)
        return
    with contextlib.suppress(ImportError):  # line editing and history, where the platform has them
        import readline  # noqa: F401
    interrupted = False  # the last prompt ended with Ctrl-C
    while True:
        try:
            line = input("you> ")
        except EOFError:
            err.write("\n")
            return
        except KeyboardInterrupt:
            if interrupted:
                raise  # a second Ctrl-C in a row quits (main: exit code 130)
            interrupted = True
            err.write("\n(line cleared; Ctrl-C again or Ctrl-D quits)\n")
            continue
        interrupted = False
        yield line


def _check_model(model: str) -> None:
    """An unknown model is a usage error, found before anything is sent."""
    from g4f.errors import ModelNotFoundError

    from g4f_hailuo.provider import HailuoAI

    try:
        HailuoAI.get_model(model)
    except ModelNotFoundError as error:
        raise CommandError(_describe(error), EXIT_USAGE) from None


def cmd_chat(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _check_model(args.model)
    _source, identities = _current_logins(settings)
    if not identities:
        raise CommandError(NOT_LOGGED_IN, EXIT_AUTH)
    usable = [identity for identity in identities if not identity.is_expired()]
    if not usable:
        last = max(identity.expires_at or 0 for identity in identities)
        raise CommandError(f"The Hailuo token expired on {_when(last)}: run `{PROG} login` again.", EXIT_AUTH)
    identity = usable[0]
    from g4f import debug
    from g4f.errors import G4FError

    debug.version_check = False  # else g4f asks PyPI for its newest version and prints the answer
    out, err = sys.stdout, sys.stderr
    interactive = not args.message and _is_tty(sys.stdin)
    chat = _Chat(args, out, err)
    if interactive:
        name = _claims_user(identity).get("name") or "your account"
        err.write(f"Hailuo AI through g4f, as {name}, at {settings.origin}. {CHAT_HELP}\n")
    for line in _prompts(args, sys.stdin, err):
        prompt = line.strip()
        if not prompt:
            continue
        if prompt in ("/exit", "/quit"):
            break
        if prompt == "/help":
            err.write(CHAT_HELP + "\n")
            continue
        if prompt == "/new":
            chat.reset()
            err.write("(a new chat starts with your next message)\n")
            continue
        had_title = chat.title is not None
        try:
            chat.ask(prompt)
        except KeyboardInterrupt:
            err.write("\n(answer stopped)\n")
            if not interactive:
                return EXIT_INTERRUPTED
            continue
        except G4FError as error:
            err.write(f"{PROG} chat: {_describe(error)}\n")
            code = _exit_code_for(error)
            if not interactive or code == EXIT_AUTH:
                return code
            continue
        if chat.title and not had_title:
            err.write(f"(chat title: {chat.title})\n")
    return EXIT_OK


# -- login / logout / status ---------------------------------------------------------------------


def _read_token() -> str:
    """The token: from a pipe as sent, or typed at a hidden prompt on a terminal (never echoed)."""
    if not _is_tty(sys.stdin):
        text = sys.stdin.read()
    else:
        import getpass

        sys.stderr.write(
            "Log in on the Hailuo site, then copy the token from the browser's developer tools\n"
            "(Application > Local Storage > _token). It is not shown while you paste it.\n"
        )
        try:
            text = getpass.getpass("Hailuo token: ")
        except EOFError:  # Ctrl-D at the prompt
            sys.stderr.write("\n")
            text = ""
    token = text.strip().strip('"').strip()
    return token.removeprefix("Bearer ").strip()


def _browser_login_switched_off() -> str | None:
    """The value of HAILUOAI_BROWSER_LOGIN when it switches the browser login off, else ``None``."""
    from g4f_hailuo._config import BROWSER_LOGIN_ENV, switched_off

    return os.environ[BROWSER_LOGIN_ENV].strip() if switched_off(BROWSER_LOGIN_ENV) else None


def _browser_login_runs_here() -> bool:
    """Whether plain ``login`` should choose the browser: the extra, a Chrome/Chromium, not
    switched off, and a screen for its window (Linux without DISPLAY/WAYLAND_DISPLAY has none)."""
    from g4f_hailuo.accounts.browser_login import browser_login_available

    if not browser_login_available():
        return False
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _overriding_token() -> str | None:
    """Which token source wins over the login cache right now (HAILUOAI_API_KEY, or the
    HAILUOAI_API_KEY line of the .env in g4f's cookies dir), named for the user; else ``None``."""
    from g4f_hailuo.accounts.auth_cache import auth_file
    from g4f_hailuo.accounts.token_sources import dotenv_value, split_tokens

    if split_tokens(os.environ.get(TOKEN_ENV)):
        return f"{TOKEN_ENV} (environment)"
    dotenv = auth_file().parent / ".env"
    if split_tokens(dotenv_value(dotenv, TOKEN_ENV)):
        return f"{TOKEN_ENV} in {dotenv}"
    return None


def cmd_login(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.token_stdin and (args.headless or args.login_timeout is not None):
        raise CommandError("--headless and --login-timeout are options of the browser login.", EXIT_USAGE)
    code: int | None = None
    if args.browser or args.headless or args.login_timeout is not None:  # the browser's options ask for it
        code = _browser_login(args, settings, chosen=False)
    elif not args.token_stdin and _is_tty(sys.stdin) and _browser_login_runs_here():
        code = _browser_login(args, settings, chosen=True)  # None: it could not start; paste instead
    if code is None:
        code = _token_login(args, settings)
    overriding = _overriding_token()
    if overriding:
        sys.stderr.write(
            f"{PROG}: warning: {overriding} is set and takes priority over this login"
            " (unset it for the login to be used).\n"
        )
    return code


def _token_login(args: argparse.Namespace, settings: Settings) -> int:
    """A pasted token, checked with the site (a device registered if it has none), then cached."""
    from g4f.errors import G4FError
    from g4f.providers.response import AuthResult

    from g4f_hailuo.accounts.identity import Identity
    from g4f_hailuo.provider import HailuoAI

    token = _read_token()
    if not token:
        raise CommandError("No token given: paste the value of localStorage._token.", EXIT_USAGE)

    async def authenticate() -> AuthResult:
        result = None
        async for chunk in HailuoAI.on_auth_async(api_key=token, base_url=args.base_url, region=args.region):
            if isinstance(chunk, AuthResult):
                result = chunk
        if result is None:  # pragma: no cover - on_auth_async yields one or raises
            raise CommandError("The login produced no credentials.")
        return result

    try:
        with Spinner("checking the token with Hailuo"):
            auth = _run_checked(authenticate(), settings)
    except G4FError as error:
        raise CommandError(f"Login failed: {_describe(error)}", _exit_code_for(error)) from None
    HailuoAI.write_cache_file(HailuoAI.get_cache_file(), auth)
    identity = Identity.from_dict(auth.get_dict())
    assert identity is not None
    name = _claims_user(identity).get("name")
    try:
        with Spinner("reading the account"):
            _, info = _run_checked(_account_info(settings, identity), settings)
        name = info.get("nickName") or name
    except (CommandError, G4FError):
        pass  # logged in all the same; `status` tells more
    expires = _when(identity.expires_at) if identity.expires_at else None
    _print_login(name, expires, str(HailuoAI.get_cache_file()))
    return EXIT_OK


def _browser_login(args: argparse.Namespace, settings: Settings, *, chosen: bool) -> int | None:
    """``HailuoAI.login()``: a browser window on this machine, then the login cache.

    ``chosen``: plain ``login`` picked the browser by itself; when the browser cannot start,
    ``None`` says to ask for a token instead of failing.
    """
    from g4f.errors import G4FError, MissingRequirementsError

    from g4f_hailuo.accounts.browser_login import browser_login_available
    from g4f_hailuo.provider import HailuoAI

    switched_off = _browser_login_switched_off()
    if switched_off is not None:
        raise CommandError(
            f"The browser login is switched off (HAILUOAI_BROWSER_LOGIN={switched_off}): unset it to "
            f"use --browser, or paste a token: `{PROG} login --token-stdin`.",
            EXIT_USAGE,
        )
    if not browser_login_available():
        raise CommandError(
            'The browser login needs the browser extra (pip install "g4f-hailuo[browser]") and '
            f"Chrome or Chromium on PATH; or paste a token: `{PROG} login --token-stdin`.",
            EXIT_ERROR,
        )
    if args.headless:
        sys.stderr.write(f"Logging in on {settings.origin} in a headless browser.\n")
    else:
        instead = f" (Ctrl-C, then `{PROG} login --token-stdin`, to paste a token instead)" if chosen else ""
        sys.stderr.write(f"A browser window opens on {settings.origin}: log in there{instead}.\n")
    options: dict[str, Any] = {"base_url": args.base_url, "region": args.region, "headless": args.headless}
    if args.login_timeout is not None:
        options["login_timeout"] = args.login_timeout
    try:
        with Spinner("waiting for the browser login"):
            summary = _run_checked(HailuoAI.login(**options), settings)
    except MissingRequirementsError as error:
        if not chosen:
            raise CommandError(f"Login failed: {_describe(error)}", EXIT_ERROR) from None
        sys.stderr.write(f"The browser login cannot run here: {_describe(error)}.\n")
        return None
    except G4FError as error:
        raise CommandError(f"Login failed: {_describe(error)}", _exit_code_for(error)) from None
    _print_login(summary.get("name"), summary.get("expires"), str(summary.get("cache_file")))
    return EXIT_OK


def _print_login(name: str | None, expires: str | None, cache_file: str) -> None:
    who = f" as {name}" if name else ""
    expiry = f"; the token expires on {expires}" if expires else ""
    print(f"Logged in to Hailuo{who}{expiry}.")
    print(f"Saved to {cache_file} (readable by you only).")


def cmd_logout(args: argparse.Namespace) -> int:
    from g4f_hailuo.provider import HailuoAI

    cache = HailuoAI.get_cache_file()
    if not cache.exists():
        print("Not logged in: nothing to do.")
    else:
        HailuoAI.reset_auth()
        print(f"Logged out: removed {cache}.")
    overriding = _overriding_token()
    if overriding:
        print(f"Note: {overriding} is still set, and its token is still used.")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    source, identities = _current_logins(settings)
    report: dict[str, Any] = {
        "logged_in": bool(identities),
        "site": settings.origin,
        "region": settings.region,
    }
    if not identities:
        return _status_done(args, report, NOT_LOGGED_IN, EXIT_AUTH)
    report.update(source=source, accounts=[])
    several = len(identities) > 1
    lines = [f"Logged in with {source}" + (f": {len(identities)} accounts." if several else ".")]
    code = EXIT_OK
    for identity in identities:
        account, account_lines, account_code = _account_status(args, settings, identity)
        report["accounts"].append(account)
        lines += [("  " if several else "") + line for line in account_lines]
        code = max(code, account_code, key=_severity)
    if code == EXIT_AUTH:
        lines.append(f"Run `{PROG} login` again" + (" for the accounts marked above." if several else "."))
    return _status_done(args, report, "\n".join(lines), code)


def _severity(code: int) -> int:
    """Which exit code wins when accounts differ: the account's problem, then the site's."""
    return {EXIT_OK: 0, EXIT_UNAVAILABLE: 1, EXIT_AUTH: 2}.get(code, 1)


def _account_status(
    args: argparse.Namespace, settings: Settings, identity: Identity
) -> tuple[dict[str, Any], list[str], int]:
    """One account's report (never its token), its lines of text and its exit code."""
    from g4f.errors import G4FError

    identity = _known_device(settings, identity)
    user = _claims_user(identity)
    expires_at = identity.expires_at
    report: dict[str, Any] = {
        "account": identity.account,  # a fingerprint, never the token
        "user_id": str(user.get("id")) if user.get("id") is not None else None,
        "name": user.get("name"),
        "device_id": identity.device_id,
        "expires_at": _when(expires_at) if expires_at else None,
        "expired": identity.is_expired(),
        "live": None,
    }
    if expires_at:
        left = expires_at - time.time()
        expiry = f"Token expires: {_when(expires_at)} " + (
            f"(in {_in_words(left)})" if left > 0 else f"(EXPIRED {_in_words(left)} ago)"
        )
    else:
        expiry = "Token expires: unknown (the token carries no expiry)"
    if identity.is_expired():
        report["error"] = "the token has expired"
        return report, [_account_line(report), expiry], EXIT_AUTH
    if args.offline:
        return report, [_account_line(report), expiry], EXIT_OK
    started = time.monotonic()
    try:
        with Spinner(f"asking {settings.origin} whether the token is alive"):
            identity, info = _run_checked(_account_info(settings, identity), settings)
    except CommandError as error:
        report["error"] = str(error)
        return report, [_account_line(report), expiry, f"Alive: unknown ({error})"], error.code
    except G4FError as error:
        code = _exit_code_for(error)
        report.update(live=False if code == EXIT_AUTH else None, error=_describe(error))
        verdict = "no, Hailuo rejected the token" if code == EXIT_AUTH else "unknown"
        return report, [_account_line(report), expiry, f"Alive: {verdict} ({_describe(error)})"], code
    report.update(
        live=True,
        name=info.get("nickName") or report["name"],
        user_id=str(info.get("userID") or report["user_id"] or "") or None,
        device_id=identity.device_id,
    )
    elapsed = (time.monotonic() - started) * 1000
    alive = f"Alive: yes (user/info answered in {elapsed:.0f} ms from {settings.origin})"
    return report, [_account_line(report), expiry, alive], EXIT_OK


def _account_line(report: dict[str, Any]) -> str:
    name = report.get("name") or "(no name)"
    user_id = f", user {report['user_id']}" if report.get("user_id") else ""
    device = f", device {report['device_id']}" if report.get("device_id") else ""
    return f"Account: {name}{user_id}{device}"


def _status_done(args: argparse.Namespace, report: dict[str, Any], text: str, code: int) -> int:
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(text)
    return code


# -- pass-through commands ------------------------------------------------------------------------


def cmd_demo(argv: list[str]) -> int:
    from g4f_hailuo.demo import main as demo_main

    return demo_main(argv)


def cmd_serve_fake(argv: list[str]) -> int:
    from g4f_hailuo.fake.cli import main as fake_main

    return fake_main(argv, prog=f"{PROG} serve-fake")


# -- the parser ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Hailuo AI (MiniMax) web chat as a g4f provider: chat, log in, check the login.",
        epilog=(
            "Exit codes: 0 done, 1 failed, 2 bad usage, 3 not logged in or token rejected/expired, "
            "4 Hailuo unreachable, rate limited or failing, 130 interrupted, 141 output pipe closed. "
            f"`{PROG} COMMAND --help` describes a command."
        ),
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser(
        "demo",
        help="the offline demo: a 3-turn chat through g4f against the bundled fake server",
        add_help=False,
    )

    chat = commands.add_parser(
        "chat",
        help="chat with Hailuo through g4f (streamed, multi-turn)",
        description=(
            "Chat with Hailuo AI through g4f: each answer streams in, and the chat goes on "
            "until you quit. " + CHAT_HELP + " Without a terminal, each line of standard input "
            f"is one message. Uses {TOKEN_ENV} if set, else the login cache (`{PROG} login`)."
        ),
    )
    chat.add_argument(
        "-m",
        "--message",
        action="append",
        metavar="TEXT",
        help="send TEXT instead of reading input (repeatable)",
    )
    chat.add_argument("--model", default="MiniMax", help="the model name (default: MiniMax)")
    _add_site_options(chat)
    chat.set_defaults(handler=cmd_chat)

    login = commands.add_parser(
        "login",
        help="store a Hailuo login (log in in a browser, or paste a token)",
        description=(
            "Log in to Hailuo and store the login in g4f's cookies dir, where the HailuoAI provider "
            "finds it. On a terminal, a browser window opens for the login when the browser login "
            "can run here (the browser extra, a Chrome/Chromium, a display, HAILUOAI_BROWSER_LOGIN "
            "not off); otherwise the token is asked for, without echo, and checked with the site. "
            "From a pipe the token is read from standard input. Never pass it as an argument."
        ),
    )
    how = login.add_mutually_exclusive_group()
    how.add_argument(
        "--token-stdin",
        action="store_true",
        help="paste a token, never a browser (read without echo on a terminal, else from standard input)",
    )
    how.add_argument(
        "--browser", action="store_true", help="log in in a browser window (needs the browser extra)"
    )
    login.add_argument(
        "--headless",
        action="store_true",
        help="log in in a browser without a window (for automation; implies --browser)",
    )
    login.add_argument(
        "--login-timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        help="the longest wait for the browser login (default: $HAILUOAI_LOGIN_TIMEOUT, else 300; "
        "implies --browser)",
    )
    _add_site_options(login)
    login.set_defaults(handler=cmd_login)

    logout = commands.add_parser(
        "logout", help="forget the stored login", description="Delete the login cache."
    )
    logout.set_defaults(handler=cmd_logout)

    status = commands.add_parser(
        "status",
        help="who is logged in, until when, and whether the token still works",
        description=(
            "Show the accounts the provider would use (from the first source that has any: "
            f"{TOKEN_ENV}, HAILUOAI_API_KEY in the .env of g4f's cookies dir, the login cache, "
            ".har or cookie files there): each account, its token's expiry (from its claims) and "
            "whether Hailuo still accepts it (user/info). Never shows a token. Exits 3 when an "
            "account needs a new login, 4 when Hailuo could not be asked."
        ),
    )
    status.add_argument("--offline", action="store_true", help="do not ask Hailuo; read the token only")
    status.add_argument("--json", action="store_true", help="print a JSON object")
    _add_site_options(status)
    status.set_defaults(handler=cmd_status)

    commands.add_parser(
        "serve-fake",
        help="run a fake site (--protocol agent, the default, or hailuo-v4) on a loopback port",
        add_help=False,
    )
    return parser


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text!r}")
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; its exit code. A reader of standard output that went away
    (``| head``) ends the command quietly with EXIT_BROKEN_PIPE, as a shell reports it."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # a pipe closed early fails here, not at exit with a traceback
        return code
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE


def _discard_stdout() -> None:
    """Point standard output at os.devnull: what is still buffered, and the flush at exit,
    go nowhere instead of raising BrokenPipeError again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)


def _main(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_list and args_list[0] in _PASS_THROUGH:
            command, rest = args_list[0], args_list[1:]
            return cmd_demo(rest) if command == "demo" else cmd_serve_fake(rest)
        parser = build_parser()
        args = parser.parse_args(args_list)
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        code: int = args.handler(args)
        return code
    except CommandError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit as exit_:  # argparse: --help (0) and usage errors (2)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
