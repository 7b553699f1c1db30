"""The offline demo: a three-turn streamed chat through g4f, against the bundled fake server.

    python -m g4f_hailuo.demo

Everything goes through g4f's own front door, ``g4f.ChatCompletion.create(provider="HailuoAI")``;
only the server is fake (a local copy of the Hailuo protocol on a loopback port).
"""

from __future__ import annotations

import argparse
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
    args = parser.parse_args(argv)
    prompts = args.prompts or list(DEFAULT_PROMPTS)

    import g4f
    from g4f import debug
    from g4f.Provider import ProviderLoader
    from g4f.providers.response import JsonConversation, TitleGeneration

    from .fake_server import run_in_thread

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
        for prompt in prompts:
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
        sent = server.chat_requests()
        chat_ids = [request.form["chatID"] if request.form else "?" for request in sent]
        out.write(f"the server received {len(sent)} messages; chatIDs sent: {', '.join(chat_ids)}\n")
        ok = len(sent) == len(prompts) and chat_ids[0] == "0" and len(set(chat_ids[1:])) <= 1
        out.write("multi-turn chat: OK\n" if ok else "multi-turn chat: UNEXPECTED\n")
        return 0 if ok else 1
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
