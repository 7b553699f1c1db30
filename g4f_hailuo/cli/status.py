"""``g4f-hailuo status``: who is logged in, until when, whether the site still accepts the
token and (MiniMax Agent) the plan and credits left; as text or JSON, never a token."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from g4f_hailuo.cli.account import account_info, agent_account_info, claims_user, current_logins, known_device
from g4f_hailuo.cli.common import (
    EXIT_AUTH,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    NOT_LOGGED_IN,
    PROG,
    TOKEN_ENV,
    CommandError,
    add_site_options,
    describe,
    exit_code_for,
    resolve_site,
    run_checked,
    when,
)
from g4f_hailuo.cli.spinner import Spinner

if TYPE_CHECKING:
    from g4f_hailuo._config import Settings
    from g4f_hailuo.accounts.identity import Identity


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``status`` command in ``commands`` (the main parser's subparsers)."""
    status = commands.add_parser(
        "status",
        help="who is logged in, until when, and whether the token still works",
        description=(
            "Show the accounts the provider would use (from the first source that has any: "
            f"{TOKEN_ENV}, HAILUOAI_API_KEY in the .env of g4f's cookies dir, the login cache, "
            ".har or cookie files there): each account, its token's expiry (from its claims) and "
            "whether the site still accepts it (user/info; MiniMax Agent: the plan and the credits "
            "left, get_membership_info). Never shows a token. Exits 3 when an "
            "account needs a new login, 4 when Hailuo could not be asked."
        ),
    )
    status.add_argument("--offline", action="store_true", help="do not ask Hailuo; read the token only")
    status.add_argument("--json", action="store_true", help="print a JSON object")
    add_site_options(status)
    status.set_defaults(handler=cmd_status)


def cmd_status(args: argparse.Namespace) -> int:
    settings = resolve_site(args)
    source, identities = current_logins(settings)
    report: dict[str, Any] = {
        "logged_in": bool(identities),
        "site": settings.origin,
        "region": settings.region,
        "protocol": settings.protocol,
    }
    if not identities:
        return _status_done(args, report, NOT_LOGGED_IN, EXIT_AUTH)
    report.update(source=source, accounts=[])
    several = len(identities) > 1
    lines = [f"Logged in with {source}" + (f": {len(identities)} accounts." if several else ".")]
    code = EXIT_OK
    for identity in identities:
        account, account_lines, account_code = _account_status(args, settings, identity)
        report["accounts"].append(account)
        lines += [("  " if several else "") + line for line in account_lines]
        code = max(code, account_code, key=_severity)
    if code == EXIT_AUTH:
        lines.append(f"Run `{PROG} login` again" + (" for the accounts marked above." if several else "."))
    return _status_done(args, report, "\n".join(lines), code)


def _severity(code: int) -> int:
    """Which exit code wins when accounts differ: the account's problem, then the site's."""
    return {EXIT_OK: 0, EXIT_UNAVAILABLE: 1, EXIT_AUTH: 2}.get(code, 1)


def _account_status(
    args: argparse.Namespace, settings: Settings, identity: Identity
) -> tuple[dict[str, Any], list[str], int]:
    """One account's report (never its token), its lines of text and its exit code."""

    identity = known_device(settings, identity)
    user = claims_user(identity)
    expires_at = identity.expires_at
    report: dict[str, Any] = {
        "account": identity.account,  # a fingerprint, never the token
        "user_id": str(user.get("id")) if user.get("id") is not None else None,
        "name": user.get("name"),
        "device_id": identity.device_id,
        "expires_at": when(expires_at) if expires_at else None,
        "expired": identity.is_expired(),
        "live": None,
    }
    if expires_at:
        left = expires_at - time.time()
        expiry = f"Token expires: {when(expires_at)} " + (
            f"(in {_in_words(left)})" if left > 0 else f"(EXPIRED {_in_words(left)} ago)"
        )
    else:
        expiry = "Token expires: unknown (the token carries no expiry)"
    if identity.is_expired():
        report["error"] = "the token has expired"
        return report, [_account_line(report), expiry], EXIT_AUTH
    if args.offline:
        return report, [_account_line(report), expiry], EXIT_OK
    if settings.protocol != "hailuo-v4":
        return _agent_status(settings, identity, report, expiry)
    started = time.monotonic()
    answer, failed = _ask_site(
        settings, report, expiry, "whether the token is alive", account_info(settings, identity)
    )
    if failed is not None:
        return failed
    identity, info = answer
    report.update(
        live=True,
        name=info.get("nickName") or report["name"],
        user_id=str(info.get("userID") or report["user_id"] or "") or None,
        device_id=identity.device_id,
    )
    elapsed = (time.monotonic() - started) * 1000
    alive = f"Alive: yes (user/info answered in {elapsed:.0f} ms from {settings.origin})"
    return report, [_account_line(report), expiry, alive], EXIT_OK


_Status = tuple[dict[str, Any], list[str], int]


def _ask_site(
    settings: Settings, report: dict[str, Any], expiry: str, what: str, call: Coroutine[Any, Any, Any]
) -> tuple[Any, _Status | None]:
    """``call``'s answer, or the account's failed status: a transport problem, or the site's
    refusal (``live`` False for an auth error)."""
    from g4f.errors import G4FError

    try:
        with Spinner(f"asking {settings.origin} {what}"):
            return run_checked(call, settings), None
    except CommandError as error:
        report["error"] = str(error)
        return None, (report, [_account_line(report), expiry, f"Alive: unknown ({error})"], error.code)
    except G4FError as error:
        code = exit_code_for(error)
        report.update(live=False if code == EXIT_AUTH else None, error=describe(error))
        site = "Hailuo" if settings.protocol == "hailuo-v4" else "MiniMax Agent"
        verdict = f"no, {site} rejected the token" if code == EXIT_AUTH else "unknown"
        return None, (report, [_account_line(report), expiry, f"Alive: {verdict} ({describe(error)})"], code)


def _agent_status(
    settings: Settings, identity: Identity, report: dict[str, Any], expiry: str
) -> tuple[dict[str, Any], list[str], int]:
    """MiniMax Agent: alive when it answers with the account's plan and credits. The realUserID
    is personal: never shown, like the token."""
    report["user_id"] = None
    started = time.monotonic()
    call = agent_account_info(settings, identity)
    answer, failed = _ask_site(settings, report, expiry, "for the account's credits", call)
    if failed is not None:
        return failed
    identity, credits = answer
    report.update(live=True, device_id=identity.device_id, **credits)
    elapsed = (time.monotonic() - started) * 1000
    lines = [
        _account_line(report),
        expiry,
        f"Alive: yes (answered in {elapsed:.0f} ms from {settings.origin})",
    ]
    plan = credits.get("plan") or ("free" if credits.get("free_plan") else None)
    if plan or "credits" in credits:
        left = f"{credits['credits']:g} credits left" if "credits" in credits else "credits unknown"
        extra = [
            f"{credits[k]:g} {w}"
            for k, w in (
                ("daily_gift_credits", "daily gift"),
                ("free_credits", "free"),
                ("purchased_credits", "purchased"),
            )
            if k in credits
        ]
        lines.append(f"Plan: {plan or 'unknown'}; {left}" + (f" ({', '.join(extra)})" if extra else ""))
    if credits.get("credits_expire_at"):
        report["credits_expire_at"] = when(credits["credits_expire_at"])
        lines.append(f"Credits expire: {report['credits_expire_at']}")
    return report, lines, EXIT_OK


def _in_words(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{max(seconds / 60, 1):.0f} minutes"


def _account_line(report: dict[str, Any]) -> str:
    name = report.get("name") or "(no name)"
    user_id = f", user {report['user_id']}" if report.get("user_id") else ""
    device = f", device {report['device_id']}" if report.get("device_id") else ""
    return f"Account: {name}{user_id}{device}"


def _status_done(args: argparse.Namespace, report: dict[str, Any], text: str, code: int) -> int:
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(text)
    return code
