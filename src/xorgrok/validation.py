"""Checks shared by every entry point that trains networks (and the helpers they call).

Each check returns the value normalized (Python ints, sorted arrays, resolved names) or
raises a ``ValueError`` that names the parameter and its allowed range. Integers are
Python or numpy integers, never bools or floats, however round.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np
import torch

__all__ = [
    "MAX_SEED",
    "ENGINES",
    "Progress",
    "is_int",
    "check_int",
    "check_seeds",
    "check_record",
    "check_engine",
    "check_dtype",
    "check_progress",
]

#: Seeds are stored as int64: the largest seed (and the largest number of steps).
MAX_SEED = 2**63 - 1
#: The engines of :func:`xorgrok.simulate`; ``"auto"`` resolves to ``"reduced"``.
ENGINES = ("auto", "dense", "span", "reduced")
#: What every training entry point accepts as ``progress``: None, or a function called
#: with the number
#: of runs (seeds, or (cell, seed) pairs of a sweep) that just finished, e.g.
#: ``tqdm(...).update``.
Progress = Callable[[int], Any] | None


def is_int(value: object) -> bool:
    """A Python or numpy integer (not a bool)."""
    integer = isinstance(value, (int, np.integer))
    return integer and not isinstance(value, (bool, np.bool_))


def check_int(name: str, value: Any, minimum: int = 0, maximum: int = MAX_SEED) -> int:
    """``value`` as a Python int in [minimum, maximum]."""
    if not is_int(value) or not minimum <= value <= maximum:
        top = "" if maximum == MAX_SEED else f" and <= {maximum}"
        raise ValueError(f"{name} must be an integer >= {minimum}{top}, got {value!r}")
    return int(value)


def check_seeds(seeds: Iterable[int]) -> list[int]:
    """The seeds as Python ints: distinct integers in [0, 2**63 - 1]."""
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    bad = [s for s in seeds if not is_int(s) or not 0 <= s <= MAX_SEED]
    if bad:
        message = f"seeds must be integers >= 0 (at most 2**63 - 1), got {bad[0]!r}"
        raise ValueError(message)
    seeds = [int(s) for s in seeds]
    if len(set(seeds)) != len(seeds):
        raise ValueError("seeds must be distinct")
    return seeds


def check_record(record: Iterable[int] | None, steps: int) -> np.ndarray:
    """The recorded steps [T]: sorted, distinct int64 in [0, steps] (default: every
    step).

    A step beyond ``steps`` is an error, as is a float (however round) or an empty
    record.
    """
    steps = check_int("steps", steps)
    if record is None:
        return np.arange(steps + 1, dtype=np.int64)
    values = list(record)
    fine = [t for t in values if is_int(t) and 0 <= t <= steps]
    if not values or len(fine) != len(values):
        bad = next((t for t in values if t not in fine), values)
        raise ValueError(
            f"record must be a non-empty set of integer steps in [0, {steps}], got "
            f"{bad!r}"
        )
    return np.unique(np.asarray([int(t) for t in values], dtype=np.int64))


def check_engine(engine: str) -> str:
    """The engine's name, ``"auto"`` resolved to ``"reduced"``."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    return "reduced" if engine == "auto" else engine


def check_dtype(dtype: torch.dtype | str | None, default: torch.dtype) -> torch.dtype:
    """A torch floating type, float32 or float64 (also by name); None gives
    ``default``."""
    names = {"float32": torch.float32, "float64": torch.float64}
    dtype = names.get(dtype, dtype) if isinstance(dtype, str) else dtype
    if dtype is None:
        return default
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    return dtype


def check_progress(progress: Progress) -> Callable[[int], Any]:
    """``progress`` as a function (a no-op for None)."""
    if progress is None:
        return lambda done: None
    if not callable(progress):
        raise ValueError(
            f"progress must be None or a function of an int, got {progress!r}"
        )
    return progress
