"""The offline demo: a three-turn streamed chat through g4f, against the bundled fake server.

    python -m g4f_hailuo.demo [--protocol agent|hailuo-v4] [PROMPT ...]

Everything goes through g4f's own front door, ``g4f.ChatCompletion.create(provider="HailuoAI")``;
only the server is fake (a local copy of the protocol on a loopback port). The protocol is
``agent`` (MiniMax Agent, with a model and its reasoning shown) unless ``--protocol`` or
HAILUOAI_PROTOCOL says ``hailuo-v4``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

DEFAULT_PROMPTS = (
    "Hello! Who are you?",
    "What can you help me with?",
    "Thanks, that is all for now.",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="g4f-hailuo demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("prompts", nargs="*", help="your own messages (default: three sample turns)")
    parser.add_argument(
        "--protocol",
        choices=("agent", "hailuo-v4"),
        default="hailuo-v4"
        if os.environ.get("HAILUOAI_PROTOCOL", "").strip().lower() == "hailuo-v4"
        else "agent",
        help="the fake site and protocol (default: agent, or HAILUOAI_PROTOCOL)",
    )
    args = parser.parse_args(argv)
    prompts = args.prompts or list(DEFAULT_PROMPTS)
    if args.protocol == "agent":
        from g4f_hailuo.demo_agent import run as run_agent

        return run_agent(prompts)

    import g4f
    from g4f import debug
    from g4f.Provider import ProviderLoader
    from g4f.providers.response import JsonConversation, TitleGeneration

    from g4f_hailuo.fake.hailuo_v4.server import run_in_thread

    debug.version_check = False  # g4f would ask PyPI for its newest version mid-demo
    provider = ProviderLoader.from_name("HailuoAI")
    out = sys.stdout
    out.write(f"g4f resolves provider 'HailuoAI' to {provider.__module__}.{provider.__name__}\n")
    server = run_in_thread()
    try:
        server.scenario = "normal frames=12 delay=0.03"  # paced, so the streaming shows
        token = server.issue_token(name="demo")
        out.write(f"fake Hailuo server at {server.url}\n\n")
        messages: list[dict[str, Any]] = []
        conversation: JsonConversation | None = None
        opened = ""  # the chatID Hailuo issued for the first turn
        for turn, prompt in enumerate(prompts):
            messages.append({"role": "user", "content": prompt})
            out.write(f"you:    {prompt}\nhailuo: ")
            out.flush()
            answer = []
            for chunk in g4f.ChatCompletion.create(
                model="MiniMax",
                messages=messages,
                provider="HailuoAI",
                stream=True,
                api_key=token,
                base_url=server.url,
                protocol="hailuo-v4",
                conversation=conversation,
            ):
                if isinstance(chunk, str):
                    answer.append(chunk)
                    out.write(chunk)
                    out.flush()
                elif isinstance(chunk, JsonConversation):
                    conversation = chunk
                elif isinstance(chunk, TitleGeneration) and len(messages) == 1:
                    out.write(f"[title: {chunk.title}] ")
            out.write("\n\n")
            messages.append({"role": "assistant", "content": "".join(answer)})
            if turn == 0:
                opened = str(getattr(conversation, "chatID", "") or "")
        sent = server.chat_requests()
        chat_ids = [request.form["chatID"] if request.form else "?" for request in sent]
        out.write(f"the server received {len(sent)} messages; chatIDs sent: {', '.join(chat_ids)}\n")
        ok = continues_one_chat(chat_ids, opened, len(prompts))
        if ok:
            out.write("multi-turn chat: OK\n")
        else:
            out.write(
                "multi-turn chat: UNEXPECTED (expected chatID 0 for the first message, then the chat it"
                f" opened, {opened or '?'}, for every later one)\n"
            )
        return 0 if ok else 1
    finally:
        server.stop()


def continues_one_chat(chat_ids: list[str], opened: str, turns: int) -> bool:
    """One Hailuo chat from the first turn on: the first message starts a chat (chatID "0"),
    the answer opens one (``opened``, a non-zero id), and every later message continues that one."""
    if len(chat_ids) != turns or not chat_ids or chat_ids[0] != "0":
        return False
    if not opened.isdigit() or opened == "0":
        return False
    return all(chat_id == opened for chat_id in chat_ids[1:])


if __name__ == "__main__":
    raise SystemExit(main())
