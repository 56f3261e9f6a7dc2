"""Grids of setups: :func:`grid` (the product of some Setup fields' values around a
base) and :func:`as_setup_array` (any nesting of Setups as an object array, the grid's
shape), the inputs of :func:`xorgrok.sweep.sweep`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .config import Setup
from .validation import check_int

__all__ = ["grid", "as_setup_array", "broadcast_steps"]


def grid(base: Setup, **axes: Sequence[Any]) -> np.ndarray:
    """Setups on the product of the axes (Setup fields): object array of shape
    (len(axis1), len(axis2), ...).

    Example: ``grid(PAPER_FIG1_LEFT, alpha=[1e-12, 1e-14], m=[100, 1000])`` has shape
    (2, 2).
    """
    if not isinstance(base, Setup):
        raise ValueError(f"base must be an xorgrok.Setup, got {type(base).__name__}")
    fields = set(base.as_dict())
    for name, values in axes.items():
        if name not in fields:
            raise ValueError(
                f"grid axis must be a Setup field ({', '.join(sorted(fields))}), got "
                f"{name!r}"
            )
        if len(values) == 0:
            raise ValueError(f"grid axis {name} must have at least one value")
    shape = tuple(len(v) for v in axes.values())
    out = np.empty(shape, dtype=object)
    names = list(axes)
    for idx in np.ndindex(*shape):
        out[idx] = base.replace(**{name: axes[name][i] for name, i in zip(names, idx)})
    return out


def as_setup_array(setups: Any) -> np.ndarray:
    """A Setup or a (nested) sequence of Setups as an object array of Setups (shape
    G, the grid's)."""
    if isinstance(setups, Setup):
        arr = np.empty((), dtype=object)
        arr[()] = setups
        return arr
    arr = np.empty(np.shape(np.array(setups, dtype=object)), dtype=object)
    flat = np.array(setups, dtype=object).reshape(-1)
    arr.reshape(-1)[:] = flat
    if arr.size == 0:
        raise ValueError("setups must contain at least one Setup")
    for s in arr.reshape(-1):
        if not isinstance(s, Setup):
            raise ValueError(
                f"setups must contain xorgrok.Setup objects, got {type(s).__name__}"
            )
    return arr


def broadcast_steps(steps: Any, shape: tuple[int, ...]) -> np.ndarray:
    """The step count of every cell, int64 of ``shape`` (the grid's): one integer for
    all, or an array of that shape; ``ValueError`` otherwise."""
    if np.ndim(steps) == 0:
        return np.full(shape, check_int("steps", steps), dtype=np.int64)
    arr = np.asarray(steps)
    if arr.shape != shape:
        raise ValueError(
            f"steps must be an integer or an array of the grid's shape {shape}, got "
            "shape "
            f"{arr.shape}"
        )
    return np.vectorize(lambda s: check_int("steps", s), otypes=[np.int64])(arr)
