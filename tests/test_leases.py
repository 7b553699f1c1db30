"""The account leases shared beyond the process: file locks in the cookies dir (the default,
``HAILUOAI_LEASES=machine``) and Redis (``HAILUOAI_LEASE_URL``). "Another process" here is a
second backend object (its own lock descriptors, its own name in the queue), or a real process
(``_lease_holder.py``); end to end through ``g4f api``: ``tests/agent/test_agent_leases.py``.
Also: the settings and their errors, and the memory an idle account costs."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from g4f.errors import BadRequestError, MissingRequirementsError, ProviderNotWorkingError

from _g4f_processes import isolated_env, make_home
from _redis_server import redis_server
from g4f_hailuo._config import resolve_settings
from g4f_hailuo.accounts import leases
from g4f_hailuo.accounts import pool as _pool
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.accounts.leases_files import FileLeases
from g4f_hailuo.accounts.pool import AccountPool, AccountsGone
from g4f_hailuo.accounts.token_sources import find_tokens
from g4f_hailuo.fake.agent.server import FakeAgent, run_in_thread
from g4f_hailuo.provider import HailuoAI

pytestmark = pytest.mark.timeout(60)

ORIGIN = "http://leases.test"
LONG = "[[scenario:normal frames=400 delay=0.05]]"
KB = 1024
MEMORY_PER_ACCOUNT_LIMIT = 10 * KB  # issue 12: an idle account costs less than this


@pytest.fixture(autouse=True)
def fresh_pool() -> Iterator[None]:
    _pool.reset()
    yield
    _pool.reset()


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["machine", pytest.param("redis", marks=pytest.mark.slow)])
def other_process(
    request: pytest.FixtureRequest, isolated_g4f: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], leases.LeaseBackend]:
    """Makes the backend "another process" (or machine) would have; sets this process up alike."""
    if request.param == "machine":
        return lambda: FileLeases(isolated_g4f / leases.DIR_NAME)
    return request.getfixturevalue("other_machine")


@pytest.fixture
def other_machine(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[[], leases.LeaseBackend]:
    """An empty Redis for this process (HAILUOAI_LEASE_TTL=1) and the backend of another machine."""
    import redis

    from g4f_hailuo.accounts.leases_redis import RedisLeases

    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    monkeypatch.setenv("HAILUOAI_LEASE_URL", redis_url)
    monkeypatch.setenv("HAILUOAI_LEASE_TTL", "1")
    return lambda: RedisLeases(redis_url, 1.0)


def identities(n: int) -> list[Identity]:
    return [Identity(f"token-{n}-{i}", f"uuid-{i}", "1") for i in range(n)]


async def hold(pool: AccountPool, prefer: str | None = None, seconds: float = 0.0) -> tuple[Identity, float]:
    """Lease an account of ``pool``; when it was granted (``time.monotonic()``)."""
    async with pool.lease(prefer, 10) as identity:
        granted = time.monotonic()
        await asyncio.sleep(seconds)
    return identity, granted


def key_of(pool: AccountPool, identity: Identity) -> str:
    return pool._key(identity.account)


# -- shared by processes (machines): one reply per account, the queue, retirement -----------------


async def test_an_account_held_elsewhere_is_waited_for_and_taken_at_once(other_process):
    pool = AccountPool(ORIGIN, identities(1))
    key = key_of(pool, pool.identities[0])
    elsewhere = other_process().session()
    assert await elsewhere.take([key], [key], time.time() + 10) == key
    waiting = asyncio.create_task(hold(pool))
    await asyncio.sleep(0.3)
    assert not waiting.done()  # one reply at a time, across processes
    released = time.monotonic()
    await elsewhere.close()
    _, granted = await asyncio.wait_for(waiting, 5)
    assert granted - released < 0.5  # the next look (25 ms on files, 50 ms on Redis)


async def test_a_request_queued_in_another_process_goes_first(other_process):
    pool = AccountPool(ORIGIN, identities(1))
    key = key_of(pool, pool.identities[0])
    store = other_process()
    holder, queued = store.session(), store.session()
    assert await holder.take([key], [key], time.time() + 10) == key
    assert await queued.take([key], [key], time.time() + 10) is None  # now in the queue
    here = asyncio.create_task(hold(pool))  # arrives later
    await asyncio.sleep(0.1)
    await holder.close()
    await asyncio.sleep(0.3)
    assert not here.done()  # the account is free, but the request queued first wants it
    assert await queued.take([key], [key], time.time() + 10) == key
    await asyncio.sleep(0.2)
    assert not here.done()
    await queued.close()
    await asyncio.wait_for(here, 5)


async def test_retirement_is_shared_with_its_reason_and_a_login_takes_it_back(other_process):
    dead, alive = accounts = identities(2)
    AccountPool(ORIGIN, accounts).retire(dead, "HTTP 401: revoked")
    async with AccountPool(ORIGIN, accounts).lease(None, 5):
        pass  # stored (Redis: at the first lease)
    _pool.reset()  # another process: nothing in memory
    pool = AccountPool(ORIGIN, accounts)
    got, _ = await hold(pool)
    assert got == alive and pool.live() == [alive]
    assert pool.retired_reasons() == [(dead.account, "HTTP 401: revoked")]
    pool.reinstate(dead)
    async with AccountPool(ORIGIN, accounts).lease(None, 5):
        pass
    _pool.reset()
    got, _ = await hold(AccountPool(ORIGIN, accounts), prefer=dead.account)
    assert got == dead


async def test_a_waiter_whose_accounts_are_all_retired_elsewhere_stops_waiting(other_process):
    pool = AccountPool(ORIGIN, identities(1))
    key = key_of(pool, pool.identities[0])
    store = other_process()
    elsewhere = store.session()
    assert await elsewhere.take([key], [key], time.time() + 10) == key
    waiting = asyncio.create_task(hold(pool))
    await asyncio.sleep(0.2)
    await store.record({key: "banned"})
    await elsewhere.close()
    with pytest.raises(AccountsGone):
        await asyncio.wait_for(waiting, 5)
    assert pool.retired_reasons() == [(pool.identities[0].account, "banned")]


async def test_the_place_of_a_request_whose_process_died_is_skipped(isolated_g4f):
    pool = AccountPool(ORIGIN, identities(1))
    key = key_of(pool, pool.identities[0])
    directory = isolated_g4f / leases.DIR_NAME
    directory.mkdir(parents=True)
    deadline = int((time.time() + 60) * 1000)
    (directory / "queue").write_text(f"4242-deadbeef 1 {deadline} {key}\n")  # no owners/4242-deadbeef
    got, _ = await asyncio.wait_for(hold(pool), 1)
    assert got == pool.identities[0] and (directory / "queue").read_text() == ""
    names = sorted(path.name for path in directory.iterdir())
    assert names == [f"{key}.lock", "queue"]  # named by fingerprint, never a token


@pytest.mark.slow
async def test_a_redis_lease_left_by_a_dead_machine_expires_with_its_ttl(other_machine):
    pool = AccountPool(ORIGIN, identities(1))
    key = key_of(pool, pool.identities[0])
    from g4f_hailuo.accounts.leases_redis import RedisSession

    dead = other_machine().session()
    assert isinstance(dead, RedisSession)
    assert await dead.take([key], [key], time.time() + 10) == key
    assert dead._renewal is not None
    dead._renewal.cancel()  # the machine is gone: nobody renews, nobody gives it back
    started = time.monotonic()
    _, granted = await asyncio.wait_for(hold(pool), 5)
    assert 0.5 < granted - started < 2.0  # HAILUOAI_LEASE_TTL=1
    client, dead._client, dead._key = dead._client, None, None
    await asyncio.wait({dead._renewal})
    await client.aclose()  # type: ignore[union-attr]


@pytest.mark.slow
async def test_a_reply_longer_than_the_ttl_keeps_its_redis_lease(other_machine):
    pool = AccountPool(ORIGIN, identities(1))
    first = asyncio.create_task(hold(pool, seconds=2.5))  # 2.5 TTLs, renewed every third
    await asyncio.sleep(0.1)
    second = asyncio.create_task(hold(pool))
    (_, first_at), (_, second_at) = await asyncio.wait_for(asyncio.gather(first, second), 10)
    assert second_at - first_at >= 2.5


# -- the kill -9 of a real process holding a lease ------------------------------------------------


@pytest.mark.slow
async def test_kill_9_of_a_process_mid_reply_frees_its_account_at_once(isolated_g4f, tmp_path):
    agent = run_in_thread()
    try:
        key = agent.api_key(agent.issue_token())
        home = make_home(tmp_path)
        script = Path(__file__).with_name("_lease_holder.py")
        holder = subprocess.Popen(
            [sys.executable, str(script), str(isolated_g4f), agent.url, key, f"{LONG} the long one"],
            env=isolated_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            line = await asyncio.wait_for(asyncio.to_thread(holder.stdout.readline), 60)  # type: ignore[union-attr]
            assert line.strip() == b"streaming", line
            waiting = asyncio.create_task(ask(agent, key, "[[scenario:normal frames=3]] mine"))
            await asyncio.sleep(0.5)
            assert not waiting.done()  # the other process holds the account
            os.kill(holder.pid, signal.SIGKILL)
            killed = time.monotonic()
            text = await asyncio.wait_for(waiting, 10)
            answered_in = time.monotonic() - killed
            assert answered_in < 2.0
        finally:
            holder.kill()
            holder.wait(10)
            holder.stdout.close()  # type: ignore[union-attr]
        print(
            f"\n[leases] kill -9 of the holder: the waiting reply was whole {answered_in:.2f} s later",
            file=sys.stderr,
        )
        assert text == agent.reply_for("[[scenario:normal frames=3]] mine", 1)
        assert not [r for r in agent.message_requests() if r.scenario == "busy"]
    finally:
        agent.stop()


async def ask(agent: FakeAgent, key: str, prompt: str) -> str:
    messages = [{"role": "user", "content": prompt}]
    reply = HailuoAI.create_async_generator("MiniMax", messages, api_key=key, base_url=agent.url)
    return "".join([chunk async for chunk in reply if isinstance(chunk, str)])


# -- settings -------------------------------------------------------------------------------------


async def test_process_scope_keeps_nothing_in_the_cookies_dir(isolated_g4f, monkeypatch):
    monkeypatch.setenv("HAILUOAI_LEASES", "process")
    await hold(AccountPool(ORIGIN, identities(2)))
    assert leases.backend() is None and not (isolated_g4f / leases.DIR_NAME).exists()


def test_windows_keeps_the_leases_in_the_process_and_says_so(monkeypatch, debug_log):
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(leases, "_warned_windows", False)
    assert leases.backend() is None
    assert debug_log == ["HailuoAI: no file locks on Windows: each process keeps its own account leases"]


async def test_a_cookies_dir_that_cannot_be_written_keeps_the_leases_in_the_process(
    isolated_g4f, monkeypatch, debug_log
):
    isolated_g4f.mkdir(parents=True, exist_ok=True)
    (isolated_g4f / leases.DIR_NAME).write_text("not a directory")
    assert leases.backend() is None
    await hold(AccountPool(ORIGIN, identities(1)))
    (line,) = debug_log
    assert line.startswith(f"HailuoAI: no account leases in {isolated_g4f} (") and "each process" in line


@pytest.mark.parametrize(
    ("scope", "url", "said"),
    [
        ("everywhere", None, "HAILUOAI_LEASES must be 'machine', 'process' or 'redis'"),
        ("redis", None, "HAILUOAI_LEASES=redis needs HAILUOAI_LEASE_URL"),
        ("machine", "redis://h:6379/0", "leave HAILUOAI_LEASES unset"),
        (None, "http://user:secret@h:6379", "must start with redis://, rediss:// or unix://"),
    ],
)
def test_bad_lease_settings_are_refused_clearly(monkeypatch, scope, url, said):
    for name, value in (("HAILUOAI_LEASES", scope), ("HAILUOAI_LEASE_URL", url)):
        if value is not None:
            monkeypatch.setenv(name, value)
    with pytest.raises(BadRequestError, match=said.replace("(", r"\(")) as raised:
        leases.backend()
    assert "secret" not in str(raised.value)


def test_a_redis_url_without_the_cluster_extra_names_the_install(monkeypatch):
    monkeypatch.setenv("HAILUOAI_LEASE_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.delitem(sys.modules, "g4f_hailuo.accounts.leases_redis", raising=False)
    for name in [name for name in sys.modules if name.partition(".")[0] == "redis"]:
        monkeypatch.setitem(sys.modules, name, None)  # not installed
    with pytest.raises(MissingRequirementsError, match=r'pip install "g4f-hailuo\[cluster\]"'):
        leases.backend()


async def test_an_unreachable_redis_is_a_clear_error_at_once(monkeypatch):
    pytest.importorskip("redis")
    from _g4f_processes import free_port

    monkeypatch.setenv("HAILUOAI_LEASE_URL", f"redis://user:secret@127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises(ProviderNotWorkingError, match="did not answer") as raised:
        await hold(AccountPool(ORIGIN, identities(1)))
    assert time.monotonic() - started < 5 and "secret" not in str(raised.value)
    assert "redis://127.0.0.1:" in str(raised.value)


# -- memory ---------------------------------------------------------------------------------------


def test_an_idle_account_costs_less_than_10_kb(capsys):
    """1,000 accounts given as api_key (``<realUserID>+<JWT>``, the fake's tokens): what the
    token source and the pool keep per account (identities, slots, keys), after the pool was
    made and each account leased once in the machine's shared store."""
    fake = FakeAgent()
    api_key = ",".join(fake.api_key(fake.issue_token()) for _ in range(1000))
    settings = resolve_settings(base_url="http://127.0.0.1:9")
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        source = find_tokens(api_key, settings.origin)
        pool = HailuoAI._pool(source, settings)

        async def lease_each() -> None:
            for identity in pool.live():
                async with pool.lease(identity.account, 5):
                    pass

        asyncio.run(lease_each())
        gc.collect()
        per_account = (tracemalloc.get_traced_memory()[0] - before) / len(pool)
    finally:
        tracemalloc.stop()
    with capsys.disabled():
        print(f"\n[leases] {len(pool)} idle accounts: {per_account:.0f} B per account", file=sys.stderr)
    assert len(pool) == 1000 and per_account < MEMORY_PER_ACCOUNT_LIMIT
