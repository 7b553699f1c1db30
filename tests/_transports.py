"""The transport fixture: a scenario test marked ``@pytest.mark.usefixtures("transport")`` runs on
aiohttp (the default) and on curl_cffi impersonating Chrome (the ``impersonate`` extra, which the
``test`` extra installs; skipped where it is missing)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

TRANSPORTS = ("aiohttp", "curl_cffi")


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from g4f_hailuo.transport import base

    if request.param == "curl_cffi":
        pytest.importorskip("curl_cffi")
        monkeypatch.setenv("HAILUOAI_IMPERSONATE", "chrome")
    base.forget_browsers()
    yield request.param
    base.forget_browsers()
