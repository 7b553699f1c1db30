"""The ``/v4`` protocol's tests: every one runs with ``hailuo-v4`` selected, as a user selects it
(HAILUOAI_PROTOCOL, which g4f api, g4f gui and the CLI started by a test inherit)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _transports import transport  # noqa: F401 (a fixture: the scenario tests on both transports)

SELECTED = {"HAILUOAI_PROTOCOL": "hailuo-v4"}


@pytest.fixture(scope="module", autouse=True)
def hailuo_v4_for_the_module() -> Iterator[None]:
    """Before any module-scoped fixture starts a g4f process (autouse fixtures come first)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in SELECTED.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(autouse=True)
def hailuo_v4_selected(isolated_g4f: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Again for each test: ``isolated_g4f`` clears the Hailuo variables."""
    for name, value in SELECTED.items():
        monkeypatch.setenv(name, value)
