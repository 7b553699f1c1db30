"""The Hailuo ``/v4`` chain (protocol ``hailuo-v4``): the site, the device (the token's, the one
remembered for the account, else a registration, remembered), ``user/info`` and one chat."""

from __future__ import annotations

from typing import Any

from g4f_hailuo._config import HAILUO_V4, Settings
from g4f_hailuo.accounts import devices
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.diagnosis.report import Passed, mask
from g4f_hailuo.diagnosis.runner import PROMPT, Runner, answered, collect_text, reach
from g4f_hailuo.protocols.hailuo_v4.client import fetch_user_info
from g4f_hailuo.transport.sessions import PooledSession

__all__ = ["hailuo_v4_chain"]


async def hailuo_v4_chain(run: Runner, identity: Identity, settings: Settings, *, chat: bool) -> None:
    """The steps after the token's own, into ``run.report``, until one fails."""
    async with PooledSession(identity.account, settings.proxy) as session:
        if not await run.step("site", lambda: reach(session, settings, identity.user_agent)):
            return
        current = [identity]

        async def device() -> Passed:
            if identity.device_id is not None:
                return Passed(f"device {mask(identity.device_id)} from the token's claims")
            path = devices.devices_file()
            known = devices.remembered(path, settings.origin, identity.account, identity.uuid)
            current[0] = await devices.with_device(session, settings, identity)
            how = "remembered for the account" if known else "registered now, remembered"
            return Passed(f"device {mask(current[0].device_id)} {how}")

        async def user_info() -> Passed:
            info = await fetch_user_info(session, settings, current[0])
            run.context.user_info_ok = True
            name = info.get("nickName") or info.get("name")
            return Passed(f"the token is accepted (user {mask(str(name)) if name else 'without a name'})")

        async def turn() -> Passed:
            from g4f_hailuo.protocols.base import protocol_for

            messages = [{"role": "user", "content": PROMPT}]
            reply: Any = protocol_for(HAILUO_V4).reply(
                "MiniMax", messages, current[0], settings, return_conversation=False
            )
            text = await collect_text(reply)
            run.report.reply = text
            return answered(text)

        for name, action in (("device", device), ("user/info", user_info)):
            if not await run.step(name, action):
                return
        if chat:
            await run.step("turn", turn)
