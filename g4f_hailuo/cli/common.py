"""What the commands share: exit codes, the error a command fails with, g4f's errors as
exit codes and messages, where Hailuo is (the site options) and running a request to it.

Imports only the standard library: g4f and aiohttp are imported inside the functions that
use them, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from g4f_hailuo._config import Settings

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
# What --protocol accepts: _config.PROTOCOLS but for "matrix", spelled out here because
# _config imports g4f, which --help must not.
PROTOCOL_CHOICES = ("agent", "matrix", "hailuo-v4")


class CommandError(Exception):
    """A failure with a message for the user and an exit code."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


def is_tty(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal: decides how input is read (prompts, hidden token)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def exit_code_for(error: BaseException) -> int:
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


def describe(error: BaseException) -> str:
    message = " ".join(str(error).split())
    return message or type(error).__name__


def when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))


def add_site_options(parser: argparse.ArgumentParser) -> None:
    """``--base-url``, ``--region`` and ``--protocol``: where Hailuo is and how to talk to it."""
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="the Hailuo origin to talk to (default: $HAILUOAI_BASE_URL, else the region's site)",
    )
    parser.add_argument(
        "--region",
        choices=("intl", "cn"),
        help="intl = agent.minimax.io, cn = agent.minimaxi.com under the agent protocol "
        "(www.hailuo.ai, hailuoai.com under hailuo-v4; default: $HAILUOAI_REGION, else intl)",
    )
    parser.add_argument(
        "--protocol",
        choices=PROTOCOL_CHOICES,
        help="agent = MiniMax Agent, matrix = its older polling API, hailuo-v4 = the retired Hailuo chat "
        "(default: $HAILUOAI_PROTOCOL, else agent)",
    )


def site_options(args: argparse.Namespace) -> dict[str, Any]:
    """The site options given (``add_site_options``) as the provider's keyword arguments."""
    return {"base_url": args.base_url, "region": args.region, "protocol": args.protocol}


def resolve_site(args: argparse.Namespace) -> Settings:
    """Where Hailuo is (the site options, else the environment); bad values are usage errors."""
    from g4f.errors import BadRequestError

    from g4f_hailuo._config import resolve_settings

    try:
        return resolve_settings(**site_options(args))
    except BadRequestError as error:
        raise CommandError(str(error), EXIT_USAGE) from None


def run_checked(coroutine: Any, settings: Settings) -> Any:
    """Run a request to Hailuo; transport failures become a short "cannot reach" message."""
    import asyncio

    import aiohttp

    try:
        return asyncio.run(coroutine)
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
        raise CommandError(
            f"Cannot reach Hailuo at {settings.origin} ({type(error).__name__})", EXIT_UNAVAILABLE
        ) from None
