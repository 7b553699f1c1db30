"""The MiniMax Agent protocol's tests: the default protocol (no HAILUOAI_PROTOCOL), against the
fake Agent site on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _transports import transport  # noqa: F401 (a fixture: the scenario tests on both transports)
from g4f_hailuo.fake.agent.server import FakeAgent, run_in_thread


@pytest.fixture(autouse=True)
def fresh_agent_state(isolated_g4f: Path) -> Iterator[None]:
    """What the protocol keeps per process (each account's /config and agent) starts empty."""
    from g4f_hailuo.protocols.agent import account

    account._states.clear()
    account._adopted.clear()
    yield
    account._states.clear()
    account._adopted.clear()


def _serving() -> Iterator[FakeAgent]:
    server = run_in_thread()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def agent() -> Iterator[FakeAgent]:
    """The fake Agent site on a loopback port, on its own thread's loop."""
    yield from _serving()


@pytest.fixture(scope="module")
def agent_site() -> Iterator[FakeAgent]:
    """One fake Agent site for a module that starts g4f api once."""
    yield from _serving()


@pytest.fixture
def agent_token(agent: FakeAgent) -> str:
    return agent.issue_token()


@pytest.fixture
def agent_key(agent: FakeAgent, agent_token: str) -> str:
    """``<realUserID>+<token>``."""
    return agent.api_key(agent_token)
