r"""The plans of "Beyond the theorem" at the paper's size, and what they cost.

Every experiment here varies one thing at a time around :data:`PAPER_BASE`, the
paper's Figure 1 (left) setup (:math:`p = 40000`, :math:`n = 200`,
:math:`n_{\text{test}} = 200`, :math:`m = 1000`, :math:`\eta = 0.05`,
:math:`\|\mu\| = 2.5 \sqrt{p / n}`, :math:`\omega_{\text{init}} = 10^{-15}`,
:math:`\alpha = 10^{-12}`), unless the question is about that thing.
``resolution="full"`` is the plan the command line runs once and stores
(``python -m xorgrok sweep --all --resolution full --out book/data/beyond``);
``resolution="page"`` is the small live check a page runs: a subset of the full plan's
cells (one or two values of each axis) and its first 8 seeds, with the same steps and
recorded steps, so that every page cell is a stored cell and the page can compare its
numbers with the stored ones seed by seed.

**Horizons** come from the plateau's clock :math:`\tau = 2 n \sqrt{m}\, r / \sqrt{p}`,
:math:`r = \omega_{\text{init}} / \alpha` (:func:`xorgrok.plateau.time_scale`):
:func:`horizon` is :math:`\max(100, \lceil 12 \tau \rceil)` steps. At the paper's
signal the median test accuracy of Figure 1 (right) (:math:`r = 10`, :math:`\tau =
632`) passes 0.9 at about :math:`5.5 \tau` and its 20 % quantile is still below it at
:math:`6.3 \tau` (``book/data/figure1_right.csv``): :math:`12 \tau` leaves room for
the slow seeds.

**Seeds**: 64 wherever a crossing time, a boundary or a rate is estimated, 32
elsewhere (the issue's rule). **Grids** bracket each boundary by neighbouring cells a
factor 1.3 apart (:math:`< 1.5`).

**Budget** (:func:`estimate_seconds`): CPU costs per seed measured once by
:func:`measure_costs` at the paper's size on one thread (:data:`COSTS`), scaled to each
cell's size, times ``SWEEP_OVERHEAD``, on 2 cores (``python -m xorgrok sweep list``
prints the table from the current constants; a test checks that this copy is
current)::

    plan                 cells seeds  steps minutes
    paper-init              11    64   7590    17.6
    paper-init-large         6    64    500     4.8
    paper-losses             6    32    200     3.8
    paper-second-layer       4    32    100     1.6
    paper-variants           5    32   1000    11.3
    paper-long               3    64   3000    13.2
    paper-samples           60    64    100     8.3
    paper-dimension         19    64    100     3.9
    paper-width             10    64   1315     8.3
    total                                      72.7

Check of the model: the whole page resolution (``python -m xorgrok sweep --all
--resolution page --workers 1``, start-up and writing included) took 336 s of CPU
against 270 s predicted (+24 %; paper-long had 4000 steps then), on a machine shared
with other jobs; if the full set runs past 90 minutes, the cache keeps what is done and
the same command continues.

What was cut to fit about 90 minutes: the losses, the trained second layer and the
variants (explicit weights, about 5 times the cost of the reduced span engine a step)
run 32 seeds and 100 to 1000 steps, at the paper's setup only (no grokking setting);
long training stops at 3000 steps and three step sizes; the sample sizes stop at
:math:`n = 283` (a step costs :math:`n^2`) with ten values of :math:`\|\mu\|`; the
dimension is varied at the paper's :math:`\|\mu\|` only (no two-dimensional
:math:`(p, \|\mu\|)` plane); the width stops at :math:`m = 3000`; the initialization
scales of "paper-init-large" are three, at two step sizes.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

import numpy as np

from .config import PAPER_FIG1_LEFT, Setup
from .grids import as_setup_array
from .plateau import time_scale
from .schedule import log_steps

__all__ = [
    "Plan",
    "PAPER_BASE",
    "PAGE_SEEDS",
    "horizon",
    "init_for_output",
    "PAPER_EXPERIMENTS",
    "paper_plan",
    "COSTS",
    "measure_costs",
    "cell_seconds",
    "estimate_seconds",
    "budget_rows",
    "budget_table",
]

#: The base of the paper-size experiments: the paper's Figure 1 (left).
PAPER_BASE = PAPER_FIG1_LEFT
#: Seeds of a page's live check (the first ones of every full plan).
PAGE_SEEDS = range(8)


@dataclass(frozen=True, eq=False)
class Plan:
    """A sweep to run: ``setups`` (object array, shape G), ``steps`` (int or [G] ints),
    ``seeds``, ``record``.

    ``axes`` names the grid axes (name -> values, in grid order); ``variants`` (if not
    None) lists one variant-switch dictionary per value of the last axis, for
    experiments that compare model variants (then ``setups`` has the shape G without
    that axis and :func:`xorgrok.beyond.run` stacks one sweep per variant).
    """

    name: str
    setups: np.ndarray
    steps: Any
    seeds: range
    record: np.ndarray
    axes: dict[str, list] = field(default_factory=dict)
    variants: list[dict[str, Any]] | None = None


def horizon(setup: Setup, clocks: float = 12.0, least: int = 100) -> int:
    r""":math:`\max(\text{least}, \lceil \text{clocks} \cdot \tau \rceil)` steps, with
    :math:`\tau` the plateau's clock (:func:`xorgrok.plateau.time_scale`)."""
    return max(least, math.ceil(clocks * time_scale(setup)))


def init_for_output(setup: Setup, scale: float) -> float:
    r"""The :math:`\omega_{\text{init}}` at which the initial outputs have root mean
    square ``scale``.

    :math:`f(x) = \sum_j a_j \mathrm{ReLU}(\langle w_j, x\rangle)` with
    :math:`a_j = \pm 1/\sqrt{m}` and
    :math:`\langle w_j, x\rangle \sim N(0, \omega_{\text{init}}^2 \|x\|^2)`,
    :math:`\mathbb{E} \|x\|^2 = p + \|\mu\|^2`:

    .. math::

        \mathbb{E} f(x)^2 = \omega_{\text{init}}^2 (p + \|\mu\|^2) / 2, \qquad
        \text{so} \quad \omega_{\text{init}} = \text{scale} \cdot \sqrt{2 / (p +
        \|\mu\|^2)}.
    """
    return scale * math.sqrt(2.0 / (setup.p + setup.mu_norm**2))


def _record(steps: int) -> np.ndarray:
    """Every step up to 20, then 20 a decade (about 75 recorded steps for 7590); a plan
    adds each cell's last step."""
    return log_steps(steps, 20)


def _plan(
    name: str,
    rows: list,
    axes: dict[str, list],
    seeds: int,
    steps: Any = None,
    variants: list[dict[str, Any]] | None = None,
) -> Plan:
    """A full plan from nested setups; ``steps`` None: each cell's :func:`horizon`."""
    setups = as_setup_array(rows)
    if steps is None:
        steps = np.vectorize(horizon, otypes=[np.int64])(setups)
    record = np.union1d(_record(int(np.max(steps))), np.unique(steps))  # every end
    return Plan(name, setups, steps, range(seeds), record, axes, variants)


def _ratios() -> Plan:
    """omega_init / alpha from 1e-4 to 10 (Figure 1 right's) at alpha = 1e-12."""
    ratios = [float(r) for r in 10.0 ** np.arange(-4.0, 1.01, 0.5)]
    rows = [PAPER_BASE.replace(omega_init=r * PAPER_BASE.alpha) for r in ratios]
    return _plan("paper-init", rows, {"ratio": ratios}, 64)


#: Root mean square of the initial outputs in "paper-init-large" (order 1: lazy side).
OUTPUT_SCALES = [0.1, 1.0, 10.0]


def _large_init() -> Plan:
    """A large absolute initialization: initial outputs of RMS 0.1, 1, 10, at two
    step sizes that move the outputs by about 0.05 and 0.5 a step.

    500 steps see the fit and the plateau, not an end: a probe of 4 seeds to 3000
    steps (RMS 1 and 10, both steps) fitted every label within 10 to 500 steps while
    the median test accuracy stayed at 0.50 to 0.59, still creeping up at 3000.
    """
    alphas = [1e-3, 1e-2]
    rows = [
        [
            PAPER_BASE.replace(omega_init=init_for_output(PAPER_BASE, s), alpha=a)
            for a in alphas
        ]
        for s in OUTPUT_SCALES
    ]
    axes = {"output_scale": OUTPUT_SCALES, "alpha": alphas}
    return _plan("paper-init-large", rows, axes, 64, steps=500)


#: The two settings of "paper-losses" where :math:`g` leaves 1/2: a large step, a
#: large initialization.
LOSS_SETTINGS = {
    "large step (alpha = 1e-3)": PAPER_BASE.replace(alpha=1e-3),
    "large init (RMS f = 1, alpha = 1e-3)": PAPER_BASE.replace(
        alpha=1e-3, omega_init=init_for_output(PAPER_BASE, 1.0)
    ),
}


def _losses() -> Plan:
    from .variants import LOSSES

    axes = {"setting": list(LOSS_SETTINGS), "loss": list(LOSSES)}
    variants = [{"loss": loss} for loss in LOSSES]
    rows = list(LOSS_SETTINGS.values())
    return _plan("paper-losses", rows, axes, 32, steps=200, variants=variants)


#: Second-layer step sizes :math:`\alpha_a` of "paper-second-layer" (``None``: fixed
#: second layer); :mod:`xorgrok.variants` documents the movement each gives.
SECOND_LAYER_STEPS = [None, 1e6, 1e7, 1e8]


def _second_layer() -> Plan:
    variants = [
        {} if s is None else {"train_second_layer": True, "alpha_a": s}
        for s in SECOND_LAYER_STEPS
    ]
    axes = {"alpha_a": ["fixed" if s is None else s for s in SECOND_LAYER_STEPS]}
    return _plan(
        "paper-second-layer",
        [PAPER_BASE],
        {"base": ["paper"], **axes},
        32,
        steps=100,
        variants=variants,
    )


#: The model variants of "paper-variants", by name.
PAPER_VARIANTS = {
    "paper (ReLU, GD)": {},
    "leaky ReLU 0.1": {"leaky": 0.1},
    "leaky ReLU 0.5": {"leaky": 0.5},
    "mini-batch SGD, |B| = 10": {"batch_size": 10},
    "mini-batch SGD, |B| = 50": {"batch_size": 50},
}


def _variants() -> Plan:
    axes = {"base": ["paper"], "variant": list(PAPER_VARIANTS)}
    variants = list(PAPER_VARIANTS.values())
    return _plan(
        "paper-variants", [PAPER_BASE], axes, 32, steps=1000, variants=variants
    )


def _long() -> Plan:
    """Long training at step sizes where the outputs leave 0 within the horizon."""
    alphas = [1e-4, 1e-3, 1e-2]
    rows = [PAPER_BASE.replace(alpha=a) for a in alphas]
    return _plan("paper-long", rows, {"alpha": alphas}, 64, steps=3000)


#: The :math:`\|\mu\|` grid (a factor 1.3 apart) of "paper-samples", from 10.
MU_GRID = [float(10.0 * 1.3**k) for k in range(10)]
#: The sample sizes of "paper-samples" (a factor :math:`\sqrt{2}` apart, six points).
SAMPLE_SIZES = [50, 71, 100, 141, 200, 283]


def _samples() -> Plan:
    rows = [
        [PAPER_BASE.replace(n=n, mu_norm=mu) for mu in MU_GRID] for n in SAMPLE_SIZES
    ]
    axes = {"n": SAMPLE_SIZES, "mu_norm": MU_GRID}
    return _plan("paper-samples", rows, axes, 64, steps=100)


#: The dimensions of "paper-dimension": :math:`p = 40000 \cdot 1.3^k`,
#: :math:`k = -8, \dots, 10`.
DIMENSIONS = [int(round(40_000 * 1.3**k)) for k in range(-8, 11)]


def _dimension() -> Plan:
    """p at the paper's ||mu|| (both boundaries: clusters dominate below, the signal
    fades above)."""
    rows = [PAPER_BASE.replace(p=p) for p in DIMENSIONS]
    return _plan("paper-dimension", rows, {"p": DIMENSIONS}, 64, steps=100)


def _width() -> Plan:
    """Width m at the paper's r = 1e-3 and at r = 1 (horizon 12 tau: 760 steps at m =
    1000, growing like sqrt(m))."""
    ms, ratios = [30, 100, 300, 1000, 3000], [1e-3, 1.0]
    rows = [
        [PAPER_BASE.replace(m=m, omega_init=r * PAPER_BASE.alpha) for m in ms]
        for r in ratios
    ]
    return _plan("paper-width", rows, {"ratio": ratios, "m": ms}, 64)


#: The page's subset of each plan: axis name -> indices kept (other axes: all).
PAGE_CELLS: dict[str, dict[str, list[int]]] = {
    "paper-init": {"ratio": [2, 8]},
    "paper-init-large": {"output_scale": [1], "alpha": [0]},
    "paper-losses": {"setting": [0]},
    "paper-second-layer": {"alpha_a": [0, 2]},
    "paper-variants": {"variant": [0, 3]},
    "paper-long": {"alpha": [1]},
    "paper-samples": {"n": [0, 4], "mu_norm": [3, 6]},
    "paper-dimension": {"p": [4, 8, 12]},
    "paper-width": {"ratio": [0], "m": [1, 3]},
}

#: name -> (question, full-plan builder), at the paper's size.
PAPER_EXPERIMENTS: dict[str, tuple[str, Callable[[], Plan]]] = {
    "paper-init": ("Q1 omega_init/alpha from 1e-4 to 10 at tiny outputs", _ratios),
    "paper-init-large": ("Q1 a large initialization: outputs of order 1", _large_init),
    "paper-losses": ("Q7 logistic, exponential, hinge once g leaves 1/2", _losses),
    "paper-second-layer": ("Q7 a trained second layer that moves", _second_layer),
    "paper-variants": ("Q7 leaky ReLU and mini-batch SGD, 1000 steps", _variants),
    "paper-long": ("Q6 long training: 3000 steps at larger steps", _long),
    "paper-samples": (
        "Q4 n against mu_norm: the signal needed to generalize",
        _samples,
    ),
    "paper-dimension": ("Q2, Q3 p at the paper's mu_norm: both boundaries", _dimension),
    "paper-width": ("Q7 width m at two ratios omega_init/alpha", _width),
}


def _subset(full: Plan, keep: Mapping[str, list[int]]) -> Plan:
    """The page plan: the cells of ``keep`` (indices per axis) and
    :data:`PAGE_SEEDS`."""
    names = list(full.axes)
    index = [list(keep.get(k, range(len(full.axes[k])))) for k in names]
    grid_index = index[:-1] if full.variants is not None else index
    pick = np.ix_(*grid_index) if grid_index else ()
    setups = full.setups[pick]
    steps = full.steps
    if np.ndim(steps):
        steps = np.asarray(steps)[pick]
    top = int(np.max(steps))
    axes = {k: [full.axes[k][i] for i in idx] for k, idx in zip(names, index)}
    variants = full.variants
    if variants is not None:
        variants = [variants[i] for i in index[-1]]
    record = full.record[full.record <= top]
    return replace(
        full,
        setups=setups,
        steps=steps,
        seeds=PAGE_SEEDS,
        record=record,
        axes=axes,
        variants=variants,
    )


def paper_plan(name: str, resolution: str) -> Plan:
    """The plan of a paper-size experiment: ``"full"`` or its ``"page"`` subset."""
    full = PAPER_EXPERIMENTS[name][1]()
    return full if resolution == "full" else _subset(full, PAGE_CELLS[name])


# --------------------------------------------------------------------------------------
# The budget
# --------------------------------------------------------------------------------------

#: CPU seconds per seed at the paper's size on one thread, measured once by
#: :func:`measure_costs` (kind -> {"seed": sampling and setting up, "step": one step,
#: "record": one recorded step}): "span" is :func:`xorgrok.simulate` (reduced span
#: engine), "variants" :func:`xorgrok.variants.train_variants` (full batch,
#: float64), "sgd10" and "sgd50" the same with mini-batches of 10 and 50 (another
#: batch size is priced as the full batch, an upper bound). A step of another size
#: scales like :math:`m n^2`, a recorded step like :math:`m n (n + n_{\text{test}})`,
#: the set-up like :math:`m (n + n_{\text{test}})`.
COSTS: dict[str, dict[str, float]] = {
    "span": {"seed": 0.029, "step": 0.0020, "record": 0.0015},
    "variants": {"seed": 0.093, "step": 0.0098, "record": 0.0080},
    "sgd10": {"seed": 0.084, "step": 0.0021, "record": 0.015},
    "sgd50": {"seed": 0.064, "step": 0.0047, "record": 0.017},
}
#: What a sweep adds to :data:`COSTS` (workers, caching, the curves, start-up): CPU
#: time of ``beyond.run(name, "page", workers=1)`` over the model without it, measured
#: 1.35 (paper-init), 1.49 (paper-samples: a small plan, mostly start-up), 1.13
#: (paper-variants), 1.03 (paper-second-layer), 0.99 (paper-losses); the factor is
#: paper-init's, the kind of plan that carries most of the budget.
SWEEP_OVERHEAD = 1.35


def _times(train: Callable[..., Any], seeds: int) -> dict[str, float]:
    """Seconds per seed of one set-up, one step and one recorded step for ``train``."""
    setup = PAPER_BASE

    def clock(steps: int, record: Any) -> float:
        start = time.process_time()  # CPU time: other processes on the machine do
        train(setup, steps, range(seeds), record=record)  # not inflate it
        return (time.process_time() - start) / seeds

    short, long = clock(2, [0, 2]), clock(202, [0, 202])  # long: a run's own pace
    every = clock(20, range(21))
    step = (long - short) / 200
    record = max((every - clock(20, [0, 20])) / 19, 0.0)
    return {
        "seed": max(short - 2 * step - 2 * record, 0.0),
        "step": step,
        "record": record,
    }


def measure_costs(seeds: int = 4) -> dict[str, dict[str, float]]:
    """Time short cells at :data:`PAPER_BASE` on one torch thread (CPU time): the
    reduced span engine, the variants' full batch and mini-batches of 10 and 50; the
    result has the form of :data:`COSTS` (which holds one such measurement)."""
    import torch

    from .simulate import simulate
    from .variants import train_variants

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    sgd = {f"sgd{b}": functools.partial(train_variants, batch_size=b) for b in (10, 50)}
    try:
        return {
            "span": _times(simulate, seeds),
            "variants": _times(train_variants, seeds),
            **{kind: _times(train, seeds) for kind, train in sgd.items()},
        }
    finally:
        torch.set_num_threads(threads)


def cell_seconds(
    setup: Setup,
    steps: int,
    records: int,
    variant: Mapping[str, Any] | None = None,
    costs: Mapping[str, Mapping[str, float]] | None = None,
) -> float:
    """Predicted CPU seconds per seed of one cell on one thread (:data:`COSTS` scaled,
    without ``SWEEP_OVERHEAD``)."""
    from .variants import check_options

    costs = COSTS if costs is None else costs
    opts = check_options(dict(variant or {}))
    kind = "variants" if opts else "span"
    if f"sgd{opts.get('batch_size')}" in costs:
        kind = f"sgd{opts['batch_size']}"
    c = costs[kind]
    base = PAPER_BASE
    width = setup.m / base.m
    step = width * setup.n**2 / base.n**2
    rec = width * setup.n * (setup.n + setup.n_test) / (base.n * (base.n + base.n_test))
    seed = width * (setup.n + setup.n_test) / (base.n + base.n_test)
    return c["seed"] * seed + c["step"] * step * steps + c["record"] * rec * records


def estimate_seconds(
    plan: Plan, cores: int = 2, costs: Mapping[str, Mapping[str, float]] | None = None
) -> float:
    """Predicted wall seconds of a plan on ``cores`` cores (one worker a core),
    ``SWEEP_OVERHEAD`` included."""
    steps = np.broadcast_to(np.asarray(plan.steps), plan.setups.shape)
    variants = plan.variants if plan.variants is not None else [{}]
    total = 0.0
    for idx in np.ndindex(*plan.setups.shape):
        n_rec = int((plan.record <= steps[idx]).sum())
        for v in variants:
            per_seed = cell_seconds(plan.setups[idx], int(steps[idx]), n_rec, v, costs)
            total += per_seed * len(plan.seeds)
    return SWEEP_OVERHEAD * total / cores


def budget_rows(resolution: str = "full", cores: int = 2) -> list[dict[str, Any]]:
    """One row per paper-size plan: cells, seeds, largest steps, predicted minutes."""
    rows = []
    for name in PAPER_EXPERIMENTS:
        pl = paper_plan(name, resolution)
        cells = pl.setups.size * (len(pl.variants) if pl.variants else 1)
        rows.append(
            {
                "plan": name,
                "cells": cells,
                "seeds": len(pl.seeds),
                "steps": int(np.max(pl.steps)),
                "minutes": estimate_seconds(pl, cores) / 60,
            }
        )
    return rows


def budget_table(resolution: str = "full", cores: int = 2) -> str:
    """:func:`budget_rows` as a plain-text table (the module docstring quotes it)."""
    rows = budget_rows(resolution, cores)
    lines = [f"{'plan':20s} {'cells':>5s} {'seeds':>5s} {'steps':>6s} {'minutes':>7s}"]
    for r in rows:
        lines.append(
            f"{r['plan']:20s} {r['cells']:5d} {r['seeds']:5d} {r['steps']:6d} "
            f"{r['minutes']:7.1f}"
        )
    total = sum(r["minutes"] for r in rows)
    lines.append(f"{'total':20s} {'':5s} {'':5s} {'':6s} {total:7.1f}")
    return "\n".join(lines)
