"""MiniMax Agent's models and thinking switch (pure).

``MiniMax`` is the account's default model: the session is created without a ``model``.
Any other name matches in any case and is sent in the site's own spelling.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from g4f.errors import ModelNotFoundError

__all__ = ["DEFAULT_MODEL", "KNOWN_MODELS", "model_object", "resolve_model"]

DEFAULT_MODEL = "MiniMax"
KNOWN_MODELS = ("MiniMax-M3", "MiniMax-M3.1-Flash-Preview", "MiniMax-M2.7", "MiniMax-M2.7-highspeed")
_THINKING_OFF = frozenset({"none", "minimal"})
_ALIASES = {"": DEFAULT_MODEL, "auto": DEFAULT_MODEL, "default": DEFAULT_MODEL, "hailuo": DEFAULT_MODEL}


def resolve_model(model: str | None, live: Iterable[str] = ()) -> str:
    """The model's name in the site's spelling; ``ModelNotFoundError`` before any request."""
    name = (model or "").strip()
    if name.lower() in _ALIASES or name.lower() == DEFAULT_MODEL.lower():
        return DEFAULT_MODEL
    for known in (*live, *KNOWN_MODELS):
        if known.lower() == name.lower():
            return known
    offered = ", ".join(dict.fromkeys((DEFAULT_MODEL, *KNOWN_MODELS, *live)))
    raise ModelNotFoundError(f"Model {model!r} is not served by MiniMax Agent: use one of {offered}")


def model_object(model: str, reasoning_effort: Any = None) -> dict[str, Any] | None:
    """The session's ``model`` object; ``None`` for the account's default model.

    ``reasoning_effort`` (g4f's kwarg): ``none``/``minimal`` turn thinking off, any other value
    on; absent, the model's default.
    """
    if model == DEFAULT_MODEL:
        return None
    chosen: dict[str, Any] = {"provider_id": "minimax", "model_id": model}
    if reasoning_effort is not None and str(reasoning_effort).strip():
        chosen["reasoning"] = str(reasoning_effort).strip().lower() not in _THINKING_OFF
    return chosen
