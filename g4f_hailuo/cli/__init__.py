"""The ``g4f-hailuo`` command (also ``python -m g4f_hailuo``).

Commands: ``demo`` (the offline demo), ``chat`` (an interactive, streamed,
multi-turn chat through g4f), ``login`` / ``logout`` (the login cache the
provider reads), ``status`` (who is logged in, until when, and whether Hailuo
still accepts the token), ``doctor`` (the way to the site checked step by step,
with what to do) and ``serve-fake`` (the fake Hailuo server). Each has
its module here (``demo`` and ``serve-fake``: ``passthrough``); ``parser`` puts
them together, ``common`` holds what they share.

Nothing here prints a token. g4f is imported only by the commands that need it,
so ``--help`` answers at once.

Exit codes (``EXIT_*``): 0 done; 1 failed; 2 bad usage; 3 the account (not
logged in, token rejected or expired, banned, out of credits); 4 Hailuo
unreachable, rate limited or failing; 130 interrupted; 141 the reader of
standard output went away (``| head``), as a shell reports a SIGPIPE.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence

from g4f_hailuo.cli import passthrough
from g4f_hailuo.cli.common import (
    EXIT_AUTH,
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    PROG,
    CommandError,
)
from g4f_hailuo.cli.parser import build_parser
from g4f_hailuo.cli.spinner import Spinner

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
        if args_list and args_list[0] in passthrough.PASS_THROUGH:
            return passthrough.run(args_list[0], args_list[1:])
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
