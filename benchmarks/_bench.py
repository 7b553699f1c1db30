"""What both streaming benchmarks share (``bench_stream.py`` for ``/v4``, ``bench_agent.py`` for
the Agent protocol): the fake server in a child process, the plugin client, a floor reader's
line buffer, the measured rounds, the table and the CPU target."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

CPU_VS_BARE = 1.3  # the plugin's CPU per reply at most this times the bare reader's


@dataclass(frozen=True)
class Workload:
    key: str
    label: str
    scenario: str
    replies: int  # measured replies per client (one at a time), or at once when concurrent
    concurrent: bool = False
    target: float = CPU_VS_BARE  # the plugin's CPU per reply at most this times the bare reader's
    # Rounds are this many times ``--rounds``: the concurrent workloads' rounds are short, and
    # the median of a few is at the mercy of one noisy stretch of the machine.
    rounds_factor: int = 1

    @property
    def chars(self) -> int:
        """The length of the whole reply."""
        match = re.search(r"\bsize=(\d+)", self.scenario)
        assert match, self.scenario
        return int(match[1])


# -- the fake server, in a child process --------------------------------------------------------------


@contextlib.contextmanager
def fake_server(serve: Callable[[Connection, int], None], tokens: int) -> Iterator[Any]:
    """Run ``serve(conn, tokens)`` in a child process (its CPU does not count); what it sends first."""
    context = multiprocessing.get_context("spawn")
    conn, child = context.Pipe()
    process = context.Process(target=serve, args=(child, tokens), daemon=True)
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


def serve_until_stopped(conn: Connection, fake: Any, tokens: list[str]) -> None:
    """In the child: send (url, tokens), then wait until the parent says stop (or goes away)."""
    try:
        conn.send((fake.url, tokens))
        conn.recv()
    except EOFError:
        pass
    finally:
        fake.stop()


# -- the clients ---------------------------------------------------------------------------------

# (api key, prompt) -> (seconds to the first text, characters of text received; -1: not counted)
Reply = Callable[[str, str], Awaitable[tuple[float, int]]]


def messages(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


def plugin_client(url: str, protocol: str) -> Reply:
    """This package through g4f's own front door, ``g4f.ChatCompletion.create_async(provider=
    "HailuoAI", stream=True)`` (g4f's per-call work included), every chunk g4f gives."""
    import g4f
    from g4f import debug

    debug.version_check = False  # g4f would ask PyPI for its newest version on the first call

    async def reply(key: str, prompt: str) -> tuple[float, int]:
        started = time.perf_counter()
        first = 0.0
        chars = 0
        async for chunk in g4f.ChatCompletion.create_async(
            "MiniMax",
            messages(prompt),
            provider="HailuoAI",
            stream=True,
            api_key=key,
            base_url=url,
            protocol=protocol,
        ):
            if isinstance(chunk, str) and chunk:
                if not first:
                    first = time.perf_counter() - started
                chars += len(chunk)
        return first, chars

    return reply


class DataLines:
    """A floor reader's line buffer, linear in the bytes: each read is appended to one buffer
    and only the new bytes are searched for line ends; the payloads of the ``data:`` lines
    that a read completes. ``del buffer[:n]`` on a ``bytearray`` only moves its start (CPython)."""

    __slots__ = ("buffer",)

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[bytearray]:
        buffer = self.buffer
        scan = len(buffer)  # the bytes before this have no line end
        buffer += data
        lines = []
        start = 0
        while (end := buffer.find(b"\n", scan)) >= 0:
            if buffer.startswith(b"data:", start):
                lines.append(buffer[start + 5 : end])
            start = scan = end + 1
        if start:
            del buffer[:start]
        return lines


async def read_bytes(response: Any, started: float, marker: bytes) -> tuple[float, int]:
    """The transport floor: count the bytes, look at nothing (``marker``: the first text is near)."""
    first = 0.0
    size = 0
    async for data in response.content.iter_any():
        size += len(data)
        if not first and marker in data:
            first = time.perf_counter() - started
    assert size
    return first, -1


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


Results = dict[str, dict[str, Result]]


async def measure(
    reply: Reply, tokens: list[str], workload: Workload, result: Result, tag: str, *, first_text: bool
) -> None:
    """One round: ``workload.replies`` replies, sequential (or at once, one account each).

    CPU per reply is measured on replies the fake server builds before it answers
    (``prebuild=1``) and writes back to back, so every client reads the same bursts;
    the time to first text (``first_text``) on replies it builds frame by frame as it
    writes them, so that it measures the client, not the server building a long reply."""
    scenario = workload.scenario if first_text else f"{workload.scenario} prebuild=1"
    prompts = [f"[[scenario:{scenario}]] {tag} {n}" for n in range(workload.replies)]
    cpu = time.process_time()
    try:
        if workload.concurrent:
            replies = await asyncio.gather(*(reply(t, p) for t, p in zip(tokens, prompts, strict=False)))
        else:
            replies = [await reply(tokens[0], prompt) for prompt in prompts]
    except Exception as error:
        result.error = "fails: " + " ".join(f"{type(error).__name__}: {error}".split())[:80]
        return
    spent = time.process_time() - cpu
    short = [chars for _, chars in replies if chars not in (-1, workload.chars)]
    if short:
        result.error = f"fails: {len(short)} replies incomplete ({short[0]} of {workload.chars} characters)"
        return
    if first_text:
        result.ttft.extend(first for first, _ in replies)
    else:
        result.cpu.append(spent / workload.replies)


async def run_rounds(
    replies: dict[str, Reply], workloads: Sequence[Workload], tokens: list[str], rounds: int, quick: bool
) -> Results:
    """Every workload: a warm-up per client (logins, imports, connections, every account), then
    ``rounds`` rounds, the clients' order rotated each round so that drift is shared."""
    clients = tuple(replies)
    results: Results = {w.key: {c: Result() for c in clients} for w in workloads}
    for workload in workloads:
        if quick:
            workload = Workload(
                workload.key,
                workload.label,
                workload.scenario,
                max(2, workload.replies // 4),
                workload.concurrent,
                workload.target,
            )
        print(f"  ({workload.key}) {workload.label} ...", file=sys.stderr, flush=True)
        for client in clients:
            count = workload.replies if workload.concurrent else min(2, workload.replies)  # every account
            warm = Workload(workload.key, "", workload.scenario, count, workload.concurrent)
            await measure(replies[client], tokens, warm, Result(), f"warm-up {client}", first_text=False)
        for n in range(rounds * workload.rounds_factor):
            order = clients[n % len(clients) :] + clients[: n % len(clients)]
            for client in order:
                result = results[workload.key][client]
                if result.error:
                    continue
                for first_text in (False, True):
                    gc.collect()
                    tag = f"{client} round {n}{' first' if first_text else ''}"
                    await measure(replies[client], tokens, workload, result, tag, first_text=first_text)
    return results


# -- printing ----------------------------------------------------------------------------------------


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "-"


def print_table(results: Results, workloads: Sequence[Workload], bases: Sequence[str], notes: str) -> None:
    """CPU per reply and first text per workload and client, with ratios to each of ``bases``."""
    print()
    print("Client CPU time per reply (median of rounds), time to first text (median of replies)")
    print(notes.rstrip("\n"))
    columns = ("CPU/reply", *(f"vs {base}" for base in bases), "first text", "vs bare")
    header = f"{'workload':38} {'client':8} " + " ".join(f"{c:>11}" for c in columns)
    print(header)
    print("-" * len(header))
    for workload in workloads:
        row = results[workload.key]
        bare = row["bare"]
        for n, (client, result) in enumerate(row.items()):
            label = f"({workload.key}) {workload.label}" if n == 0 else ""
            if result.error:
                print(f"{label:38} {client:8} {result.error}")
                continue
            cpu = result.cpu_ms()
            cells = [
                f"{cpu:8.2f} ms",
                *(
                    ratio(cpu, row[base].cpu_ms()) if row[base].cpu and base != client else "-"
                    for base in bases
                ),
                f"{result.ttft_ms():8.2f} ms",
                ratio(result.ttft_ms(), bare.ttft_ms()) if bare.ttft and client != "bare" else "-",
            ]
            print(f"{label:38} {client:8} " + " ".join(f"{c:>11}" for c in cells))


def target_line(target: str, mark: str, detail: str) -> None:
    print(f"  {target:44} {mark:4} ({detail})")


def cpu_vs_bare_target(row: dict[str, Result], target: str, bound: float = CPU_VS_BARE) -> None:
    """PASS/MISS: the plugin's CPU per reply at most ``bound`` times the bare reader's."""
    plugin, bare = row["plugin"], row["bare"]
    if plugin.error or not plugin.cpu:
        target_line(target, "MISS", f"the plugin {plugin.error or 'ran no round'}")
    elif bare.error or not bare.cpu:
        target_line(target, "n/a", f"the bare reader {bare.error or 'ran no round'}")
    else:
        times = plugin.cpu_ms() / bare.cpu_ms()
        target_line(target, "PASS" if times <= bound else "MISS", f"{times:.2f}x")
