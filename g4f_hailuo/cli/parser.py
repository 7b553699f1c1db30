"""The main argument parser: ``--version``, and each command from its own module."""

from __future__ import annotations

import argparse

from g4f_hailuo import __version__
from g4f_hailuo.cli import chat, doctor, login, passthrough, status
from g4f_hailuo.cli.common import PROG


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
    passthrough.add_placeholder(commands, "demo")
    chat.add_parser(commands)
    login.add_parsers(commands)  # login and logout
    status.add_parser(commands)
    doctor.add_parser(commands)
    passthrough.add_placeholder(commands, "serve-fake")
    return parser
