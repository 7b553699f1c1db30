"""``g4f-hailuo demo`` and ``g4f-hailuo serve-fake``: commands with their own argument parser
(``g4f_hailuo.demo``, ``g4f_hailuo.fake.cli``), to which their arguments pass through."""

from __future__ import annotations

import argparse

from g4f_hailuo.cli.common import PROG

# Each command and its line in the main parser's help.
PASS_THROUGH = {
    "demo": "the offline demo: a 3-turn chat through g4f against the bundled fake server",
    "serve-fake": "run a fake site (--protocol agent, the default, or hailuo-v4) on a loopback port",
}


def add_placeholder(commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    """``name`` listed in the main parser's help; its arguments are parsed by its own module."""
    commands.add_parser(name, help=PASS_THROUGH[name], add_help=False)


def run(command: str, argv: list[str]) -> int:
    """Run the pass-through ``command`` with the arguments after its name."""
    if command == "demo":
        from g4f_hailuo.demo import main as demo_main

        return demo_main(argv)
    from g4f_hailuo.fake.cli import main as fake_main

    return fake_main(argv, prog=f"{PROG} serve-fake")
