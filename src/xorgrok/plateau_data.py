"""The stored data of the chapter "How long is the plateau?": ``python -m xorgrok
plateau-data``.

A grid of cells (m, tau) around one base setup (n = 50, p = 4e6, ||mu||^2 sqrt(n) / p =
0.1, eta = 0.05): for each cell r = omega_init / alpha is set so that the clock
:func:`xorgrok.plateau.time_scale` equals tau, and ``seeds`` networks are trained for
max(300 tau, 100) steps (every step up to 300 recorded, then 40 steps a decade).
Written:

* ``plateau_runs.csv``: per (cell, seed) the step at which every training label is
  fitted and the first recorded steps at which the clean test accuracy reaches 0.75 and
  0.9 (empty: never);
* ``plateau_curves.csv``: per cell and recorded step, the 20 / 50 / 80 % quantiles over
  seeds of the training and clean test accuracy;
* ``plateau_limit.csv``: per seed and width m, the crossing times s = t / tau of the
  levels predicted by the large-width limit (:func:`xorgrok.plateau.limit_dynamics`,
  4000 neurons, Euler step 0.4, on the seed's own training set, which is the same in
  every cell) and the predicted final accuracy;
* ``plateau_limit_curves.csv``: per m and s, the 20 / 50 / 80 % quantiles over seeds of
  the predicted clean test accuracy;
* ``provenance_plateau.txt``.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .config import Setup
from .outputs import staged_folder
from .plateau import limit_accuracy, limit_dynamics
from .schedule import first_crossing, log_steps
from .simulate import sample, simulate
from .theorem_data import _commit, _count, _write_csv, provenance_text

__all__ = [
    "BASE",
    "CELLS",
    "LEVELS",
    "SEEDS",
    "LIMIT",
    "cell_setup",
    "limit_rows",
    "write_plateau_data",
    "add_parser",
    "run",
]

_P, _N = 4_000_000, 50
#: The base setup, with ||mu||^2 sqrt(n) / p = 0.1; each cell replaces m and omega_init.
BASE = Setup(
    p=_P,
    n=_N,
    n_test=500,
    m=100,
    mu_norm=math.sqrt(0.1 * _P / math.sqrt(_N)),
    eta=0.05,
    omega_init=1e-12,
    alpha=1e-12,
)
#: The cells (m, tau); tau spans two decades at m = 10 and 100, m two decades at
#: tau = 0.5 and 5.
CELLS = (
    (10, 0.5),
    (10, 5.0),
    (10, 50.0),
    (100, 0.5),
    (100, 5.0),
    (100, 50.0),
    (1000, 0.5),
    (1000, 5.0),
)
#: Test-accuracy levels whose first crossing is stored.
LEVELS = (0.75, 0.9)
#: Seeds per cell.
SEEDS = 64
#: The limit's population, Euler step, recording interval and last time (clock units).
LIMIT = {"neurons": 4000, "ds": 0.4, "every": 2, "s_max": 300.0}


def cell_setup(m: int, tau: float, base: Setup = BASE) -> Setup:
    """``base`` with width m and omega_init chosen so that time_scale = tau."""
    r = tau * math.sqrt(base.p) / (2 * base.n * math.sqrt(m))
    return base.replace(m=m, omega_init=r * base.alpha)


def limit_rows(
    seeds: int, ms: Sequence[int], base: Setup = BASE
) -> tuple[list[dict[str, Any]], list[tuple]]:
    """The large-width limit's predictions for each seed's training set (module
    docstring)."""
    beta = base.mu_norm**2 / base.p
    rows, accs = [], {m: [] for m in ms}
    for seed in range(seeds):
        problem = sample(base, seed)
        s, M, V = limit_dynamics(
            problem.cluster[: base.n],
            problem.y,
            beta,
            LIMIT["s_max"],
            LIMIT["ds"],
            LIMIT["neurons"],
            seed,
            LIMIT["every"],
        )
        for m in ms:
            acc = limit_accuracy(M, V, m)
            accs[m].append(acc)
            rows.append(
                {
                    "m": m,
                    "seed": seed,
                    **{
                        f"s_test_{lv:g}": first_crossing(s, acc[None], lv)[0]
                        for lv in LEVELS
                    },
                    "test_acc_end": acc[-1],
                }
            )
    curves = []
    for m in ms:
        q = np.quantile(np.array(accs[m]), [0.2, 0.5, 0.8], axis=0)
        curves += [
            (m, f"{v:.4g}", *(f"{q[i, j]:.4g}" for i in range(3)))
            for j, v in enumerate(s)
        ]
    return rows, curves


def _horizon(tau: float) -> int:
    return int(max(300 * tau, 100))


def _cell_rows(
    m: int, tau: float, seeds: int, base: Setup
) -> tuple[list[dict[str, Any]], list[tuple]]:
    """Train the cell (m, tau) over seeds 0..seeds-1: its rows of plateau_runs.csv
    (one per seed) and of plateau_curves.csv (one per recorded step: the 20/50/80%
    quantiles of train and test accuracy over the seeds)."""
    setup = cell_setup(m, tau, base)
    steps = _horizon(tau)
    record = np.union1d(np.arange(min(steps, 300) + 1), log_steps(steps, 40))
    tr = simulate(setup, steps, range(seeds), record=record)
    fit = first_crossing(tr.t, tr.train_acc, 1.0)
    cross = {lv: first_crossing(tr.t, tr.test_acc, lv) for lv in LEVELS}
    runs = []
    for k in range(seeds):
        runs.append(
            {
                "m": m,
                "tau": tau,
                "r": setup.omega_init / setup.alpha,
                "seed": k,
                "t_fit": fit[k],
                **{f"t_test_{lv:g}": cross[lv][k] for lv in LEVELS},
                "test_acc_end": tr.test_acc[k, -1],
            }
        )
    qs = {
        name: np.quantile(getattr(tr, name), [0.2, 0.5, 0.8], axis=0)
        for name in ("train_acc", "test_acc")
    }
    curves = [
        (
            m,
            tau,
            int(t),
            *(f"{qs[name][i, j]:.4g}" for name in qs for i in range(3)),
        )
        for j, t in enumerate(tr.t)
    ]
    return runs, curves


def write_plateau_data(
    out: str | os.PathLike,
    seeds: int = SEEDS,
    cells: Sequence[tuple[int, float]] | None = None,
    command: str = "",
    progress: bool = False,
    base: Setup | None = None,
) -> Path:
    """Compute and write the stored data into the folder ``out`` (see the module
    docstring);
    ``cells`` and ``base`` default to :data:`CELLS` and :data:`BASE`."""
    start = time.time()
    commit = _commit()  # the code that computes, not the checkout at the end
    cells = CELLS if cells is None else cells
    base = BASE if base is None else base
    runs: list[dict[str, Any]] = []
    curves: list[tuple] = []
    for m, tau in cells:
        cell_runs, cell_curves = _cell_rows(m, tau, seeds, base)
        runs += cell_runs
        curves += cell_curves
        if progress:
            print(f"m = {m}, tau = {tau:g}: {time.time() - start:.0f} s", flush=True)
    ms = sorted({m for m, _ in cells})
    limit, limit_curves = limit_rows(seeds, ms, base)
    wall = time.time() - start
    with staged_folder(Path(out)) as stage:
        _write_csv(stage / "plateau_runs.csv", runs)
        _write_csv(stage / "plateau_limit.csv", limit)
        with open(stage / "plateau_limit_curves.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["m", "s", "q20", "q50", "q80"])
            writer.writerows(limit_curves)
        with open(stage / "plateau_curves.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(
                [
                    "m",
                    "tau",
                    "t",
                    "train_q20",
                    "train_q50",
                    "train_q80",
                    "test_q20",
                    "test_q50",
                    "test_q80",
                ]
            )
            writer.writerows(curves)
        text = provenance_text(
            command or "python -m xorgrok plateau-data", commit, wall
        )
        (stage / "provenance_plateau.txt").write_text(text)
    return Path(out)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``plateau-data`` sub-command."""
    p = subparsers.add_parser(
        "plateau-data",
        help="the stored data of the chapter 'How long is the plateau?'",
        description="Train a grid of widths m and clocks tau (reduced engine) and "
        "write the training-fit and test-crossing steps per run.",
    )
    p.add_argument("--out", required=True, help="output folder (replaced atomically)")
    p.add_argument(
        "--seeds",
        type=_count(1, 100_000),
        default=SEEDS,
        help="seeds 0..seeds-1 per cell (default 64)",
    )
    p.add_argument("--progress", action="store_true", help="print a line per cell")
    return p


def run(args: argparse.Namespace) -> int:
    """Run the sub-command; returns the exit status."""
    command = f"python -m xorgrok plateau-data --out {args.out} --seeds {args.seeds}"
    write_plateau_data(args.out, args.seeds, command=command, progress=args.progress)
    return 0
