"""What to do about a failed step (pure): the error it raised and the site's last answer, turned
into advice and the command line's exit code.

The order matters: a failure of the network comes first (nothing of the site was seen), then a
bot-protection page (whatever status it came with), then the site's own answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from g4f.errors import (
    BadRequestError,
    CloudflareError,
    G4FError,
    MissingAuthError,
    PaymentRequiredError,
    RateLimitError,
    ResponseError,
    ResponseStatusError,
)
from g4f.errors import TimeoutError as G4FTimeoutError

from g4f_hailuo.cli.common import EXIT_AUTH, EXIT_ERROR, EXIT_UNAVAILABLE, PROG, describe, exit_code_for
from g4f_hailuo.diagnosis.observe import bot_wall, clock_skew, network_failure
from g4f_hailuo.transport.recording_file import Exchange

__all__ = ["Context", "explain", "wall_advice"]

USER_INFO = "user/info"
_OTHER = {"intl": "cn", "cn": "intl"}
_FENCE = (
    "the site answered 401 with an empty body while user/info accepts the token: a region fence —"
    " try `--region {other}` (an account of the other site), or a proxy outside mainland China"
)
_REFUSED = (
    "the site refuses this token: it expired or was revoked (log in again: `{prog} login`), or it"
    " belongs to the other region (try `--region {other}`)"
)
_WALL = (
    "{vendor} challenge: the site's bot protection refuses this client. Install the `impersonate` extra"
    " (when available: pip install 'g4f-hailuo[impersonate]'), try another network or a proxy, or log"
    " in with `{prog} login --browser` to forward the browser's cookies"
)
_SIGNATURE = (
    "the site refused the request's signature: check this machine's clock (NTP){skew}; if it is right,"
    " the site changed its signing and this package needs an update"
)


@dataclass
class Context:
    """What the steps so far established, which changes the meaning of an answer."""

    origin: str
    region: str
    proxy: str | None
    read_timeout: float
    user_info_ok: bool = False  # user/info accepted the token
    claims_region: str | None = None  # the region the token's claims suggest


def wall_advice(vendor: str) -> str:
    """What to do about a bot-protection page of ``vendor`` (Cloudflare, Akamai, a firewall)."""
    return _WALL.format(vendor=vendor, prog=PROG)


def _other_region(context: Context) -> str:
    if context.claims_region and context.claims_region != context.region:
        return context.claims_region
    return _OTHER.get(context.region, "cn")


def explain(step: str, error: BaseException, exchange: Exchange | None, context: Context) -> tuple[str, int]:
    """``(advice, exit code)`` for ``error``, raised by ``step``; ``exchange`` is the step's last
    recorded answer (``None`` if it got none)."""
    network = network_failure(error, context.origin, context.proxy)
    answered = exchange is not None and exchange.status is not None
    if network is not None and not answered:
        what, advice = network
        return f"{what}: {advice}", EXIT_UNAVAILABLE
    vendor = bot_wall(exchange)
    if vendor is not None:
        return wall_advice(vendor), EXIT_UNAVAILABLE
    if network is not None:  # the answer began, then the connection failed
        what, advice = network
        return f"{what}: {advice}", EXIT_UNAVAILABLE
    status = exchange.status if exchange is not None else None
    message = describe(error)
    if status == 401 or (isinstance(error, MissingAuthError) and "401" in message):
        if step == USER_INFO or not context.user_info_ok:
            return _REFUSED.format(prog=PROG, other=_other_region(context)), EXIT_AUTH
        return _FENCE.format(other=_other_region(context)), EXIT_AUTH
    if isinstance(error, MissingAuthError):
        return f"the site refuses the account ({message}): log in again (`{PROG} login`)", EXIT_AUTH
    if isinstance(error, PaymentRequiredError):
        return (
            "the account is out of credits: wait for the daily gift, top up on the site, or use another"
            " account",
            EXIT_AUTH,
        )
    if isinstance(error, RateLimitError):
        return _rate_limited(error, message), EXIT_UNAVAILABLE
    if isinstance(error, BadRequestError):
        return _bad_request(message, exchange), EXIT_ERROR
    if isinstance(error, CloudflareError):
        return wall_advice("a firewall"), EXIT_UNAVAILABLE
    if isinstance(error, G4FTimeoutError):
        return (
            f"the site accepted the request but sent no answer for {context.read_timeout:g} s: a slow"
            " network, a proxy holding streamed answers back, or the site is overloaded; try again or"
            " give --timeout",
            EXIT_UNAVAILABLE,
        )
    return _other(error, message, status)


def _rate_limited(error: RateLimitError, message: str) -> str:
    if "2056" in message:
        return "the account's Token Plan quota is used up: wait for it to renew, or use another account"
    if "chat is running" in message:
        return "the account is busy with another reply (chat is running): wait until it ends, then try again"
    delay = getattr(error, "retry_after", None)
    wait = f"wait {delay:g} s (Retry-After)" if isinstance(delay, (int, float)) else "wait a minute"
    return f"the site rate-limits this account or network: {wait} and try again; fewer requests at once"


def _bad_request(message: str, exchange: Exchange | None) -> str:
    if "signature" in message.lower():
        skew = clock_skew(exchange, time.time())
        said = f" — it is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the site's" if skew else ""
        return _SIGNATURE.format(skew=said if skew is not None and abs(skew) > 30 else "")
    if "device_id" in message:
        return (
            "the device id must be the browser's numeric tab_device_id, or left out (an 8-digit one is made)"
        )
    return (
        "the site refused the request's parameters (HTTP 400): this package may need an update; record the"
        f" exchange (`{PROG} doctor --record FILE`) and report it"
    )


def _other(error: BaseException, message: str, status: int | None) -> tuple[str, int]:
    code = exit_code_for(error) if isinstance(error, G4FError) else EXIT_ERROR
    if status is not None and status >= 500:
        return f"the site is failing (HTTP {status}): try again later", EXIT_UNAVAILABLE
    if isinstance(error, ResponseStatusError) and "app page" in message:
        return (
            "the site answered with its web page instead of the API: check --base-url (the API origin, such"
            " as https://agent.minimax.io)",
            EXIT_UNAVAILABLE,
        )
    if isinstance(error, ResponseError) and "incomplete" in message:
        return (
            "the answer broke off before its end: a proxy or firewall cutting long streamed answers, or the"
            " site's trouble; try again or another network",
            EXIT_UNAVAILABLE,
        )
    if isinstance(error, ResponseError):
        return f"the site reported an error: {message}", code
    return f"unexpected: {type(error).__name__}: {message}", code
