r"""The experiments of the part "Beyond the theorem": named sweep plans at two
resolutions, and their analysis.

Each experiment answers one of the open questions of the paper (its Section 5 and the
ICLR reviews). :func:`plan` returns the grid of setups, steps, seeds and recorded steps
of an experiment; :func:`run` runs a plan through :func:`xorgrok.sweep.sweep` (cached,
resumable, parallel).

:data:`EXPERIMENTS` are the paper-size experiments of :mod:`xorgrok.beyond_plans`
(around the paper's Figure 1 setup, :data:`~xorgrok.beyond_plans.PAPER_BASE`):
``resolution="full"`` is the plan the command line runs once and stores
(:mod:`xorgrok.beyond_data`), ``resolution="page"`` the subset of its cells and seeds
that a page runs live.

:data:`TOY_EXPERIMENTS` are the earlier plans at a toy size, with the page resolution
only; they start from :data:`BOOK_BASE`, a smaller copy of the paper's Figure 1 setup
(:math:`m = 100` neurons and :math:`n = 50` training points instead of 1000 and 200, so
that a grid costs seconds): it keeps :math:`p = 40000`, :math:`\eta = 0.05`,
:math:`\omega_{\text{init}} = 10^{-15}`, :math:`\alpha = 10^{-12}` and chooses
:math:`\|\mu\| = 50` so that the two dimensionless ratios that decide the paper's regime
stay as in the paper: :math:`\|\mu\|^2 \sqrt{n} / p` (the cluster term against the
memorization term at :math:`t = 1`) and :math:`n \|\mu\|^4 / p` (the exponent of the
generalization bound).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from .beyond_plans import PAPER_EXPERIMENTS, Plan, paper_plan
from .config import Setup
from .data import CLUSTER_DIRECTIONS
from .schedule import first_crossing, log_steps
from .sweep import SweepResult, as_setup_array, stack_results, sweep
from .theory import mu_norm_range
from .validation import Progress

__all__ = [
    "BOOK_BASE",
    "RESOLUTIONS",
    "EXPERIMENTS",
    "TOY_EXPERIMENTS",
    "Plan",
    "plan",
    "run",
    "run_plan",
    "crossing",
    "fit_power_law",
    "bootstrap_first_steps",
    "bootstrap_boundary",
    "bootstrap_exponents",
    "interval",
    "memorization_split",
    "memorization_split_runs",
    "SPLIT_GROUPS",
    "GROKKING_FACTORS",
    "VARIANTS",
]

#: The base setup of the part: the paper's Figure 1 (left) at :math:`m = 100`, :math:`n
#: = 50`, :math:`\|\mu\| = 50` (module docstring).
BOOK_BASE = Setup(
    p=40_000,
    n=50,
    n_test=200,
    m=100,
    mu_norm=50.0,
    eta=0.05,
    omega_init=1e-15,
    alpha=1e-12,
)
#: The two resolutions of every experiment.
RESOLUTIONS = ("page", "full")


def _check_resolution(resolution: str) -> None:
    if resolution not in RESOLUTIONS:
        raise ValueError(
            f"resolution must be one of {', '.join(RESOLUTIONS)}, got {resolution!r}"
        )


def _init() -> Plan:
    """Q1: omega_init / alpha over many orders of magnitude (alpha fixed at 1e-12)."""
    ratios = [1e-4, 1e-2, 1.0, 10.0, 100.0]
    setups = as_setup_array(
        [BOOK_BASE.replace(omega_init=r * BOOK_BASE.alpha) for r in ratios]
    )
    steps = np.array([int(300 + 120 * r) for r in ratios])
    return Plan(
        "init",
        setups,
        steps,
        range(8),
        log_steps(int(steps.max()), 20),
        {"ratio": ratios},
    )


def _init_onestep() -> Plan:
    """Q1: memorization after one step, over omega_init / alpha and p (one step per
    run: cheap)."""
    ratios = list(10.0 ** np.arange(-3, 3.01, 0.5))
    ps = [1_000, 10_000, 100_000, 1_000_000, 10**8]
    # ||mu|| grows like sqrt(p), so that ||mu||^2 sqrt(n) / p (cluster term against
    # memorization) stays fixed
    mu = {p: BOOK_BASE.mu_norm * math.sqrt(p / BOOK_BASE.p) for p in ps}
    setups = as_setup_array(
        [
            [
                BOOK_BASE.replace(p=p, mu_norm=mu[p], omega_init=r * BOOK_BASE.alpha)
                for r in ratios
            ]
            for p in ps
        ]
    )
    return Plan(
        "init-onestep",
        setups,
        1,
        range(16),
        np.array([0, 1]),
        {"p": ps, "ratio": ratios},
    )


def _phase() -> Plan:
    """Q2, Q3: the (p, ||mu|| / p^(1/4)) plane after 200 steps."""
    ps = [50, 200, 1_000, 10_000, 40_000, 100_000, 10**6, 10**8, 10**10, 10**12]
    kappas = list(10.0 ** np.arange(-0.5, 3.01, 0.25))
    steps, seeds = 200, range(8)
    setups = as_setup_array(
        [[BOOK_BASE.replace(p=p, mu_norm=k * p**0.25) for k in kappas] for p in ps]
    )
    record = np.unique(
        np.concatenate([[0, 1, 2, 3, 5, 8, 10, 20, 50, 100, 200], log_steps(steps, 10)])
    )
    return Plan("phase", setups, steps, seeds, record, {"p": ps, "kappa": kappas})


def _samples() -> Plan:
    """Q4: n against ||mu|| at the paper's p = 40000, after 200 steps."""
    ns = [25, 50, 100, 200]
    mus = list(10.0 ** np.arange(1.0, 2.76, 0.125))
    setups = as_setup_array(
        [[BOOK_BASE.replace(n=n, mu_norm=mu) for mu in mus] for n in ns]
    )
    return Plan(
        "samples",
        setups,
        200,
        range(8),
        np.array([0, 1, 2, 5, 10, 20, 50, 100, 200]),
        {"n": ns, "mu_norm": mus},
    )


def _samples_extreme() -> Plan:
    """Q3, Q4: n at p = 10^12 with ||mu|| in the middle (geometric) of the A1-A2
    window with C = 1."""
    ns = [25, 50, 100, 200]
    p = (
        10**12
        # the window is non-empty for C = 1 up to n = 200 (it needs C^2 <= sqrt(p) /
        # n^2.51)
    )
    setups = []
    for n in ns:
        low, high = mu_norm_range(p, n)
        setups.append(BOOK_BASE.replace(n=n, p=p, mu_norm=math.sqrt(low * high)))
    return Plan(
        "samples-extreme",
        as_setup_array(setups),
        2000,
        range(16),
        np.array([0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]),
        {"n": ns},
    )


#: Q5: the one-factor-at-a-time design of the grokking-time fit, around
#: :data:`BOOK_BASE` with :math:`\omega_{\text{init}}/\alpha = 3`.
GROKKING_FACTORS = ("ratio", "n", "p", "mu_norm", "m")


def _grokking_design() -> list[dict[str, float]]:
    center = {"ratio": 3.0, "n": 50, "p": 40_000, "mu_norm": 50.0, "m": 100}
    levels = {
        "ratio": [1.0, 10.0],
        "n": [42, 70],
        "p": [20_000, 70_000],
        "mu_norm": [42.0, 60.0],
        "m": [50, 200],
    }
    design = [dict(center)]
    for name, values in levels.items():
        design += [{**center, name: v} for v in values]
    return design


def _grokking() -> Plan:
    design = _grokking_design()
    setups = as_setup_array(
        [
            BOOK_BASE.replace(
                omega_init=d["ratio"] * BOOK_BASE.alpha,
                n=int(d["n"]),
                p=int(d["p"]),
                mu_norm=float(d["mu_norm"]),
                m=int(d["m"]),
            )
            for d in design
        ]
    )
    steps = 3000
    return Plan(
        "grokking-time",
        setups,
        steps,
        range(16),
        np.unique(np.concatenate([np.arange(0, 101), log_steps(steps, 60)])),
        {"design": design},
    )


def _long() -> Plan:
    """Q6: long training with step sizes up to where the loss falls, at two signal
    strengths."""
    alphas = [1e-12, 1e-6, 1e-4, 1e-2, 1e-1]
    mus = [50.0, 120.0]
    steps = 5000
    setups = as_setup_array(
        [[BOOK_BASE.replace(mu_norm=mu, alpha=a) for a in alphas] for mu in mus]
    )
    return Plan(
        "long",
        setups,
        steps,
        range(8),
        log_steps(steps, 10),
        {"mu_norm": mus, "alpha": alphas},
    )


def _width() -> Plan:
    """Q7: width m at a small and a large omega_init / alpha (the lazy side)."""
    ms = [10, 100, 1000]
    ratios = [1e-3, 10.0]
    setups = as_setup_array(
        [
            [BOOK_BASE.replace(m=m, omega_init=r * BOOK_BASE.alpha) for m in ms]
            for r in ratios
        ]
    )
    steps = np.array([[300 if r < 1 else 4000 for _ in ms] for r in ratios])
    return Plan(
        "width",
        setups,
        steps,
        range(8),
        log_steps(4000, 20),
        {"ratio": ratios, "m": ms},
    )


#: Q7: the model variants compared (switches of xorgrok.variants.train_variants), by
#: name.
VARIANTS = {
    "paper (ReLU, fixed a, GD)": {},
    "leaky ReLU 0.1": {"leaky": 0.1},
    "leaky ReLU 0.5": {"leaky": 0.5},
    "trained second layer": {"train_second_layer": True},
    "mini-batch SGD, |B| = 10": {"batch_size": 10},
}


def _variants() -> Plan:
    """Q7: leaky ReLU, a trained second layer, mini-batch SGD, at the paper's alpha
    and at alpha = 1e-4."""
    alphas = [1e-12, 1e-4]
    setups = as_setup_array([BOOK_BASE.replace(alpha=a) for a in alphas])
    steps = np.array([300, 3000])
    return Plan(
        "variants",
        setups,
        steps,
        range(8),
        log_steps(int(steps.max()), 20),
        {"alpha": alphas, "variant": list(VARIANTS)},
        variants=list(VARIANTS.values()),
    )


#: The toy experiments at :data:`BOOK_BASE` (page resolution only), by name: (question,
#: plan builder). The pages of the part ran these before the paper-size plans.
TOY_EXPERIMENTS: dict[str, tuple[str, Callable[[], Plan]]] = {
    "init": ("Q1 omega_init/alpha: curves and the grokking time", _init),
    "init-onestep": (
        "Q1 one-step memorization over omega_init/alpha and p",
        _init_onestep,
    ),
    "phase": ("Q2, Q3 the plane of p and mu_norm / p^(1/4)", _phase),
    "samples": ("Q4 n against mu_norm at p = 40000", _samples),
    "samples-extreme": (
        "Q3, Q4 n inside the A1-A2 window at p = 1e12, 2000 steps",
        _samples_extreme,
    ),
    "grokking-time": (
        "Q5 the grokking time: one-factor design for a scaling law",
        _grokking,
    ),
    "long": ("Q6 long training, step sizes up to where the loss falls", _long),
    "width": ("Q7 wide networks and the lazy side", _width),
    "variants": ("Q7 leaky ReLU, trained second layer, mini-batch SGD", _variants),
}

#: The paper-size experiments (:mod:`xorgrok.beyond_plans`), by name: (question, plan
#: builder taking the resolution). The command line lists and runs these.
EXPERIMENTS: dict[str, tuple[str, Callable[[str], Plan]]] = {
    name: (question, functools.partial(paper_plan, name))
    for name, (question, _) in PAPER_EXPERIMENTS.items()
}


def plan(name: str, resolution: str = "page") -> Plan:
    """The sweep plan of a named experiment at a resolution ("page" or "full").

    The names of :data:`EXPERIMENTS` have both resolutions, those of
    :data:`TOY_EXPERIMENTS` the page resolution only.
    """
    _check_resolution(resolution)
    if name in EXPERIMENTS:
        return EXPERIMENTS[name][1](resolution)
    if name not in TOY_EXPERIMENTS:
        names = ", ".join([*EXPERIMENTS, *TOY_EXPERIMENTS])
        raise ValueError(f"experiment must be one of {names}, got {name!r}")
    if resolution != "page":
        raise ValueError(
            f"resolution must be 'page' for the toy experiment {name!r} (the full "
            "resolution is the paper-size experiments': see EXPERIMENTS)"
        )
    return TOY_EXPERIMENTS[name][1]()


def run(
    name: str,
    resolution: str = "page",
    *,
    seeds: Iterable[int] | None = None,
    progress: Progress = None,
    **sweep_options: Any,
) -> SweepResult:
    """Run a named experiment through :func:`xorgrok.sweep.sweep` (its steps and record
    are the plan's): :func:`run_plan` of :func:`plan` (name, resolution)."""
    pl = plan(name, resolution)
    return run_plan(pl, seeds=seeds, progress=progress, **sweep_options)


def run_plan(
    pl: Plan,
    *,
    seeds: Iterable[int] | None = None,
    progress: Progress = None,
    **sweep_options: Any,
) -> SweepResult:
    """Run a plan through :func:`xorgrok.sweep.sweep` (its steps and record).

    ``seeds`` overrides the plan's seeds; ``progress`` and ``sweep_options``
    (``cache_dir``, ``executor``, ``workers``...) go to :func:`xorgrok.sweep.sweep`. For
    an experiment over model variants the result's grid gets a last axis, one entry per
    variant (:func:`xorgrok.sweep.stack_results`).
    """
    seeds = pl.seeds if seeds is None else seeds
    options = dict(record=pl.record, progress=progress, **sweep_options)
    if pl.variants is None:
        return sweep(pl.setups, pl.steps, seeds, axes=pl.axes, **options)
    parts = [
        sweep(pl.setups, pl.steps, seeds, variant=v, **options) for v in pl.variants
    ]
    return stack_results(parts, pl.axes)


# --------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------


def crossing(x: np.ndarray, y: np.ndarray, level: float, log_x: bool = True) -> float:
    """Where the curve y(x) first crosses ``level`` (either way), linearly interpolated
    in (log) x; NaN if never.

    x [K] increasing, y [K]. Used to locate phase boundaries on a grid (e.g. where the
    median test accuracy first reaches 0.9).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    u = np.log10(x) if log_x else x
    above = y >= level
    for k in range(1, len(x)):
        if np.isfinite(y[k - 1]) and np.isfinite(y[k]) and above[k] != above[k - 1]:
            w = (level - y[k - 1]) / (y[k] - y[k - 1])
            v = u[k - 1] + w * (u[k] - u[k - 1])
            return float(10**v if log_x else v)
    return float("nan")


def fit_power_law(
    features: Mapping[str, np.ndarray], target: np.ndarray
) -> dict[str, float]:
    r"""Least-squares fit of :math:`\log \text{target} = \log c + \sum_k b_k \log
    \text{feature}_k`; returns ``{"c": c, name: b_k, ...}``.

    Every array has shape [K] (one entry per design point); entries with a non-finite
    target are dropped.
    """
    target = np.asarray(target, dtype=float)
    keep = np.isfinite(target) & (target > 0)
    names = list(features)
    A = np.column_stack(
        [np.ones(keep.sum())]
        + [np.log(np.asarray(features[k], float)[keep]) for k in names]
    )
    if A.shape[0] < A.shape[1]:
        raise ValueError(
            f"need at least {A.shape[1]} finite design points, got {A.shape[0]}"
        )
    coef, *_ = np.linalg.lstsq(A, np.log(target[keep]), rcond=None)
    return {
        "c": float(np.exp(coef[0])),
        **{k: float(b) for k, b in zip(names, coef[1:])},
    }


def bootstrap_first_steps(
    t: np.ndarray,
    curves: np.ndarray,
    threshold: float,
    n_boot: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """Bootstrap over seeds of the first step where the median curve reaches
    ``threshold``.

    curves [K, S, T] (K design points, S seeds, T recorded steps ``t``). Each replicate
    resamples the S seeds of every design point with replacement and takes the median
    over them. Returns [n_boot, K] (NaN where the resampled median never reaches the
    threshold).
    """
    curves = np.asarray(curves, dtype=float)
    K, S, _ = curves.shape
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, K))
    for b in range(n_boot):
        pick = rng.integers(0, S, size=(K, S))
        med = np.median(
            np.take_along_axis(curves, pick[:, :, None], axis=1), axis=1
        )  # [K, T]
        out[b] = first_crossing(t, med, threshold)
    return out


def bootstrap_boundary(
    x: np.ndarray,
    values: np.ndarray,
    level: float,
    n_boot: int = 1000,
    seed: int = 0,
    log_x: bool = True,
) -> np.ndarray:
    """Bootstrap over seeds of a boundary on a grid: where the median over seeds of
    ``values`` crosses ``level`` along x (:func:`crossing`).

    x [K] increasing, values [K, S] (one number per grid point and seed, e.g. the final
    test accuracy). A seed fixes its random streams in every cell, so each replicate
    draws one resample of the S seeds, the same at every grid point. Returns [n_boot]
    (NaN where the resampled median does not cross).
    """
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    out = np.empty(n_boot)
    for b in range(n_boot):
        pick = rng.integers(0, values.shape[1], size=values.shape[1])
        out[b] = crossing(x, np.median(values[:, pick], axis=1), level, log_x)
    return out


def bootstrap_exponents(
    features: Mapping[str, np.ndarray], replicates: np.ndarray
) -> dict[str, np.ndarray]:
    """:func:`fit_power_law` of every bootstrap replicate: features [K] each,
    replicates [n_boot, K] (e.g. boundaries or crossing steps per design point).

    Returns {"c": [n_boot], name: [n_boot], ...}; NaN for a replicate with fewer
    finite points than coefficients.
    """
    replicates = np.asarray(replicates, dtype=float)
    names = ["c", *features]
    out = {k: np.full(len(replicates), np.nan) for k in names}
    for b, target in enumerate(replicates):
        if (np.isfinite(target) & (target > 0)).sum() < len(names):
            continue
        fit = fit_power_law(features, target)
        for k in names:
            out[k][b] = fit[k]
    return out


def interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` interval of bootstrap samples [n_boot] (NaN ignored; NaN
    bounds when more than (1 - level) / 2 of them are NaN, so that a boundary that is
    often not found gets no interval)."""
    samples = np.asarray(samples, dtype=float)
    tail = (1.0 - level) / 2
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if np.isnan(samples).mean() > tail:
        return (math.nan, math.nan)
    low, high = np.nanquantile(samples, [tail, 1.0 - tail])
    return (float(low), float(high))


#: The four groups of :func:`memorization_split`.
SPLIT_GROUPS = ("label_aligned", "label_other", "opposite_aligned", "opposite_other")


def memorization_split(
    preacts: np.ndarray,
    proj: np.ndarray,
    a: np.ndarray,
    cluster: np.ndarray,
    y: np.ndarray,
) -> dict[str, np.ndarray]:
    r"""Split each training point's signed output :math:`y_i f(x_i) = \sum_j y_i a_j
    \mathrm{ReLU}(\langle w_j, x_i\rangle)` by groups of neurons.

    Args (one seed, one step):
        preacts: [m, n] :math:`\langle w_j, x_i\rangle` on the training points. proj:
        [m, 2] :math:`(\langle w_j, \mu_1\rangle, \langle w_j, \mu_2\rangle)`. a: [m]
        second layer. cluster: [n] cluster index of each training point (0:
        :math:`+\mu_1`, 1: :math:`-\mu_1`, 2: :math:`+\mu_2`, 3: :math:`-\mu_2`). y: [n]
        the training labels the network fits (noisy).

    Returns a dict of [n] arrays. For each group of :data:`SPLIT_GROUPS`, the summed
    signed contributions :math:`y_i a_j \mathrm{ReLU}(\langle w_j, x_i\rangle)`
    (positive: the group pushes :math:`f(x_i)` towards :math:`y_i`) and, under
    ``"active_" + group``, how many of its neurons are active on :math:`x_i`. The
    groups: neurons of the label's sign (:math:`a_j y_i > 0`, ``label_*``) or of the
    opposite sign (``opposite_*``), aligned with the point's cluster or not. A neuron's
    cluster is the cluster mean :math:`\nu \in \{\pm\mu_1, \pm\mu_2\}` it points at
    most, :math:`\arg\max_\nu \langle w_j, \nu\rangle`. Also ``noise_share``: over the
    neurons active on :math:`x_i`, the part of :math:`\langle w_j, x_i\rangle` not
    explained by the cluster mean,

    .. math::

        \frac{\sum_j |\langle w_j, x_i\rangle - \langle w_j, \nu_i\rangle|}{\sum_j
        \big(|\langle w_j, x_i\rangle - \langle w_j, \nu_i\rangle| + |\langle w_j,
        \nu_i\rangle|\big)}

    (0: the point is seen through its cluster mean only; near 1: through its own noise
    vector). The four contributions add up to :math:`y_i f(x_i)`.
    """
    preacts, proj, a = (
        np.asarray(preacts, float),
        np.asarray(proj, float),
        np.asarray(a, float),
    )
    cluster, y = np.asarray(cluster), np.asarray(y, float)
    # [m]: the cluster each neuron points at most
    preferred = np.argmax(proj @ CLUSTER_DIRECTIONS.T, axis=1)
    along = proj @ CLUSTER_DIRECTIONS[cluster].T  # [m, n]: <w_j, nu_i>
    active = preacts > 0
    signed = y[None, :] * a[:, None] * np.maximum(preacts, 0.0)  # [m, n]
    same = (a[:, None] * y[None, :]) > 0
    aligned = preferred[:, None] == cluster[None, :]
    masks = {
        "label_aligned": same & aligned,
        "label_other": same & ~aligned,
        "opposite_aligned": ~same & aligned,
        "opposite_other": ~same & ~aligned,
    }
    out: dict[str, np.ndarray] = {}
    for name, mask in masks.items():
        out[name] = (signed * mask).sum(0)
        out["active_" + name] = (active & mask).sum(0)
    noise = np.abs(preacts - along)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["noise_share"] = (noise * active).sum(0) / (
            (noise + np.abs(along)) * active
        ).sum(0)
    return out


def memorization_split_runs(traj: Any, k: int) -> dict[str, np.ndarray]:
    """:func:`memorization_split` of every seed of ``traj`` at its ``k``-th recorded
    step, stacked: each entry [S, n] (row s: seed ``traj.seeds[s]``).

    ``traj`` is a :class:`~xorgrok.simulate.Trajectory` simulated with
    ``neurons=True, preacts=True``; ``ValueError`` otherwise.
    """
    if traj.preacts is None or traj.proj is None:
        raise ValueError("traj must be simulated with neurons=True and preacts=True")
    n = traj.setup.n
    parts = [
        memorization_split(
            traj.preacts[s, k],
            traj.proj[s, k],
            traj.a[s],
            traj.cluster[s, :n],
            traj.y[s],
        )
        for s in range(len(traj.seeds))
    ]
    return {key: np.stack([p[key] for p in parts]) for key in parts[0]}
