"""Streaming cost, side by side, on the same fake Hailuo server in one run.

    python benchmarks/bench_stream.py [--quick] [--protocol both|hailuo-v4|agent] [--no-startup]
        [--startup-pairs N] [--startup-max-pairs N]

Both protocols by default: ``/v4`` (below) and MiniMax Agent (``bench_agent.py``'s docstring:
the plugin against a bare signed reader that also creates its session per reply, the same
CPU target). What both share (fake server process, rounds, table) is in ``_bench.py``.

For ``/v4``, four clients read the same replies from the fake server (a child process, so
that its CPU does not count):

- ``plugin``: this package, through its g4f entry point
  (``g4f.ChatCompletion.create_async(provider="HailuoAI", protocol="hailuo-v4", ...)``: account
  pool, pooled session, decoder, interpreter, every chunk g4f would get);
- ``built-in``: g4f's own ``HailuoAI`` (``g4f.Provider.needs_auth.mini_max.HailuoAI``),
  its ``create_authed`` driven with the ``AuthResult`` its browser login would
  produce (token, signed ``path_and_query``, ``timestamp``) and its ``url``
  pointed at the fake server. Its own code otherwise: a ``FormData`` body, a
  new ``ClientSession`` per reply, aiohttp's ``readline``. Calling
  ``create_authed`` skips the auth-cache file that g4f's wrapper around it reads
  and writes on every call, which favours the built-in;
- ``bare``: a bare aiohttp reader of the same signed request over a keep-alive
  session, doing the least a correct reader does, in linear time: the body in
  one piece (the plugin's own ``g4f_hailuo.protocols.hailuo_v4.client.chat_body``, as the plugin
  sends it), a line buffer that appends each read and scans only the new bytes
  (a ``bytearray``; a partial line is never re-copied), ``json.loads`` of each
  ``data:`` line, the new suffix of the cumulative content. The floor the
  targets refer to;
- ``bytes``: the same request, reading the bytes and nothing else: what the
  transport alone costs (no reader can go below it).

Every client must receive the whole reply (its length is checked), so a client
that stops early cannot look cheap. CPU is measured on replies the fake server
builds before it answers and writes back to back (``prebuild=1``: every client
reads the same bursts); the time to the first text in separate replies that it
builds frame by frame as it writes them (so that a long reply's first frame is
not held back by building the rest). For each workload: the client's CPU time
per reply (``time.process_time``, the whole client process; median of rounds, three times
``--rounds`` for the concurrent workloads, whose rounds are short)
and the time to the first text (median of replies), each with its ratio to the
bare reader, and CPU to the built-in. Workloads: (a) a 2,000-character reply
in 2,000 cumulative frames, (b) a reply growing to 100 KB in 100 frames, (c) to
1 MB in 20 frames, (d) 200 replies at once (2,000 characters in 50 frames each,
one account per reply), (e) 200 short replies at once (160 characters in 8 frames: the
per-request cost shows). The plugin runs through ``g4f.ChatCompletion.create_async``.
Then the start-up cost of the plugin (``startup.py``'s
venvs and method): ``python -c pass`` (interleaved pairs until the 95% interval
of the paired median difference is at most 0.5 ms wide) and ``import g4f``
with and without it, the hook's import time and ``register()``'s time.

Targets, printed as PASS/MISS: CPU per reply at most 1.3x the bare reader (1.15x for the
short replies (e)) and below the built-in, for /v4 (a)-(e) (n/a where the built-in fails); at
most 1.3x the bare reader for Agent (a)-(d); ``python -c pass`` within 1 ms. Not a test: the
numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import bench_agent
from _bench import (
    DataLines,
    Reply,
    Results,
    Workload,
    cpu_vs_bare_target,
    fake_server,
    messages,
    plugin_client,
    print_table,
    read_bytes,
    run_rounds,
    serve_until_stopped,
    target_line,
)

HERE = Path(__file__).resolve().parent
BUILTIN_MODULE = "g4f.Provider.needs_auth.mini_max.HailuoAI"


WORKLOADS = [
    Workload("a", "2,000 frames, 2 KB reply", "normal size=2000 frames=2000", 12),
    Workload("b", "cumulative to 100 KB, 100 frames", "normal size=100000 frames=100", 12),
    Workload("c", "cumulative to 1 MB, 20 frames", "normal size=1000000 frames=20", 4),
    Workload(
        "d", "200 replies at once, 50 frames each", "normal size=2000 frames=50", 200, True, rounds_factor=3
    ),
    # Short replies: where a client's fixed per-request cost shows (issue 12: at most 1.15x).
    Workload("e", "200 short replies at once, 8 frames", "normal size=160 frames=8", 200, True, 1.15, 3),
]


# -- the fake server, in a child process --------------------------------------------------------------


def _serve(conn: Connection, tokens: int) -> None:
    from g4f_hailuo.fake.hailuo_v4.server import run_in_thread

    fake = run_in_thread()
    serve_until_stopped(conn, fake, [fake.issue_token(name=f"bench{n}") for n in range(tokens)])


# -- the clients ---------------------------------------------------------------------------------


def builtin_auth(token: str) -> Any:
    """What the built-in's browser login stores: the token, a signed fingerprint
    query (path and query, as its browser script builds it) and its ``unix``."""
    from g4f.providers.response import AuthResult

    from g4f_hailuo.accounts.identity import Identity
    from g4f_hailuo.protocols.hailuo_v4.client import CHAT_PATH
    from g4f_hailuo.protocols.hailuo_v4.request import request_headers, signed_target

    identity = Identity.from_token(token)
    path_and_query, _ = signed_target(CHAT_PATH, "intl", identity, "")
    unix = path_and_query.rsplit("unix=", 1)[1]
    headers = {k: v for k, v in request_headers("", identity, "").items() if k == "User-Agent"}
    return AuthResult(
        token=token, path_and_query=path_and_query, timestamp=unix, impersonate="chrome", headers=headers
    )


def builtin_client(url: str) -> Reply:
    builtin = importlib.import_module(BUILTIN_MODULE).HailuoAI
    builtin.url = url  # its requests go to f"{cls.url}{path_and_query}"
    auth: dict[str, Any] = {}

    async def reply(token: str, prompt: str) -> tuple[float, int]:
        if token not in auth:
            auth[token] = builtin_auth(token)
        started = time.perf_counter()
        first = 0.0
        chars = 0
        async for chunk in builtin.create_authed("minimax", messages(prompt), auth_result=auth[token]):
            if isinstance(chunk, str) and chunk:
                if not first:
                    first = time.perf_counter() - started
                chars += len(chunk)
        return first, chars

    return reply


async def _read_events(response: Any, started: float) -> tuple[float, int]:
    """The least a correct reader of this stream does, in linear time: a line buffer
    (``DataLines``), ``json.loads`` of every ``data:`` line's JSON, the new suffix of the
    cumulative content."""
    first = 0.0
    lines = DataLines()
    emitted = 0
    loads = json.loads
    async for data in response.content.iter_any():
        for line in lines.feed(data):
            result = loads(line).get("data", {}).get("messageResult")
            content = result.get("content") if result else None
            if content and len(content) > emitted:
                delta = content[emitted:]
                emitted = len(content)
                if not first and delta:
                    first = time.perf_counter() - started
    assert emitted
    return first, emitted


async def _read_bytes(response: Any, started: float) -> tuple[float, int]:
    return await read_bytes(response, started, b"message_result")


@contextlib.asynccontextmanager
async def bare_clients(url: str) -> AsyncIterator[tuple[Reply, Reply]]:
    """The same signed request over one keep-alive session, read two ways. The
    body is the plugin's own one-piece multipart body (``chat_body``), as the
    plugin sends it: one write, not aiohttp's ``FormData`` (17 writes)."""
    import aiohttp
    from yarl import URL

    from g4f_hailuo.accounts.identity import Identity
    from g4f_hailuo.protocols.hailuo_v4.client import CHAT_PATH, chat_body
    from g4f_hailuo.protocols.hailuo_v4.request import request_headers, signed_target
    from g4f_hailuo.protocols.hailuo_v4.signing import chat_body_segment

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        def client(read: Callable[[Any, float], Awaitable[tuple[float, int]]]) -> Reply:
            async def reply(token: str, prompt: str) -> tuple[float, int]:
                identity = Identity.from_token(token)
                segment = chat_body_segment("1", prompt, "0")
                path_and_query, yy = signed_target(CHAT_PATH, "intl", identity, segment)
                body, content_type = chat_body("1", prompt, "0")
                headers = request_headers(url, identity, yy, stream=True)
                headers["Content-Type"] = content_type
                started = time.perf_counter()
                target = URL(url + path_and_query, encoded=True)
                async with session.post(target, data=body, headers=headers) as response:
                    assert response.status == 200, response.status
                    return await read(response, started)

            return reply

        yield client(_read_events), client(_read_bytes)


CLIENTS = ("plugin", "built-in", "bare", "bytes")


async def run_workloads(url: str, tokens: list[str], rounds: int, quick: bool) -> Results:
    async with bare_clients(url) as (bare, bare_bytes):
        replies = {
            "plugin": plugin_client(url, "hailuo-v4"),
            "built-in": builtin_client(url),
            "bare": bare,
            "bytes": bare_bytes,
        }
        return await run_rounds(replies, WORKLOADS, tokens, rounds, quick)


def print_stream_table(results: Results) -> None:
    notes = """\
  bare  = aiohttp, the plugin's one-piece body (hailuo_v4.client.chat_body), a linear line
          buffer, json.loads per data line, new suffix: the least a correct reader does
  bytes = aiohttp reading the bytes and nothing else: the transport alone
  CPU on replies the fake server builds before answering and writes back to back (the same
  bursts for every client); first text on replies it builds frame by frame as it writes"""
    print("\n/v4 (protocol hailuo-v4)")
    print_table(results, WORKLOADS, ("bare", "built-in", "bytes"), notes)


# -- start-up ----------------------------------------------------------------------------------------


@dataclass
class Startup:
    pass_with: list[float]
    pass_without: list[float]
    g4f_with: list[float]
    g4f_without: list[float]
    hook_ms: float
    register_ms: float

    def pass_differences(self) -> list[float]:
        return [a - b for a, b in zip(self.pass_with, self.pass_without, strict=True)]


def _startup_module() -> Any:
    sys.path.insert(0, str(HERE))
    return importlib.import_module("startup")


def measure_startup(pairs: int, max_pairs: int, g4f_pairs: int) -> Startup:
    """``startup.py``'s venvs (wheel installs, with and without the start-up
    files) and method: interleaved pairs, more of them until 1 ms is resolved."""
    startup = _startup_module()
    base = Path(tempfile.mkdtemp(prefix="g4f-hailuo-bench-"))
    try:
        with contextlib.redirect_stdout(sys.stderr):  # its progress lines
            with_plugin, without_plugin = startup.build_venvs(base)
        env = startup.offline_env(base)
        a, b = startup.venv_python(with_plugin), startup.venv_python(without_plugin)
        pass_with, pass_without = startup.time_pairs_resolved(a, b, "pass", env, pairs, max_pairs, 0.5)
        g4f_with, g4f_without = startup.time_pairs(a, b, "import g4f", g4f_pairs, env)
        return Startup(
            pass_with,
            pass_without,
            g4f_with,
            g4f_without,
            hook_ms=startup.hook_import_ms(a, env),
            register_ms=startup.register_ms(b, env),
        )
    finally:
        import shutil

        shutil.rmtree(base, ignore_errors=True)


def print_startup_table(measured: Startup) -> None:
    startup = _startup_module()
    print()
    print("Start-up, fresh interpreters, median (interleaved pairs; the venvs differ only by the hook)")
    columns = f"{'with plugin':>12} {'without':>10} {'difference':>11} {'95% CI of the difference':>26}"
    header = f"{'':24} {columns}"
    print(header)
    print("-" * len(header))
    rows = [
        (f"python -c pass  x{len(measured.pass_with)}", measured.pass_with, measured.pass_without),
        (f"import g4f      x{len(measured.g4f_with)}", measured.g4f_with, measured.g4f_without),
    ]
    for label, with_times, without_times in rows:
        w, wo = statistics.median(with_times), statistics.median(without_times)
        diffs = startup.differences(with_times, without_times)
        low, high = startup.median_ci(diffs)
        interval = f"{low:+.2f} .. {high:+.2f} ms"
        print(f"{label:24} {w:9.2f} ms {wo:7.2f} ms {statistics.median(diffs):+8.2f} ms {interval:>26}")
    print(f"the hook's own import at start-up (-X importtime self time): {measured.hook_ms:.3f} ms")
    print(f"registration inside `import g4f` (register() on an imported g4f): {measured.register_ms:.3f} ms")


# -- targets -----------------------------------------------------------------------------------------


def print_targets(results: Results | None, agent: Results | None, measured: Startup | None) -> None:
    print()
    print("Targets")
    for workload in WORKLOADS if results is not None else ():
        assert results is not None
        row = results[workload.key]
        plugin, builtin = row["plugin"], row["built-in"]
        cpu_vs_bare_target(
            row, f"/v4 ({workload.key}) CPU per reply <= {workload.target}x bare", workload.target
        )
        vs_builtin = f"/v4 ({workload.key}) CPU per reply < built-in"
        if plugin.error or not plugin.cpu:
            target_line(vs_builtin, "MISS", f"the plugin {plugin.error or 'ran no round'}")
        elif builtin.error or not builtin.cpu:
            target_line(vs_builtin, "n/a", f"the built-in {builtin.error or 'ran no round'}")
        else:
            times = plugin.cpu_ms() / builtin.cpu_ms()
            target_line(vs_builtin, "PASS" if times < 1 else "MISS", f"{times:.2f}x")
    if agent is not None:
        bench_agent.print_targets(agent)
    target = "python -c pass within 1 ms"
    if measured is None:
        target_line(target, "-", "not measured: --no-startup")
        return
    startup = _startup_module()
    diffs = measured.pass_differences()
    low, high = startup.median_ci(diffs)
    detail = f"{statistics.median(diffs):+.2f} ms, 95% CI {low:+.2f} .. {high:+.2f}, {len(diffs)} pairs"
    target_line(target, startup.verdict(diffs), detail)


# -- main ----------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer replies and rounds (a smoke run)")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per workload and client")
    parser.add_argument(
        "--protocol",
        choices=("both", "hailuo-v4", "agent"),
        default="both",
        help="the streaming part to run: /v4, MiniMax Agent, or both (default)",
    )
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up measurement")
    parser.add_argument("--startup-pairs", type=int, default=200, help="least pairs for `python -c pass`")
    parser.add_argument("--startup-max-pairs", type=int, default=2000, help="most pairs for `python -c pass`")
    parser.add_argument("--startup-g4f-pairs", type=int, default=40, help="pairs for `import g4f`")
    args = parser.parse_args()

    os.environ.setdefault("G4F_CONFIG_DIR", tempfile.mkdtemp(prefix="g4f-hailuo-bench-home-"))
    import aiohttp

    g4f_version = importlib.metadata.version("g4f")
    rounds = 2 if args.quick else args.rounds
    print(
        f"Python {platform.python_version()}, g4f {g4f_version}, aiohttp {aiohttp.__version__},"
        f" {platform.machine()}, {os.cpu_count()} cpus; {rounds} rounds",
        file=sys.stderr,
    )
    results = agent = None
    if args.protocol in ("both", "hailuo-v4"):
        print("/v4 (protocol hailuo-v4):", file=sys.stderr, flush=True)
        with fake_server(_serve, tokens=200) as (url, tokens):
            results = asyncio.run(run_workloads(url, tokens, rounds, args.quick))
    if args.protocol in ("both", "agent"):
        print("MiniMax Agent (protocol agent):", file=sys.stderr, flush=True)
        agent = bench_agent.run(rounds, args.quick)
    measured = None
    if not args.no_startup:
        print("building the start-up venvs ...", file=sys.stderr, flush=True)
        measured = measure_startup(args.startup_pairs, args.startup_max_pairs, args.startup_g4f_pairs)
    print(
        f"\nPython {platform.python_version()}, g4f {g4f_version}, aiohttp {aiohttp.__version__},"
        f" {platform.machine()}, {os.cpu_count()} cpus; {rounds} rounds"
        f" ({rounds * max(w.rounds_factor for w in WORKLOADS)} for the concurrent workloads);"
        f" {time.strftime('%Y-%m-%d')}"
    )
    if results is not None:
        print_stream_table(results)
    if agent is not None:
        bench_agent.print_agent_table(agent)
    if measured is not None:
        print_startup_table(measured)
    print_targets(results, agent, measured)


if __name__ == "__main__":
    main()
