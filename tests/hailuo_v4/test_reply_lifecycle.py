"""A reply's end, in the right order: the upstream stream is closed before its
account serves anyone else, and an account the site refused is retired before
any other request can lease it."""

from __future__ import annotations

import asyncio

import pytest
from g4f.errors import MissingAuthError
from g4f.providers.response import AuthResult

from g4f_hailuo.accounts import pool as _accounts
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.accounts.pool import AccountPool
from g4f_hailuo.fake.hailuo_v4.server import run_in_thread
from g4f_hailuo.protocols.hailuo_v4 import client as _client
from g4f_hailuo.provider import HailuoAI

LONG = "[[scenario:normal frames=200 delay=0.05]] keep talking"


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """When the chat stream is left and when an account is given back."""
    seen: list[str] = []
    real_exit, real_release = _client.ChatStream.__aexit__, _accounts._release

    async def chat_stream_exit(self, *exc_info):
        seen.append("stream closed")
        return await real_exit(self, *exc_info)

    def release(key: str) -> None:
        seen.append("account released")
        real_release(key)

    monkeypatch.setattr(_client.ChatStream, "__aexit__", chat_stream_exit)
    monkeypatch.setattr(_accounts, "_release", release)
    return seen


async def test_aclose_closes_the_stream_before_the_account_is_released(fake, token, events):
    stream = HailuoAI.create_async_generator("MiniMax", [user(LONG)], api_key=token, base_url=fake.url)
    async for chunk in stream:
        if isinstance(chunk, str):
            break
    await stream.aclose()
    events.append("aclose returned")
    assert events == ["stream closed", "account released", "aclose returned"]


async def test_cancelling_the_consumer_closes_the_stream_before_the_account_is_released(fake, token, events):
    first_text = asyncio.Event()

    async def consume() -> None:
        async for chunk in HailuoAI.create_async_generator(
            "MiniMax", [user(LONG)], api_key=token, base_url=fake.url
        ):
            if isinstance(chunk, str):
                first_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_text.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert events == ["stream closed", "account released"]


def test_a_refused_account_is_never_handed_to_a_waiting_request(monkeypatch):
    """Two cached logins, one revoked, eight requests at once: the revoked token
    reaches the chat route once (the request that found out), never again."""
    monkeypatch.setattr("g4f_hailuo.provider.browser_login_available", lambda: False)
    fake = run_in_thread(exclusive_accounts=True, scenario="normal frames=4 delay=0.02")
    try:
        revoked, good = fake.issue_token(name="revoked"), fake.issue_token(name="good")
        for token in (good, revoked):  # newest first: the revoked one is tried first
            auth = AuthResult(**Identity.from_token(token).to_dict())
            HailuoAI.write_cache_file(HailuoAI.get_cache_file(), auth)
        fake.revoke(revoked)

        async def ask(n: int) -> str:
            chunks = [
                chunk
                async for chunk in HailuoAI.create_async_generator(
                    "", [user(f"question {n}")], base_url=fake.url
                )
            ]
            return "".join(c for c in chunks if isinstance(c, str))

        async def many() -> list[str]:
            return await asyncio.gather(*(ask(n) for n in range(8)))

        replies = asyncio.run(many())
        assert replies == [fake.reply_for(f"question {n}", 1) for n in range(8)]
        sent_with_revoked = [r for r in fake.requests if r.headers.get("token") == revoked]
        assert len(sent_with_revoked) == 1, [r.path for r in sent_with_revoked]
    finally:
        fake.stop()


async def test_an_error_thrown_in_once_the_text_started_moves_nothing(fake):
    """The title and conversation held back are let go with the first text: from then on the
    reply belongs to its account, and an error (here thrown in by the consumer) retires none."""
    tokens = [fake.issue_token(name="first"), fake.issue_token(name="second")]
    reply = HailuoAI.create_async_generator(
        "MiniMax", [user("hi")], api_key=",".join(tokens), base_url=fake.url
    )
    first = await reply.__anext__()
    assert not isinstance(first, str)  # one of the chunks that waited for the text
    with pytest.raises(MissingAuthError, match="thrown in"):
        await reply.athrow(MissingAuthError("thrown in"))
    pool = AccountPool.of(fake.url, tuple(Identity.from_token(token) for token in tokens))
    assert pool.retired_reasons() == []
    assert len(fake.chat_requests()) == 1  # not redone on the other account
