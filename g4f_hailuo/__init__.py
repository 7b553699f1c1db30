"""Hailuo AI (MiniMax) web chat as a g4f provider plugin, and the start-up half of
the bridge that registers it with g4f.

Installing the package is enough: g4f resolves ``provider="HailuoAI"`` to
``g4f_hailuo.provider.HailuoAI``. g4f reads no entry points, so a provider
package declares itself in the group ``g4f.providers`` (name = public provider
name, value = ``module:Class``) and ships this bridge, which registers *every*
plugin of the group: any number of provider packages may ship a copy of it
(this module and ``_bridge_registry``); whichever copy runs first does the work
for all of them.

This module is imported at every interpreter start, so it holds only what must
run then and imports nothing that Python has not loaded already (no g4f, no
aiohttp, not even a second module of this package: each import at start-up
costs about 0.25 ms, measured). ``_bridge_registry`` is the other half,
imported once g4f is.

1. ``_install()`` runs at every interpreter start, from ``g4f_hailuo.pth`` (or
   ``g4f_hailuo.start`` on Python >= 3.15, PEP 829). It only puts a tiny finder
   at the front of ``sys.meta_path``.
2. When ``g4f.Provider`` is imported, the finder lets the other finders find
   it and wraps the loader's ``exec_module``: right after the module body has
   run, the group is read and each plugin is registered with ``ProviderLoader``
   (lazily: a plugin's module is imported on the first lookup of its name, not
   while g4f is still half-initialised; see ``_bridge_registry``).
3. When ``g4f.gui.server.api`` is imported, ``Api.get_providers`` is wrapped so
   the GUI's provider list shows the plugins.

A plugin that cannot be loaded never breaks g4f: one line goes to stderr and
its name falls back to g4f's built-in provider of that name, if there is one.

Opt-out: with the environment variable ``G4F_PROVIDER_PLUGINS`` set to ``0``,
``false``, ``off`` or ``no``, ``_install()`` does nothing. ``register()``
registers explicitly, for places where ``.pth`` files are not processed
(``python -S``, ``--target`` installs, frozen apps); it ignores the opt-out.
"""

# No ``from __future__ import annotations`` here: it imports the ``__future__``
# module, about 0.1 ms more at every interpreter start.

import os
import sys

__version__ = "0.1.0"
__all__ = ["__version__", "register"]

TYPE_CHECKING = False  # importing typing would cost milliseconds at every start
if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

ENTRY_POINT_GROUP = "g4f.providers"
OPT_OUT_ENV = "G4F_PROVIDER_PLUGINS"
_OPT_OUT_VALUES = frozenset({"0", "false", "off", "no"})

# Marks what the bridge installs, so that another copy of it (shipped by another
# provider package) finds it and stands aside: the finder carries it as a class
# attribute, the wrapped g4f functions as a function attribute.
MARKER = "__g4f_provider_plugins__"

_PROVIDER_MODULE = "g4f.Provider"
_GUI_API_MODULE = "g4f.gui.server.api"


def _install() -> None:
    """Arrange for the plugins to be registered when g4f is imported.

    Runs at every interpreter start (``g4f_hailuo.pth`` / ``g4f_hailuo.start``):
    stays cheap and never raises.
    """
    if os.environ.get(OPT_OUT_ENV, "").strip().lower() in _OPT_OUT_VALUES:
        return
    try:
        _install_hook()
    except Exception as error:  # a start-up hook must never stop Python
        report_bridge_error(error)


def register() -> list[str]:
    """Register every ``g4f.providers`` plugin with g4f now; idempotent.

    Imports ``g4f.Provider`` if needed. Returns the names of the plugins.
    """
    _install_hook()
    import g4f.Provider  # noqa: F401  (registers while it is imported)

    from ._bridge_registry import register_plugins

    return register_plugins(sys.modules[_PROVIDER_MODULE])


def _install_hook() -> None:
    if not any(getattr(finder, MARKER, False) for finder in sys.meta_path):
        sys.meta_path.insert(0, _ImportHook())
    # Modules imported before the hook was in place are handled right away.
    for name in (_PROVIDER_MODULE, _GUI_API_MODULE):
        if name in sys.modules:
            _after_import(sys.modules[name])


class _ImportHook:
    """A ``sys.meta_path`` finder that finds nothing itself.

    For the two modules it watches, it asks the finders behind it for the spec
    and wraps the loader so that ``_after_import`` runs once the module body
    has run. Any other import costs one set lookup.
    """

    __g4f_provider_plugins__ = True  # MARKER
    _watched = frozenset({_PROVIDER_MODULE, _GUI_API_MODULE})

    def find_spec(self, fullname: str, path: "Any" = None, target: "Any" = None) -> "ModuleSpec | None":
        if fullname not in self._watched:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec: ModuleSpec | None = finder.find_spec(fullname, path, target)
            if spec is not None:
                _run_after_exec(spec.loader)
                return spec
        return None


def _run_after_exec(loader: "Any") -> None:
    """Shadow ``loader.exec_module``, once, with one that then calls ``_after_import``."""
    exec_module = getattr(loader, "exec_module", None)
    if exec_module is None:
        return

    def exec_module_then_register(module: "ModuleType") -> None:
        vars(loader).pop("exec_module", None)  # the loader is as it was again
        exec_module(module)
        _after_import(module)

    try:  # noqa: SIM105  (contextlib is not loaded at start-up)
        loader.exec_module = exec_module_then_register
    except (AttributeError, TypeError):  # a loader without __dict__: not a .py file
        pass


def _after_import(module: "ModuleType") -> None:
    try:
        from . import _bridge_registry as registry

        if module.__name__ == _PROVIDER_MODULE:
            registry.register_plugins(module)
        elif module.__name__ == _GUI_API_MODULE:
            registry.wrap_gui_provider_list(module)
    except Exception as error:  # never break g4f's own import
        report_bridge_error(error)


def report_bridge_error(error: BaseException) -> None:
    print_line(f"g4f plugin bridge failed: {describe(error)}")


def describe(error: BaseException) -> str:
    message = " ".join(str(error).split())  # one line, whatever the message holds
    return f"{type(error).__name__}: {message}"


def print_line(line: str) -> None:
    try:  # noqa: SIM105  (contextlib is not loaded at start-up)
        print(line, file=sys.stderr)
    except Exception:  # no usable stderr (pythonw, a closed pipe)
        pass
