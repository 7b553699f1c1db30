"""The account pool: one reply at a time per account, a fair bounded queue, conversations
kept on their account, refused accounts retired and reported while the rest keep serving.

The fake server runs with ``exclusive_accounts=True``: a second concurrent reply on one
token comes back as an empty stream, which the provider reports as an error.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator

import g4f
import pytest
from g4f.errors import MissingAuthError, RateLimitError
from g4f.providers.response import AuthResult

from g4f_hailuo._conversation import token_fingerprint
from g4f_hailuo.accounts import auth_cache as _auth_cache
from g4f_hailuo.accounts import pool as _accounts
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.accounts.pool import AccountPool, AccountsGone
from g4f_hailuo.fake.hailuo_v4.server import FakeHailuo, run_in_thread
from g4f_hailuo.provider import Conversation, HailuoAI


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


@pytest.fixture
def busy_fake() -> Iterator[FakeHailuo]:
    """One reply at a time per token, and replies that take a little while (4 frames, 10 ms apart)."""
    server = run_in_thread(exclusive_accounts=True, scenario="normal frames=4 delay=0.01")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def no_browser(monkeypatch):
    monkeypatch.setattr("g4f_hailuo.provider.browser_login_available", lambda: False)


async def ask(fake, api_key, messages, conversation=None, **kwargs) -> tuple[str, list[Conversation]]:
    chunks = [
        chunk
        async for chunk in HailuoAI.create_async_generator(
            "", messages, api_key=api_key, base_url=fake.url, conversation=conversation, **kwargs
        )
    ]
    return "".join(c for c in chunks if isinstance(c, str)), [
        c for c in chunks if isinstance(c, Conversation)
    ]


def tokens_used(fake) -> list[str]:
    return [request.headers["token"] for request in fake.chat_requests()]


# -- the pool through the front door ------------------------------------------------------------


async def test_three_accounts_serve_thirty_concurrent_two_turn_chats(busy_fake):
    fake = busy_fake
    tokens = [fake.issue_token(name=f"account{i}") for i in range(3)]
    api_key = ",".join(tokens)

    async def two_turns(n: int) -> tuple[Conversation, str]:
        first, second = f"chat {n} first", f"chat {n} second"
        reply, (conversation,) = await ask(fake, api_key, [user(first)])
        assert reply == fake.reply_for(first, 1)
        reply2, _ = await ask(fake, api_key, [user(first), assistant(reply), user(second)], conversation)
        assert reply2 == fake.reply_for(second, 2)
        return conversation, second

    results = await asyncio.gather(*(two_turns(n) for n in range(30)))

    requests = fake.chat_requests()
    assert len(requests) == 60 and all(r.status == 200 for r in requests)
    assert not [r for r in requests if r.scenario == "exclusive_busy"], "two replies at once on one account"
    by_chat = {r.form["chatID"]: r for r in requests if r.form["chatID"] != "0"}
    for conversation, second in results:  # every second turn continued its chat, on its account
        continued = by_chat[conversation.chatID]
        assert continued.form["msgContent"] == second
        assert token_fingerprint(continued.headers["token"]) == conversation.token
        owner = next(t for t in tokens if token_fingerprint(t) == conversation.token)
        assert conversation.chatID in fake.chats(owner)
    assert all(count >= 10 for count in Counter(tokens_used(fake)).values()), Counter(tokens_used(fake))
    assert len(Counter(tokens_used(fake))) == 3
    assert len([r for r in fake.requests if r.path == "/v1/api/user/info"]) == 3  # each checked once


def test_concurrent_sync_calls_on_their_own_threads_and_loops_share_the_pool(busy_fake):
    """g4f's GUI serves each request on its own thread with its own event loop."""
    fake = busy_fake
    api_key = ",".join(fake.issue_token() for _ in range(3))
    errors: list[BaseException] = []
    answers: dict[int, str] = {}

    def one(n: int) -> None:
        try:
            answers[n] = g4f.ChatCompletion.create(
                model="",
                messages=[user(f"thread {n}")],
                provider="HailuoAI",
                api_key=api_key,
                base_url=fake.url,
            )
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert answers == {n: fake.reply_for(f"thread {n}", 1) for n in range(12)}
    assert not [r for r in fake.chat_requests() if r.scenario == "exclusive_busy"]


@pytest.mark.parametrize("via", ["keyword", "environment"])
async def test_the_queue_wait_is_bounded(busy_fake, via, monkeypatch):
    fake = busy_fake
    options = {"queue_timeout": 0.3}
    if via == "environment":
        monkeypatch.setenv("HAILUOAI_QUEUE_TIMEOUT", "0.3")
        options = {}
    token = fake.issue_token()
    slow = asyncio.create_task(ask(fake, token, [user("[[scenario:stall_during seconds=1.5]] slow")]))
    while not fake.chat_requests():
        await asyncio.sleep(0.01)
    started = time.monotonic()
    with pytest.raises(RateLimitError, match="busy") as raised:
        await ask(fake, token, [user("impatient")], **options)
    assert 0.25 < time.monotonic() - started < 1.2
    assert "queue_timeout" in str(raised.value) and token not in str(raised.value)
    reply, _ = await slow
    assert reply == fake.reply_for("slow", 1)
    assert len(fake.chat_requests()) == 1  # the impatient one never reached the site


async def test_a_conversation_waits_for_its_account_while_a_new_chat_takes_another(busy_fake):
    fake = busy_fake
    mine, other = fake.issue_token(name="mine"), fake.issue_token(name="other")
    _, (conversation,) = await ask(fake, mine, [user("hello")])
    both = f"{mine},{other}"
    stalled = asyncio.create_task(  # holds "mine" for a while, on the same chat
        ask(
            fake,
            both,
            [user("hello"), assistant("x"), user("[[scenario:stall_during seconds=0.8]] wait")],
            conversation,
        )
    )
    while len(fake.chat_requests()) < 2:
        await asyncio.sleep(0.01)
    started = time.monotonic()
    fresh, _ = await ask(fake, both, [user("new chat")])
    assert time.monotonic() - started < 0.5  # served by the other account at once
    follow_up, _ = await ask(fake, both, [user("hello"), assistant("x"), user("later")], conversation)
    await stalled
    assert fresh == fake.reply_for("new chat", 1) and follow_up == fake.reply_for("later", 3)
    _, _, new, later = fake.chat_requests()
    assert new.headers["token"] == other
    assert later.headers["token"] == mine and later.form["chatID"] == conversation.chatID


# -- retirement -----------------------------------------------------------------------------------


async def test_an_account_revoked_mid_life_leaves_the_pool_and_the_rest_serve(busy_fake, caplog):
    fake = busy_fake
    tokens = [fake.issue_token() for _ in range(3)]
    api_key = ",".join(tokens)
    await asyncio.gather(*(ask(fake, api_key, [user(f"warm {n}")]) for n in range(3)))
    assert set(tokens_used(fake)) == set(tokens)
    fake.revoke(tokens[1])
    caplog.set_level(logging.WARNING, logger="g4f_hailuo")
    replies = await asyncio.gather(*(ask(fake, api_key, [user(f"after {n}")]) for n in range(12)))
    assert [reply for reply, _ in replies] == [fake.reply_for(f"after {n}", 1) for n in range(12)]
    after = tokens_used(fake)[3:]
    assert after.count(tokens[1]) == 1  # refused once, then never tried again
    assert all(conversations[0].token != token_fingerprint(tokens[1]) for _, conversations in replies)
    reports = [r.getMessage() for r in caplog.records if "left the pool" in r.getMessage()]
    assert len(reports) == 1 and token_fingerprint(tokens[1]) in reports[0] and "401" in reports[0]
    assert "2 of 3" in reports[0] and not any(t in reports[0] for t in tokens)


async def test_a_banned_account_is_retired_and_the_reply_moves_without_a_stale_conversation(
    busy_fake, caplog
):
    fake = busy_fake
    banned, good = fake.issue_token(name="banned"), fake.issue_token(name="good")
    await ask(fake, banned, [user("warm")])  # checked while still fine, and idle longest
    await ask(fake, good, [user("warm")])
    fake.ban(banned)
    caplog.set_level(logging.WARNING, logger="g4f_hailuo")
    reply, conversations = await ask(fake, f"{banned},{good}", [user("hello")])
    assert reply == fake.reply_for("hello", 1)
    assert [c.token for c in conversations] == [token_fingerprint(good)]
    assert tokens_used(fake)[2:] == [banned, good]
    (report,) = [r.getMessage() for r in caplog.records if "left the pool" in r.getMessage()]
    assert "22" in report and "banned" in report and banned not in report


async def test_when_every_account_is_refused_the_error_names_each_by_fingerprint(fake, no_browser):
    tokens = [fake.issue_token() for _ in range(2)]
    for token in tokens:
        fake.revoke(token)
    with pytest.raises(MissingAuthError) as raised:
        await ask(fake, ",".join(tokens), [user("hi")])
    message = str(raised.value)
    assert not any(token in message for token in tokens)
    # the next request does not try them again
    with pytest.raises(MissingAuthError) as again:
        await ask(fake, ",".join(tokens), [user("hi")])
    assert all(token_fingerprint(token) in str(again.value) for token in tokens)
    assert len([r for r in fake.requests if r.path == "/v1/api/user/info"]) == 2


async def test_an_expired_account_is_retired_before_any_request(fake, caplog):
    expired, good = fake.issue_token(expires_in=-60), fake.issue_token()
    caplog.set_level(logging.WARNING, logger="g4f_hailuo")
    reply, _ = await ask(fake, f"{expired},{good}", [user("hi")])
    assert reply == fake.reply_for("hi", 1)
    assert expired not in [r.headers.get("token") for r in fake.requests]
    (report,) = [r.getMessage() for r in caplog.records if "left the pool" in r.getMessage()]
    assert "expired on" in report and "log in again" in report


async def test_a_token_expiring_within_a_day_is_warned_about_once(fake, caplog):
    token = fake.issue_token(expires_in=3 * 3600)
    caplog.set_level(logging.WARNING, logger="g4f_hailuo")
    await ask(fake, token, [user("one")])
    await ask(fake, token, [user("two")])
    warnings = [r.getMessage() for r in caplog.records if "expires on" in r.getMessage()]
    assert len(warnings) == 1 and "(in 3 h)" in warnings[0] and token not in warnings[0]
    assert "g4f-hailuo login" in warnings[0]


async def test_a_token_is_warned_about_and_retired_as_the_clock_reaches_its_expiry(fake, caplog, monkeypatch):
    """The pool is kept between requests and looks at expiry dates only when one is due:
    still, the warning and the retirement come on the first request after their moment."""
    token = fake.issue_token(expires_in=2 * 86400)
    caplog.set_level(logging.WARNING, logger="g4f_hailuo")
    await ask(fake, token, [user("one")])
    real = time.time
    for days, said in ((0.0, []), (1.5, ["expires on"]), (1.5, [])):
        monkeypatch.setattr(time, "time", lambda days=days: real() + days * 86400)
        caplog.clear()
        await ask(fake, token, [user("again")])
        assert [w for w in said if any(w in r.getMessage() for r in caplog.records)] == said
    sent = len(fake.chat_requests())
    monkeypatch.setattr(time, "time", lambda: real() + 3 * 86400)
    with pytest.raises(MissingAuthError, match="expired"):
        await ask(fake, token, [user("too late")])
    assert len(fake.chat_requests()) == sent  # retired before any request


def test_several_cached_logins_form_a_pool_and_a_refused_one_leaves_the_cache(busy_fake, no_browser):
    fake = busy_fake
    first, second = fake.issue_token(name="first"), fake.issue_token(name="second")
    for token in (first, second):
        HailuoAI.write_cache_file(
            HailuoAI.get_cache_file(), AuthResult(**Identity.from_token(token).to_dict())
        )
    stored = _auth_cache.read_logins(HailuoAI.get_cache_file())
    assert [login["token"] for login in stored] == [second, first]  # newest first

    async def many() -> list[str]:
        return [
            reply for reply, _ in await asyncio.gather(*(ask(fake, None, [user(f"c{n}")]) for n in range(6)))
        ]

    assert asyncio.run(many()) == [fake.reply_for(f"c{n}", 1) for n in range(6)]
    assert set(tokens_used(fake)) == {first, second}
    fake.revoke(first)
    assert asyncio.run(many()) == [fake.reply_for(f"c{n}", 1) for n in range(6)]
    assert [login["token"] for login in _auth_cache.read_logins(HailuoAI.get_cache_file())] == [second]


async def test_a_conversation_whose_account_left_starts_a_new_chat_elsewhere(fake):
    gone, other = fake.issue_token(), fake.issue_token()
    _, (conversation,) = await ask(fake, gone, [user("a")])
    fake.revoke(gone)
    reply, _ = await ask(fake, f"{gone},{other}", [user("a"), assistant("b"), user("c")], conversation)
    assert reply == fake.reply_for("c", 1)
    last = fake.chat_requests()[-1]
    assert last.headers["token"] == other and last.form["chatID"] == "0"
    assert last.form["msgContent"] == "User: a\nAssistant: b\nUser: c\nAssistant:"


# -- the pool alone ---------------------------------------------------------------------------------


def identities(n: int) -> list[Identity]:
    return [Identity(f"token-{n}-{i}", f"uuid-{i}", "1") for i in range(n)]


async def test_waiters_are_served_first_come_first_served():
    pool = AccountPool("http://pool.test/fifo", identities(1))
    order: list[int] = []

    async def wait(n: int) -> None:
        async with pool.lease(None, 5):
            order.append(n)
            await asyncio.sleep(0.01)

    async with pool.lease(None, 5):
        tasks = []
        for n in range(5):
            tasks.append(asyncio.create_task(wait(n)))
            await asyncio.sleep(0.01)  # queue them in a known order
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]


async def test_a_waiter_on_another_threads_loop_is_woken():
    pool = AccountPool("http://pool.test/threads", identities(1))
    got: list[float] = []

    def other_thread() -> None:
        async def take() -> None:
            async with pool.lease(None, 5):
                got.append(time.monotonic())

        asyncio.run(take())

    async with pool.lease(None, 5):
        thread = threading.Thread(target=other_thread)
        thread.start()
        await asyncio.sleep(0.2)
        released = time.monotonic()
    await asyncio.to_thread(thread.join, 5)
    assert len(got) == 1 and got[0] >= released


async def test_retiring_the_last_account_wakes_its_waiters():
    (only,) = accounts = identities(1)
    pool = AccountPool("http://pool.test/retire", accounts)

    async def wait() -> None:
        async with pool.lease(None, 5):
            pass

    async with pool.lease(None, 5):
        waiter = asyncio.create_task(wait())
        await asyncio.sleep(0.05)
        pool.retire(only, "banned")
        with pytest.raises(AccountsGone):
            await asyncio.wait_for(waiter, 1)
    assert pool.live() == [] and pool.retired_reasons() == [(only.account, "banned")]
    pool.reinstate(only)
    assert pool.live() == [only]


async def test_a_cancelled_waiter_leaves_the_queue_and_hands_nothing_on():
    pool = AccountPool("http://pool.test/cancel", identities(1))
    async with pool.lease(None, 5):
        waiter = asyncio.create_task(pool.lease(None, 5).__aenter__())
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    async with pool.lease(None, 0.1):  # free again: the cancelled waiter took nothing
        pass


def test_a_retired_account_stays_retired_when_idle_accounts_are_forgotten(monkeypatch):
    monkeypatch.setattr(_accounts, "_MAX_SLOTS", 3)  # instead of thousands of accounts
    (banned,) = accounts = [Identity("token-banned", "uuid-banned", "1")]
    AccountPool("http://pool.test/forget", accounts).retire(banned, "banned")
    for n in range(5):  # other pools' idle accounts push the count past the limit
        AccountPool(f"http://pool.test/forget-{n}", identities(3))
    again = AccountPool("http://pool.test/forget", accounts)
    assert again.live() == [] and again.retired_reasons() == [(banned.account, "banned")]
    live = AccountPool("http://pool.test/forget-0", identities(3))
    assert live.live() == identities(3)  # a forgotten idle account just comes back


def test_the_pool_shows_no_token():
    accounts = identities(2)
    pool = AccountPool("http://pool.test/repr", accounts)
    assert not any(identity.token in repr(pool) for identity in accounts)
