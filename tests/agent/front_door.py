"""What the Agent tests share: a chat through ``g4f.ChatCompletion.create`` against the fake site,
and the text, thinking and request paths of what came back."""

from __future__ import annotations

from typing import Any

import g4f
from g4f.providers.response import Reasoning

from g4f_hailuo.fake.agent.server import FakeAgent


def ask(agent: FakeAgent, key: str, content: Any, **kwargs: Any) -> Any:
    """One chat (a string is one user message; a list is the whole history)."""
    messages = [{"role": "user", "content": content}] if isinstance(content, str) else content
    kwargs.setdefault("model", "MiniMax")
    return g4f.ChatCompletion.create(
        messages=messages, provider="HailuoAI", api_key=key, base_url=agent.url, **kwargs
    )


async def stream_with_client(agent: FakeAgent, key: str, prompt: str, **kwargs: Any) -> tuple[str, str]:
    """The answer and the reasoning of one streamed reply through g4f's ``AsyncClient``."""
    from g4f.client import AsyncClient

    stream = AsyncClient(api_key=key).chat.completions.create(
        model="MiniMax",
        messages=[{"role": "user", "content": prompt}],
        provider="HailuoAI",
        base_url=agent.url,
        stream=True,
        **kwargs,
    )
    content, reasoning = [], []
    async for chunk in stream:
        delta = chunk.choices[0].delta
        content.append(delta.content or "")
        reasoning.append(getattr(delta, "reasoning", None) or "")
    return "".join(content), "".join(reasoning)


def text_of(chunks: list[Any]) -> str:
    return "".join(chunk for chunk in chunks if isinstance(chunk, str))


def thinking_of(chunks: list[Any]) -> str:
    """The thinking, without tool status lines."""
    return "".join(c.token for c in chunks if isinstance(c, Reasoning) and c.token and not c.status)


def paths(agent: FakeAgent) -> list[str]:
    return [f"{r.method} {r.path}" for r in agent.requests]
