"""Hailuo AI (MiniMax) web chat as a g4f provider plugin.

Installing the package is enough: g4f resolves ``provider="HailuoAI"`` to
``g4f_hailuo.provider.HailuoAI``. This module is imported at every interpreter
start (through the start-up hook), so it must stay tiny: no g4f, no aiohttp.
"""

# No ``from __future__ import annotations`` here: it imports the ``__future__``
# module, about 0.1 ms more at every interpreter start.

__version__ = "0.1.0"
__all__ = ["__version__", "register"]


def register() -> list[str]:
    """Register every installed ``g4f.providers`` plugin with g4f now.

    For places where the start-up hook does not run (``python -S``, ``--target``
    installs, frozen apps). Returns the names registered.
    """
    from ._bridge import register as _register

    return _register()
