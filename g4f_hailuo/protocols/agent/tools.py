"""What the Agent does between question and answer (tool steps), as g4f objects (pure).

A tool call (``tool_calls`` on a chunk or an assistant message) becomes one status line,
``Reasoning(status=...)``, which g4f's GUI shows in its reasoning box; the links a tool's
result names (a ``role: "tool"`` message whose content is JSON with ``url``/``link``) become
``Sources`` at the end. Nothing of a tool step is ever answer text. The call's shape is the
OpenAI one (``{"id", "function": {"name", "arguments"}}``) or flat (``{"name", "arguments"}``);
anything else is announced by its name alone.
"""

from __future__ import annotations

import json
from typing import Any

from g4f.providers.response import Reasoning, Sources

__all__ = ["ToolSteps", "tool_status"]

_MOST_SOURCES = 20
_ARGUMENT_SHOWN = 80
_KINDS = (
    (("search",), "Searching the web"),
    (("read", "fetch", "browse", "open", "visit", "crawl"), "Reading"),
)
_SHOWN_ARGUMENTS = ("query", "q", "keyword", "keywords", "url", "urls", "link")


def _arguments(call: dict[str, Any]) -> dict[str, Any]:
    function = call.get("function")
    raw = function.get("arguments") if isinstance(function, dict) else call.get("arguments")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    return raw if isinstance(raw, dict) else {}


def _name(call: dict[str, Any]) -> str:
    function = call.get("function")
    name = function.get("name") if isinstance(function, dict) else call.get("name")
    return name if isinstance(name, str) else ""


def tool_status(call: Any) -> str | None:
    """One line saying what the tool call does, e.g. ``Searching the web: weather in Paris``."""
    if not isinstance(call, dict):
        return None
    name = _name(call)
    if not name:
        return None
    label = next((text for words, text in _KINDS if any(word in name.lower() for word in words)), None)
    arguments = _arguments(call)
    shown = next((arguments[key] for key in _SHOWN_ARGUMENTS if arguments.get(key)), None)
    if isinstance(shown, list):
        shown = ", ".join(str(item) for item in shown[:3])
    detail = " ".join(str(shown).split())[:_ARGUMENT_SHOWN] if shown else ""
    line = label or f"Using {name}"
    return f"{line}: {detail}" if detail else line


def _links(value: Any, found: dict[str, str], depth: int = 0) -> None:
    if depth > 4 or len(found) >= _MOST_SOURCES:
        return
    if isinstance(value, dict):
        url = value.get("url") or value.get("link")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            title = value.get("title") or value.get("name")
            found.setdefault(url, title if isinstance(title, str) and title else url)
        for item in value.values():
            if isinstance(item, (dict, list)):
                _links(item, found, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _links(item, found, depth + 1)


class ToolSteps:
    """The tool calls announced so far (each once) and the links their results named."""

    __slots__ = ("_announced", "_links")

    def __init__(self) -> None:
        self._announced: set[str] = set()
        self._links: dict[str, str] = {}

    def announce(self, calls: Any) -> list[Reasoning]:
        """A status line per call not announced yet (a call may come on a chunk and again whole)."""
        lines: list[Reasoning] = []
        for call in calls if isinstance(calls, list) else [calls]:
            status = tool_status(call)
            if status is None:
                continue
            key = str(call.get("id") or status)
            if key not in self._announced:
                self._announced.add(key)
                lines.append(Reasoning(status=status))
        return lines

    def collect(self, message: dict[str, Any]) -> None:
        """The links in a tool's result (its ``msg_content`` as JSON, or already parsed)."""
        content = message.get("msg_content", message.get("content"))
        if isinstance(content, str):
            try:
                content = json.loads(content)
            except ValueError:
                return
        _links(content, self._links)

    def sources(self) -> Sources | None:
        if not self._links:
            return None
        return Sources([{"url": url, "title": title} for url, title in self._links.items()])
