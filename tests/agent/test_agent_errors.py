"""MiniMax Agent errors (protocol doc, section 8): the site's words to g4f errors."""

from __future__ import annotations

from typing import Any

import pytest
from g4f.errors import (
    BadRequestError,
    MissingAuthError,
    PaymentRequiredError,
    RateLimitError,
    ResponseError,
)

from g4f_hailuo.protocols.agent.errors import base_resp_code, error_for_code, error_for_turn_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Token Plan usage limit reached (2056), try later", RateLimitError),
        ("error code:2056", RateLimitError),
        ("status 1400010161: insufficient balance", PaymentRequiredError),
        ("Not Enough Credits to run this task", PaymentRequiredError),
        ("chat is running", RateLimitError),
        ("Chat Is Running, please wait", RateLimitError),
        ("upstream model overloaded", ResponseError),
        # 2056 inside a longer number is no quota code
        ("request 120560 failed", ResponseError),
        ("trace 14000101610 failed", ResponseError),
    ],
)
def test_turn_text_maps_to_error(text: str, expected: type[Exception]) -> None:
    error = error_for_turn_text(text)
    assert type(error) is expected
    message = str(error)
    assert message.startswith("MiniMax Agent")
    assert text in message  # the site's own words reach the user


def test_turn_text_quota_wins_over_credits() -> None:
    assert type(error_for_turn_text("2056 not enough credits")) is RateLimitError


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_turn_without_text(text: str) -> None:
    error = error_for_turn_text(text)
    assert type(error) is ResponseError
    assert str(error) == "MiniMax Agent reported an error without a message"


def test_turn_text_is_clipped_to_one_short_line() -> None:
    error = error_for_turn_text("boom\n" + "x" * 5000)
    message = str(error)
    assert "\n" not in message
    assert "boom x" in message
    assert len(message) < 260


@pytest.mark.parametrize(
    ("code", "message", "expected", "fragment"),
    [
        (1400010161, "insufficient", PaymentRequiredError, "not enough credits"),
        (7, "Not enough credits", PaymentRequiredError, "not enough credits"),
        (1022100011, "token expired", MissingAuthError, "other region"),
        (1406011050, "", BadRequestError, "device_id must be numeric"),
        (2056, "usage limit", RateLimitError, "Token Plan"),
        (1200, "chat is running", RateLimitError, "busy"),
        (1400010501, "Environment Variables not configured", ResponseError, "not configured"),
        (42, "", ResponseError, "error 42"),
    ],
)
def test_code_maps_to_error(code: int, message: str, expected: type[Exception], fragment: str) -> None:
    error = error_for_code(code, message)
    assert type(error) is expected
    assert str(error).startswith(f"MiniMax Agent error {code}")
    assert fragment in str(error)


def test_code_message_is_clipped() -> None:
    message = str(error_for_code(99, "y" * 1000))
    assert len(message) < 260
    assert type(error_for_code(99, "y")) is ResponseError  # not a status error: the HTTP call worked


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"base_resp": {"status_code": 0, "status_msg": "success"}}, None),
        ({"base_resp": {"status_code": "0", "status_msg": "success"}}, None),
        ({"base_resp": {"status_code": 1400010161, "status_msg": "no"}}, (1400010161, "no")),
        ({"base_resp": {"status_code": "1022100011", "status_msg": "x"}}, (1022100011, "x")),
        ({"base_resp": {"status_code": " 12 "}}, (12, "")),
        ({"base_resp": {"status_code": 5, "status_msg": None}}, (5, "")),
        ({"statusInfo": {"code": 0, "message": "ok"}}, None),
        ({"statusInfo": {"code": 1022100011, "message": "expired"}}, (1022100011, "expired")),
        ({"data": {"base_resp": {"status_code": 3, "status_msg": "under data"}}}, (3, "under data")),
        ({"data": {"statusInfo": {"code": "4", "message": "m"}}}, (4, "m")),
        # a top-level success is not overruled by data
        ({"base_resp": {"status_code": 0}, "data": {"base_resp": {"status_code": 9}}}, None),
        # unreadable codes are no envelope: bools, text, floats, missing
        ({"base_resp": {"status_code": True, "status_msg": "x"}}, None),
        ({"base_resp": {"status_code": "abc"}}, None),
        ({"base_resp": {"status_code": "--5"}}, None),
        ({"base_resp": {"status_msg": "no code"}}, None),
        ({"base_resp": "oops"}, None),
        ({"data": "text"}, None),
        ({}, None),
    ],
)
def test_base_resp_code(payload: dict[str, Any], expected: tuple[int, str] | None) -> None:
    assert base_resp_code(payload) == expected
