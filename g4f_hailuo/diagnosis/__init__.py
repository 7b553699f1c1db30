"""Diagnosing the way to the site, step by step (``g4f-hailuo doctor``), stopping at the first failure.

:func:`diagnose` runs, for the configured protocol and the first account the provider would use:
the token (present, well formed, the realUserID of the ``+`` form), its claims (expiry, guest or
login, the region they suggest), then the protocol's chain (:mod:`.agent_chain`,
:mod:`.v4_chain`): the site reachable and not behind a bot-protection page, ``user/info``,
``/config`` and the agent list, a session, one short turn. Each :class:`~.report.Step` has its
time, the HTTP status and the site's code and message of its last answer (read off a
:class:`~g4f_hailuo.transport.recording.Recorder`, which also writes ``--record FILE``), what
was found (ids masked) and what to do (:mod:`.advice`).
"""

from __future__ import annotations

from collections.abc import Sequence

from g4f_hailuo._config import HAILUO_V4, Settings
from g4f_hailuo.accounts.identity import Identity, jwt_claims
from g4f_hailuo.diagnosis.advice import Context
from g4f_hailuo.diagnosis.report import Report, Step, mask
from g4f_hailuo.diagnosis.runner import Runner
from g4f_hailuo.diagnosis.tokens import check_claims, check_token, claims_region
from g4f_hailuo.transport.recording import Recorder

__all__ = ["Report", "Step", "diagnose", "mask"]


async def diagnose(
    settings: Settings, source: str, identities: Sequence[Identity], recorder: Recorder, *, chat: bool = True
) -> Report:
    """Every step until the first failure; ``chat=False`` stops before the turn (it spends credits).
    ``recorder`` must be the current one (``transport.recording.start``)."""
    report = Report(settings.protocol, settings.origin, settings.region, accounts=len(identities))
    context = Context(settings.origin, settings.region, settings.proxy, settings.read_timeout)
    run = Runner(report, recorder, context)
    for known in identities:
        run.secrets.update(filter(None, (known.token, known.real_user_id, known.device_id)))
    if not run.check("token", lambda: check_token(source, tuple(identities), settings.protocol)):
        return report
    identity = identities[0]
    context.claims_region = claims_region(jwt_claims(identity.token))
    if not run.check("claims", lambda: check_claims(identity, settings.region)):
        return report
    if settings.protocol == HAILUO_V4:
        from g4f_hailuo.diagnosis.v4_chain import hailuo_v4_chain

        await hailuo_v4_chain(run, identity, settings, chat=chat)
    else:
        from g4f_hailuo.diagnosis.agent_chain import agent_chain

        await agent_chain(run, identity, settings, chat=chat)
    return report
