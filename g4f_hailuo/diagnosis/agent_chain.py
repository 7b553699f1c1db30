"""The MiniMax Agent chain (protocols ``agent`` and ``matrix``): the site, ``user/info``, ``/config``
(which API generation the account is served), the agent list, a session and one short turn; under
the polling API (``matrix``), the turn right after ``user/info`` or ``/config``.

Unlike the provider, nothing is recovered: a realUserID that is not the token's is reported, never
adopted; a 401 is explained, not retried.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from typing import Any

from g4f_hailuo._config import MATRIX, Settings
from g4f_hailuo.accounts import devices
from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.cli.common import EXIT_AUTH, EXIT_UNAVAILABLE
from g4f_hailuo.diagnosis.report import Failed, Passed, mask
from g4f_hailuo.diagnosis.runner import PROMPT, Runner, answered, collect_text, reach
from g4f_hailuo.protocols.agent import account
from g4f_hailuo.protocols.agent.client import AgentSite, GenCMissing
from g4f_hailuo.protocols.agent.frames import TurnReader
from g4f_hailuo.transport.reply import read_reply
from g4f_hailuo.transport.sessions import PooledSession

__all__ = ["agent_chain"]

MISMATCH = (
    "the realUserID you gave is not this token's: use the bare token, or the realUserID from Local"
    " Storage user_detail_agent"
)
REMEMBERED_MISMATCH = (
    "the realUserID remembered for this account (devices_g4f_hailuo.json) is not this token's: the"
    " provider corrects it after the first 401; or give <realUserID>+<token>"
)
NO_AGENT = (
    "the account has no agent yet: open the site, send one message there (that creates it), then try again"
)
NO_SESSION = (
    "the site made no session for the account's agent: try again; if it persists, record the exchange"
)


def _ids(identity: Identity, origin: str) -> tuple[Identity, str]:
    """The device id and realUserID as the provider would use them (no request), and where the
    realUserID came from: ``given``, ``remembered`` or ``""`` (unknown)."""
    entry = devices.remembered_entry(devices.devices_file(), origin, identity.account)
    device_id = identity.device_id
    if not (device_id and device_id.isdigit() and len(device_id) == 8):
        device_id = entry.get("device_id") or str(random.randint(10_000_000, 99_999_999))
    source = "given" if identity.real_user_id else ("remembered" if entry.get("real_user_id") else "")
    real_user_id = identity.real_user_id or entry.get("real_user_id")
    return dataclasses.replace(identity, device_id=device_id, real_user_id=real_user_id), source


class _AgentChain:
    def __init__(self, run: Runner, site: AgentSite, source: str) -> None:
        self.run = run
        self.site = site
        self.source = source
        self.api = account.GENERATIONS[0][1]
        self.agent_id = ""
        self.session_id = ""

    @property
    def settings(self) -> Settings:
        return self.site.settings

    async def user_info(self) -> Passed:
        given = self.site.identity.real_user_id
        found = account.real_user_id_of(await account.user_info(self.site))
        self.run.secrets.update(filter(None, (found, self.site.identity.device_id)))
        self.run.context.user_info_ok = True
        if given and given != found:
            advice = MISMATCH if self.source == "given" else REMEMBERED_MISMATCH
            raise Failed(
                advice,
                EXIT_AUTH,
                f"the token is accepted; realUserID {mask(given)}, the site's {mask(found)}",
            )
        self.site.identity = dataclasses.replace(self.site.identity, real_user_id=found)
        account.remember_ids(self.site.identity, self.settings.origin)
        said = "matches" if given else "(from the site)"
        return Passed(f"the token is accepted; realUserID {mask(found)} {said}")

    async def config(self) -> Passed:
        """``/config``: which API generation the account is served (``account.probe``: Gen C's
        prefix, then Gen B's; neither: the polling API)."""
        try:
            state = await account.probe(self.site)
        except GenCMissing:
            self.run.report.generation = MATRIX
            tried = " and ".join(prefix for _, prefix in account.GENERATIONS)
            return Passed(
                f"API generation matrix: {tried} are not served to this account (the app page or a 404),"
                " so replies use the older polling API (/matrix), as the provider does"
            )
        self.api, self.run.report.generation = state.api, state.generation
        models = state.models
        listed = ", ".join(models[:4]) + (", …" if len(models) > 4 else "")
        return Passed(f"API generation {state.generation} ({state.api}); {len(models)} models: {listed}")

    async def agents(self) -> Passed:
        answer = await self.site.call("GET", f"{self.api}/agent")
        chosen = account.pick_agent(answer)
        if chosen is None:
            raise Failed(NO_AGENT, EXIT_AUTH, "the agent list is empty")
        self.agent_id = chosen
        agents = answer.get("agents") or (answer.get("data") or {}).get("agents") or []
        roles = [str(agent.get("agent_role")) for agent in agents if isinstance(agent, dict)]
        role = next((str(a.get("agent_role")) for a in agents if str(a.get("name")) == chosen), "?")
        return Passed(f"{len(agents)} agents ({', '.join(roles)}); the '{role}' one, {mask(chosen)}")

    async def session(self) -> Passed:
        from g4f_hailuo.protocols.agent.turn import _session_id

        answer = await self.site.call("POST", f"{self.api}/agent/{self.agent_id}/session", {})
        session_id = _session_id(answer)
        if not session_id:
            raise Failed(NO_SESSION, EXIT_UNAVAILABLE, "a 200 without a session id")
        self.session_id = session_id
        return Passed(f"session {mask(session_id)} created")

    async def turn(self) -> Passed:
        payload = {"content": PROMPT, "turn_id": str(uuid.uuid4()), "worktreeMode": False}
        response = await self.site.open_stream(f"{self.api}/session/{self.session_id}/message", payload)
        settings = self.settings
        try:
            chunks = read_reply(
                response, TurnReader(), settings.read_timeout, "MiniMax Agent", settings.origin
            )
            text = await collect_text(chunks)
        finally:
            response.close()
        self.run.report.reply = text
        return answered(text)

    async def matrix_turn(self) -> Passed:
        from g4f_hailuo.protocols.base import protocol_for

        messages = [{"role": "user", "content": PROMPT}]
        reply: Any = protocol_for(MATRIX).reply(
            "MiniMax", messages, self.site.identity, self.settings, return_conversation=False
        )
        text = await collect_text(reply)
        self.run.report.reply = text
        return answered(text)


async def agent_chain(run: Runner, identity: Identity, settings: Settings, *, chat: bool) -> None:
    """The steps after the token's own, into ``run.report``, until one fails."""
    async with PooledSession(identity.account, settings.proxy) as session:
        if not await run.step("site", lambda: reach(session, settings, identity.user_agent)):
            return
        with_ids, source = _ids(identity, settings.origin)
        chain = _AgentChain(run, AgentSite(session, settings, with_ids), source)
        if not await run.step("user/info", chain.user_info):
            return
        if settings.protocol == MATRIX:
            run.report.generation = MATRIX
        elif not await run.step("config", chain.config):
            return
        if run.report.generation == MATRIX:
            if chat:
                await run.step("turn", chain.matrix_turn)
            return
        if not await run.step("agents", chain.agents) or not await run.step("session", chain.session):
            return
        if chat:
            await run.step("turn", chain.turn)
