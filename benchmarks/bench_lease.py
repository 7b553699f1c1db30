"""What one uncontended account lease costs, per lease scope, side by side in one run.

    python benchmarks/bench_lease.py [--leases N] [--rounds N]

For each scope (``process``: this process's pool alone; ``machine``: the file locks in the
cookies dir, the default), a fresh interpreter takes and gives back one account's lease
``--leases`` times per round (``async with pool.lease(...)``, nothing else) and prints the
median CPU time per lease of the rounds. The scopes run alternately, so that drift is shared.
Not a test: the numbers depend on the machine. (Redis, ``HAILUOAI_LEASE_URL``, needs a server.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

SCOPES = ("process", "machine")

_CHILD = """
import asyncio, json, sys, time
from g4f.cookies import set_cookies_dir
set_cookies_dir(sys.argv[1])
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.accounts.pool import AccountPool

async def main(leases):
    pool = AccountPool.of("http://bench.invalid", (Identity("bench-token", "bench-uuid", "1"),))
    for _ in range(200):  # warm: the backend, its lock file, the slot
        async with pool.lease(None, 60):
            pass
    started = time.process_time()
    for _ in range(leases):
        async with pool.lease(None, 60):
            pass
    return (time.process_time() - started) / leases

print(json.dumps(asyncio.run(main(int(sys.argv[2])))))
"""


def one_round(scope: str, leases: int, cookies: str) -> float:
    env = {**os.environ, "HAILUOAI_LEASES": scope, "G4F_CONFIG_DIR": cookies}
    env.pop("HAILUOAI_LEASE_URL", None)
    command = [sys.executable, "-c", _CHILD, cookies, str(leases)]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leases", type=int, default=20000, help="leases per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per scope")
    args = parser.parse_args()
    results: dict[str, list[float]] = {scope: [] for scope in SCOPES}
    with tempfile.TemporaryDirectory(prefix="g4f-hailuo-bench-lease-") as cookies:
        for n in range(args.rounds):
            for scope in SCOPES[n % 2 :] + SCOPES[: n % 2]:
                results[scope].append(one_round(scope, args.leases, cookies))
    print(f"uncontended lease, CPU per lease (median of {args.rounds} rounds of {args.leases})")
    for scope, times in results.items():
        print(f"  HAILUOAI_LEASES={scope:8} {statistics.median(times) * 1e6:6.1f} us")


if __name__ == "__main__":
    main()
