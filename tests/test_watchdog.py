"""The reply body's read timeout (``transport.http.ReadWatchdog``): one timer per event loop for
every body streaming on it, each body judged on its own."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from typing import Any

import pytest

from g4f_hailuo.transport import http


@pytest.fixture(autouse=True)
def _no_tickers_around() -> Any:
    http._tickers.clear()  # the loops of earlier tests are gone
    yield
    http._tickers.clear()


class _Content:
    def __init__(self) -> None:
        self.total_bytes = 0
        self.eof = False
        self.error: BaseException | None = None

    def is_eof(self) -> bool:
        return self.eof

    def set_exception(self, error: BaseException) -> None:
        self.error = error


class _Response:
    connection = None

    def __init__(self) -> None:
        self.content = _Content()


def _watch(limit: float) -> tuple[_Response, http.ReadWatchdog]:
    response = _Response()
    return response, http.ReadWatchdog(response, limit)  # type: ignore[arg-type]


async def test_many_bodies_share_one_timer_and_each_stall_is_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    timers: list[Any] = []
    real_call_later = loop.call_later

    def counting_call_later(delay: float, callback: Any, *args: Any) -> asyncio.TimerHandle:
        timers.append(callback)
        return real_call_later(delay, callback, *args)

    monkeypatch.setattr(loop, "call_later", counting_call_later)
    watched = [_watch(0.2) for _ in range(200)]
    assert len(timers) == 1  # not a timer per body
    busy, stalled, ended = watched[0], watched[1], watched[2]
    ended[0].content.eof = True
    for _ in range(6):  # 0.3 s: past the limit
        await asyncio.sleep(0.05)
        busy[0].content.total_bytes += 10
        busy[1].consumed = busy[0].content.total_bytes
    assert isinstance(stalled[0].content.error, asyncio.TimeoutError)
    assert busy[0].content.error is None and ended[0].content.error is None
    for _, watchdog in watched:
        watchdog.cancel()


async def test_a_stall_is_noticed_within_a_quarter_of_the_limit_after_it() -> None:
    response, watchdog = _watch(0.4)
    loop = asyncio.get_running_loop()
    started = loop.time()
    while response.content.error is None and loop.time() - started < 2:
        await asyncio.sleep(0.01)
    assert 0.4 <= loop.time() - started <= 0.4 * 1.25 + 0.1
    watchdog.cancel()


def test_the_timer_leaves_with_the_last_body_and_no_loop_is_kept() -> None:
    async def one_body() -> None:
        response, watchdog = _watch(0.04)
        await asyncio.sleep(0.02)
        response.content.eof = True  # the body ended: the next look lets it go
        await asyncio.sleep(0.05)
        assert not http._tickers  # nothing left to look at: the ticker is gone
        watchdog.cancel()

    for _ in range(3):  # a new loop each time, as g4f's synchronous calls make
        asyncio.run(one_body())
    assert not http._tickers


def test_a_loop_closed_while_a_body_streamed_is_let_go_by_the_next_loop() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def abandoned() -> None:
        loops.append(asyncio.get_running_loop())
        _watch(30.0)  # never ends, never cancelled: its loop closes under it

    asyncio.run(abandoned())
    assert [loop for loop, _ in http._tickers] == loops

    async def next_one() -> None:
        _, watchdog = _watch(30.0)
        watchdog.cancel()

    asyncio.run(next_one())
    assert loops[0] not in [loop for loop, _ in http._tickers]


def test_loops_in_several_threads_keep_their_own_tickers() -> None:
    """g4f's sync calls and its GUI run loops in threads: each loop's bodies are looked at by its
    own ticker, loops coming and going in other threads meanwhile."""
    errors: list[BaseException] = []

    async def bodies() -> None:
        watched = [_watch(0.04) for _ in range(20)]
        await asyncio.sleep(0.03)
        for response, _ in watched[:10]:
            response.content.total_bytes += 1  # these move, the others stall
        await asyncio.sleep(0.04)
        stalled = [response.content.error is not None for response, _ in watched]
        assert stalled == [False] * 10 + [True] * 10
        for _, watchdog in watched:
            watchdog.cancel()

    def worker() -> None:
        try:
            for _ in range(5):
                asyncio.run(bodies())
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_loop_let_go_without_closing_it_is_not_kept() -> None:
    """An application may drop a loop without closing it: once its bodies ended, nothing here
    keeps it (nor its selector's descriptors) alive."""
    loop = asyncio.new_event_loop()

    async def one_body() -> None:
        response, watchdog = _watch(30.0)
        response.content.eof = True
        watchdog.cancel()  # the reply read its body

    loop.run_until_complete(one_body())
    gone = weakref.ref(loop)
    del loop
    gc.collect()
    assert gone() is None
    assert not http._tickers


async def test_a_look_that_fails_stops_only_that_bodys_watchdog() -> None:
    broken, broken_watchdog = _watch(0.05)
    stalled, stalled_watchdog = _watch(0.05)

    def fails() -> bool:
        raise RuntimeError("a stream that cannot say")

    broken.content.is_eof = fails  # type: ignore[method-assign]
    await asyncio.sleep(0.15)
    assert isinstance(stalled.content.error, asyncio.TimeoutError)  # still looked at
    later, later_watchdog = _watch(0.05)  # and bodies that come afterwards too
    await asyncio.sleep(0.15)
    assert isinstance(later.content.error, asyncio.TimeoutError)
    for watchdog in (broken_watchdog, stalled_watchdog, later_watchdog):
        watchdog.cancel()
