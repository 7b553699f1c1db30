"""The registration half of the bridge, imported once g4f is (the start-up half is
the package's ``__init__``).

For g4f >= 8.4, whose registry is ``g4f.Provider.ProviderLoader``:

- every plugin name is added to ``ProviderLoader.names``;
- ``ProviderLoader.from_name`` is wrapped: a plugin's name, as given or
  normalised (lower case, no ``-``/``_``), resolves to the plugin's class,
  imported on first use and then cached in ``ProviderLoader.loaded`` under
  both keys, as g4f caches its own. Everything that resolves a provider by
  name goes through ``from_name`` (``g4f.Provider.X``, ``ProviderUtils.convert``,
  ``__providers__``, the client, ``g4f api``, ``g4f gui``);
- ``ProviderLoader.names`` becomes a list that loads the pending plugins
  before it is walked, so that a listing never meets a name that fails;
- ``g4f.gui.server.api.Api.get_providers`` is wrapped to put the plugins'
  entries into the GUI list, in place of a built-in entry of the same name.

The plugin registry is kept on the wrapped ``from_name`` (attribute
``MARKER``): the first copy of the bridge to register wraps, any later
call (from any copy) finds the registry there and only reports the names.
"""

from __future__ import annotations

import sys
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

from . import ENTRY_POINT_GROUP, MARKER, describe, print_line, report_bridge_error

_PROVIDER_MODULE = "g4f.Provider"


class Plugin:
    """One entry point of the group and what became of it."""

    def __init__(self, entry_point: EntryPoint, listed_by_g4f: bool) -> None:
        self.entry_point = entry_point
        self.name: str = entry_point.name
        self.listed_by_g4f = listed_by_g4f  # g4f itself lists a provider of this name
        self.provider: type | None = None
        self.failed = False


def normalize(name: str) -> str:
    """g4f's second lookup key: lower case, without ``-`` and ``_``."""
    return name.lower().replace("-", "").replace("_", "")


def register_plugins(provider_module: ModuleType) -> list[str]:
    """Register the group with ``ProviderLoader``; return the plugin names."""
    loader = vars(provider_module).get("ProviderLoader")
    if loader is None:  # g4f < 8.4 keeps another registry: not supported
        return []
    # Assumption: a g4f that reads the group itself will say so with this class
    # attribute, set to the group's name; the bridge then has nothing to do.
    if getattr(loader, "entry_point_group", None) == ENTRY_POINT_GROUP:
        return []
    plugins: dict[str, Plugin] | None = getattr(loader.from_name, MARKER, None)
    if plugins is None:  # the first registration in this process, by any copy
        plugins = plugins_from_entry_points(loader)
        wrap_from_name(loader, plugins)
    return [plugin.name for plugin in plugins.values() if not plugin.failed]


def plugins_from_entry_points(loader: Any) -> dict[str, Plugin]:
    plugins: dict[str, Plugin] = {}
    try:
        found = entry_points(group=ENTRY_POINT_GROUP)
    except Exception as error:
        report_bridge_error(error)
        return plugins
    for entry_point in found:
        try:
            key = normalize(entry_point.name)
            if key in plugins:  # the first on sys.path wins, as for modules
                continue
            plugins[key] = Plugin(entry_point, listed_by_g4f=entry_point.name in loader.names)
            if entry_point.name not in loader.names:
                loader.names.append(entry_point.name)
            for name in (entry_point.name, key):  # forget a built-in looked up earlier
                loader.loaded.pop(name, None)
        except Exception as error:
            report_plugin_error(entry_point, error)
    return plugins


def wrap_from_name(loader: Any, plugins: dict[str, Plugin]) -> None:
    original = vars(loader)["from_name"].__func__

    def from_name(cls: Any, name: Any) -> Any:
        plugin = plugins.get(normalize(name)) if isinstance(name, str) else None
        if plugin is not None:
            provider = load_plugin(cls, plugin)
            if provider is not None:
                return provider
        return original(cls, name)

    setattr(from_name, MARKER, plugins)
    from_name.__doc__ = original.__doc__
    from_name.__wrapped__ = original  # type: ignore[attr-defined]
    loader.from_name = classmethod(from_name)
    loader.names = PluginNames(loader, plugins, loader.names)


def load_plugin(loader: Any, plugin: Plugin) -> type | None:
    """The plugin's class, imported on first use; ``None`` (reported once) if it is broken."""
    if plugin.provider is None and not plugin.failed:
        try:
            provider = plugin.entry_point.load()
            check_provider_class(provider, plugin.entry_point)
        except Exception as error:
            plugin.failed = True
            report_plugin_error(plugin.entry_point, error)
            if not plugin.listed_by_g4f and plugin.name in loader.names:
                list.remove(loader.names, plugin.name)
            return None
        plugin.provider = provider
        loader.loaded[plugin.name] = provider
        loader.loaded[normalize(plugin.name)] = provider
    return plugin.provider


def check_provider_class(provider: object, entry_point: EntryPoint) -> None:
    from g4f.providers.types import BaseProvider

    if not (isinstance(provider, type) and issubclass(provider, BaseProvider)):
        raise TypeError(f"{entry_point.value} is not a g4f provider class")


class PluginNames(list[str]):
    """``ProviderLoader.names`` that loads the pending plugins before it is walked.

    g4f lists providers by walking ``names`` and looking each one up
    (``__providers__``, ``ProviderUtils.convert.items()``), and the latter does
    not survive a name that fails to load. Loading first lets a broken plugin
    that g4f has no built-in for drop out of the list before the walk starts.
    """

    def __init__(self, loader: Any, plugins: dict[str, Plugin], names: list[str]) -> None:
        super().__init__(names)
        self._loader = loader
        self._plugins = plugins
        self._loading = False

    def __iter__(self) -> Any:
        if not self._loading:  # a plugin's import may walk the list again
            self._loading = True
            try:
                for plugin in list(self._plugins.values()):
                    load_plugin(self._loader, plugin)
            finally:
                self._loading = False
        return super().__iter__()


# --- GUI provider list ----------------------------------------------------------


def wrap_gui_provider_list(api_module: ModuleType) -> None:
    """From 8.7.7 the GUI list comes from a ``providers.json`` shipped in g4f's wheel."""
    api = vars(api_module)["Api"]
    original = vars(api)["get_providers"].__func__
    if getattr(original, MARKER, False):
        return

    def get_providers(*args: Any, **kwargs: Any) -> Any:
        entries = original(*args, **kwargs)
        try:
            return with_plugin_entries(entries)
        except Exception as error:
            report_bridge_error(error)
            return entries

    setattr(get_providers, MARKER, True)
    get_providers.__doc__ = original.__doc__
    get_providers.__wrapped__ = original  # type: ignore[attr-defined]
    api.get_providers = staticmethod(get_providers)


def with_plugin_entries(entries: Any) -> Any:
    """A copy of the GUI list with one entry per working plugin, in the built-in's place."""
    provider_module = sys.modules.get(_PROVIDER_MODULE)
    loader = vars(provider_module).get("ProviderLoader") if provider_module else None
    plugins: dict[str, Plugin] | None = getattr(getattr(loader, "from_name", None), MARKER, None)
    if not plugins or not isinstance(entries, list):
        return entries
    entries = list(entries)
    for plugin in list(plugins.values()):
        provider = load_plugin(loader, plugin)
        if provider is None:  # broken: g4f's own entry stays, if there is one
            continue
        positions = [i for i, entry in enumerate(entries) if entry.get("name") == plugin.name]
        for i in reversed(positions):
            del entries[i]
        if getattr(provider, "working", False):
            at = positions[0] if positions else len(entries)
            entries.insert(at, gui_entry(plugin.name, provider))
    return entries


def gui_entry(name: str, provider: type) -> dict[str, object]:
    """The provider's GUI entry, computed the way g4f computes it for its own."""
    return {
        "name": name,
        "label": getattr(provider, "label", None) or name,
        "parent": getattr(provider, "parent", None),
        "image": len(getattr(provider, "image_models", None) or []),
        "audio": len(getattr(provider, "audio_models", None) or []),
        "video": len(getattr(provider, "video_models", None) or []),
        "vision": getattr(provider, "default_vision_model", None) is not None,
        "nodriver": bool(getattr(provider, "use_nodriver", False)),
        "hf_space": bool(getattr(provider, "hf_space", False)),
        "active_by_default": bool(getattr(provider, "active_by_default", False)),
        "auth": bool(getattr(provider, "needs_auth", False)),
        "login_url": getattr(provider, "login_url", None),
        "live": getattr(provider, "live", 0),
        # g4f's page shows a Login button *instead of* the key box: offer it only
        # where the provider says its browser login can run.
        "login": hasattr(provider, "login") and bool(getattr(provider, "use_nodriver", True)),
    }


def report_plugin_error(entry_point: EntryPoint, error: BaseException) -> None:
    dist = getattr(getattr(entry_point, "dist", None), "name", None) or "?"
    print_line(f"g4f plugin {entry_point.name!r} from dist {dist} failed: {describe(error)}")
