"""xorgrok: benign overfitting and grokking in ReLU networks on XOR cluster data.

The helper package of the executable book reproducing Xu, Wang, Frei, Vardi and Hu (ICLR
2024). Start with :class:`Setup` and :func:`simulate`.

The names below are imported on first use (PEP 562), so that ``import xorgrok`` is
cheap: the command line (``python -m xorgrok``) installs its signal handlers before
torch loads, and a Ctrl-C during start-up ends with one line, not a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

__version__ = "0.1.0"

#: Public name -> the submodule that defines it.
_EXPORTS = {
    "Setup": "config",
    "PAPER_FIG1_LEFT": "config",
    "PAPER_FIG1_RIGHT": "config",
    "simulate": "simulate",
    "Trajectory": "simulate",
    "sample": "simulate",
    "ENGINES": "simulate",
    "DEFAULT_DTYPE": "simulate",
    "sample_dense": "data",
    "sample_reduced": "data",
    "Problem": "data",
    "CLUSTER_NAMES": "data",
    "DivergenceError": "engines",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        # a submodule (``xorgrok.engines`` after a plain ``import xorgrok``)
        if importlib.util.find_spec(f"{__name__}.{name}") is None:
            raise AttributeError(f"module 'xorgrok' has no attribute {name!r}")
        return importlib.import_module(f".{name}", __name__)
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


class _Package(types.ModuleType):
    """Importing a submodule binds it on its package; an exported name wins over a
    submodule
    of the same name (``xorgrok.simulate`` is the function, as with eager imports)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
