"""A ``/v4`` short reply's CPU without the network: what the plugin adds per request, and where.

    python benchmarks/bench_request.py [--replies N] [--rounds N]

``bench_stream.py``'s workload (e) (160 characters in 8 frames) measures the plugin with
aiohttp and the socket, 200 replies interleaved. Here the fake ``/v4`` server answers one such
reply first, and its body is kept as the network reads delivered it. Then, in one process,
sequential replies on one account, side by side:

- ``plugin``: ``g4f.ChatCompletion.create_async(provider="HailuoAI", protocol="hailuo-v4",
  stream=True)`` with its sessions' ``request`` answering the kept body at once: g4f's front
  door, the settings, the account pool and its lease, building and signing the request, the
  read loop and watchdog, the event decoder and interpreter, every chunk a g4f caller gets;
- ``bare``: the bare reader's own work on the same body (``bench_stream.py``'s floor less
  aiohttp): signing, the one-piece body, the headers, the URL, a line buffer, ``json.loads``
  of each ``data:`` line, the new suffix.

Then some of the plugin's parts alone, on the same body and account: the lease (the default
machine-wide file locks), the reply reader (decoder and interpreter; the bare reader's line
buffer and ``json.loads`` beside it), and g4f's front door
(``ChatCompletion.create_async`` up to the provider's generator, not started). Each figure is
the median CPU time per reply of the rounds. Not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import DataLines, messages, plugin_client

SCENARIO = "[[scenario:normal size=160 frames=8 prebuild=1]]"


# -- the kept reply -----------------------------------------------------------------------------


async def keep_reply(url: str, token: str) -> list[bytes]:
    """One short reply of the fake server, as the network reads delivered it."""
    import aiohttp
    from yarl import URL

    from g4f_hailuo.accounts.identity import Identity
    from g4f_hailuo.protocols.hailuo_v4.client import CHAT_PATH, chat_body
    from g4f_hailuo.protocols.hailuo_v4.request import request_headers, signed_target
    from g4f_hailuo.protocols.hailuo_v4.signing import chat_body_segment

    identity = Identity.from_token(token)
    prompt = f"{SCENARIO} kept"
    path_and_query, yy = signed_target(CHAT_PATH, "intl", identity, chat_body_segment("1", prompt, "0"))
    body, content_type = chat_body("1", prompt, "0")
    headers = {**request_headers(url, identity, yy, stream=True), "Content-Type": content_type}
    async with (
        aiohttp.ClientSession() as session,
        session.post(URL(url + path_and_query, encoded=True), data=body, headers=headers) as response,
    ):
        assert response.status == 200, response.status
        return [bytes(data) async for data in response.content.iter_any()]


class _Content:
    """The kept body as aiohttp's ``StreamReader`` hands it out (what the plugin uses of it)."""

    def __init__(self, reads: list[bytes]) -> None:
        self._reads = reads
        self._next = 0
        self.total_bytes = sum(map(len, reads))

    def iter_any(self) -> _Content:
        return self

    def __aiter__(self) -> _Content:
        return self

    async def __anext__(self) -> bytes:
        if self._next == len(self._reads):
            raise StopAsyncIteration
        self._next += 1
        return self._reads[self._next - 1]

    def is_eof(self) -> bool:
        return self._next == len(self._reads)

    at_eof = is_eof

    async def readany(self) -> bytes:
        return await self.__anext__() if not self.is_eof() else b""

    def set_exception(self, error: BaseException) -> None:
        self.error = error  # (the watchdog's: never here, the body is all there)


class _Response:
    status = 200
    connection = None

    def __init__(self, reads: list[bytes]) -> None:
        self.headers = {"Content-Type": "text/event-stream"}
        self.content = _Content(reads)

    def release(self) -> None:
        pass

    def close(self) -> None:
        pass


class _KeptSession:
    """Stands for an aiohttp session: every request gets the kept body."""

    closed = False

    def __init__(self, reads: list[bytes]) -> None:
        self._reads = reads

    async def request(self, method: str, url: Any, **options: Any) -> _Response:
        return _Response(self._reads)

    async def close(self) -> None:
        pass


# -- the clients ---------------------------------------------------------------------------------


def bare_work(reads: list[bytes], url: str) -> Callable[[str, str], Awaitable[tuple[float, int]]]:
    """The bare reader of ``bench_stream.py`` on the kept body, without aiohttp."""
    from yarl import URL

    from g4f_hailuo.accounts.identity import Identity
    from g4f_hailuo.protocols.hailuo_v4.client import CHAT_PATH, chat_body
    from g4f_hailuo.protocols.hailuo_v4.request import request_headers, signed_target
    from g4f_hailuo.protocols.hailuo_v4.signing import chat_body_segment

    async def reply(token: str, prompt: str) -> tuple[float, int]:
        identity = Identity.from_token(token)
        path_and_query, yy = signed_target(CHAT_PATH, "intl", identity, chat_body_segment("1", prompt, "0"))
        _, content_type = chat_body("1", prompt, "0")
        headers = request_headers(url, identity, yy, stream=True)
        headers["Content-Type"] = content_type
        URL(url + path_and_query, encoded=True)
        return 0.0, bare_parse(reads)

    return reply


def bare_parse(reads: list[bytes]) -> int:
    """The bare reader's reading: a line buffer, ``json.loads`` of each ``data:`` line, the
    length of the cumulative answer (its new suffix)."""
    lines = DataLines()
    emitted = 0
    for data in reads:
        for line in lines.feed(data):
            result = json.loads(line).get("data", {}).get("messageResult")
            content = result.get("content") if result else None
            if content and len(content) > emitted:
                emitted = len(content)
    return emitted


async def cpu_per_reply(reply: Callable[[], Awaitable[Any]], replies: int) -> float:
    gc.collect()
    started = time.process_time()
    for _ in range(replies):
        await reply()
    return (time.process_time() - started) / replies


# -- the run ---------------------------------------------------------------------------------------


async def measure(url: str, token: str, replies: int, rounds: int) -> dict[str, list[float]]:
    import g4f

    from g4f_hailuo.accounts.pool import AccountPool
    from g4f_hailuo.accounts.token_sources import find_tokens
    from g4f_hailuo.protocols.hailuo_v4.stream import ReplyInterpreter, ReplyReader
    from g4f_hailuo.transport import sessions

    reads = await keep_reply(url, token)
    plugin = plugin_client(url, "hailuo-v4")
    _, chars = await plugin(token, f"{SCENARIO} warm-up")  # the account checked, over the network
    kept = _KeptSession(reads)
    sessions._LoopPool.acquire = lambda self, key: kept  # type: ignore[method-assign,assignment,return-value]
    bare = bare_work(reads, url)
    pool = AccountPool.of(url, find_tokens(token, url).identities)

    async def plugin_reply() -> None:
        assert (await plugin(token, f"{SCENARIO} x"))[1] == chars

    async def bare_reply() -> None:
        assert (await bare(token, f"{SCENARIO} x"))[1] == chars

    async def lease() -> None:
        async with pool.lease(None, 60):
            pass

    async def reader() -> None:
        read = ReplyReader(ReplyInterpreter(account="bench", prompt=f"{SCENARIO} x"))
        for data in reads:
            for _ in read.feed(data):
                pass
        for _ in read.close():
            pass

    async def bare_reading() -> None:  # the bare reader's part of the same step
        bare_parse(reads)

    async def front_door() -> None:  # up to the provider's generator, not started
        reply = g4f.ChatCompletion.create_async(
            "MiniMax", messages("x"), provider="HailuoAI", stream=True, api_key=token, base_url=url
        )
        await reply.aclose()

    parts: dict[str, Callable[[], Awaitable[None]]] = {
        "plugin": plugin_reply,
        "bare": bare_reply,
        "lease": lease,
        "reader": reader,
        "bare parse": bare_reading,
        "front door": front_door,
    }
    for part in parts.values():  # warm
        await cpu_per_reply(part, 50)
    results: dict[str, list[float]] = {name: [] for name in parts}
    names = list(parts)
    for n in range(rounds):
        for name in names[n % len(names) :] + names[: n % len(names)]:  # drift shared
            results[name].append(await cpu_per_reply(parts[name], replies))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=2000, help="replies per round")
    parser.add_argument("--rounds", type=int, default=15, help="measured rounds")
    args = parser.parse_args()
    os.environ.setdefault("G4F_CONFIG_DIR", tempfile.mkdtemp(prefix="g4f-hailuo-bench-home-"))

    from g4f_hailuo.fake.hailuo_v4.server import run_in_thread

    fake = run_in_thread()
    try:
        token = fake.issue_token(name="bench")
        results = asyncio.run(measure(fake.url, token, args.replies, args.rounds))
    finally:
        fake.stop()
    us = {name: statistics.median(values) * 1e6 for name, values in results.items()}
    print(f"/v4 short reply (160 characters, 8 frames) without the network; {args.rounds} rounds of")
    print(f"{args.replies} sequential replies on one account; median CPU per reply")
    print(f"  plugin (g4f front door to the last chunk)  {us['plugin']:7.1f} µs")
    print(f"  bare reader's own work                    {us['bare']:7.1f} µs")
    print(f"  difference                                {us['plugin'] - us['bare']:+7.1f} µs")
    print("parts of the plugin, alone:")
    print(f"  lease (machine-wide file locks)           {us['lease']:7.1f} µs")
    print(f"  reply reader (decoder and interpreter)    {us['reader']:7.1f} µs")
    print(f"    the bare reader's, for the same step    {us['bare parse']:7.1f} µs")
    print(f"  g4f's front door (to the provider's call) {us['front door']:7.1f} µs")


if __name__ == "__main__":
    main()
