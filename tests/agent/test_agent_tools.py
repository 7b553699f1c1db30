"""Tool steps as g4f objects (pure): a status line per call, links as Sources, never text."""

from __future__ import annotations

import json

import pytest

from g4f_hailuo.protocols.agent.tools import ToolSteps, tool_status


@pytest.mark.parametrize(
    ("call", "status"),
    [
        ({"function": {"name": "web_search", "arguments": '{"query": "a  b"}'}}, "Searching the web: a b"),
        ({"name": "read_page", "arguments": {"url": "https://x.example/p"}}, "Reading: https://x.example/p"),
        (
            {"name": "browse", "arguments": {"urls": ["https://a.example", "https://b.example"]}},
            "Reading: https://a.example, https://b.example",
        ),
        ({"name": "python", "arguments": "not json"}, "Using python"),
        ({"function": {"name": "image_gen"}}, "Using image_gen"),
        ({"arguments": {}}, None),
        ("web_search", None),
    ],
)
def test_tool_status(call, status):
    assert tool_status(call) == status


def test_each_call_is_announced_once_and_links_become_sources():
    steps = ToolSteps()
    call = {"id": "c1", "function": {"name": "web_search", "arguments": '{"q": "x"}'}}
    assert [r.status for r in steps.announce([call])] == ["Searching the web: x"]
    assert steps.announce([call]) == [] and steps.announce(call) == []
    assert steps.sources() is None
    steps.collect(
        {
            "role": "tool",
            "msg_content": json.dumps(
                {
                    "results": [
                        {"title": "A", "url": "https://a.example"},
                        {"link": "https://b.example"},
                        {"url": "javascript:x"},
                    ]
                }
            ),
        }
    )
    steps.collect({"role": "tool", "msg_content": "plain text, no links"})
    sources = steps.sources()
    assert sources is not None
    assert [(s["url"], s["title"]) for s in sources.list] == [
        ("https://a.example", "A"),
        ("https://b.example", "https://b.example"),
    ]
