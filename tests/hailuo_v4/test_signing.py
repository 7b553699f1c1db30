"""The ``yy`` signature against the protocol doc's test vectors."""

from __future__ import annotations

import pytest

from g4f_hailuo.accounts.identity import Identity
from g4f_hailuo.protocols.hailuo_v4.request import fingerprint_query, signed_target
from g4f_hailuo.protocols.hailuo_v4.signing import (
    chat_body_segment,
    encode_uri_component,
    json_body_segment,
    md5_hex,
    sign_request,
)

CHAT_PATH = "/v4/api/chat/msg?device_platform=web&biz_id=2&app_id=3001"


def test_chat_vector_from_the_protocol_doc():
    segment = chat_body_segment("1", "hello world", "0")
    assert sign_request(CHAT_PATH, segment, "1700000000000") == "6893d64988ecf45b1de1808b91ae855b"


def test_get_vector_from_the_protocol_doc():
    path = "/v1/api/user/info?device_platform=web&app_id=3001&unix=1700000000000"
    assert sign_request(path, json_body_segment(None), "1700000000000") == "49f2eab088c7b478af9e3cb7eeaed037"


@pytest.mark.parametrize("content", ["line1\nline2", "line1\r\nline2", "line1\rline2", "\nline1line2\n"])
def test_line_breaks_are_not_signed(content):
    assert chat_body_segment("1", content, "0") == chat_body_segment("1", "line1line2", "0")


def test_chat_segment_is_four_digests_and_form_defaults_to_empty():
    segment = chat_body_segment("1", "hi", "42")
    assert segment == md5_hex("1") + md5_hex("hi") + md5_hex("42") + md5_hex("")
    assert chat_body_segment("1", "hi", "42", "[]") != segment


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abcXYZ019-_.!~*'()", "abcXYZ019-_.!~*'()"),  # JavaScript's unreserved set stays
        ("/v1?a=b&c=d", "%2Fv1%3Fa%3Db%26c%3Dd"),
        ("é 海", "%C3%A9%20%E6%B5%B7"),
        ("+,;:@#$", "%2B%2C%3B%3A%40%23%24"),
    ],
)
def test_encode_uri_component_follows_javascript(text, expected):
    assert encode_uri_component(text) == expected


def test_json_segment_is_the_exact_text_sent():
    assert json_body_segment('{"uuid":"x"}') == '{"uuid":"x"}'
    assert json_body_segment("") == "{}"


# The protocol doc (hailuo-wire-protocol.md, section 2): every key, in the order sent.
INTL_KEYS = [
    "device_platform", "biz_id", "app_id", "version_code", "lang", "uuid", "device_id", "os_name",
    "browser_name", "cpu_core_num", "browser_language", "browser_platform", "screen_width",
    "screen_height", "unix",
]  # fmt: skip
CN_KEYS = [
    "device_platform", "app_id", "version_code", "uuid", "device_id", "os_name", "browser_name",
    "device_memory", "cpu_core_num", "browser_language", "browser_platform", "screen_width",
    "screen_height", "unix",
]  # fmt: skip
# The values the doc fixes.
INTL_VALUES = {
    "device_platform": "web",
    "biz_id": "2",
    "app_id": "3001",
    "version_code": "22201",
    "lang": "en",
}
CN_VALUES = {
    "device_platform": "web", "app_id": "3001", "version_code": "22200", "os_name": "Windows",
    "browser_name": "chrome", "device_memory": "8", "cpu_core_num": "12", "browser_language": "zh-CN",
    "browser_platform": "Win32", "screen_width": "1920", "screen_height": "1080",
}  # fmt: skip


def query_pairs(query: str) -> list[tuple[str, str]]:
    return [(key, value) for key, _, value in (pair.partition("=") for pair in query.split("&"))]


@pytest.mark.parametrize(
    ("region", "keys", "values"), [("intl", INTL_KEYS, INTL_VALUES), ("cn", CN_KEYS, CN_VALUES)]
)
def test_fingerprint_query_has_every_key_in_the_documented_order(region, keys, values):
    identity = Identity(token="t", uuid="u-1", device_id="123456789012345678")
    pairs = query_pairs(fingerprint_query(region, identity, "1700000000000"))
    assert [key for key, _ in pairs] == keys
    sent = dict(pairs)
    assert {key: sent[key] for key in values} == values
    assert (sent["uuid"], sent["device_id"], sent["unix"]) == ("u-1", "123456789012345678", "1700000000000")


@pytest.mark.parametrize(("region", "keys"), [("intl", INTL_KEYS), ("cn", CN_KEYS)])
def test_fingerprint_query_without_a_device_leaves_only_device_id_out(region, keys):
    identity = Identity(token="t", uuid="u-1", device_id="123456789012345678")
    query = fingerprint_query(region, identity, "1", with_device=False)
    assert [key for key, _ in query_pairs(query)] == [key for key in keys if key != "device_id"]
    no_device = Identity(token="t", uuid="u-1", device_id=None)
    assert fingerprint_query(region, no_device, "1") == query


def test_signed_target_signs_what_it_returns():
    identity = Identity(token="t", uuid="u-1", device_id="123456789012345678")
    path_and_query, yy = signed_target("/v1/api/user/info", "intl", identity, "{}")
    unix = path_and_query.rsplit("unix=", 1)[1]
    assert yy == sign_request(path_and_query, "{}", unix)


def test_every_request_gets_a_fresh_millisecond_unix(monkeypatch):
    identity = Identity(token="t", uuid="u-1", device_id="123456789012345678")
    ticks = iter([1_700_000_000_000_000_000, 1_700_000_000_005_000_000])
    monkeypatch.setattr("g4f_hailuo.protocols.hailuo_v4.request.time.time_ns", lambda: next(ticks))
    first, _ = signed_target("/x", "intl", identity, "{}")
    second, _ = signed_target("/x", "intl", identity, "{}")
    assert first.endswith("unix=1700000000000") and second.endswith("unix=1700000000005")
