"""``get_quota``: what g4f's GUI calls to check a provider. Cheap and truthful: the plan and the
credits left on the Agent (flat and migrated accounts), never a chat."""

from __future__ import annotations

import pytest
from g4f.errors import MissingAuthError

from g4f_hailuo.protocols.agent.membership import credits_of
from g4f_hailuo.provider import HailuoAI


async def test_quota_of_a_flat_account(agent, agent_token, agent_key):
    agent.set_credits(agent_token, 321)
    quota = await HailuoAI.get_quota(api_key=agent_key, base_url=agent.url)
    assert quota["credits"] == 321 and quota["free_plan"] is True and quota["accounts"] == 1
    assert quota["credits_expire_at"] > 0
    assert [r.path for r in agent.requests] == ["/matrix/api/v1/commerce/get_membership_info"]


async def test_quota_of_a_migrated_account(agent):
    token = agent.issue_token(migrated=True, credits=77)
    quota = await HailuoAI.get_quota(api_key=agent.api_key(token), base_url=agent.url)
    assert quota["credits"] == 77  # from op_credit_summary; the flat fields read 0


async def test_quota_without_a_token_is_missing_auth(agent):
    with pytest.raises(MissingAuthError):
        await HailuoAI.get_quota(base_url=agent.url)
    assert agent.requests == []


def test_credits_of_reads_both_shapes():
    flat = {
        "plan_name": "Plus",
        "plan_type": 2,
        "total_remains_credit": 12,
        "daily_login_gift_credit_remaining": 3,
        "credits": {"4": [{"expires_at": 1_800_000_000_000}]},
    }
    assert credits_of(flat) == {
        "plan": "Plus",
        "free_plan": False,
        "credits": 12,
        "daily_gift_credits": 3,
        "credits_expire_at": 1_800_000_000.0,
    }
    migrated = {
        "data": {
            "is_migrated_to_op": True,
            "total_remains_credit": 0,
            "op_credit_summary": {
                "total_remaining_amount": "150.5",
                "free_remaining_amount": "50",
                "purchased_remaining_amount": 100.5,
            },
        }
    }
    assert credits_of(migrated) == {"credits": 150.5, "free_credits": 50, "purchased_credits": 100.5}


def test_the_gui_list_offers_uploads():
    """g4f's GUI shows its upload button for a provider with a vision model."""
    from g4f_hailuo._bridge_registry import gui_entry

    assert gui_entry("HailuoAI", HailuoAI)["vision"] is True
