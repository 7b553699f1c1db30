"""``python -m g4f_hailuo.fake [--protocol agent|hailuo-v4] ...``: serve one fake site until Ctrl-C.

``--protocol`` picks the fake (default ``agent``, the protocol the provider speaks by default,
unless HAILUOAI_PROTOCOL selects ``hailuo-v4``);
every other option goes to that fake's own command line (``--host``, ``--port``, ``--scenario``,
``--no-signature-check``, ``--allow-remote``; ``--region`` for ``agent``,
``--exclusive-accounts`` for ``hailuo-v4``). ``--replay FILE`` serves a recorded exchange
instead (``g4f-hailuo doctor --record FILE``; :mod:`.replay`, ``--fast`` without its pauses).
"""

from __future__ import annotations

import argparse
import os

__all__ = ["PROTOCOLS", "main"]

PROTOCOLS = ("agent", "hailuo-v4")


def main(argv: list[str] | None = None, prog: str = "python -m g4f_hailuo.fake") -> int:
    parser = argparse.ArgumentParser(prog=prog, add_help=False)
    default = (
        "hailuo-v4" if os.environ.get("HAILUOAI_PROTOCOL", "").strip().lower() == "hailuo-v4" else "agent"
    )
    parser.add_argument("--protocol", choices=PROTOCOLS, default=default)
    parser.add_argument("--replay", metavar="FILE")
    args, rest = parser.parse_known_args(argv)
    if args.replay is not None:
        from g4f_hailuo.fake.replay import main as replay_main

        return replay_main([args.replay, *rest], prog=f"{prog} --replay")
    sub_prog = f"{prog} --protocol {args.protocol}"
    if args.protocol == "hailuo-v4":
        from g4f_hailuo.fake.hailuo_v4.server import main as v4_main

        return v4_main(rest, prog=sub_prog)
    from g4f_hailuo.fake.agent.cli import main as agent_main

    return agent_main(rest, prog=sub_prog)
