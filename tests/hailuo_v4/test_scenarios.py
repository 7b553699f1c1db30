"""Every fake-server scenario through ``g4f.ChatCompletion.create``: the ugly
streams end in the full answer, the broken ones in a g4f error, never in a
truncated answer passed off as complete."""

from __future__ import annotations

import time

import g4f
import pytest
from g4f.errors import (
    BadRequestError,
    CloudflareError,
    MissingAuthError,
    PaymentRequiredError,
    RateLimitError,
    ResponseError,
    ResponseStatusError,
)
from g4f.errors import TimeoutError as G4FTimeoutError
from g4f.providers.response import FinishReason, Sources, SuggestedFollowups


def ask(fake, token, prompt, **kwargs):
    return g4f.ChatCompletion.create(
        model="MiniMax",
        messages=[{"role": "user", "content": prompt}],
        provider="HailuoAI",
        api_key=token,
        base_url=fake.url,
        **kwargs,
    )


def text_of(chunks):
    return "".join(c for c in chunks if isinstance(c, str))


COMPLETE = [
    "normal",
    "split_frames",
    "crlf",
    "heartbeat",
    "type8_end",
    "isend_only",
    "fffd",
    "malformed_json",
    "unknown_event",
    "invalid_utf8 where=event",
    "normal chars=cjk ascii=1 frames=20",
    "split_frames chars=cjk size=300 frames=10",
]


@pytest.mark.parametrize("scenario", COMPLETE)
@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_streams_that_end_well_give_the_whole_answer(fake, token, scenario, stream):
    prompt = f"[[scenario:{scenario}]] tell me"
    result = ask(fake, token, prompt, stream=stream)
    chunks = list(result) if stream else [result]
    assert text_of(chunks) == fake.reply_for(prompt, 1)
    assert "\ufffd" not in text_of(chunks)
    if stream:
        assert isinstance(chunks[-1], FinishReason)


def test_invalid_utf8_inside_content_is_replaced_not_fatal(fake, token):
    prompt = "[[scenario:invalid_utf8 where=content]] hi"
    answer = ask(fake, token, prompt)
    assert answer == fake.reply_for(prompt, 1)


def test_follow_up_gives_sources_and_suggestions(fake, token):
    prompt = "[[scenario:follow_up]] search"
    chunks = list(ask(fake, token, prompt, stream=True))
    assert text_of(chunks) == fake.reply_for(prompt, 1)
    (sources,) = [c for c in chunks if isinstance(c, Sources)]
    assert sources.list and all(s["url"].startswith("https://") for s in sources.list)
    assert any(isinstance(c, SuggestedFollowups) and c.suggestions for c in chunks)
    # g4f renders sources as links after the answer in a non-stream reply
    answer = ask(fake, token, prompt)
    assert answer.startswith(fake.reply_for(prompt, 1)) and sources.list[0]["url"] in answer


@pytest.mark.usefixtures("transport")
def test_one_megabyte_cumulative_reply_streams(fake, token):
    prompt = "[[scenario:giant_line size=1000000 frames=8]] long"
    chunks = list(ask(fake, token, prompt, stream=True))
    assert len(text_of(chunks)) == 1_000_000
    assert text_of(chunks) == fake.reply_for(prompt, 1)


def test_giant_escaped_cjk_line_streams(fake, token):
    prompt = "[[scenario:giant_line size=200000 chars=cjk ascii=1 frames=4]] long"
    assert ask(fake, token, prompt) == fake.reply_for(prompt, 1)


FAILING = [
    ("no_end", ResponseError, "incomplete"),
    ("drop", ResponseError, "incomplete"),
    ("stream_error msg=服务繁忙", ResponseError, "服务繁忙"),
    ("banned", MissingAuthError, "banned"),
    ("no_credits", PaymentRequiredError, "credits"),
    ("http_400", BadRequestError, "signature"),
    ("http_401", MissingAuthError, "401"),
    ("http_403", CloudflareError, "Cloudflare"),
    ("http_429", RateLimitError, "retry after 7"),
    ("http_500", ResponseStatusError, "500"),
    ("http_502", ResponseStatusError, "502"),
    ("http_503", ResponseStatusError, "503"),
    ("html_200", ResponseStatusError, "HTML page"),
    ("empty_200", ResponseError, "empty"),
    ("json_200_error code=1000 msg=出错了", ResponseError, "出错了"),
]


@pytest.mark.usefixtures("transport")
@pytest.mark.parametrize(("scenario", "error", "words"), FAILING, ids=[f[0].split()[0] for f in FAILING])
def test_broken_replies_raise_the_matching_g4f_error(fake, token, scenario, error, words):
    with pytest.raises(error, match=words) as raised:
        ask(fake, token, f"[[scenario:{scenario}]] hi", retries=0)
    assert token not in str(raised.value)
    assert len(str(raised.value)) < 400


def test_rate_limit_error_carries_the_delay(fake, token):
    with pytest.raises(RateLimitError) as raised:
        ask(fake, token, "[[scenario:http_429 retry=12]] hi")
    assert raised.value.retry_after == 12


@pytest.mark.usefixtures("transport")
@pytest.mark.parametrize("scenario", ["drop", "no_end", "stream_error"])
def test_a_stream_yields_what_arrived_then_raises(fake, token, scenario):
    stream = ask(fake, token, f"[[scenario:{scenario} after=2]] hi", stream=True)
    received = []
    with pytest.raises(ResponseError):
        for chunk in stream:
            received.append(chunk)
    assert text_of(received), "the text that arrived is passed on"
    assert not any(isinstance(c, FinishReason) for c in received), "never marked complete"


@pytest.mark.usefixtures("transport")
def test_stall_before_the_reply_times_out_promptly(fake, token):
    started = time.monotonic()
    with pytest.raises(G4FTimeoutError):
        ask(fake, token, "[[scenario:stall_before seconds=30]] hi", timeout=1, retries=0)
    assert time.monotonic() - started < 5


@pytest.mark.usefixtures("transport")
def test_stall_during_the_stream_times_out_promptly(fake, token):
    started = time.monotonic()
    stream = ask(fake, token, "[[scenario:stall_during seconds=30]] hi", stream=True, stream_timeout=1)
    received = []
    with pytest.raises(G4FTimeoutError, match="incomplete"):
        for chunk in stream:
            received.append(chunk)
    assert text_of(received) and time.monotonic() - started < 5


@pytest.mark.usefixtures("transport")
def test_server_errors_before_the_reply_are_retried(fake, token):
    prompt = "[[scenario:normal fail_first=2 fail_status=502]] retry me"
    assert ask(fake, token, prompt, retries=2) == fake.reply_for(prompt, 1)
    assert [r.status for r in fake.chat_requests()] == [502, 502, 200]


def test_client_errors_are_never_retried(fake, token):
    with pytest.raises(BadRequestError):
        ask(fake, token, "[[scenario:http_400]] hi", retries=3)
    assert len(fake.chat_requests()) == 1


def test_retries_are_bounded(fake, token):
    with pytest.raises(ResponseStatusError, match="503"):
        ask(fake, token, "[[scenario:http_503]] hi", retries=1)
    assert len(fake.chat_requests()) == 2


def test_refused_connection_is_a_clear_error(token):
    import socket

    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ResponseError, match=r"127\.0\.0\.1"):
        g4f.ChatCompletion.create(
            model="",
            messages=[{"role": "user", "content": "hi"}],
            provider="HailuoAI",
            api_key=token,
            base_url=f"http://127.0.0.1:{port}",
            retries=0,
        )
