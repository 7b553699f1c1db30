"""The MiniMax Agent part of ``bench_stream.py`` (run by it: ``--protocol agent`` or ``both``).

Three clients read the same replies from the fake Agent site (``g4f_hailuo.fake.agent``, a
child process, so that its CPU does not count); each reply is a new conversation:

- ``plugin``: this package through its g4f entry point
  (``HailuoAI.create_async_generator(api_key="<realUserID>+<token>", base_url=..., protocol="agent")``:
  account pool, pooled session, a session per reply, the signed message POST, ``TurnReader``,
  every chunk g4f would get);
- ``bare``: a bare aiohttp reader over one keep-alive session doing the least a correct client
  does: once per account ``GET /config`` and ``GET /agent`` (picked as the plugin does), then per
  reply a signed ``POST …/agent/{agent_id}/session`` (its JSON read) and the signed message POST
  (``yy`` over the absolute stream URL), both signed with the plugin's own ``query_pairs``,
  ``sign`` and ``body_text``; the stream through a linear line buffer (``_bench.DataLines``),
  ``json.loads`` of every ``data:`` line, each ``agent_message_chunk``'s ``msg_content``
  appended, the end seen (``[DONE]``). The floor the targets refer to;
- ``bytes``: the same two requests, the stream's bytes counted and nothing else.

Workloads: (a) a 2,000-character reply in 2,000 text deltas, (b) a 1 MB reply in 20 deltas
(the type-2 message at its end repeats the whole answer: about 2 MB of frames), (c) 200 short
replies at once (2,000 characters in 50 deltas, one account each: the fake refuses a second
concurrent turn on one account), (d) 200 short replies at once (160 characters in 8 deltas: the
per-request cost). Target: the plugin's CPU per reply at most 1.3x the bare's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from multiprocessing.connection import Connection
from typing import Any

from _bench import (
    DataLines,
    Reply,
    Results,
    Workload,
    cpu_vs_bare_target,
    fake_server,
    plugin_client,
    print_table,
    read_bytes,
    run_rounds,
    serve_until_stopped,
)

API = "/minimax-cloud/api/v1"
ACCOUNTS = 200

WORKLOADS = [
    Workload("a", "2,000 deltas, 2 KB reply", "normal size=2000 frames=2000", 12),
    Workload("b", "1 MB reply, 20 deltas", "normal size=1000000 frames=20", 4),
    Workload(
        "c",
        "200 replies at once, new sessions",
        "normal size=2000 frames=50",
        ACCOUNTS,
        True,
        rounds_factor=3,
    ),
    # Short replies: where a client's fixed per-request cost shows (issue 12).
    Workload(
        "d",
        "200 short replies at once, 8 frames",
        "normal size=160 frames=8",
        ACCOUNTS,
        True,
        rounds_factor=3,
    ),
]


def _serve(conn: Connection, tokens: int) -> None:
    from g4f_hailuo.fake.agent.server import run_in_thread

    fake = run_in_thread()
    issued = [fake.issue_token(name=f"bench{n}") for n in range(tokens)]
    serve_until_stopped(conn, fake, [fake.api_key(token) for token in issued])


async def _read_deltas(response: Any, started: float) -> tuple[float, int]:
    """Every ``data:`` line decoded; the text deltas appended; ``[DONE]`` must come."""
    first = 0.0
    lines = DataLines()
    parts: list[str] = []
    done = False
    loads = json.loads
    async for data in response.content.iter_any():
        for line in lines.feed(data):
            if b"{" not in line[:2]:  # "data:{...}", or "data: {...}"
                done = done or line.strip() == b"[DONE]"
                continue
            chunk = loads(line).get("agent_message_chunk")
            text = chunk.get("msg_content") if chunk else None
            if text:
                parts.append(text)
                if not first:
                    first = time.perf_counter() - started
    assert done
    return first, len("".join(parts))


async def _read_bytes(response: Any, started: float) -> tuple[float, int]:
    return await read_bytes(response, started, b"agent_message_chunk")


@contextlib.asynccontextmanager
async def bare_clients(url: str) -> AsyncIterator[tuple[Reply, Reply]]:
    """The bare reader and the bytes counter, over one keep-alive session."""
    import aiohttp
    from yarl import URL

    from g4f_hailuo.protocols.agent.signing import body_text, local_timezone_offset, query_template, sign_with

    offset = local_timezone_offset()
    device_id = "12345678"  # an 8-digit device id per account, as the web app draws it
    uuids: dict[str, str] = {}  # api key -> the client uuid
    agents: dict[str, str] = {}  # api key -> the agent id

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        def request(key: str, method: str, path: str, body: str | None, *, stream: bool = False) -> Any:
            real_user_id, token = key.split("+", 1)
            client_uuid = uuids.get(key) or uuids.setdefault(key, str(uuid.uuid4()))
            # The account's query encoded once, as the plugin does (query_template is cached).
            template = query_template(
                "intl",
                uuid=client_uuid,
                device_id=device_id,
                user_id=real_user_id,
                token=token,
                timezone_offset=offset,
            )
            now_ms = time.time_ns() // 1_000_000
            signed = sign_with(template, path, body, now_ms, absolute_origin=url if stream else "")
            headers = {
                "token": token,
                **signed.headers,
                "Accept": "text/event-stream" if stream else "application/json, text/plain, */*",
            }
            if body is not None:
                headers["Content-Type"] = "application/json"
            target = URL(url + signed.path_and_query, encoded=True)
            return session.request(method, target, data=body.encode() if body else None, headers=headers)

        async def call(key: str, method: str, path: str, body: str | None = None) -> Any:
            async with request(key, method, path, body) as response:
                assert response.status == 200, (path, response.status)
                return await response.json()

        async def agent_id(key: str) -> str:
            """Once per account (as the plugin does per process): ``/config``, then the agent."""
            if key not in agents:
                await call(key, "GET", f"{API}/config")
                listed = (await call(key, "GET", f"{API}/agent"))["agents"]
                roles = {agent["agent_role"]: agent["name"] for agent in listed}
                agents[key] = roles.get("mavis") or roles.get("general") or listed[0]["name"]
            return agents[key]

        def client(read: Callable[[Any, float], Awaitable[tuple[float, int]]]) -> Reply:
            async def reply(key: str, prompt: str) -> tuple[float, int]:
                started = time.perf_counter()
                created = await call(key, "POST", f"{API}/agent/{await agent_id(key)}/session", "{}")
                body = body_text({"content": prompt, "turn_id": str(uuid.uuid4()), "worktreeMode": False})
                path = f"{API}/session/{created['session_id']}/message"
                async with request(key, "POST", path, body, stream=True) as response:
                    assert response.status == 200, response.status
                    return await read(response, started)

            return reply

        yield client(_read_deltas), client(_read_bytes)


async def _run(url: str, keys: list[str], rounds: int, quick: bool) -> Results:
    async with bare_clients(url) as (bare, bare_bytes):
        replies = {"plugin": plugin_client(url, "agent"), "bare": bare, "bytes": bare_bytes}
        return await run_rounds(replies, WORKLOADS, keys, rounds, quick)


def run(rounds: int, quick: bool) -> Results:
    """The Agent workloads against a fake Agent site of ``ACCOUNTS`` accounts."""
    with fake_server(_serve, tokens=ACCOUNTS) as (url, keys):
        return asyncio.run(_run(url, keys, rounds, quick))


def print_agent_table(results: Results) -> None:
    notes = """\
  every reply a new conversation: the session is created (one signed POST), then the message
  bare  = aiohttp, once per account /config + /agent, then per reply the signed session POST and
          the signed message POST, a linear line buffer, json.loads per data line, the text
          deltas appended: the least a correct client does
  bytes = the same two requests, the stream's bytes counted and nothing else
  CPU on replies the fake server builds before answering (prebuild=1)"""
    print("\nMiniMax Agent (protocol agent)")
    print_table(results, WORKLOADS, ("bare", "bytes"), notes)


def print_targets(results: Results) -> None:
    for workload in WORKLOADS:
        target = f"agent ({workload.key}) CPU per reply <= {workload.target}x bare"
        cpu_vs_bare_target(results[workload.key], target, workload.target)
