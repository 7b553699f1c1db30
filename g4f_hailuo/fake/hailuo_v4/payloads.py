"""The fixed JSON bodies and texts of the fake Hailuo ``/v4`` site (pure data).

``statusInfo`` bodies of success (:data:`OK_STATUS`), of a token it does not accept (HTTP 401
code 1004) and of a bad request or signature (HTTP 400 code 2); the code of a chat this token
does not own; the busy message of error frames; what the ``follow_up`` scenario sends.
"""

from __future__ import annotations

__all__ = [
    "AUTH_ERROR_BODY",
    "BAD_REQUEST_BODY",
    "BUSY_MESSAGE",
    "CHAT_NOT_FOUND",
    "FOLLOW_UP_QUESTION",
    "OK_STATUS",
    "SEARCH_LINKS",
]

OK_STATUS = {"code": 0, "message": "成功"}
AUTH_ERROR_BODY = {"statusInfo": {"code": 1004, "message": "登录状态已失效，请重新登录"}}  # noqa: RUF001 (Chinese punctuation)
BAD_REQUEST_BODY = {"statusInfo": {"code": 2, "message": "请求异常，请检查请求参数"}, "data": {}}  # noqa: RUF001 (Chinese punctuation)
CHAT_NOT_FOUND = (1200002, "会话不存在 (chat not found)")
BUSY_MESSAGE = "服务繁忙，请稍后再试"  # noqa: RUF001 (Chinese punctuation)
FOLLOW_UP_QUESTION = "Would you like to know more about this topic?"
SEARCH_LINKS = [
    {"detail": "Example page A", "url": "https://example.com/a"},
    {"detail": "Example page B", "url": "https://example.com/b"},
]
