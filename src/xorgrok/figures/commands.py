"""The figure commands: the paper's runs, scaled for quick checks, and
:func:`make_figure`, which runs, tabulates, draws and writes one figure (the command
line ``python -m xorgrok figureN``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..config import PAPER_FIG1_LEFT, PAPER_FIG1_RIGHT, Setup
from ..schedule import log_steps
from ..simulate import Trajectory, simulate
from ..validation import Progress, check_int
from .plots import plot_figure1, plot_figure2, plot_histograms, save_figure
from .tables import (
    FIGURE1_STEPS,
    FIGURE2_STEPS,
    FIGURE3_STEPS,
    FIGURE4_STEPS,
    FIGURES,
    figure1_table,
    figure2_summary,
    figure2_tables,
    histogram_summary,
    histogram_table,
    runs_table,
    write_csv,
)

__all__ = [
    "FIGURE1_MARKS",
    "figure1_record",
    "run_figure1",
    "run_histograms",
    "run_figure2",
    "make_figure",
    "scaled_setup",
    "convention_setup",
]


#: Round steps a long Figure 1 run always records (steps quoted from the paper, Figure
#: 4's).
FIGURE1_MARKS = (10, 25, 40, 50, 100, 200, 300, 500, 1000, 2000, 3000, 4000, 5000)


def figure1_record(steps: int) -> np.ndarray:
    """The recorded steps of a Figure 1 panel: every step up to 100; beyond, about 20
    per decade plus
    ``FIGURE1_MARKS`` (test accuracy is only computed at recorded steps, so long
    runs stay cheap)."""
    return log_steps(steps, 20, every_step_to=100, marks=FIGURE1_MARKS)


def run_figure1(
    setup: Setup,
    steps: int,
    seeds: Iterable[int],
    record: Iterable[int] | None = None,
    progress: Progress = None,
    **kwargs,
) -> Trajectory:
    """Train one network per seed (:func:`xorgrok.simulate`), recording at
    :func:`figure1_record` by default.

    Extra keyword arguments (``neurons=True``, ``outputs=True``, ``engine=``...) go to
    :func:`xorgrok.simulate`.
    """
    if record is None:
        record = figure1_record(steps)
    return simulate(setup, steps, seeds, record=record, progress=progress, **kwargs)


def run_histograms(
    setup: Setup,
    steps: Sequence[int],
    seeds: Iterable[int],
    progress: Progress = None,
    **kwargs,
) -> Trajectory:
    """Train and record the neurons' projections only at ``steps`` (the histogram's
    time points)."""
    steps = sorted({int(s) for s in steps})
    if not steps:
        raise ValueError("steps must name at least one step")
    return simulate(
        setup, steps[-1], seeds, record=steps, neurons=True, progress=progress, **kwargs
    )


def run_figure2(
    setup: Setup,
    seeds: Iterable[int],
    steps: int = 15,
    progress: Progress = None,
    **kwargs,
) -> Trajectory:
    """Train and record every step 0..steps with the neurons' projections (for the
    panels and the animation)."""
    return simulate(setup, steps, seeds, neurons=True, progress=progress, **kwargs)


def scaled_setup(
    base: Setup, p: int | None = None, n: int | None = None, m: int | None = None
) -> Setup:
    """The paper's setup with p, n (= n_test) or m changed and ||mu|| = 2.5 sqrt(p/n)
    kept (for quick runs and tests)."""
    p = base.p if p is None else p
    n = base.n if n is None else n
    m = base.m if m is None else m
    for name, value, low in (("p", p, 3), ("n", n, 1), ("m", m, 1)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or value < low
        ):
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return base.replace(
        p=int(p), n=int(n), n_test=int(n), m=int(m), mu_norm=2.5 * math.sqrt(p / n)
    )


def convention_setup(
    base: Setup, step_scale: float = 1.0, init_scale: float = 1.0
) -> Setup:
    """``base`` with alpha multiplied by ``step_scale`` and omega_init by
    ``init_scale``.

    The paper states neither a factor 2 in its step (a loss with -l'(0) = 1) nor an
    initialization other than omega_init; these are the two conventions that map its
    Figure 1 onto the book's (chapter 5).

    Both factors must be finite and > 0; ``ValueError`` names the parameter otherwise.
    """
    for name, value in (("step_scale", step_scale), ("init_scale", init_scale)):
        real = (int, float, np.integer, np.floating)
        ok = isinstance(value, real) and not isinstance(value, bool)
        if not ok or not math.isfinite(float(value)) or float(value) <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return base.replace(
        alpha=base.alpha * float(step_scale),
        omega_init=base.omega_init * float(init_scale),
    )


def _steps_scaled(steps: Sequence[int], last: int) -> list[int]:
    """Map the paper's time points onto a shorter run ending at ``last`` (same
    proportions, distinct)."""
    top = max(steps)
    if last >= top:
        return list(steps)
    return sorted({int(round(s * last / top)) for s in steps})


def make_figure(
    name: str,
    out_dir: str | os.PathLike,
    runs: int = 100,
    progress: Progress = None,
    p: int | None = None,
    n: int | None = None,
    m: int | None = None,
    steps: int | None = None,
    first_seed: int = 0,
    step_scale: float = 1.0,
    init_scale: float = 1.0,
) -> list[Path]:
    """Run, tabulate, draw and write one of the paper's figures into ``out_dir``;
    returns the paths written.

    * ``figure1``: ``figure1_left.csv``, ``figure1_right.csv``
      (``FIGURE1_COLUMNS``), every run in ``figure1_left_runs.csv``,
      ``figure1_right_runs.csv``, and ``figure1.png``, ``figure1.svg``.
    * ``figure2``: ``figure2_points.csv``, ``figure2_neurons.csv``,
      ``figure2_boundary.csv`` (the first run), ``figure2_runs.csv`` (every run's
      accuracies at t = 0, 1, 15), ``figure2.png``, ``figure2.svg``.
    * ``figure3``/``figure4``: ``figureN_hist.csv`` (:func:`histogram_table`),
      ``figureN_summary.csv`` (:func:`histogram_summary`), ``figureN.png``,
      ``figureN.svg``.

    Seeds are ``first_seed .. first_seed + runs - 1``. ``p``, ``n``, ``m``
    (:func:`scaled_setup`) and ``steps`` (the last step; the paper's time points are
    scaled onto it) shrink the experiment for quick checks. ``progress`` is called with
    the number of runs finished, as they finish (``2 * runs`` in all for figure 1).
    ``step_scale`` and ``init_scale`` multiply the paper's alpha and omega_init
    (:func:`convention_setup`); chapter 5's two candidate conventions are
    ``step_scale=2`` and ``init_scale=0.5``.
    """
    if name not in FIGURES:
        raise ValueError(f"name must be one of {', '.join(FIGURES)}, got {name!r}")
    runs = check_int("runs", runs, 1)
    seeds = range(check_int("first_seed", first_seed), int(first_seed) + runs)
    if steps is not None:
        steps = check_int("steps", steps, 1)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir must be a folder, got the file {os.fspath(out)!r}")
    out.mkdir(parents=True, exist_ok=True)
    left, right = (
        convention_setup(scaled_setup(base, p, n, m), step_scale, init_scale)
        for base in (PAPER_FIG1_LEFT, PAPER_FIG1_RIGHT)
    )
    from ..plotting import use_style

    use_style()
    if name == "figure1":
        return _make_figure1(out, left, right, seeds, steps, progress)
    if name == "figure2":
        return _make_figure2(out, left, seeds, steps, progress)
    setup = left if name == "figure3" else right
    return _make_histograms(name, out, setup, seeds, steps, progress)


def _save_and_close(fig: Any, stem: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    paths = save_figure(fig, stem)
    plt.close(fig)
    return paths


def _make_figure1(
    out: Path,
    left: Setup,
    right: Setup,
    seeds: range,
    steps: int | None,
    progress: Progress,
) -> list[Path]:
    """Figure 1 of :func:`make_figure`: both panels' tables, every run, the figure."""
    tables, written = {}, []
    for panel, setup in (("left", left), ("right", right)):
        last = (
            FIGURE1_STEPS[panel] if steps is None else min(steps, FIGURE1_STEPS[panel])
        )
        traj = run_figure1(setup, last, seeds, progress=progress)
        tables[panel] = figure1_table(traj)
        written.append(write_csv(out / f"figure1_{panel}.csv", tables[panel]))
        written.append(write_csv(out / f"figure1_{panel}_runs.csv", runs_table(traj)))
    alphas = (left.alpha, right.alpha)
    fig = plot_figure1(tables["left"], tables["right"], runs=len(seeds), alphas=alphas)
    return written + _save_and_close(fig, out / "figure1")


def _make_figure2(
    out: Path, left: Setup, seeds: range, steps: int | None, progress: Progress
) -> list[Path]:
    """Figure 2 of :func:`make_figure`: the first run's tables, every run's
    accuracies, the figure."""
    last = FIGURE2_STEPS[-1] if steps is None else min(steps, FIGURE2_STEPS[-1])
    shown = _steps_scaled(FIGURE2_STEPS, last)
    traj = run_figure2(left, seeds, steps=last, progress=progress)
    tables = figure2_tables(traj, shown)
    written = [
        write_csv(out / f"figure2_{key}.csv", table) for key, table in tables.items()
    ]
    written.append(write_csv(out / "figure2_runs.csv", figure2_summary(traj, shown)))
    return written + _save_and_close(
        plot_figure2(tables, shown, shown[1:]), out / "figure2"
    )


def _make_histograms(
    name: str,
    out: Path,
    setup: Setup,
    seeds: range,
    steps: int | None,
    progress: Progress,
) -> list[Path]:
    """Figures 3 and 4 of :func:`make_figure`: the histograms, their summary, the
    figure."""
    paper_steps = FIGURE3_STEPS if name == "figure3" else FIGURE4_STEPS
    shown = paper_steps if steps is None else _steps_scaled(paper_steps, steps)
    traj = run_histograms(setup, shown, seeds, progress=progress)
    hist = histogram_table(traj, shown)
    written = [
        write_csv(out / f"{name}_hist.csv", hist),
        write_csv(out / f"{name}_summary.csv", histogram_summary(traj, shown)),
    ]
    title = (
        f"positive neurons, alpha = {setup.alpha:g}, omega_init = {setup.omega_init:g}"
    )
    fig = plot_histograms(hist, shown, title=f"{title}, {len(seeds)} runs pooled")
    return written + _save_and_close(fig, out / name)
