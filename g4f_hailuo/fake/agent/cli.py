"""``python -m g4f_hailuo.fake --protocol agent``: serve a fake MiniMax Agent site until Ctrl-C.

Prints ``HAILUOAI_BASE_URL``, ``HAILUOAI_API_KEY`` (``<realUserID>+<token>`` of a new account)
and ``HAILUOAI_PROTOCOL=agent`` on stdout, so a shell or a test can pick them up; refuses a
non-loopback ``--host`` unless ``--allow-remote`` is given.
"""

from __future__ import annotations

import argparse

from g4f_hailuo.fake.agent.server import REGIONS, FakeAgent
from g4f_hailuo.fake.common import Announce, serve_main

__all__ = ["main"]


def main(argv: list[str] | None = None, prog: str = "python -m g4f_hailuo.fake --protocol agent") -> int:
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--region", choices=REGIONS, default="intl", help="the region its tokens belong to"
        )

    def build(args: argparse.Namespace) -> tuple[FakeAgent, Announce]:
        fake = FakeAgent(
            region=args.region, scenario=args.scenario, check_signature=not args.no_signature_check
        )
        api_key = fake.api_key(fake.issue_token())

        def announce(url: str) -> tuple[str, list[str]]:
            banner = f"fake MiniMax Agent site ({fake.region}) on {url} (scenario: {fake.scenario})"
            return banner, [
                f"HAILUOAI_BASE_URL={url}",
                f"HAILUOAI_API_KEY={api_key}",
                "HAILUOAI_PROTOCOL=agent",
            ]

        return fake, announce

    return serve_main(
        argv,
        prog=prog,
        description="Serve a fake MiniMax Agent site on a loopback port (for tests and offline demos).",
        scenario_example="giant size=2000000",
        add_arguments=add_arguments,
        build=build,
    )
