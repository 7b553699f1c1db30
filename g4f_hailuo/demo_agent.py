"""The offline demo's MiniMax Agent half (``python -m g4f_hailuo.demo``, the default): three
turns on the fake Agent site with a chosen model and its reasoning shown dimmed, then a check
that the site saw one session whose later turns carried only the newest message."""

from __future__ import annotations

import sys
from typing import Any

DEMO_MODEL = "MiniMax-M3"
_DIM, _RESET = "\x1b[2m", "\x1b[0m"


def run(prompts: list[str]) -> int:
    import g4f
    from g4f import debug
    from g4f.Provider import ProviderLoader
    from g4f.providers.response import JsonConversation, Reasoning

    from g4f_hailuo.fake.agent.server import run_in_thread

    debug.version_check = False  # g4f would ask PyPI for its newest version mid-demo
    provider = ProviderLoader.from_name("HailuoAI")
    out = sys.stdout
    dim, reset = (_DIM, _RESET) if out.isatty() else ("", "")
    out.write(f"g4f resolves provider 'HailuoAI' to {provider.__module__}.{provider.__name__}\n")
    server = run_in_thread()
    try:
        server.scenario = "normal frames=12 delay=0.03"  # paced, so the streaming shows
        token = server.issue_token(name="demo")
        out.write(f"fake MiniMax Agent site at {server.url}; model {DEMO_MODEL}, reasoning on\n\n")
        messages: list[dict[str, Any]] = []
        conversation: JsonConversation | None = None
        for prompt in prompts:
            messages.append({"role": "user", "content": prompt})
            out.write(f"you:     {prompt}\n")
            answer: list[str] = []
            thinking = False
            for chunk in g4f.ChatCompletion.create(
                model=DEMO_MODEL,
                messages=messages,
                provider="HailuoAI",
                stream=True,
                api_key=server.api_key(token),
                base_url=server.url,
                conversation=conversation,
                reasoning_effort="medium",
            ):
                if isinstance(chunk, Reasoning) and chunk.token:
                    if not thinking:
                        out.write(f"{dim}thinking: ")
                        thinking = True
                    out.write(chunk.token)
                elif isinstance(chunk, str):
                    if not answer:
                        out.write(f"{reset}\n" if thinking else "")
                        out.write("minimax: ")
                    answer.append(chunk)
                    out.write(chunk)
                elif isinstance(chunk, JsonConversation):
                    conversation = chunk
                out.flush()
            out.write("\n\n")
            messages.append({"role": "assistant", "content": "".join(answer)})
        sessions = server.sessions(token)
        sent = [len(contents) for contents in sessions.values()]
        out.write(f"the site has {len(sessions)} session(s) with {sum(sent)} messages\n")
        ok = continues_one_session(sessions, prompts)
        out.write("multi-turn chat: OK\n" if ok else "multi-turn chat: UNEXPECTED (expected one session)\n")
        return 0 if ok else 1
    finally:
        server.stop()


def continues_one_session(sessions: dict[str, list[str]], prompts: list[str]) -> bool:
    """One session from the first turn on, each later turn carrying only its own message."""
    if len(sessions) != 1:
        return False
    (contents,) = sessions.values()
    return len(contents) == len(prompts) and contents[1:] == prompts[1:]
