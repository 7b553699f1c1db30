"""Another process on the machine, streaming one reply (tests of the leases shared by processes).

``python tests/_lease_holder.py COOKIES_DIR BASE_URL API_KEY PROMPT``: the reply through
``HailuoAI`` with the accounts of API_KEY and g4f's cookies dir COOKIES_DIR (so: the machine's
leases there); prints ``streaming`` at its first text, ``done`` at its end.
"""

from __future__ import annotations

import asyncio
import sys


async def main(cookies: str, base_url: str, api_key: str, prompt: str) -> None:
    from g4f import debug
    from g4f.cookies import CookiesConfig

    from g4f_hailuo.provider import HailuoAI

    debug.version_check = False
    CookiesConfig.cookies_dir = cookies
    started = False
    reply = HailuoAI.create_async_generator(
        "MiniMax", [{"role": "user", "content": prompt}], api_key=api_key, base_url=base_url
    )
    async for chunk in reply:
        if isinstance(chunk, str) and chunk and not started:
            started = True
            print("streaming", flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
