"""Recorded steps: the one log-spaced schedule, and finding steps in a record.

A run records its state at a sorted set of steps ``t`` [T]. :func:`log_steps` is the
schedule of every long run (the figures, the sweeps, the explorer); :class:`Recorded`
gives :class:`xorgrok.Trajectory` and :class:`xorgrok.sweep.SweepResult` the same two
look-ups, :meth:`Recorded.index` and :meth:`Recorded.first_step`.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from .validation import check_int

__all__ = ["log_steps", "first_crossing", "Recorded"]


def log_steps(
    steps: int,
    per_decade: int = 10,
    *,
    every_step_to: int | None = None,
    marks: Iterable[int] = (),
) -> np.ndarray:
    """Every step up to ``per_decade``, then about ``per_decade`` log-spaced steps per
    decade.

    A run of at most ``every_step_to`` steps (default ``per_decade``) records every
    step; ``marks`` (steps that must be recorded, e.g. those the paper quotes) are added
    when they are <= ``steps``. Always contains 0, 1 and ``steps``; sorted, distinct,
    int64. Example: ``log_steps(1000, 4)`` -> 0, 1, 2, 3, 4, 6, 10, 18, 32, 56, 100,
    178, 316, 562, 1000.
    """
    steps = check_int("steps", steps, 0)
    per_decade = check_int("per_decade", per_decade, 1)
    limit = (
        per_decade
        if every_step_to is None
        else check_int("every_step_to", every_step_to, 0)
    )
    if steps <= limit:
        return np.arange(steps + 1, dtype=np.int64)
    small = np.arange(min(steps, per_decade) + 1)
    count = int(math.ceil(per_decade * math.log10(steps / per_decade))) + 1
    large = np.rint(
        np.logspace(math.log10(per_decade), math.log10(steps), count)
    ).astype(np.int64)
    kept = [int(s) for s in marks if s <= steps]
    return np.unique(np.concatenate([small, large, [steps], kept])).astype(np.int64)


def first_crossing(t: np.ndarray, curves: np.ndarray, threshold: float) -> np.ndarray:
    """First ``t`` where each curve (last axis, aligned with t) is >= threshold; NaN
    where it never is.

    t [T], curves [..., T] -> [...] float.
    """
    hit = np.nan_to_num(curves, nan=-np.inf) >= threshold
    first = np.argmax(hit, axis=-1)
    return np.where(hit.any(-1), np.asarray(t, dtype=float)[first], np.nan)


class Recorded:
    """The look-ups shared by everything that holds curves at recorded steps ``t`` [T]
    (last axis).

    A subclass has a ``t`` attribute and a ``quantiles(name, q)`` method returning
    [len(q), ..., T].
    """

    t: np.ndarray

    def quantiles(self, name: str, q: Iterable[float] = (0.2, 0.5, 0.8)) -> np.ndarray:
        raise NotImplementedError

    def index(self, step: int) -> int:
        """Position of a recorded step in ``t``; ``KeyError`` if that step was not
        recorded."""
        hits = np.flatnonzero(self.t == step)
        if hits.size == 0:
            recorded = f"{self.t.min()}..{self.t.max()}"
            raise KeyError(f"step {step} was not recorded (recorded: {recorded})")
        return int(hits[0])

    def first_step(
        self, name: str, threshold: float, q: float = 0.5
    ) -> float | np.ndarray:
        """First recorded step where the q-quantile over seeds of ``name`` reaches
        ``threshold``.

        A float (one curve) or a float array (one per grid cell); NaN where it never
        does.
        """
        curve = self.quantiles(name, (q,))[0]  # [..., T]
        first = first_crossing(self.t, curve, threshold)
        return float(first) if first.ndim == 0 else first
