"""Streaming cost, side by side, on the same fake Hailuo server in one run.

    python benchmarks/bench_stream.py [--quick] [--no-startup] [--startup-pairs 200]

Four clients read the same replies from the fake server (a child process, so
that its CPU does not count):

- ``plugin``: this package, through its g4f entry point
  (``HailuoAI.create_async_generator(api_key=token, base_url=...)``: account
  pool, pooled session, decoder, interpreter, every chunk g4f would get);
- ``built-in``: g4f's own ``HailuoAI`` (``g4f.Provider.needs_auth.mini_max.HailuoAI``),
  its ``create_authed`` driven with the ``AuthResult`` its browser login would
  produce (token, signed ``path_and_query``, ``timestamp``) and its ``url``
  pointed at the fake server;
- ``bare``: a bare aiohttp reader of the same signed request over a keep-alive
  session, doing the least a correct reader does: split the lines, decode each
  ``data:`` JSON, take the new suffix of the cumulative content. The floor the
  targets refer to;
- ``bytes``: the same request, reading the bytes and nothing else: what the
  transport alone costs (no reader can go below it).

For each workload: the client's CPU time per reply (``time.process_time``, the
whole client process) and the time to the first text (median), with ratios to
the bare reader and to the built-in. Workloads: (a) a 2,000-character reply in
2,000 cumulative frames, (b) a reply growing to 100 KB in 100 frames, (c) to
1 MB in 20 frames, (d) 200 replies at once (2,000 characters in 50 frames
each, one account per reply). Then the start-up cost of the plugin (see
``startup.py``): ``python -c pass`` and ``import g4f`` with and without it.

Targets: CPU per reply at most 1.3x the bare reader and below the built-in;
start-up within 1 ms. Not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.metadata
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BUILTIN_MODULE = "g4f.Provider.needs_auth.mini_max.HailuoAI"


@dataclass(frozen=True)
class Workload:
    key: str
    label: str
    scenario: str
    replies: int  # measured replies per client (one at a time), or at once when concurrent
    concurrent: bool = False


WORKLOADS = [
    Workload("a", "2,000 frames, 2 KB reply", "normal size=2000 frames=2000", 12),
    Workload("b", "cumulative to 100 KB, 100 frames", "normal size=100000 frames=100", 12),
    Workload("c", "cumulative to 1 MB, 20 frames", "normal size=1000000 frames=20", 4),
    Workload("d", "200 replies at once, 50 frames each", "normal size=2000 frames=50", 200, concurrent=True),
]


# -- the fake server, in a child process --------------------------------------------------------------


def _serve(conn: Connection, tokens: int) -> None:
    from g4f_hailuo.fake_server import run_in_thread

    fake = run_in_thread()
    try:
        conn.send((fake.url, [fake.issue_token(name=f"bench{n}") for n in range(tokens)]))
        conn.recv()  # until the parent says stop (or goes away)
    except EOFError:
        pass
    finally:
        fake.stop()


@contextlib.contextmanager
def fake_server(tokens: int) -> Any:
    context = multiprocessing.get_context("spawn")
    conn, child = context.Pipe()
    process = context.Process(target=_serve, args=(child, tokens), daemon=True)
    process.start()
    child.close()
    try:
        if not conn.poll(60):
            raise RuntimeError("the fake server did not start")
        yield conn.recv()
    finally:
        with contextlib.suppress(OSError):
            conn.send("stop")
        process.join(timeout=10)
        if process.is_alive():
            process.kill()


# -- the clients ---------------------------------------------------------------------------------

Reply = Callable[[str, str], Awaitable[float]]  # (token, prompt) -> seconds to the first text


def messages(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


def plugin_client(url: str) -> Reply:
    from g4f_hailuo.provider import HailuoAI

    async def reply(token: str, prompt: str) -> float:
        started = time.perf_counter()
        first = 0.0
        async for chunk in HailuoAI.create_async_generator(
            "MiniMax", messages(prompt), api_key=token, base_url=url
        ):
            if not first and isinstance(chunk, str) and chunk:
                first = time.perf_counter() - started
        return first

    return reply


def builtin_auth(token: str) -> Any:
    """What the built-in's browser login stores: the token, a signed fingerprint
    query (path and query, as its browser script builds it) and its ``unix``."""
    from g4f.providers.response import AuthResult

    from g4f_hailuo._client import CHAT_PATH
    from g4f_hailuo._identity import Identity
    from g4f_hailuo._request import request_headers, signed_target

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

    async def reply(token: str, prompt: str) -> float:
        if token not in auth:
            auth[token] = builtin_auth(token)
        started = time.perf_counter()
        first = 0.0
        async for chunk in builtin.create_authed("minimax", messages(prompt), auth_result=auth[token]):
            if not first and isinstance(chunk, str) and chunk:
                first = time.perf_counter() - started
        return first

    return reply


async def _read_bytes(response: Any, started: float) -> float:
    """The transport floor: count the bytes, look at nothing."""
    first = 0.0
    size = 0
    async for data in response.content.iter_any():
        size += len(data)
        if not first and b"message_result" in data:
            first = time.perf_counter() - started
    assert size
    return first


async def _read_events(response: Any, started: float) -> float:
    """The least a correct reader of this stream does: split the lines, decode
    every ``data:`` JSON, take the new suffix of the cumulative content."""
    first = 0.0
    tail = b""
    emitted = 0
    loads = json.loads
    async for data in response.content.iter_any():
        lines = (tail + data).split(b"\n")
        tail = lines.pop()
        for line in lines:
            if line.startswith(b"data: {"):
                result = loads(line[6:]).get("data", {}).get("messageResult")
                content = result.get("content") if result else None
                if content and len(content) > emitted:
                    delta = content[emitted:]
                    emitted = len(content)
                    if not first and delta:
                        first = time.perf_counter() - started
    assert emitted
    return first


@contextlib.asynccontextmanager
async def bare_clients(url: str) -> AsyncIterator[tuple[Reply, Reply]]:
    """The same signed request over one keep-alive session, read two ways."""
    import aiohttp
    from yarl import URL

    from g4f_hailuo._client import CHAT_PATH
    from g4f_hailuo._identity import Identity
    from g4f_hailuo._request import request_headers, signed_target
    from g4f_hailuo._signing import chat_body_segment

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        def client(read: Callable[[Any, float], Awaitable[float]]) -> Reply:
            async def reply(token: str, prompt: str) -> float:
                identity = Identity.from_token(token)
                segment = chat_body_segment("1", prompt, "0")
                path_and_query, yy = signed_target(CHAT_PATH, "intl", identity, segment)
                form = aiohttp.FormData(default_to_multipart=True)
                for name, value in (("characterID", "1"), ("msgContent", prompt), ("chatID", "0")):
                    form.add_field(name, value)
                form.add_field("searchMode", "0")
                headers = request_headers(url, identity, yy, stream=True)
                started = time.perf_counter()
                target = URL(url + path_and_query, encoded=True)
                async with session.post(target, data=form, headers=headers) as response:
                    assert response.status == 200, response.status
                    return await read(response, started)

            return reply

        yield client(_read_events), client(_read_bytes)


# -- measuring ---------------------------------------------------------------------------------------


@dataclass
class Result:
    cpu: list[float] = field(default_factory=list)  # CPU seconds per reply, per round
    ttft: list[float] = field(default_factory=list)  # seconds to the first text, per reply
    error: str = ""

    def cpu_ms(self) -> float:
        return statistics.median(self.cpu) * 1000

    def ttft_ms(self) -> float:
        return statistics.median(self.ttft) * 1000


async def measure(reply: Reply, tokens: list[str], workload: Workload, result: Result, tag: str) -> None:
    """One round: ``workload.replies`` replies, sequential (or at once); CPU per reply."""
    prompts = [f"[[scenario:{workload.scenario}]] {tag} {n}" for n in range(workload.replies)]
    cpu = time.process_time()
    try:
        if workload.concurrent:
            ttfts = await asyncio.gather(*(reply(t, p) for t, p in zip(tokens, prompts, strict=False)))
        else:
            ttfts = [await reply(tokens[0], prompt) for prompt in prompts]
    except Exception as error:
        result.error = "fails: " + " ".join(f"{type(error).__name__}: {error}".split())[:80]
        return
    result.cpu.append((time.process_time() - cpu) / workload.replies)
    result.ttft.extend(ttfts)


CLIENTS = ("plugin", "built-in", "bare", "bytes")


async def run_workloads(
    url: str, tokens: list[str], rounds: int, quick: bool
) -> dict[str, dict[str, Result]]:
    import gc

    results: dict[str, dict[str, Result]] = {w.key: {c: Result() for c in CLIENTS} for w in WORKLOADS}
    async with bare_clients(url) as (bare, bare_bytes):
        replies = {
            "plugin": plugin_client(url),
            "built-in": builtin_client(url),
            "bare": bare,
            "bytes": bare_bytes,
        }
        for workload in WORKLOADS:
            if quick:
                workload = Workload(
                    workload.key,
                    workload.label,
                    workload.scenario,
                    max(2, workload.replies // 4),
                    workload.concurrent,
                )
            print(f"  ({workload.key}) {workload.label} ...", file=sys.stderr, flush=True)
            for client in CLIENTS:  # warm-up: logins, imports, connections
                count = workload.replies if workload.concurrent else min(2, workload.replies)  # every account
                warm = Workload(workload.key, "", workload.scenario, count, workload.concurrent)
                await measure(replies[client], tokens, warm, Result(), f"warm-up {client}")
            for n in range(rounds):
                order = CLIENTS[n % len(CLIENTS) :] + CLIENTS[: n % len(CLIENTS)]  # rotate: drift is shared
                for client in order:
                    result = results[workload.key][client]
                    if result.error:
                        continue
                    gc.collect()
                    await measure(replies[client], tokens, workload, result, f"{client} round {n}")
    return results


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "-"


def print_stream_table(results: dict[str, dict[str, Result]]) -> None:
    print()
    print("Client CPU time per reply (median of rounds), time to first text (median of replies)")
    print("  bare  = aiohttp + split lines + json.loads + new suffix: the least a correct reader does")
    print("  bytes = aiohttp reading the bytes and nothing else: the transport alone")
    columns = ("CPU/reply", "vs bare", "vs built-in", "vs bytes", "first text")
    header = f"{'workload':38} {'client':8} " + " ".join(f"{c:>11}" for c in columns)
    print(header)
    print("-" * len(header))
    for workload in WORKLOADS:
        row = results[workload.key]
        for client in CLIENTS:
            result = row[client]
            label = f"({workload.key}) {workload.label}" if client == CLIENTS[0] else ""
            if result.error:
                print(f"{label:38} {client:8} {result.error}")
                continue
            cpu = result.cpu_ms()
            cells = [
                f"{cpu:8.2f} ms",
                *(
                    ratio(cpu, row[base].cpu_ms()) if row[base].cpu and base != client else "-"
                    for base in ("bare", "built-in", "bytes")
                ),
                f"{result.ttft_ms():8.2f} ms",
            ]
            print(f"{label:38} {client:8} " + " ".join(f"{c:>11}" for c in cells))


# -- start-up ----------------------------------------------------------------------------------------


def startup_table(pairs: int, g4f_pairs: int) -> None:
    """``startup.py``'s venvs and timings, as ratios."""
    sys.path.insert(0, str(HERE))
    startup = importlib.import_module("startup")
    base = Path(tempfile.mkdtemp(prefix="g4f-hailuo-bench-"))
    try:
        with_plugin, without_plugin = startup.build_venvs(base)
        env = startup.offline_env(base)
        a, b = startup.venv_python(with_plugin), startup.venv_python(without_plugin)
        rows = [
            ("python -c pass", *startup.time_pairs(a, b, "pass", pairs, env)),
            ("import g4f", *startup.time_pairs(a, b, "import g4f", g4f_pairs, env)),
        ]
        hook_ms = startup.hook_import_ms(a, env)
    finally:
        import shutil

        shutil.rmtree(base, ignore_errors=True)
    print()
    print(
        "Start-up, fresh interpreters, median (interleaved pairs; the venvs differ only by the start-up hook)"
    )
    header = f"{'':18} {'with plugin':>12} {'without':>10} {'difference':>11} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for label, with_times, without_times in rows:
        w, wo = statistics.median(with_times), statistics.median(without_times)
        diff = statistics.median([x - y for x, y in zip(with_times, without_times, strict=True)])
        print(f"{label:18} {w:9.2f} ms {wo:7.2f} ms {diff:+8.2f} ms {w / wo:6.3f}x")
    print(f"(the hook's own import at start-up, -X importtime: {hook_ms:.3f} ms)")


# -- main ----------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer replies and rounds (a smoke run)")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per workload and client")
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up measurement")
    parser.add_argument("--startup-pairs", type=int, default=200, help="pairs for `python -c pass`")
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
    with fake_server(tokens=200) as (url, tokens):
        results = asyncio.run(run_workloads(url, tokens, rounds, args.quick))
    print(
        f"\nPython {platform.python_version()}, g4f {g4f_version}, aiohttp {aiohttp.__version__},"
        f" {platform.machine()}, {os.cpu_count()} cpus"
    )
    print_stream_table(results)
    if not args.no_startup:
        print("\nbuilding the start-up venvs ...", file=sys.stderr, flush=True)
        startup_table(args.startup_pairs, args.startup_g4f_pairs)


if __name__ == "__main__":
    main()
