"""The fault table, the rows ``test_scenarios`` does not already pin: a 4 MB
``data:`` line, refused connections and 5xx retried with bounded backoff
(never once the reply started, never on 4xx), closing a stream disconnects
upstream within a second, and skipped frames leave a debug log line."""

from __future__ import annotations

import asyncio
import socket
import time

import g4f
import pytest
from g4f.client import AsyncClient
from g4f.errors import (
    BadRequestError,
    CloudflareError,
    G4FError,
    MissingAuthError,
    RateLimitError,
    ResponseError,
    ResponseStatusError,
)
from g4f.errors import TimeoutError as G4FTimeoutError
from g4f.providers.response import FinishReason

from g4f_hailuo.fake.hailuo_v4.server import FakeHailuo, run_in_thread
from g4f_hailuo.protocols.hailuo_v4 import client as _v4_client
from g4f_hailuo.provider import HailuoAI
from g4f_hailuo.transport import http as _http
from g4f_hailuo.transport import impersonate

# A reply that takes about 10 s to stream: long enough to be cut in the middle.
LONG = "[[scenario:normal frames=200 delay=0.05]] keep talking"


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def ask(fake: FakeHailuo, token: str, prompt: str, **kwargs):
    return g4f.ChatCompletion.create(
        model="MiniMax",
        messages=user(prompt),
        provider="HailuoAI",
        api_key=token,
        base_url=fake.url,
        **kwargs,
    )


def text_of(chunks) -> str:
    return "".join(c for c in chunks if isinstance(c, str))


def dead_origin() -> str:
    """An origin on a loopback port nobody listens on: connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The retry attempts that waited (backoff shortened to 10 ms)."""
    attempts: list[int] = []

    def short_backoff(attempt: int) -> float:
        attempts.append(attempt)
        return 0.01

    monkeypatch.setattr(_http, "backoff_seconds", short_backoff)
    return attempts


# -- size -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scenario",
    ["giant_line size=4000000 frames=1", "giant_line size=700000 chars=cjk ascii=1 frames=1"],
    ids=["4MB-ascii", "4MB-escaped-cjk"],
)
def test_a_4_megabyte_data_line_streams_whole(fake, token, scenario):
    prompt = f"[[scenario:{scenario}]] one huge line"
    chunks = list(ask(fake, token, prompt, stream=True))
    assert text_of(chunks) == fake.reply_for(prompt, 1)
    assert isinstance(chunks[-1], FinishReason)


# -- retries ----------------------------------------------------------------------------------------


def test_backoff_grows_is_capped_and_jittered():
    for attempt in range(1, 11):
        nominal = min(_http.BACKOFF_CAP_SECONDS, _http.BACKOFF_SECONDS * 2 ** (attempt - 1))
        delays = [_http.backoff_seconds(attempt) for _ in range(50)]
        assert all(0.75 * nominal <= d <= nominal for d in delays)
    # the most a call can spend waiting, at the most retries allowed (10)
    worst = sum(min(_http.BACKOFF_CAP_SECONDS, _http.BACKOFF_SECONDS * 2**i) for i in range(10))
    assert worst <= 60


def test_refused_connection_is_retried_with_backoff_then_fails(token, waits, debug_log):
    origin = dead_origin()
    with pytest.raises(ResponseError, match=r"Cannot reach Hailuo at http://127\.0\.0\.1"):
        g4f.ChatCompletion.create(
            model="MiniMax",
            messages=user("hi"),
            provider="HailuoAI",
            api_key=token,
            base_url=origin,
            retries=2,
        )
    assert waits == [1, 2]
    assert sum("retry" in line for line in debug_log) == 2


def test_chat_refused_after_login_is_retried_then_fails(waits):
    server = run_in_thread()
    try:
        token = server.issue_token()
        assert g4f.ChatCompletion.create(
            model="MiniMax", messages=user("first"), provider="HailuoAI", api_key=token, base_url=server.url
        )
        origin = server.url
    finally:
        server.stop()  # the port now refuses; the login is cached, so the chat POST itself fails
    with pytest.raises(ResponseError, match="Cannot reach"):
        g4f.ChatCompletion.create(
            model="MiniMax",
            messages=user("second"),
            provider="HailuoAI",
            api_key=token,
            base_url=origin,
            retries=3,
        )
    assert waits == [1, 2, 3]


def test_server_errors_are_retried_with_growing_backoff_until_accepted(fake, token, waits):
    prompt = "[[scenario:normal fail_first=3 fail_status=500]] persevere"
    assert ask(fake, token, prompt, retries=3) == fake.reply_for(prompt, 1)
    assert waits == [1, 2, 3]
    assert [r.status for r in fake.chat_requests()] == [500, 500, 500, 200]


def test_server_errors_beyond_the_retries_give_the_status_error(fake, token, waits):
    with pytest.raises(ResponseStatusError, match="502"):
        ask(fake, token, "[[scenario:http_502]] hi", retries=2)
    assert waits == [1, 2] and len(fake.chat_requests()) == 3


@pytest.mark.parametrize(
    ("scenario", "error"),
    [
        ("drop after=0", ResponseError),
        ("drop after=1", ResponseError),
        ("stream_error after=1", ResponseError),
        ("no_end", ResponseError),
        ("stall_during seconds=30", G4FTimeoutError),
    ],
    ids=["drop-after-send_result", "drop", "stream_error", "no_end", "stall_during"],
)
def test_nothing_is_retried_once_the_reply_started(fake, token, waits, scenario, error):
    with pytest.raises(error):
        ask(fake, token, f"[[scenario:{scenario}]] hi", retries=3, stream_timeout=1)
    assert waits == [] and len(fake.chat_requests()) == 1


@pytest.mark.parametrize(
    ("scenario", "error"),
    [
        ("http_400", BadRequestError),
        ("http_401", MissingAuthError),
        ("http_403", CloudflareError),
        ("http_429", RateLimitError),
    ],
)
def test_client_errors_are_never_retried(fake, token, waits, scenario, error):
    with pytest.raises(error):
        ask(fake, token, f"[[scenario:{scenario}]] hi", retries=3)
    # The one exception: a bot-protection page is sent once more as a browser (the impersonate extra).
    sent = 2 if scenario == "http_403" and impersonate.available() else 1
    assert waits == [] and len(fake.chat_requests()) == sent


def test_a_stall_before_the_reply_is_not_retried(fake, token, waits):
    """A timeout is the caller's bound: retrying would multiply it."""
    started = time.monotonic()
    with pytest.raises(G4FTimeoutError, match="did not answer within 1 s"):
        ask(fake, token, "[[scenario:stall_before seconds=30]] hi", retries=3, timeout=1)
    assert time.monotonic() - started < 3
    assert waits == [] and len(fake.chat_requests()) == 1


def test_a_connect_timeout_is_not_retried(token, waits, monkeypatch):
    attempts: list[object] = []

    async def never_connects(self, *args, **kwargs):
        attempts.append(args)
        await asyncio.sleep(30)

    # aiohttp connects through the loop's sock_connect (happy eyeballs): that never answers.
    monkeypatch.setattr(asyncio.selector_events.BaseSelectorEventLoop, "sock_connect", never_connects)
    started = time.monotonic()
    with pytest.raises(G4FTimeoutError, match=r"Could not connect to Hailuo .* within 0\.5 s"):
        g4f.ChatCompletion.create(
            model="MiniMax",
            messages=user("hi"),
            provider="HailuoAI",
            api_key=token,
            base_url="http://127.0.0.1:9",
            retries=3,
            timeout=0.5,
        )
    assert time.monotonic() - started < 3
    assert len(attempts) == 1 and waits == []


# -- the message on the wire -------------------------------------------------------------------------


def test_the_message_goes_as_one_browser_style_multipart_body(fake, token):
    prompt = 'line one\r\nline "two" ------WebKitFormBoundary 海螺 --\n'
    assert ask(fake, token, prompt)
    (request,) = fake.chat_requests()
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=----WebKitFormBoundary")
    assert request.form == {"characterID": "1", "msgContent": prompt, "chatID": "0", "searchMode": "0"}
    assert request.signature_ok


def test_chat_body_never_uses_a_boundary_found_in_the_text(monkeypatch):
    draws = iter([bytes([26]) * 16, bytes([27]) * 16])  # "A" * 16, then "B" * 16
    monkeypatch.setattr(_v4_client.os, "urandom", lambda n: next(draws))
    body, content_type = _v4_client.chat_body("1", "quoting ----WebKitFormBoundaryAAAAAAAAAAAAAAAA here", "0")
    assert content_type.endswith("BBBBBBBBBBBBBBBB") and body.endswith(b"--\r\n")


# -- timeouts ---------------------------------------------------------------------------------------


def test_a_stall_during_a_non_stream_call_times_out_promptly(fake, token):
    started = time.monotonic()
    with pytest.raises(G4FTimeoutError, match="incomplete"):
        ask(fake, token, "[[scenario:stall_during seconds=30]] hi", timeout=1)
    assert time.monotonic() - started < 5


@pytest.mark.usefixtures("transport")
def test_heartbeats_alone_do_not_keep_a_reply_alive(fake, token):
    """Keep-alive frames reset the socket's read timeout; without new text the
    reply still times out, with what arrived so far."""
    prompt = "[[scenario:heartbeat_stall seconds=30]] hi"
    chunks: list[object] = []
    started = time.monotonic()
    with pytest.raises(G4FTimeoutError, match=r"keep-alive frames for 1 s after .* incomplete"):
        for chunk in ask(fake, token, prompt, stream=True, stream_timeout=1):
            chunks.append(chunk)
    assert time.monotonic() - started < 5
    assert text_of(chunks) and fake.reply_for(prompt, 1).startswith(text_of(chunks))
    assert not any(isinstance(c, FinishReason) for c in chunks)


def test_occasional_heartbeats_between_frames_do_not_time_out(fake, token):
    prompt = "[[scenario:heartbeat_stall seconds=0.6]] hi"
    assert ask(fake, token, prompt, stream_timeout=1) == fake.reply_for(prompt, 1)


@pytest.mark.usefixtures("transport")
@pytest.mark.parametrize("scenario", ["normal hold=30", "type8_end hold=30"], ids=["close_chunk", "type8"])
def test_reading_stops_at_the_end_marker(fake, token, scenario):
    """The body may stay open after the end marker: the answer is complete anyway."""
    prompt = f"[[scenario:{scenario}]] hi"
    started = time.monotonic()
    chunks = list(ask(fake, token, prompt, stream=True, stream_timeout=20))
    assert time.monotonic() - started < 2
    assert text_of(chunks) == fake.reply_for(prompt, 1)
    assert isinstance(chunks[-1], FinishReason)


@pytest.mark.usefixtures("transport")
def test_a_stall_after_the_final_message_keeps_the_whole_answer(fake, token, debug_log):
    """``isEnd`` 0 marks the final message: a timeout after it loses nothing."""
    prompt = "[[scenario:isend_only hold=30]] hi"
    chunks = list(ask(fake, token, prompt, stream=True, stream_timeout=1))
    assert text_of(chunks) == fake.reply_for(prompt, 1)
    assert isinstance(chunks[-1], FinishReason)
    assert any("after the final message" in line for line in debug_log), debug_log


# -- skipped frames leave a trace -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "logged"),
    [("malformed_json", "skipped a malformed 'message_result' frame"), ("unknown_event", "unknown event")],
)
def test_a_skipped_frame_is_logged_and_the_rest_streams(fake, token, debug_log, scenario, logged):
    prompt = f"[[scenario:{scenario}]] hi"
    assert ask(fake, token, prompt) == fake.reply_for(prompt, 1)
    assert any(logged in line for line in debug_log), debug_log


# -- closing a stream closes the upstream connection at once -----------------------------------------


async def disconnect_seen(fake: FakeHailuo, within: float = 1.0) -> float:
    """Seconds until the fake server saw the client leave (fails after ``within``)."""
    started = time.monotonic()
    while fake.disconnects < 1 or fake.active_streams:
        elapsed = time.monotonic() - started
        assert elapsed < within, f"no disconnect after {elapsed:.2f} s"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


@pytest.mark.usefixtures("transport")
async def test_aclose_on_the_provider_generator_disconnects_at_once(fake, token):
    stream = HailuoAI.create_async_generator("MiniMax", user(LONG), api_key=token, base_url=fake.url)
    async for chunk in stream:
        if isinstance(chunk, str):
            break
    assert fake.active_streams == 1
    await stream.aclose()
    await disconnect_seen(fake)


async def test_aclose_on_an_async_client_stream_disconnects_at_once(fake, token):
    client = AsyncClient(api_key=token, base_url=fake.url)
    stream = client.chat.completions.create(
        model="MiniMax", messages=user(LONG), provider="HailuoAI", stream=True
    )
    async for chunk in stream:
        if chunk.choices[0].delta.content:
            break
    await stream.aclose()
    await disconnect_seen(fake)


@pytest.mark.usefixtures("transport")
async def test_cancelling_the_consumer_disconnects_at_once(fake, token):
    """What an ASGI server does when its client goes away (``g4f api``)."""
    client = AsyncClient(api_key=token, base_url=fake.url)
    first_text = asyncio.Event()

    async def consume() -> None:
        stream = client.chat.completions.create(
            model="MiniMax", messages=user(LONG), provider="HailuoAI", stream=True
        )
        async for chunk in stream:
            if chunk.choices[0].delta.content:
                first_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_text.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await disconnect_seen(fake)


def test_closing_a_sync_stream_disconnects_at_once(fake, token):
    stream = ask(fake, token, LONG, stream=True)
    for chunk in stream:
        if isinstance(chunk, str):
            break
    stream.close()
    asyncio.run(disconnect_seen(fake))


def test_an_error_mid_stream_leaves_no_stream_open(fake, token):
    with pytest.raises(G4FError):
        ask(fake, token, "[[scenario:stream_error after=2 delay=0.01]] hi")
    deadline = time.monotonic() + 1.0  # the server's handler may finish a moment later
    while fake.active_streams:
        assert time.monotonic() < deadline, "a stream is still open on the server"
        time.sleep(0.01)


async def test_a_slow_consumer_is_no_stall(fake, token):
    """The answer arrived while the caller was busy elsewhere for longer than
    ``stream_timeout``: nothing timed out, nothing is lost."""
    prompt = "[[scenario:normal frames=5 hold=5 prebuild=1]] take your time"  # body may come with headers
    chunks: list[object] = []
    stream = HailuoAI.create_async_generator(
        "MiniMax", user(prompt), api_key=token, base_url=fake.url, stream_timeout=0.5
    )
    async for chunk in stream:
        chunks.append(chunk)
        if len(chunks) == 1:
            await asyncio.sleep(1.5)  # every frame arrives meanwhile; the body stays open
    assert text_of(chunks) == fake.reply_for(prompt, 1)
    assert isinstance(chunks[-1], FinishReason)


async def test_the_body_read_timeout_needs_no_timer_per_read(fake, token, monkeypatch):
    """aiohttp's sock_read restarts a timer on every network read; the plugin's
    watchdog looks a few times per timeout instead."""
    loop = asyncio.get_running_loop()
    timers: list[float] = []
    real_call_at = loop.call_at

    def counting_call_at(when, callback, *args, **kwargs):
        timers.append(when)
        return real_call_at(when, callback, *args, **kwargs)

    prompt = "[[scenario:normal frames=200 delay=0.005]] many small frames"
    monkeypatch.setattr(loop, "call_at", counting_call_at)
    reads = 0
    async for chunk in HailuoAI.create_async_generator(
        "MiniMax", user(prompt), api_key=token, base_url=fake.url, stream_timeout=30
    ):
        reads += isinstance(chunk, str)
    assert reads > 50  # the frames came (nearly) one by one
    assert len(timers) < 20, len(timers)


async def test_a_reused_connection_still_bounds_the_wait_for_headers(fake, token):
    """The watchdog switches aiohttp's per-read timeout off for one body only: the
    next request on the same keep-alive connection is bounded again."""

    async def reply(prompt: str, **kwargs) -> str:
        chunks = [
            chunk
            async for chunk in HailuoAI.create_async_generator(
                "MiniMax", user(prompt), api_key=token, base_url=fake.url, **kwargs
            )
        ]
        return text_of(chunks)

    assert await reply("first") == fake.reply_for("first", 1)
    started = time.monotonic()
    with pytest.raises(G4FTimeoutError, match="did not answer within 1 s"):
        await reply("[[scenario:stall_before seconds=30]] second", timeout=1, retries=0)
    assert time.monotonic() - started < 5
    assert fake.connections_opened == 1  # the same connection both times


async def test_the_watchdog_counts_a_body_that_came_with_the_headers_as_unread():
    """Bytes already buffered when the watchdog starts are not yet read: no stall
    until the reader has taken them; then silence for the limit is one."""

    class Content:
        total_bytes = 100  # arrived with the headers
        error: BaseException | None = None

        def is_eof(self) -> bool:
            return False

        def set_exception(self, error: BaseException) -> None:
            self.error = error

    class Response:
        content = Content()
        connection = None

    response = Response()
    watchdog = _http.ReadWatchdog(response, 0.1)  # type: ignore[arg-type]
    try:
        await asyncio.sleep(0.35)
        assert response.content.error is None  # the caller is slow, nothing stalled
        watchdog.consumed = 100
        await asyncio.sleep(0.35)
        assert isinstance(response.content.error, asyncio.TimeoutError)
    finally:
        watchdog.cancel()
