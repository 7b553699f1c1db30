"""``protocols.matrix.polling``: successive ``get_chat_detail`` answers to g4f chunks (pure tables)."""

from __future__ import annotations

from typing import Any

import pytest
from g4f.errors import ResponseError
from g4f.providers.response import FinishReason, Reasoning

from g4f_hailuo.protocols.matrix.polling import ChatPoller

USER = 500


def user(msg_id: Any = USER, text: str = "hi") -> dict[str, Any]:
    return {"msg_id": msg_id, "msg_type": 1, "msg_content": text}


def said(msg_id: Any, text: str = "", thinking: str | None = None, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"msg_id": msg_id, "msg_type": 2, "msg_content": text, **extra}
    if thinking is not None:
        message["extra_info"] = {"thinking_content": thinking}
    return message


def detail(*messages: dict[str, Any], status: int = 1) -> dict[str, Any]:
    return {"chat": {"chat_status": status}, "messages": list(messages), "base_resp": {"status_code": 0}}


def shown(chunk: Any) -> Any:
    """A chunk as a comparable value: text as is, Reasoning as ("think", token) or ("status", line)."""
    if isinstance(chunk, Reasoning):
        return ("status", chunk.status) if chunk.status else ("think", chunk.token)
    return chunk


def run(polls: list[dict[str, Any]], user_msg_id: Any = USER) -> list[list[Any]]:
    poller = ChatPoller(user_msg_id)
    return [[shown(chunk) for chunk in poller.feed(answer)] for answer in polls]


def test_example_2_of_the_protocol_doc():
    poller = ChatPoller(USER)
    first = poller.feed(detail(user(), said(501, "你好", "用户")))
    assert [shown(c) for c in first] == [("think", "用户"), "你好"]
    assert not poller.done
    whole = "你好！有什么可以帮你？"  # noqa: RUF001 (Chinese punctuation, as the site writes it)
    last = poller.feed(detail(user(), said(501, whole, "用户打招呼"), status=2))
    assert [shown(c) for c in last] == [("think", "打招呼"), whole[2:]]
    assert poller.done
    (finish,) = poller.finish()
    assert isinstance(finish, FinishReason) and finish.reason == "stop"


@pytest.mark.parametrize(
    ("polls", "expected"),
    [
        pytest.param(
            [detail(user(), said(501, "On it.")), detail(user(), said(501, "On it."), said(502, "Answer"))],
            [["On it."], ["\n\nAnswer"]],
            id="placeholder-then-a-new-msg_id-is-a-new-paragraph",
        ),
        pytest.param(
            [
                detail(user(), said(501, "", tool_call=[{"id": "c1", "function": {"name": "web_search"}}])),
                detail(user(), said(501, "", tool_call=[{"id": "c1", "function": {"name": "web_search"}}])),
                detail(user(), said(501, ""), said(502, "Found it")),
            ],
            [[("status", "Searching the web")], [], ["Found it"]],
            id="a-tool-step-is-a-status-line-once-never-text-and-no-paragraph-before-the-first-text",
        ),
        pytest.param(
            [detail(user(1), said(2, "old answer"), user(), said(501, "new"))],
            [["new"]],
            id="messages-before-the-users-are-an-earlier-turn",
        ),
        pytest.param(
            [detail(said(499, "older"), said(501, "mine"))],
            [["mine"]],
            id="without-the-user-message-any-larger-msg_id-counts",
        ),
        pytest.param(
            [
                detail(user(), said(501, "Hel")),
                detail(user(), said(501, "Hel")),
                detail(user(), said(501, "He")),
            ],
            [["Hel"], [], []],
            id="a-repeat-or-a-shorter-text-adds-nothing",
        ),
        pytest.param(
            [detail(user(), said(501, "Helo")), detail(user(), said(501, "Hello, world"))],
            [["Helo"], ["o, world"]],
            id="a-revised-text-yields-only-what-lies-beyond-the-shown-length",
        ),
        pytest.param(
            [detail(user("500"), said("501", "a")), detail(user("500"), said("501", "ab"))],
            [["a"], ["b"]],
            id="ids-as-strings",
        ),
        pytest.param(
            [
                detail(user(), said(501, "A", "t1")),
                detail(user(), said(501, "A", "t1"), said(502, "B", "t2")),
            ],
            [[("think", "t1"), "A"], [("think", "\n\nt2"), "\n\nB"]],
            id="thinking-of-a-new-message-is-a-new-paragraph-too",
        ),
        pytest.param(
            [detail(user(), said(501, "x"), {"msg_id": 502, "msg_type": 3, "msg_content": "a tool result"})],
            [["x"]],
            id="only-assistant-messages-count",
        ),
        pytest.param(
            [{"data": detail(user(), said(501, "wrapped"))}],
            [["wrapped"]],
            id="an-answer-wrapped-in-data",
        ),
    ],
)
def test_polls_yield_each_new_piece_once(polls, expected):
    assert run(polls) == expected


def test_without_a_user_msg_id_the_messages_after_the_last_user_message_count():
    polls = [detail(user(1), said(2, "earlier"), user(3), said(4, "now"))]
    assert run(polls, user_msg_id=None) == [["now"]]


def test_a_message_that_grows_after_a_later_one_started_loses_nothing():
    polls = [
        detail(user(), said(501, "a"), said(502, "b")),
        detail(user(), said(501, "a2"), said(502, "b")),
    ]
    assert run(polls) == [["a", "\n\nb"], ["\n\n2"]]


def test_progress_is_new_chunks_or_a_new_status():
    poller = ChatPoller(USER)
    poller.feed(detail(user(), said(501, "a")))
    assert poller.progressed
    poller.feed(detail(user(), said(501, "a")))
    assert not poller.progressed and not poller.done
    poller.feed(detail(user(), said(501, "a"), status=2))
    assert poller.progressed and poller.done


@pytest.mark.parametrize(
    "last",
    [detail(user(), status=2), detail(user(), said(501, "", "only thinking"), status=2)],
    ids=["nothing", "thinking-only"],
)
def test_a_chat_done_without_any_text_is_a_response_error(last):
    poller = ChatPoller(USER)
    poller.feed(last)
    assert poller.done
    with pytest.raises(ResponseError, match="without any answer text"):
        poller.finish()


def test_text_length_counts_what_was_yielded():
    poller = ChatPoller(USER)
    poller.feed(detail(user(), said(501, "abc")))
    poller.feed(detail(user(), said(501, "abc"), said(502, "de")))
    assert poller.text_length == len("abc\n\nde")
