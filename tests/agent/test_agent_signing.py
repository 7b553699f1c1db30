"""The MiniMax Agent signatures: the protocol doc's test vectors (section 4.4), the query's order
and encoding, one clock reading per request, and a fresh signature on every retry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from g4f_hailuo.fake.agent.server import FakeAgent
from g4f_hailuo.protocols.agent.signing import (
    SALT,
    body_text,
    canonical_query,
    query_pairs,
    query_template,
    sign,
    sign_with,
    x_signature,
)
from g4f_hailuo.protocols.signing import md5_hex, sign_request

UNIX = "1780470413250"
QI = (
    "device_platform=web&biz_id=3&app_id=3001&version_code=22201&unix=1780470413250&timezone_offset=28800"
    "&sys_language=en&lang=en&uuid=00000000-0000-4000-8000-000000000000&device_id=12345678&os_name=Windows"
    "&browser_name=Chrome&device_memory=16&cpu_core_num=8&browser_language=en-US&browser_platform=Win32"
    "&user_id=100000000000000000&screen_width=1920&screen_height=1080&token=TOKEN&client=web&region=en"
)
QC = (
    QI.replace("sys_language=en&lang=en", "sys_language=zh&lang=zh")
    .replace("browser_language=en-US", "browser_language=zh-CN")
    .replace("region=en", "region=cn")
)
QN = QI.replace("&user_id=100000000000000000", "")
TURN = (
    '{"content":"hi","model":{"provider_id":"minimax","model_id":"MiniMax-M3","reasoning":true},'
    '"turn_id":"11111111-1111-4111-8111-111111111111","worktreeMode":false}'
)
GEN_A = (
    '{"msg_type":1,"text":"hi","chat_type":1,"attachments":[],"selected_mcp_tools":[],'
    '"backend_config":{},"sub_agent_ids":[]}'
)
STREAM_PATH = "/minimax-cloud/api/v1/session/400000000000099/message?"


def test_the_salt():
    assert len(SALT) == 20 and md5_hex(SALT) == "fa9e4db2574cadcb1f50b280466bc29c"
    assert md5_hex(UNIX) == "0e3bf360c522207afedf7fa750bc30de"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"content":"hi"}', "d44c0ba3829dd177824affdac8b96e76"),
        ("", "97fda442261c37bddd59a211f0116ac6"),
        ("{}", "279954d2c508580eece00686f56726fc"),
        ('{"content":"你好"}', "c7822b5bc35ae640a505e494415d5827"),
    ],
)
def test_x_signature_vectors(body, expected):
    assert x_signature("1780470413", body) == expected


@pytest.mark.parametrize(
    ("target", "body", "expected"),
    [
        ("/minimax-cloud/api/v1/config?" + QI, "{}", "64943eea068ae1671e0421cca0e24338"),
        ("/v1/api/user/info?" + QN, "{}", "60aa6ecc8d8e568cdf2f95efc0ddd344"),
        ("https://agent-stream.minimax.io" + STREAM_PATH + QI, TURN, "99904244d38a980495cd15c5299d7f45"),
        ("http://127.0.0.1:8080" + STREAM_PATH + QI, TURN, "153304f562599eaf7f4120a26bf61097"),
        ("/matrix/api/v1/chat/send_msg?" + QC, GEN_A, "06fc84b721a5d8f7a75e93861f02aa21"),
    ],
)
def test_yy_vectors(target, body, expected):
    assert sign_request(target, body, UNIX) == expected


def test_the_body_and_x_signature_of_the_turn_and_gen_a_vectors():
    turn = {
        "content": "hi",
        "model": {"provider_id": "minimax", "model_id": "MiniMax-M3", "reasoning": True},
        "turn_id": "11111111-1111-4111-8111-111111111111",
        "worktreeMode": False,
    }
    assert body_text(turn) == TURN
    assert x_signature("1780470413", TURN) == "6c0189c000287a146243be806edc1cb8"
    assert x_signature("1780470413", GEN_A) == "0a2505871305d260468a881b4903ceed"


def pairs(region: str = "intl", user_id: str | None = "100000000000000000", memory: str = "16") -> list:
    built = query_pairs(
        region,
        unix=UNIX,
        uuid="00000000-0000-4000-8000-000000000000",
        device_id="12345678",
        user_id=user_id,
        token="TOKEN",
        timezone_offset=28800,
    )
    # The vectors were made with device_memory=16; the client sends 8 (the doc's table).
    return [(key, memory if key == "device_memory" else value) for key, value in built]


def test_the_query_is_built_in_the_documented_order_per_region():
    assert canonical_query(pairs()) == QI
    assert canonical_query(pairs("cn")) == QC
    assert canonical_query(pairs(user_id=None)) == QN  # an empty value is dropped, never "user_id="
    assert (
        dict(
            query_pairs(
                "intl", unix=UNIX, uuid="u", device_id="1", user_id=None, token="t", timezone_offset=0
            )
        )["device_memory"]
        == "8"
    )


def test_values_are_encoded_as_url_search_params():
    assert canonical_query([("k", "a b~*-._/+é")]) == "k=a+b%7E*-._%2F%2B%C3%A9"


def test_sign_uses_one_clock_reading_for_unix_and_x_timestamp():
    signed = sign("/minimax-cloud/api/v1/config", pairs(memory="8"), None, int(UNIX))
    assert f"unix={UNIX}" in signed.path_and_query
    assert signed.headers["x-timestamp"] == "1780470413"
    assert signed.headers["x-signature"] == x_signature("1780470413", "")
    assert signed.headers["yy"] == sign_request(signed.path_and_query, "{}", UNIX)
    stream = sign(
        STREAM_PATH[:-1], pairs(), TURN, int(UNIX), absolute_origin="https://agent-stream.minimax.io"
    )
    assert stream.headers["yy"] == "99904244d38a980495cd15c5299d7f45"
    assert stream.headers["x-signature"] == "6c0189c000287a146243be806edc1cb8"


def test_a_retry_is_signed_afresh(agent: FakeAgent, agent_key: str) -> None:
    import g4f

    prompt = "[[scenario:http_502_then_ok]] hi"
    answer = g4f.ChatCompletion.create(
        model="MiniMax",
        messages=[{"role": "user", "content": prompt}],
        provider="HailuoAI",
        api_key=agent_key,
        base_url=agent.url,
    )
    assert answer == agent.reply_for(prompt, 1)
    first, second = agent.message_requests()
    assert first.status == 502 and second.status == 200
    assert first.query["unix"] != second.query["unix"] or first.headers["yy"] != second.headers["yy"]
    assert first.headers["x-timestamp"] == str(int(first.query["unix"]) // 1000)
    assert all(r.signature_ok for r in agent.requests)


@given(
    region=st.sampled_from(["intl", "cn"]),
    uuid=st.text(max_size=40),
    device_id=st.from_regex(r"[0-9]{8}", fullmatch=True),
    user_id=st.one_of(st.none(), st.from_regex(r"[0-9]{18}", fullmatch=True)),
    token=st.text(min_size=1, max_size=200),
    path=st.from_regex(r"/[a-z0-9/_-]{0,40}", fullmatch=True),
    body=st.one_of(st.none(), st.text(max_size=80)),
    now_ms=st.integers(min_value=0, max_value=10**14),
    origin=st.sampled_from(["", "https://agent-stream.minimax.io", "http://127.0.0.1:8080"]),
)
def test_the_cached_template_signs_exactly_as_sign(
    region, uuid, device_id, user_id, token, path, body, now_ms, origin
):
    """The client's fast path (the account's query encoded once) is the documented signing."""
    fields = {
        "uuid": uuid,
        "device_id": device_id,
        "user_id": user_id,
        "token": token,
        "timezone_offset": 28800,
    }
    template = query_template(region, **fields)
    expected = sign(
        path, query_pairs(region, unix=str(now_ms), **fields), body, now_ms, absolute_origin=origin
    )
    assert sign_with(template, path, body, now_ms, absolute_origin=origin) == expected
