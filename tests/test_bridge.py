"""The registration bridge: g4f finds ``HailuoAI`` with no import of ours.

In-process tests use the package as installed in the running interpreter
(``pip install -e .``): the start-up hook has already run. Tests that need a
clean interpreter (start-up cost, opt-out, broken plugins) run a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import g4f_hailuo
from _g4f_processes import make_home, require_modules, skip_if_gui_needs_newer_python

PLUGIN_MODULE = "g4f_hailuo.provider"
BUILTIN_MODULE = "g4f.Provider.needs_auth.mini_max.HailuoAI"
GUI_ENTRY_KEYS = {
    "name", "label", "parent", "image", "audio", "video", "vision", "nodriver",
    "hf_space", "active_by_default", "auth", "login_url", "live", "login",
}  # fmt: skip


def offline_g4f_env(root: Path) -> dict[str, str]:
    """Env for a g4f that never reaches the network and never reads a developer's files.

    Listing providers builds some from a providers.json that g4f fetches unless
    today's copy is cached: in the cache dir (g4f >= 8.7), or in the cookies dir
    under ``~/.g4f`` (8.4, which ignores ``G4F_CONFIG_DIR``). ``make_home`` seeds both.
    """
    home = make_home(root)
    return {
        "G4F_CACHE_DIR": str(home / ".g4f" / "cache"),
        "G4F_CONFIG_DIR": str(home / ".g4f"),
        "HOME": str(home),
    }


def run_python(
    code: str, cwd: Path, *flags: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter of this environment (site, hence the .pth, included)."""
    full_env = {k: v for k, v in os.environ.items() if k != g4f_hailuo.OPT_OUT_ENV}
    full_env.update(offline_g4f_env(cwd))
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, *flags, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module", autouse=True)
def package_is_installed() -> None:
    entry_points = metadata.entry_points(group=g4f_hailuo.ENTRY_POINT_GROUP)
    values = {ep.name: ep.value for ep in entry_points}
    assert values.get("HailuoAI") == "g4f_hailuo.provider:HailuoAI", (
        "g4f-hailuo is not installed in this interpreter: run `pip install -e .` first"
    )


@pytest.fixture
def offline_g4f(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process only the cache dir can still move: g4f reads the others at import."""
    monkeypatch.setenv("G4F_CACHE_DIR", offline_g4f_env(tmp_path)["G4F_CACHE_DIR"])


@pytest.fixture
def provider_module() -> Any:
    """``g4f.Provider``, registered: by the start-up hook, or here if the shell opted out."""
    import g4f.Provider

    g4f_hailuo.register()
    return g4f.Provider


# --- lookups, in this interpreter ------------------------------------------------


def cached(key: str) -> Any:
    """``ProviderLoader.loaded[key]`` after a first lookup by the public name."""

    def lookup(P: Any) -> Any:
        P.ProviderLoader.from_name("HailuoAI")
        return P.ProviderLoader.loaded[key]

    return lookup


LOOKUPS = {
    "from_name": lambda P: P.ProviderLoader.from_name("HailuoAI"),
    "from_name normalized": lambda P: P.ProviderLoader.from_name("hailuoai"),
    "from_name dashed": lambda P: P.ProviderLoader.from_name("Hailuo-AI"),
    "module attribute": lambda P: P.HailuoAI,
    "ProviderUtils.convert": lambda P: P.ProviderUtils.convert["HailuoAI"],
    "loaded[name]": cached("HailuoAI"),
    "loaded[normalized]": cached("hailuoai"),
}


@pytest.mark.parametrize("lookup", LOOKUPS.values(), ids=LOOKUPS.keys())
def test_every_lookup_gives_the_plugin_class(provider_module: Any, lookup: Any) -> None:
    provider = lookup(provider_module)
    assert provider.__module__ == PLUGIN_MODULE
    assert provider.__name__ == "HailuoAI"
    assert provider.label == "Hailuo AI"


def test_name_is_known_to_convert(provider_module: Any) -> None:
    assert "HailuoAI" in provider_module.ProviderUtils.convert


def test_listed_once_and_listing_yields_the_plugin(provider_module: Any, offline_g4f: None) -> None:
    names = provider_module.ProviderLoader.names
    assert list(names).count("HailuoAI") == 1
    listed = [p for p in provider_module.__providers__ if p.__name__ == "HailuoAI"]
    assert [p.__module__ for p in listed] == [PLUGIN_MODULE]
    assert dict(provider_module.ProviderUtils.convert.items())["HailuoAI"].__module__ == PLUGIN_MODULE


def test_g4f_chat_completion_resolves_the_name_to_the_plugin(provider_module: Any) -> None:
    from g4f.client.service import convert_to_provider

    assert convert_to_provider("HailuoAI").__module__ == PLUGIN_MODULE


def test_register_is_idempotent(provider_module: Any) -> None:
    from_name = vars(provider_module.ProviderLoader)["from_name"]
    first = g4f_hailuo.register()
    second = g4f_hailuo.register()
    assert "HailuoAI" in first
    assert first == second
    assert vars(provider_module.ProviderLoader)["from_name"] is from_name
    assert list(provider_module.ProviderLoader.names).count("HailuoAI") == 1
    hooks = [finder for finder in sys.meta_path if getattr(finder, g4f_hailuo.MARKER, False)]
    assert len(hooks) == 1


# --- the GUI provider list ------------------------------------------------------


@pytest.fixture
def gui_api(offline_g4f: None, provider_module: Any) -> Any:
    require_modules("flask", hint="g4f's GUI needs flask (the test extra installs it)")
    skip_if_gui_needs_newer_python()
    import g4f.gui.server.api

    return g4f.gui.server.api


def builtin_gui_entry_keys() -> set[str]:
    """The keys of the GUI entries in g4f's packaged providers.json (g4f >= 8.7.7)."""
    import g4f

    packaged = Path(g4f.__file__).parent / "providers.json"
    if not packaged.exists():
        return GUI_ENTRY_KEYS
    return set(json.loads(packaged.read_text(encoding="utf-8"))[0])


def assert_one_plugin_entry(entries: list[dict[str, Any]]) -> None:
    from g4f_hailuo.provider import HailuoAI

    ours = [entry for entry in entries if entry["name"] == "HailuoAI"]
    assert len(ours) == 1
    entry = ours[0]
    assert set(entry) == builtin_gui_entry_keys() == GUI_ENTRY_KEYS
    assert entry["label"] == "Hailuo AI"
    assert entry["auth"] is True
    assert entry["login_url"] == HailuoAI.login_url
    assert entry["nodriver"] == bool(HailuoAI.use_nodriver)
    assert entry["login"] == (hasattr(HailuoAI, "login") and bool(HailuoAI.use_nodriver))


def test_gui_list_has_one_hailuo_entry_with_our_attributes(gui_api: Any) -> None:
    entries = gui_api.Api.get_providers()
    assert_one_plugin_entry(entries)
    assert len(entries) > 10  # g4f's own entries are still there


def test_gui_list_computed_by_g4f_has_one_hailuo_entry(gui_api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ignored providers g4f builds the list from ``__providers__`` instead of its packaged file."""
    from g4f.Provider import ProviderLoader

    monkeypatch.setattr(ProviderLoader, "ignored", ["Yqcloud"])
    monkeypatch.setattr(gui_api.Api, "_write_providers_cache", staticmethod(lambda result: False))
    assert_one_plugin_entry(gui_api.Api.get_providers())


# --- clean interpreters ------------------------------------------------------------


def imported_modules(importtime_stderr: str) -> set[str]:
    return {
        line.rsplit("|", 1)[1].strip()
        for line in importtime_stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_startup_installs_the_hook_without_importing_g4f_or_aiohttp(tmp_path: Path) -> None:
    result = run_python("pass", tmp_path, "-X", "importtime")
    assert result.returncode == 0, result.stderr
    modules = imported_modules(result.stderr)
    assert "g4f_hailuo" in modules  # the .pth ran
    assert {m for m in modules if m.split(".")[0] in {"g4f", "aiohttp"}} == set()


def test_the_bridge_imports_nothing_new_at_start_up(tmp_path: Path) -> None:
    """Only the package itself: no typing, importlib, __future__, g4f (each costs time at every start)."""
    source_root = Path(g4f_hailuo.__file__).parents[1]
    result = run_python(
        f"""
        import os, sys  # what site.py has imported when .pth files run
        sys.path.insert(0, {str(source_root)!r})
        before = set(sys.modules)
        import g4f_hailuo
        g4f_hailuo._install()
        print(sorted(set(sys.modules) - before))
        """,
        tmp_path,
        "-I",
        "-S",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['g4f_hailuo']"  # one module: each costs ~0.25 ms at every start


def test_the_registration_half_is_imported_with_g4f_only(tmp_path: Path) -> None:
    result = run_python(
        """
        import sys
        print("g4f_hailuo._bridge_registry" in sys.modules)
        import g4f.Provider
        print("g4f_hailuo._bridge_registry" in sys.modules, "g4f_hailuo.provider" in sys.modules)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["False", "True False"]


def test_plain_g4f_script_gets_the_plugin_without_importing_it(tmp_path: Path) -> None:
    result = run_python(
        """
        import sys
        import g4f.Provider as P
        print("before lookup:", "g4f_hailuo.provider" in sys.modules)
        print(P.ProviderLoader.from_name("HailuoAI").__module__)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    # lazy: the plugin's module is imported by the lookup, not by g4f's import
    assert result.stdout.split("\n")[:2] == ["before lookup: False", PLUGIN_MODULE]
    assert result.stderr == ""


@pytest.mark.parametrize("value", ["0", "false", "OFF", " no "])
def test_opt_out_env_leaves_g4f_alone(tmp_path: Path, value: str) -> None:
    result = run_python(
        """
        import sys
        import g4f.Provider as P
        print(P.ProviderLoader.from_name("HailuoAI").__module__)
        print(any(hasattr(f, "__g4f_provider_plugins__") for f in sys.meta_path))
        """,
        tmp_path,
        env={g4f_hailuo.OPT_OUT_ENV: value},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [BUILTIN_MODULE, "False"]


def test_register_after_g4f_was_imported_replaces_the_builtin(tmp_path: Path) -> None:
    """``register()`` is the way in where the hook did not run (opt-out, ``python -S``)."""
    result = run_python(
        """
        import g4f.Provider as P
        print(P.ProviderLoader.from_name("HailuoAI").__module__)
        import g4f_hailuo
        print(g4f_hailuo.register())
        print(P.ProviderLoader.from_name("HailuoAI").__module__)
        print(P.ProviderLoader.from_name("hailuoai").__module__)
        """,
        tmp_path,
        env={g4f_hailuo.OPT_OUT_ENV: "0"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [BUILTIN_MODULE, "['HailuoAI']", PLUGIN_MODULE, PLUGIN_MODULE]


def make_dist(site: Path, name: str, entry_points: str) -> None:
    """A minimal installed distribution: a ``*.dist-info`` dir with entry points."""
    dist_info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


def test_broken_plugins_print_one_line_each_and_g4f_carries_on(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_dist(
        site,
        "broken-plugins",
        """
        [g4f.providers]
        HailuoAI = no_such_module_for_g4f:HailuoAI
        BrokenOnly = no_such_module_for_g4f:Broken
        NotAProvider = json:dumps
        """,
    )
    result = run_python(
        """
        import g4f.Provider as P
        names = P.ProviderLoader.names
        print("HailuoAI", P.ProviderLoader.from_name("HailuoAI").__module__)
        print("pending listed", "BrokenOnly" in names, "NotAProvider" in names)
        providers = P.__providers__
        convert = dict(P.ProviderUtils.convert.items())
        print("walked", len(providers) > 10, len(convert) == len(providers))
        print("after walk", "BrokenOnly" in names, "NotAProvider" in names)

        def lookup(from_name, name):
            try:
                return from_name(P.ProviderLoader, name).__module__
            except ImportError as error:
                return f"ImportError: {error}"

        fallback = lookup(lambda loader, name: loader.from_name(name), "hailuoai")
        print("lookup", "BrokenOnly" in P.ProviderUtils.convert, fallback)
        print("g4f itself", lookup(P.ProviderLoader.from_name.__wrapped__, "hailuoai"))
        """,
        tmp_path,
        env={"PYTHONPATH": str(site)},  # ahead of site-packages: its HailuoAI wins over ours
    )
    assert result.returncode == 0, result.stderr
    *lines, g4f_itself = result.stdout.splitlines()
    # A normalised name falls back to what g4f answers without the plugin: its built-in
    # (g4f >= 8.7 normalises names), or "not found" (8.4's from_name knows exact names only).
    not_found = "ImportError: Provider 'hailuoai' not found"
    assert g4f_itself in (f"g4f itself {BUILTIN_MODULE}", f"g4f itself {not_found}")
    assert lines == [
        f"HailuoAI {BUILTIN_MODULE}",  # fell back to g4f's built-in
        "pending listed True True",
        "walked True True",
        "after walk False False",
        "lookup False " + g4f_itself.removeprefix("g4f itself "),
    ]
    assert result.stderr.splitlines() == [
        "g4f plugin 'HailuoAI' from dist broken-plugins failed: "
        "ModuleNotFoundError: No module named 'no_such_module_for_g4f'",
        "g4f plugin 'BrokenOnly' from dist broken-plugins failed: "
        "ModuleNotFoundError: No module named 'no_such_module_for_g4f'",
        "g4f plugin 'NotAProvider' from dist broken-plugins failed: "
        "TypeError: json:dumps is not a g4f provider class",
    ]


def test_a_second_plugin_package_is_registered_by_the_same_bridge(tmp_path: Path) -> None:
    site = tmp_path / "site"
    package = site / "other_g4f_plugin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from g4f.providers.base_provider import AsyncGeneratorProvider

            class OtherChat(AsyncGeneratorProvider):
                label = "Other Chat"
                working = True

                @classmethod
                async def create_async_generator(cls, model, messages, **kwargs):
                    yield "other"
            """
        )
    )
    make_dist(site, "other-g4f-plugin", "[g4f.providers]\nOtherChat = other_g4f_plugin:OtherChat\n")
    result = run_python(
        """
        import g4f.Provider as P
        print(P.ProviderLoader.from_name("OtherChat").__module__, P.OtherChat.label)
        print(P.ProviderLoader.from_name("HailuoAI").__module__)
        print([p.__name__ for p in P.__providers__ if p.__name__ in ("OtherChat", "HailuoAI")])
        """,
        tmp_path,
        env={"PYTHONPATH": str(site)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "other_g4f_plugin Other Chat",
        PLUGIN_MODULE,
        "['HailuoAI', 'OtherChat']",
    ]


def test_a_second_copy_of_the_bridge_stands_aside(tmp_path: Path) -> None:
    """Two provider packages, each shipping the bridge: one hook, one registration."""
    other = tmp_path / "site" / "other_package"
    other.mkdir(parents=True)
    for module in ("__init__.py", "_bridge_registry.py"):  # the bridge, both halves
        shutil.copy(Path(g4f_hailuo.__file__).with_name(module), other / module)
    result = run_python(
        """
        import sys
        import other_package as other
        other._install()  # what its own .pth would do, after ours
        print(sum(bool(getattr(f, other.MARKER, False)) for f in sys.meta_path))
        import g4f.Provider as P
        from_name = vars(P.ProviderLoader)["from_name"].__func__
        print(from_name.__module__, from_name.__wrapped__.__module__)
        import g4f_hailuo
        print(other.register() == g4f_hailuo.register() == ["HailuoAI"])
        print(P.ProviderLoader.from_name("HailuoAI").__module__)
        """,
        tmp_path,
        env={"PYTHONPATH": str(tmp_path / "site")},
    )
    assert result.returncode == 0, result.stderr
    wrapped_by = "g4f_hailuo._bridge_registry g4f.Provider"  # ours, which started first
    assert result.stdout.splitlines() == ["1", wrapped_by, "True", PLUGIN_MODULE]


def test_gui_list_is_wrapped_when_imported_after_start_up(tmp_path: Path) -> None:
    require_modules("flask", hint="g4f's GUI needs flask (the test extra installs it)")
    skip_if_gui_needs_newer_python()
    result = run_python(
        """
        import json
        from g4f.gui.server.api import Api
        print(json.dumps([e for e in Api.get_providers() if e["name"] == "HailuoAI"]))
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    (entry,) = json.loads(result.stdout)
    assert entry["label"] == "Hailuo AI"
    assert entry["login_url"] == "https://agent.minimax.io"  # the Agent site, the default protocol
