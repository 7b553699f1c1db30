"""``python -m g4f_hailuo.fake.hailuo_v4.server`` (or ``python -m g4f_hailuo.fake --protocol hailuo-v4``):
serve a fake Hailuo ``/v4`` site until Ctrl-C.

Prints ``HAILUOAI_BASE_URL``, ``HAILUOAI_API_KEY`` (a token it issued) and
``HAILUOAI_PROTOCOL=hailuo-v4`` on stdout, so a shell or a test can pick them up; refuses a
non-loopback ``--host`` unless ``--allow-remote`` is given. ``--exclusive-accounts`` lets each
token stream one reply at a time. ``main`` is importable from ``server`` too.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from g4f_hailuo.fake.common import Announce, serve_main

if TYPE_CHECKING:  # server re-exports main: it is imported when main runs
    from g4f_hailuo.fake.hailuo_v4.server import FakeHailuo

__all__ = ["main"]


def main(argv: list[str] | None = None, prog: str = "python -m g4f_hailuo.fake.hailuo_v4.server") -> int:
    from g4f_hailuo.fake.hailuo_v4.server import FakeHailuo

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--exclusive-accounts", action="store_true", help="one reply at a time per token")

    def build(args: argparse.Namespace) -> tuple[FakeHailuo, Announce]:
        fake = FakeHailuo(
            scenario=args.scenario,
            check_signature=not args.no_signature_check,
            exclusive_accounts=args.exclusive_accounts,
        )
        token = fake.issue_token()

        def announce(url: str) -> tuple[str, list[str]]:
            banner = f"fake Hailuo server on {url} (scenario: {fake.scenario})"
            return banner, [
                f"HAILUOAI_BASE_URL={url}",
                f"HAILUOAI_API_KEY={token}",
                "HAILUOAI_PROTOCOL=hailuo-v4",
            ]

        return fake, announce

    return serve_main(
        argv,
        prog=prog,
        description="Serve a fake Hailuo AI web chat on a loopback port (for tests and offline demos).",
        scenario_example="giant_line size=2000000",
        add_arguments=add_arguments,
        build=build,
    )
