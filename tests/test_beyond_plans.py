"""Tests of the paper-size plans of "Beyond the theorem" and of their budget."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

import xorgrok as xg
from xorgrok import beyond
from xorgrok import beyond_plans as bp
from xorgrok.beyond_data import plan_cells
from xorgrok.plateau import time_scale

#: The plans that estimate a crossing time, a boundary or a rate: 64 seeds (the issue).
ESTIMATING = (
    "paper-init",
    "paper-init-large",
    "paper-long",
    "paper-samples",
    "paper-dimension",
    "paper-width",
)


@pytest.mark.parametrize("name", list(bp.PAPER_EXPERIMENTS))
def test_full_plans_follow_the_rules(name):
    pl = beyond.plan(name, "full")
    assert len(pl.seeds) >= (64 if name in ESTIMATING else 32)
    steps = np.broadcast_to(np.asarray(pl.steps), pl.setups.shape)
    assert set(np.unique(steps)) <= set(pl.record.tolist())  # every end is recorded
    # one thing at a time: every cell differs from the paper's setup in the plan's
    # axes only
    varied = {
        f
        for idx in np.ndindex(*pl.setups.shape)
        for f, v in pl.setups[idx].as_dict().items()
        if v != getattr(bp.PAPER_BASE, f)
    }
    allowed = {
        "paper-init": {"omega_init"},
        "paper-init-large": {"omega_init", "alpha"},
        "paper-losses": {"omega_init", "alpha"},
        "paper-second-layer": set(),
        "paper-variants": set(),
        "paper-long": {"alpha"},
        "paper-samples": {"n", "mu_norm"},
        "paper-dimension": {"p"},
        "paper-width": {"m", "omega_init"},
    }[name]
    assert varied <= allowed


@pytest.mark.parametrize("name", list(bp.PAPER_EXPERIMENTS))
def test_page_plans_are_stored_cells_and_seeds(name):
    full, page = beyond.plan(name, "full"), beyond.plan(name, "page")
    keys = {c.key() for c in plan_cells(full).reshape(-1)}
    page_cells = plan_cells(page).reshape(-1)
    assert 0 < len(page_cells) < len(keys)
    assert {c.key() for c in page_cells} <= keys
    assert set(page.seeds) < set(full.seeds) and len(page.seeds) == 8


def test_boundary_grids_are_fine_enough():
    """Neighbouring cells less than a factor 1.5 apart; at least five sample sizes."""
    for values in (bp.MU_GRID, bp.DIMENSIONS, bp.SAMPLE_SIZES):
        ratios = np.diff(np.log(values))
        assert (ratios > 0).all() and np.exp(ratios).max() < 1.5
    assert len(bp.SAMPLE_SIZES) >= 5
    assert min(bp.DIMENSIONS) < 20_000 < 100_000 < max(bp.DIMENSIONS)


def test_horizon_is_twelve_clocks_at_least_100():
    assert bp.horizon(bp.PAPER_BASE) == 100  # tau = 0.063
    right = xg.PAPER_FIG1_RIGHT  # r = 10: tau = 2 * 200 * sqrt(1000) * 10 / sqrt(p)
    assert time_scale(right) == pytest.approx(20 * math.sqrt(1000))
    assert bp.horizon(right) == math.ceil(12 * 20 * math.sqrt(1000))


@pytest.mark.parametrize("scale", [0.1, 1.0, 10.0])
def test_init_for_output_gives_outputs_of_that_size(scale):
    """RMS of f(x_i) at t = 0 over 4 seeds x 200 training points: within 10 % (the
    estimate's relative standard deviation is about 3 %)."""
    setup = bp.PAPER_BASE.replace(omega_init=bp.init_for_output(bp.PAPER_BASE, scale))
    f = []
    for seed in range(4):
        pb = xg.sample(setup, seed)
        f.append(np.maximum(pb.X_train @ pb.W0.T, 0.0) @ pb.a)
    rms = math.sqrt(np.mean(np.concatenate(f) ** 2))
    assert rms == pytest.approx(scale, rel=0.1)


def test_the_full_set_fits_the_budget_and_the_docstring_quotes_it():
    total = sum(
        bp.estimate_seconds(beyond.plan(n, "full")) for n in bp.PAPER_EXPERIMENTS
    )
    assert total / 60 <= 90
    assert textwrap.indent(bp.budget_table(), "    ") in bp.__doc__


def test_cell_cost_scales_with_the_work():
    base = bp.PAPER_BASE
    one = bp.cell_seconds(base, 100, 0) - bp.cell_seconds(base, 0, 0)
    assert one == pytest.approx(100 * bp.COSTS["span"]["step"])
    wide = bp.cell_seconds(base.replace(m=2000), 100, 0)
    assert wide == pytest.approx(2 * bp.cell_seconds(base, 100, 0))
    full = bp.cell_seconds(base, 100, 0, {"leaky": 0.1})
    c = bp.COSTS["variants"]
    assert full == pytest.approx(c["seed"] + 100 * c["step"])
    # a measured batch size has its own costs; another is priced as the full batch
    c = bp.COSTS["sgd10"]
    sgd = bp.cell_seconds(base, 100, 3, {"batch_size": 10})
    assert sgd == pytest.approx(c["seed"] + 100 * c["step"] + 3 * c["record"])
    assert bp.cell_seconds(base, 100, 0, {"batch_size": 20}) == pytest.approx(full)


def test_estimate_counts_cells_seeds_and_variants():
    pl = beyond.plan("paper-second-layer", "page")  # 2 variants, 1 setup, 8 seeds
    steps, n_rec = int(pl.steps), len(pl.record)
    expected = (
        sum(bp.cell_seconds(pl.setups[0], steps, n_rec, v) for v in pl.variants) * 8
    )
    overhead = bp.SWEEP_OVERHEAD
    assert bp.estimate_seconds(pl, cores=1) == pytest.approx(overhead * expected)
    assert bp.estimate_seconds(pl, cores=2) == pytest.approx(overhead * expected / 2)


def test_measure_costs_solves_for_the_three_costs(monkeypatch):
    """With a clock that charges seed + step * steps + record * len(record) per seed,
    the measurement recovers the three costs."""
    clock = {"now": 0.0}
    monkeypatch.setattr(bp.time, "process_time", lambda: clock["now"])

    def fake_train(setup, steps, seeds, record):
        clock["now"] += len(seeds) * (0.5 + 0.01 * steps + 0.03 * len(list(record)))

    costs = bp._times(fake_train, 4)
    assert costs == pytest.approx({"seed": 0.5, "step": 0.01, "record": 0.03})


def test_toy_plans_keep_their_page_resolution_only():
    for name in beyond.TOY_EXPERIMENTS:
        pl = beyond.plan(name)
        steps = np.broadcast_to(np.asarray(pl.steps), pl.setups.shape)
        assert pl.record.max() == steps.max()
        assert pl.setups.flat[0].m <= 1000
    with pytest.raises(ValueError, match="toy"):
        beyond.plan("init", "full")


# ---------------------------------------------------- intervals on boundaries and rates


def test_bootstrap_boundary_without_noise_is_the_median_crossing():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    values = np.repeat(np.array([[0.5], [0.7], [0.95], [1.0]]), 16, axis=1)
    boot = beyond.bootstrap_boundary(x, values, 0.9, n_boot=50)
    assert np.allclose(boot, beyond.crossing(x, values[:, 0], 0.9))


def test_bootstrap_boundary_interval_covers_the_boundary():
    """Each seed's accuracy is a step at its own boundary b_s = 10^(1 + 0.1 Z_s): the
    median crosses 0.75 near 10 (log-median of b_s), inside the 95 % interval."""
    rng = np.random.default_rng(1)
    x = 10.0 ** np.linspace(0.5, 1.5, 41)  # neighbours a factor 1.06 apart
    b = 10.0 ** (1.0 + 0.1 * rng.standard_normal(64))
    values = np.where(x[:, None] >= b[None, :], 1.0, 0.5)
    low, high = beyond.interval(beyond.bootstrap_boundary(x, values, 0.75))
    assert low < 10.0 < high and high / low < 1.3


def test_bootstrap_exponents_recover_an_exact_power_law():
    n = np.array([50.0, 71, 100, 141, 200])
    rng = np.random.default_rng(2)
    c = np.exp(rng.normal(0, 0.01, size=(30, 1)))  # one constant per replicate
    replicates = c * 3.0 * n[None, :] ** -0.25
    replicates[0, :4] = np.nan  # one point for two coefficients: NaN
    fit = beyond.bootstrap_exponents({"n": n}, replicates)
    assert np.isnan(fit["n"][0])
    np.testing.assert_allclose(fit["n"][1:], -0.25, atol=1e-12)


def test_interval_refuses_a_boundary_that_is_often_missing():
    samples = np.concatenate([np.linspace(1, 2, 90), np.full(10, np.nan)])
    assert all(np.isnan(beyond.interval(samples)))  # 10 % NaN > 2.5 %
    low, high = beyond.interval(samples[:90])
    assert 1.0 < low < 1.05 and 1.95 < high < 2.0
    with pytest.raises(ValueError, match="level"):
        beyond.interval(samples, 1.5)
