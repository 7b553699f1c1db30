"""The command line every fake site shares: the options, the loopback guard, serving until a signal.

:func:`serve_main` is a fake's whole ``main``: it parses the shared options
(:func:`add_server_arguments`: ``--host``, ``--port``, ``--scenario``, ``--no-signature-check``,
``--allow-remote``) plus the fake's own, refuses a non-loopback host (:func:`refuse_remote`),
builds the fake and serves it with :func:`serve_until_signal`, which prints the ``NAME=value``
lines a script reads (:data:`Announce`). Imports only the standard library.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # common re-exports this module: import it for the annotations only
    from g4f_hailuo.fake.common import FakeServerBase

__all__ = [
    "Announce",
    "add_server_arguments",
    "is_loopback",
    "refuse_remote",
    "serve_main",
    "serve_until_signal",
]

Announce = Callable[[str], tuple[str, list[str]]]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def add_server_arguments(parser: argparse.ArgumentParser, scenario_example: str) -> None:
    """The options every fake's command line has: where to serve, which scenario, remote or not."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--scenario", default="normal", help=f'e.g. "normal" or "{scenario_example}"')
    parser.add_argument("--no-signature-check", action="store_true", help="accept any signature")
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")


def refuse_remote(host: str, allow_remote: bool) -> bool:
    """True (after saying why on stderr) if ``host`` is not loopback and that was not allowed."""
    if allow_remote or is_loopback(host):
        return False
    print(f"refusing to serve on {host!r}: this is a test server (use --allow-remote)", file=sys.stderr)
    return True


async def serve_until_signal(fake: FakeServerBase, host: str, port: int, announce: Announce) -> None:
    """Serve until SIGINT/SIGTERM. ``announce(url)`` gives the banner (for stderr) and the
    ``NAME=value`` lines (for stdout, which a script may read)."""
    url = await fake.start(host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    banner, lines = announce(url)
    print(f"{banner}; Ctrl-C to stop", file=sys.stderr)
    print("\n".join(lines), flush=True)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await fake.close()


def serve_main(
    argv: list[str] | None,
    *,
    prog: str,
    description: str,
    scenario_example: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    build: Callable[[argparse.Namespace], tuple[FakeServerBase, Announce]],
) -> int:
    """A fake's command line: parse (the shared options and ``add_arguments``), refuse a remote
    host, ``build(args)`` the fake, serve it until a signal. Exit 0, 1 (cannot bind) or 2 (usage)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_server_arguments(parser, scenario_example)
    add_arguments(parser)
    args = parser.parse_args(argv)
    if refuse_remote(args.host, args.allow_remote):
        return 2
    try:
        fake, announce = build(args)
    except ValueError as exc:
        print(f"bad --scenario: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve_until_signal(fake, args.host, args.port, announce))
    except OSError as exc:
        print(f"cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0
