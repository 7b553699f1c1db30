"""One reply per account across processes and machines, end to end: ``g4f api --workers 3``
sharing one cookies dir (the machine's file locks), and two ``g4f api`` instances with cookies
dirs of their own that only a real Redis coordinates; the official OpenAI client, the fake
MiniMax Agent site. The fake refuses a second concurrent reply on an account ("chat is
running", which the provider raises as ``RateLimitError``): no error, and no refusal recorded,
proves that no account ever had two replies at once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from _g4f_processes import G4FProcess, isolated_env, make_home, require_modules, start_api
from _redis_server import redis_server
from g4f_hailuo.fake.agent.server import FakeAgent

require_modules("openai", "fastapi", "uvicorn", hint='pip install openai "g4f[api]"')

import openai  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

SLOW = "[[scenario:normal frames=10 delay=0.05]]"  # half a second a reply: 30 replies overlap
LONG = "[[scenario:normal frames=400 delay=0.05]]"
LEASE_TTL = 2.0  # HAILUOAI_LEASE_TTL of the Redis instances: a dead one frees its account this fast


@pytest.fixture(scope="module")
def workers(agent_site: FakeAgent, tmp_path_factory: pytest.TempPathFactory) -> Iterator[G4FProcess]:
    home = make_home(tmp_path_factory.mktemp("g4f-api-workers"))
    env = isolated_env(home, {"HAILUOAI_BASE_URL": agent_site.url})
    with start_api(home, env, workers=3) as server:
        yield server


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


def redis_instance(agent_site: FakeAgent, root: Path, redis_url: str) -> G4FProcess:
    """A ``g4f api`` of its own (its own HOME and cookies dir): only Redis is shared."""
    home = make_home(root)
    extra = {"HAILUOAI_BASE_URL": agent_site.url, "HAILUOAI_LEASE_URL": redis_url}
    return start_api(home, isolated_env(home, {**extra, "HAILUOAI_LEASE_TTL": f"{LEASE_TTL:g}"}))


@pytest.fixture(scope="module")
def machines(
    agent_site: FakeAgent, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[G4FProcess]]:
    with (
        redis_instance(agent_site, tmp_path_factory.mktemp("machine-a"), redis_url) as first,
        redis_instance(agent_site, tmp_path_factory.mktemp("machine-b"), redis_url) as second,
    ):
        yield [first, second]


def report(line: str) -> None:
    print(f"\n[leases] {line}", file=sys.stderr)


def user(text: str) -> Any:
    return {"role": "user", "content": text}


def client_for(api: G4FProcess, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=f"{api.url}/v1", api_key=key, max_retries=0, timeout=120)


async def chat(api: G4FProcess, key: str, prompt: str) -> str:
    async with client_for(api, key) as client:
        done = await client.chat.completions.create(
            model="MiniMax", messages=[user(prompt)], extra_body={"provider": "HailuoAI"}
        )
    return done.choices[0].message.content or ""


def accounts(site: FakeAgent, n: int) -> tuple[list[str], str]:
    tokens = [site.issue_token() for _ in range(n)]
    return tokens, ",".join(site.api_key(token) for token in tokens)


async def thirty_chats_on_three_accounts(site: FakeAgent, servers: Sequence[G4FProcess]) -> None:
    tokens, key = accounts(site, 3)
    prompts = [f"{SLOW} chat {n}" for n in range(30)]
    started = time.monotonic()
    answers = await asyncio.gather(
        *(chat(servers[n % len(servers)], key, prompt) for n, prompt in enumerate(prompts)),
        return_exceptions=True,
    )
    elapsed = time.monotonic() - started
    errors = [answer for answer in answers if isinstance(answer, BaseException)]
    logs = "\n".join(server.log_tail(20) for server in servers)
    assert not errors, f"{len(errors)} of 30 chats failed, e.g. {errors[0]!r}\n{logs}"
    assert answers == [site.reply_for(prompt, 1) for prompt in prompts]
    assert sum(site.turns(token) for token in tokens) == 30
    refused = [r for r in site.message_requests() if r.scenario == "busy"]
    assert not refused, f"{len(refused)} replies found their account busy"
    assert elapsed > 4.5  # ten rounds of three (half a second each): the accounts were shared
    report(f"30 chats on 3 accounts through {len(servers)} g4f api: {elapsed:.1f} s, no error, no refusal")


async def test_thirty_chats_through_three_workers_share_three_accounts(agent_site, workers):
    await thirty_chats_on_three_accounts(agent_site, [workers])


async def test_thirty_chats_through_two_instances_share_three_accounts_through_redis(agent_site, machines):
    await thirty_chats_on_three_accounts(agent_site, machines)


async def test_killing_an_instance_mid_reply_frees_its_account_within_the_ttl(
    agent_site, redis_url, machines, tmp_path
):
    _, key = accounts(agent_site, 1)
    doomed = redis_instance(agent_site, tmp_path, redis_url)
    try:
        async with client_for(doomed, key) as client:
            stream = await client.chat.completions.create(
                model="MiniMax",
                messages=[user(f"{LONG} long")],
                extra_body={"provider": "HailuoAI"},
                stream=True,
            )
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    break  # streaming: the instance holds the account's lease
            waiting = asyncio.create_task(chat(machines[0], key, f"{SLOW} next"))
            await asyncio.sleep(1.0)
            assert not waiting.done()  # the other instance waits for the account
            os.killpg(doomed.process.pid, signal.SIGKILL)
            killed = time.monotonic()
            text = await asyncio.wait_for(waiting, 30)
            freed_in = time.monotonic() - killed
            await stream.close()
    finally:
        doomed.stop()
    assert text == agent_site.reply_for(f"{SLOW} next", 1)
    assert freed_in < LEASE_TTL + 3, f"the account was free again {freed_in:.1f} s after the kill"
    report(
        f"an instance killed mid-reply: the other one answered {freed_in:.1f} s later (ttl {LEASE_TTL:g} s)"
    )
    assert not [r for r in agent_site.message_requests() if r.scenario == "busy"]
