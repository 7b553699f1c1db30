"""The account's plan and credits (protocol doc, section 7): what ``get_quota`` and the status
command show. ``get_membership_info`` is called by the Agent web app under both generations."""

from __future__ import annotations

from typing import Any

from g4f_hailuo.protocols.agent.client import AgentSite

__all__ = ["MEMBERSHIP_PATH", "credits_of", "fetch_membership"]

MEMBERSHIP_PATH = "/matrix/api/v1/commerce/get_membership_info"
FREE_PLAN = 1


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def credits_of(answer: dict[str, Any]) -> dict[str, Any]:
    """Plan and credits from the answer, flat fields or (``is_migrated_to_op``) the
    ``op_credit_summary`` of a migrated account. Unknown values are left out."""
    nested = answer.get("data")
    data: dict[str, Any] = nested if isinstance(nested, dict) else answer
    found: dict[str, Any] = {}
    if isinstance(data.get("plan_name"), str) and data["plan_name"]:
        found["plan"] = data["plan_name"]
    plan_type = _number(data.get("plan_type"))
    if plan_type is not None:
        found["free_plan"] = plan_type == FREE_PLAN
    summary: dict[str, Any] = data
    if data.get("is_migrated_to_op"):
        op_summary = data.get("op_credit_summary")
        summary = op_summary if isinstance(op_summary, dict) else {}
        fields: tuple[tuple[str, str], ...] = (
            ("credits", "total_remaining_amount"),
            ("free_credits", "free_remaining_amount"),
            ("purchased_credits", "purchased_remaining_amount"),
        )
    else:
        summary = data
        fields = (
            ("credits", "total_remains_credit"),
            ("daily_gift_credits", "daily_login_gift_credit_remaining"),
        )
    for name, key in fields:
        value = _number(summary.get(key))
        if value is not None:
            found[name] = int(value) if value == int(value) else value
    credits = data.get("credits")
    daily = credits.get("4") if isinstance(credits, dict) else None
    if isinstance(daily, list) and daily and isinstance(daily[0], dict):
        expires = _number(daily[0].get("expires_at"))
        if expires:
            found["credits_expire_at"] = expires / 1000  # ms on the wire
    return found


async def fetch_membership(site: AgentSite) -> dict[str, Any]:
    return credits_of(await site.call("POST", MEMBERSHIP_PATH, {}))
