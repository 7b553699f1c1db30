"""scripts/compat's command line, with the venv building and the test runs stubbed out."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "compat"


@pytest.fixture
def compat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, list[tuple[str, Any]]]:
    """The script as a module; ``prepare`` and ``run_suite`` record their calls instead of working."""
    loader = importlib.machinery.SourceFileLoader("compat_script", str(SCRIPT))
    spec = importlib.util.spec_from_loader("compat_script", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "compat_script", module)  # dataclasses look their module up
    loader.exec_module(module)
    calls: list[tuple[str, Any]] = []

    def prepare(version: str, fresh: bool, with_api: bool) -> Path:
        calls.append(("prepare", (version, fresh, with_api)))
        return tmp_path / "python"

    def run_suite(version: str, python: Path, runs: list[Any], pytest_args: list[str]) -> Any:
        calls.append(("run_suite", (version, [name for name, _ in runs], pytest_args)))
        return module.Outcome(version, "ok")

    monkeypatch.setattr(module, "prepare", prepare)
    monkeypatch.setattr(module, "run_suite", run_suite)
    monkeypatch.setattr(module, "OUT", tmp_path / "out")
    return module, calls


def test_arguments_after_double_dash_go_to_pytest(compat: tuple[ModuleType, list[tuple[str, Any]]]) -> None:
    module, calls = compat
    assert module.main(["8.4.0", "--", "-x", "-k", "cli and not slow", "8.7.7"]) == 0
    assert calls == [
        ("prepare", ("8.4.0", False, False)),
        ("run_suite", ("8.4.0", ["core", "cli"], ["-x", "-k", "cli and not slow", "8.7.7"])),
    ]


def test_the_docstrings_example_fresh_then_pytest_arguments(
    compat: tuple[ModuleType, list[tuple[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``scripts/compat --fresh -- -x``: the default releases, rebuilt, with -x for pytest."""
    module, calls = compat
    monkeypatch.setattr(module, "newest_version", lambda python: "8.8.6")
    assert module.main(["--fresh", "--", "-x"]) == 0
    assert calls == [
        call
        for version in ("8.4.0", "8.7.7", "8.8.6")
        for call in (("prepare", (version, True, False)), ("run_suite", (version, ["core", "cli"], ["-x"])))
    ]


def test_versions_and_options_without_double_dash(compat: tuple[ModuleType, list[tuple[str, Any]]]) -> None:
    module, calls = compat
    assert module.main(["8.4.0", "8.7.7", "--with-api"]) == 0
    assert calls == [
        ("prepare", ("8.4.0", False, True)),
        ("run_suite", ("8.4.0", ["core", "cli", "api"], [])),
        ("prepare", ("8.7.7", False, True)),
        ("run_suite", ("8.7.7", ["core", "cli", "api"], [])),
    ]


def test_an_unknown_option_before_double_dash_is_a_usage_error(
    compat: tuple[ModuleType, list[tuple[str, Any]]],
) -> None:
    module, calls = compat
    with pytest.raises(SystemExit) as exited:
        module.main(["8.4.0", "-x"])
    assert exited.value.code == 2 and not calls
