"""The explorer's parameters: the controls (validated), their setup, one simulation, a
sweep over one control and the cost model that decides which settings run live.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Sequence

import numpy as np

from ..config import Setup
from ..resources import torch_threads
from ..schedule import log_steps
from ..simulate import Trajectory, simulate

__all__ = [
    "ExplorerParams",
    "RANGES",
    "to_setup",
    "run_explorer_setup",
    "SINGLE_THREAD_FLOPS",
    "sweep",
    "explorer_flops",
    "MAX_SECONDS",
    "DEFAULT_FLOP_RATE",
]

#: Allowed range (inclusive) of every field of :class:`ExplorerParams`; the sliders use
#: the same ranges.
RANGES: dict[str, tuple[float, float]] = {
    "p": (100, 1_000_000),
    "n": (10, 400),
    "mu_factor": (0.1, 10.0),
    "eta": (0.0, 0.45),
    "m": (10, 2000),
    "init_ratio": (1e-4, 1e4),
    "steps": (1, 5000),
    "seeds": (1, 16),
    "n_test": (10, 1000),
    "alpha": (1e-18, 1e-6),
}
_INT_FIELDS = ("p", "n", "m", "steps", "seeds", "n_test")


@dataclass(frozen=True)
class ExplorerParams:
    """The explorer's controls. Every field is validated against ``RANGES``
    (``ValueError`` otherwise).

    Attributes:
        p: input dimension.
        n: number of training points (noisy labels).
        mu_factor: ||mu|| in units of sqrt(p / n); the paper uses ||mu|| = 2.5 sqrt(p /
            n).
        eta: label-flip probability.
        m: number of hidden neurons.
        init_ratio: omega_init / alpha, the initialization scale relative to the step
            size (the paper's Figure 1: 1e-3 on the left, 10 on the right).
        steps: number of gradient-descent steps.
        seeds: number of independent runs (seeds 0 .. seeds-1).
        n_test: number of clean test points.
        alpha: the step size; omega_init = init_ratio * alpha. While the network's
            outputs stay tiny (g_i close to 1/2, the paper's regime) the signs,
            accuracies and the shapes of the views depend on omega_init / alpha only, so
            alpha is a fixed field and not a slider.
    """

    p: int = 40_000
    n: int = 100
    mu_factor: float = 2.5
    eta: float = 0.05
    m: int = 200
    init_ratio: float = 1e-3
    steps: int = 200
    seeds: int = 4
    n_test: int = 200
    alpha: float = 1e-12

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            low, high = RANGES[f.name]
            if f.name in _INT_FIELDS:
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                    raise ValueError(
                        f"{f.name} must be an integer in [{low}, {high}], got {value!r}"
                    )
                value = int(value)
            else:
                if isinstance(value, bool) or not isinstance(
                    value, (int, float, np.integer, np.floating)
                ):
                    raise ValueError(
                        f"{f.name} must be a real number in [{low:g}, {high:g}], got "
                        f"{value!r}"
                    )
                value = float(value)
            if not (low <= value <= high):  # also rejects nan
                raise ValueError(
                    f"{f.name} must be in [{low:g}, {high:g}], got {value!r}"
                )
            object.__setattr__(self, f.name, value)

    @property
    def mu_norm(self) -> float:
        """||mu|| = mu_factor * sqrt(p / n)."""
        return self.mu_factor * math.sqrt(self.p / self.n)

    @property
    def omega_init(self) -> float:
        """omega_init = init_ratio * alpha."""
        return self.init_ratio * self.alpha

    def replace(self, **changes: Any) -> "ExplorerParams":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dictionary."""
        return asdict(self)


def to_setup(params: ExplorerParams) -> Setup:
    """The :class:`~xorgrok.config.Setup` the explorer trains: ||mu|| = mu_factor
    sqrt(p/n), omega_init = init_ratio alpha."""
    if not isinstance(params, ExplorerParams):
        raise ValueError(
            f"params must be an ExplorerParams, got {type(params).__name__}"
        )
    return Setup(
        p=params.p,
        n=params.n,
        n_test=params.n_test,
        m=params.m,
        mu_norm=params.mu_norm,
        eta=params.eta,
        omega_init=params.omega_init,
        alpha=params.alpha,
    )


#: Below this many floating-point operations per step (2 m n^2 per seed),
#: :func:`run_explorer_setup` runs
#: torch on one thread: the matrices are then so small that synchronizing threads costs
#: more than it saves,
#: and far more on a busy machine (measured: several times slower with two threads while
#: other work runs).
SINGLE_THREAD_FLOPS = 1e8


def run_explorer_setup(
    params: ExplorerParams, threads: int | None = -1, **kwargs: Any
) -> Trajectory:
    """Simulate ``params.seeds`` seeds (0, 1, ...) for ``params.steps`` steps with the
    reduced engine.

    Records accuracies, loss and the neurons' projections (``neurons=True``) at
    :func:`xorgrok.schedule.log_steps` (every step to 10, then 10 a decade).

    Args:
        params: the explorer's parameters.
        threads: torch threads for the simulation: a number, None (torch's setting,
            unchanged) or -1 (default: one thread when a step costs less than
            ``SINGLE_THREAD_FLOPS``, else unchanged). The previous setting is
            restored afterwards.
        kwargs: passed on to :func:`xorgrok.simulate.simulate` (e.g. ``dtype``,
            ``progress``).
    """
    setup = to_setup(params)
    if threads == -1:
        small = 2 * params.m * params.n**2 * params.seeds < SINGLE_THREAD_FLOPS
        threads = 1 if small else None
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise ValueError(
            f"threads must be an integer >= 1, None or -1, got {threads!r}"
        )
    with torch_threads(threads):
        return simulate(
            setup,
            params.steps,
            seeds=range(params.seeds),
            record=log_steps(params.steps),
            engine=kwargs.pop("engine", "reduced"),
            neurons=True,
            **kwargs,
        )


# ------------------------------------------------------------------------------- sweeps


def sweep(
    params: ExplorerParams,
    name: str,
    values: Sequence[float],
    threshold: float = 0.9,
) -> list[dict[str, Any]]:
    """Run the explorer at ``params`` with field ``name`` set to each of ``values`` (the
    exercises' answers).

    Returns one row per value: ``value``, ``first_step`` (first recorded step at which
    the median test accuracy reaches ``threshold``, or None), ``train_acc_1`` (median
    train accuracy at t = 1, if recorded) and ``test_acc_final`` (median test accuracy
    at the last step).
    """
    if name not in {f.name for f in fields(ExplorerParams)}:
        raise ValueError(f"name must be a field of ExplorerParams, got {name!r}")
    rows = []
    for value in values:
        traj = run_explorer_setup(params.replace(**{name: value}))
        first = traj.first_step("test_acc", threshold)
        rows.append(
            {
                "value": value,
                "first_step": int(first) if np.isfinite(first) else None,  # None: never
                "train_acc_1": float(np.median(traj.train_acc[:, traj.index(1)]))
                if 1 in traj.t
                else None,
                "test_acc_final": float(np.median(traj.test_acc[:, -1])),
            }
        )
    return rows


#: Longest predicted simulation the explorer runs, in seconds (longer ones are refused).
MAX_SECONDS = 5.0
#: Speed assumed before the explorer's first simulation has measured one, in flop/s
#: (conservative: a slow laptop core; the default setting then predicts under 2 s).
DEFAULT_FLOP_RATE = 2e9


def explorer_flops(params: ExplorerParams) -> float:
    """Floating-point operations of :func:`run_explorer_setup`: 2 m n^2 per seed and
    step (the span engine's product), plus m n_test n at each recorded step (the test
    outputs)."""
    m, n, recorded = params.m, params.n, len(log_steps(params.steps))
    per_seed = 2 * m * n**2 * params.steps + m * params.n_test * n * recorded
    return float(params.seeds * per_seed)
