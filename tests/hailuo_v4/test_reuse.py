"""Keep-alive: successive requests of one account share a connection pool on
their event loop; every session is closed when its loop shuts down."""

from __future__ import annotations

import asyncio
import gc
import time

import g4f
import pytest
from g4f.client import AsyncClient
from g4f.errors import TimeoutError as G4FTimeoutError

from g4f_hailuo.fake.hailuo_v4.server import FakeHailuo
from g4f_hailuo.transport import sessions as _sessions
from g4f_hailuo.transport.base import Session
from g4f_hailuo.transport.sessions import PooledSession


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def chat(client: AsyncClient, text: str, **kwargs) -> str:
    response = await client.chat.completions.create(
        model="MiniMax", messages=user(text), provider="HailuoAI", **kwargs
    )
    return str(response.choices[0].message.content)


@pytest.mark.usefixtures("transport")
async def test_20_sequential_chats_open_at_most_2_connections(fake, token):
    client = AsyncClient(api_key=token, base_url=fake.url)
    for n in range(20):
        assert await chat(client, f"chat {n}") == fake.reply_for(f"chat {n}", 1)
    assert len(fake.chat_requests()) == 20
    # one for the login check (user/info), one for the chats
    assert fake.connections_opened <= 2


@pytest.mark.usefixtures("transport")
async def test_streams_read_to_their_end_give_the_connection_back(fake, token):
    client = AsyncClient(api_key=token, base_url=fake.url)
    for n in range(10):
        stream = client.chat.completions.create(
            model="MiniMax", messages=user(f"stream {n}"), provider="HailuoAI", stream=True
        )
        parts = [c.choices[0].delta.content async for c in stream if c.choices[0].delta.content]
        assert "".join(parts) == fake.reply_for(f"stream {n}", 1)
    assert fake.connections_opened <= 2


@pytest.mark.usefixtures("transport")
async def test_a_body_left_open_after_its_end_marker_is_cut_not_waited_for(fake, token):
    client = AsyncClient(api_key=token, base_url=fake.url)
    prompt = "[[scenario:linger seconds=30]] hi"
    started = time.monotonic()
    assert await chat(client, prompt) == fake.reply_for(prompt, 1)
    assert time.monotonic() - started < 3  # the drain gives up after a fraction of a second
    opened = fake.connections_opened
    assert await chat(client, "next") == fake.reply_for("next", 1)
    assert fake.connections_opened == opened + 1  # the unfinished connection was closed, not reused


async def test_each_account_has_its_own_connections(fake):
    tokens = [fake.issue_token(name="a"), fake.issue_token(name="b")]
    clients = [AsyncClient(api_key=t, base_url=fake.url) for t in tokens]
    for n in range(10):
        assert await chat(clients[n % 2], f"turn {n}") == fake.reply_for(f"turn {n}", 1)
    assert fake.connections_opened <= 3  # the login checks share one; each account has its own


async def test_a_connection_the_server_closed_while_idle_is_replaced(fake, token):
    client = AsyncClient(api_key=token, base_url=fake.url)
    assert await chat(client, "before") == fake.reply_for("before", 1)
    opened = fake.connections_opened
    close_idle_connections(fake)
    await asyncio.sleep(0.1)
    assert await chat(client, "after") == fake.reply_for("after", 1)
    assert fake.connections_opened == opened + 1


async def test_a_timed_out_connection_is_closed_not_reused(fake, token):
    client = AsyncClient(api_key=token, base_url=fake.url)
    with pytest.raises(G4FTimeoutError):
        await chat(client, "[[scenario:stall_during seconds=30]] hi", stream_timeout=1)
    opened = fake.connections_opened
    assert await chat(client, "next") == fake.reply_for("next", 1)
    assert fake.connections_opened == opened + 1
    deadline = time.monotonic() + 1.0
    while fake.disconnects < 1:  # the stalled reply saw its client leave
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)


def test_sync_calls_leave_no_session_behind(fake, token):
    for n in range(3):
        answer = g4f.ChatCompletion.create(
            model="MiniMax", messages=user(f"sync {n}"), provider="HailuoAI", api_key=token, base_url=fake.url
        )
        assert answer == fake.reply_for(f"sync {n}", 1)
    assert _sessions._pools == {}
    gc.collect()  # an unclosed session or connector would warn here (warnings are errors)


def test_loop_shutdown_closes_the_sessions():
    kept: list[Session] = []

    async def use() -> None:
        for account in ("a", "b"):
            async with PooledSession(account) as session:
                kept.append(session)
        async with PooledSession("a") as session:
            assert session is kept[0]

    asyncio.run(use())
    assert all(session.closed for session in kept)
    assert _sessions._pools == {}


def test_sessions_per_loop_are_bounded(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(_sessions, "MAX_SESSIONS_PER_LOOP", 3)
    seen: list[Session] = []

    async def use() -> None:
        async with PooledSession("busy") as busy:
            for n in range(6):
                async with PooledSession(f"account {n}") as session:
                    seen.append(session)
            (pool,) = _sessions._pools.values()
            assert len(pool.sessions) <= 3 and busy in pool.sessions.values()
            assert not busy.closed
        assert sum(session.closed for session in seen) >= 3

    asyncio.run(use())


def close_idle_connections(fake: FakeHailuo) -> None:
    """Close, server side, every connection the fake server has open (as a
    server's keep-alive timeout does). Reaches into the fake server's loop."""
    assert fake._thread is not None
    loop, _ = fake._thread

    def close() -> None:
        for transport in list(fake._transports):
            transport.close()

    loop.call_soon_threadsafe(close)
    time.sleep(0.05)


def test_a_loop_already_shutting_down_gets_a_one_off_session():
    async def use() -> Session:
        loop = asyncio.get_running_loop()
        loop._asyncgens_shutdown_called = True  # type: ignore[attr-defined]  # as during shutdown_asyncgens()
        async with PooledSession("late") as session:
            assert not session.closed
        return session

    session = asyncio.run(use())
    assert session.closed and _sessions._pools == {}
