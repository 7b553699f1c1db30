"""``g4f-hailuo login`` (in a browser, or a pasted token, stored in the login cache the
provider reads) and ``g4f-hailuo logout`` (that cache deleted)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from g4f_hailuo.cli.account import account_info, claims_user
from g4f_hailuo.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    TOKEN_ENV,
    CommandError,
    add_site_options,
    describe,
    exit_code_for,
    is_tty,
    resolve_site,
    run_checked,
    site_options,
    when,
)
from g4f_hailuo.cli.spinner import Spinner

if TYPE_CHECKING:
    from g4f_hailuo._config import Settings


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``login`` and ``logout`` commands in ``commands`` (the main parser's subparsers)."""
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
    add_site_options(login)
    login.set_defaults(handler=cmd_login)

    logout = commands.add_parser(
        "logout", help="forget the stored login", description="Delete the login cache."
    )
    logout.set_defaults(handler=cmd_logout)


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text!r}")
    return seconds


def _read_token() -> str:
    """The token: from a pipe as sent, or typed at a hidden prompt on a terminal (never echoed)."""
    if not is_tty(sys.stdin):
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
    settings = resolve_site(args)
    if args.token_stdin and (args.headless or args.login_timeout is not None):
        raise CommandError("--headless and --login-timeout are options of the browser login.", EXIT_USAGE)
    code: int | None = None
    if args.browser or args.headless or args.login_timeout is not None:  # the browser's options ask for it
        code = _browser_login(args, settings, chosen=False)
    elif not args.token_stdin and is_tty(sys.stdin) and _browser_login_runs_here():
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
        async for chunk in HailuoAI.on_auth_async(api_key=token, **site_options(args)):
            if isinstance(chunk, AuthResult):
                result = chunk
        if result is None:  # pragma: no cover - on_auth_async yields one or raises
            raise CommandError("The login produced no credentials.")
        return result

    try:
        with Spinner("checking the token with Hailuo"):
            auth = run_checked(authenticate(), settings)
    except G4FError as error:
        raise CommandError(f"Login failed: {describe(error)}", exit_code_for(error)) from None
    HailuoAI.write_cache_file(HailuoAI.get_cache_file(), auth)
    identity = Identity.from_dict(auth.get_dict())
    assert identity is not None
    name = claims_user(identity).get("name")
    try:
        with Spinner("reading the account"):
            _, info = run_checked(account_info(settings, identity), settings)
        name = info.get("nickName") or name
    except (CommandError, G4FError):
        pass  # logged in all the same; `status` tells more
    expires = when(identity.expires_at) if identity.expires_at else None
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
    options: dict[str, Any] = {**site_options(args), "headless": args.headless}
    if args.login_timeout is not None:
        options["login_timeout"] = args.login_timeout
    try:
        with Spinner("waiting for the browser login"):
            summary = run_checked(HailuoAI.login(**options), settings)
    except MissingRequirementsError as error:
        if not chosen:
            raise CommandError(f"Login failed: {describe(error)}", EXIT_ERROR) from None
        sys.stderr.write(f"The browser login cannot run here: {describe(error)}.\n")
        return None
    except G4FError as error:
        raise CommandError(f"Login failed: {describe(error)}", exit_code_for(error)) from None
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
