"""Tests of xorgrok.theory: assumptions, near-orthogonality bounds, the one-step
approximation, e_nu."""

import math

import numpy as np
import pytest
import torch

import xorgrok
from xorgrok import theory as th

PAPER = xorgrok.PAPER_FIG1_LEFT
SMALL = xorgrok.Setup(
    p=3000, n=24, n_test=40, m=400, mu_norm=12.0, eta=0.1, omega_init=1e-10, alpha=1e-6
)


def test_assumptions_paper_setup_values():
    checks = {c.name: c for c in th.check_assumptions(PAPER, C=1)}
    assert list(checks) == ["A1", "A2", "A3", "A4", "A5", "A6"]
    assert checks["A1"].factor == pytest.approx(1250 / (200**0.51 * 200))
    assert not checks["A1"].holds and not checks["A2"].holds and not checks["A5"].holds
    assert checks["A3"].holds and checks["A4"].holds and checks["A6"].holds
    assert checks["A2"].factor == pytest.approx(40000 / (200**2 * 1250))
    assert checks["A3"].max_C == pytest.approx(20.0)
    assert checks["A4"].max_C == pytest.approx(1 / (1e-12 * 200 * 40000))
    assert checks["A5"].factor == pytest.approx(
        1e-12 * 1250 / (1e-15 * 200 * 1000**1.5 * 40000)
    )


def test_max_C_is_the_threshold():
    for c in th.check_assumptions(PAPER, C=1):
        if c.name in ("A1", "A2", "A3", "A4", "A6") and c.max_C >= 1:
            just_below = {
                x.name: x for x in th.check_assumptions(PAPER, C=c.max_C * (1 - 1e-9))
            }[c.name]
            just_above = {
                x.name: x for x in th.check_assumptions(PAPER, C=c.max_C * (1 + 1e-9))
            }[c.name]
            assert just_below.holds and not just_above.holds


def test_required_dimension_makes_a1_a2_hold():
    n, C = 50, 2.0
    p = math.ceil(th.required_dimension(n, C) * 1.0001)
    lo, hi = th.mu_norm_range(p, n, C)
    assert lo <= hi
    setup = PAPER.replace(p=p, n=n, mu_norm=math.sqrt(lo * hi))
    checks = {c.name: c for c in th.check_assumptions(setup, C)}
    assert checks["A1"].holds and checks["A2"].holds
    lo2, hi2 = th.mu_norm_range(int(th.required_dimension(n, C) * 0.99), n, C)
    assert lo2 > hi2


def test_max_omega_init_makes_a5_hold():
    setup = PAPER.replace(omega_init=th.max_omega_init(PAPER) * 0.999)
    assert {c.name: c for c in th.check_assumptions(setup)}["A5"].holds


def test_pairwise_bounds_hold_on_samples():
    for p in (500, 5000, 50000):
        setup = PAPER.replace(p=p, n=100, mu_norm=2.5 * math.sqrt(p / 100))
        pb = xorgrok.sample(setup, 0)
        b = th.pairwise_bounds(p, 100, setup.mu_norm)
        G = pb.X_train @ pb.X_train.T
        off = np.abs(G[np.triu_indices(100, 1)])
        assert off.max() <= b["inner"]
        assert (
            b["norm_sq_low"] <= np.diag(G).min()
            and np.diag(G).max() <= b["norm_sq_high"]
        )
        assert np.abs(th.cosine_similarities(pb.X_train)).max() <= b["cosine"]


def test_cosine_similarities_shape_and_values():
    X = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    np.testing.assert_allclose(
        th.cosine_similarities(X), [0.0, 1 / math.sqrt(2), 1 / math.sqrt(2)]
    )
    with pytest.raises(ValueError):
        th.cosine_similarities(np.ones(3))


def test_one_step_weights_match_simulate_dense():
    traj = xorgrok.simulate(SMALL, 1, seeds=[2], engine="dense", outputs=True)
    pb = xorgrok.sample_dense(SMALL, 2)
    f = th.one_step_outputs(pb)
    np.testing.assert_allclose(f[: SMALL.n], traj.f_train[0, 1], rtol=1e-9, atol=1e-25)
    np.testing.assert_allclose(f[SMALL.n :], traj.f_test[0, 1], rtol=1e-9, atol=1e-25)


def test_one_step_error_equals_subtraction_and_respects_lemma_a10():
    setup = SMALL.replace(
        omega_init=1e-4, alpha=1e-3
    )  # large enough init that the difference is visible
    pb = xorgrok.sample_dense(setup, 0)
    W1, WT = th.one_step_weights(pb), th.one_step_approximation(pb)
    direct = th.one_step_error(pb)
    assert direct == pytest.approx(float(torch.linalg.norm(W1 - WT)), rel=1e-6)
    assert 0 < direct <= th.lemma_a10_bound(setup)
    # dense and reduced samplers agree in distribution: the bound holds for the reduced
    # problem too
    assert th.one_step_error(xorgrok.sample_reduced(setup, 0)) <= th.lemma_a10_bound(
        setup
    )


def test_one_step_approximation_without_init():
    pb = xorgrok.sample_dense(SMALL, 1)
    diff = th.one_step_approximation(pb) - th.one_step_approximation(
        pb, include_init=False
    )
    np.testing.assert_allclose(diff.numpy(), pb.W0)


def test_frobenius_norm_includes_residual():
    pb = xorgrok.sample_reduced(SMALL, 0)
    W0 = torch.as_tensor(pb.W0)
    expected = math.sqrt(float((W0**2).sum()) + pb.w0_residual_sq.sum())
    assert th.frobenius_norm(pb, W0) == pytest.approx(expected)
    # the reduced problem's ||W0||_F is distributed like the dense one: omega^2 chi^2_{m
    # p}
    assert th.frobenius_norm(pb, W0) ** 2 / (
        SMALL.omega_init**2 * SMALL.m * SMALL.p
    ) == pytest.approx(1, abs=0.01)


def test_linear_limit_is_approached_as_m_grows():
    errs = []
    for m in (30, 3000):
        setup = SMALL.replace(m=m, omega_init=1e-14)
        rel = []
        for seed in range(3):
            pb = xorgrok.sample(setup, seed)
            f, fl = th.one_step_outputs(pb), th.linear_limit_outputs(pb)
            rel.append(np.linalg.norm(f - fl) / np.linalg.norm(fl))
        errs.append(np.mean(rel))
    assert (
        errs[1] < errs[0] / 4
    )  # O(1/sqrt(m)): a factor 10 expected, 4 leaves room for noise
    assert errs[1] < 0.1


def test_linear_limit_direction():
    pb = xorgrok.sample_dense(SMALL, 0)
    v = th.linear_limit_direction(pb)
    np.testing.assert_allclose(v, sum(pb.y[i] * pb.X_train[i] for i in range(SMALL.n)))
    np.testing.assert_allclose(
        th.linear_limit_outputs(pb), SMALL.alpha / (8 * SMALL.n) * pb.X @ v
    )


def test_initial_g_deviation_is_tiny_for_tiny_init():
    pb = xorgrok.sample(PAPER, 0)
    assert th.initial_g_deviation(pb) < 1e-10


def test_cluster_counts_and_e_nu():
    cluster = np.array([0, 0, 0, 1, 2, 3, 3, 1, 2, 0])
    flipped = np.array([False, True, False, False, False, True, False, False])
    c, noisy = th.cluster_counts(cluster, flipped)
    np.testing.assert_array_equal(c, [2, 2, 1, 1])
    np.testing.assert_array_equal(noisy, [1, 0, 0, 1])
    e = th.e_nu(cluster, flipped)
    np.testing.assert_allclose(e, [(1 - 2) / 2, (2 - 1) / 2, (1 - 0) / 2, (0 - 1) / 2])
    np.testing.assert_allclose(e, -e[th.OPPOSITE])
    # batched
    cb, nb = th.cluster_counts(
        np.stack([cluster, cluster]), np.stack([flipped, ~flipped])
    )
    assert cb.shape == (2, 4) and (cb[1] + nb[1] == c + noisy).all()
    with pytest.raises(ValueError):
        th.cluster_counts(cluster[:3], flipped)
    with pytest.raises(ValueError):
        th.cluster_counts(np.full(8, 5), flipped)


def test_e_nu_equals_the_counts_written_out():
    """The formula chapter 7a's solution wrote out: (c_nu - n_nu - c_-nu + n_-nu) /
    2."""
    rng = np.random.default_rng(3)
    cluster, flipped = rng.integers(0, 4, (5, 40)), rng.random((5, 40)) < 0.2
    e = th.e_nu(cluster, flipped)
    for s in range(5):
        c = [np.sum((cluster[s] == v) & ~flipped[s]) for v in range(4)]
        f = [np.sum((cluster[s] == v) & flipped[s]) for v in range(4)]
        assert e[s, 0] == (c[0] - f[0] - c[1] + f[1]) / 2
        assert e[s, 2] == (c[2] - f[2] - c[3] + f[3]) / 2
        assert e[s, 1] == -e[s, 0] and e[s, 3] == -e[s, 2]


def test_e_nu_predicts_the_linear_margin():
    # y_nu <v, nu> / ||mu||^2 = 2 e_nu exactly when the noise is removed (x_i = its
    # cluster mean)
    pb = xorgrok.sample_dense(SMALL, 4)
    means = xorgrok.data.cluster_means(SMALL.mu_norm)
    Xc = np.zeros_like(pb.X_train)
    Xc[:, :2] = means[pb.cluster[: SMALL.n]]
    v = pb.y @ Xc
    margin = xorgrok.data.CLUSTER_LABEL * (means @ v[:2]) / SMALL.mu_norm**2
    np.testing.assert_allclose(margin, 2 * th.e_nu(pb.cluster, pb.flipped))


def test_per_cluster_accuracy():
    f = np.array([1.0, -1.0, 1.0, -2.0, 3.0])
    y = np.array([1, 1, 1, -1, -1])
    cl = np.array([0, 0, 1, 2, 2])
    acc = th.per_cluster_accuracy(f, y, cl)
    np.testing.assert_allclose(acc[:3], [0.5, 1.0, 0.5])
    assert np.isnan(acc[3])
    with pytest.raises(ValueError):
        th.per_cluster_accuracy(f, y[:3], cl)


@pytest.mark.parametrize(
    "call",
    [
        lambda: th.check_assumptions(PAPER, C=0.5),
        lambda: th.check_assumptions(PAPER, C=float("inf")),
        lambda: th.required_dimension(0),
        lambda: th.mu_norm_range(100, 10, C="big"),
        lambda: th.pairwise_bounds(100, 10, -1.0),
    ],
)
def test_bad_input(call):
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize("C", [1.0, 4.0])
def test_setup_satisfying_assumptions(C):
    setup = th.setup_satisfying_assumptions(n=50, m=100, C=C, eta=0.05)
    assert all(c.holds for c in th.check_assumptions(setup, C))
    assert setup.p >= th.required_dimension(50, C)
    with pytest.raises(ValueError, match="eta"):
        th.setup_satisfying_assumptions(n=50, C=30.0, eta=0.05)
    with pytest.raises(ValueError, match="m must"):
        th.setup_satisfying_assumptions(n=50, m=1, C=C)


def test_with_omega_init_matches_the_sampler():
    for sampler in (xorgrok.sample_dense, xorgrok.sample_reduced):
        pb = sampler(SMALL, 5)
        scaled = th.with_omega_init(pb, 3e-12)
        direct = sampler(SMALL.replace(omega_init=3e-12), 5)
        np.testing.assert_allclose(scaled.W0, direct.W0, rtol=1e-12)
        np.testing.assert_allclose(
            scaled.w0_residual_sq, direct.w0_residual_sq, rtol=1e-12
        )
        np.testing.assert_array_equal(scaled.X, direct.X)
        assert scaled.setup == direct.setup
    with pytest.raises(ValueError):
        th.with_omega_init(pb, 0.0)


def test_one_step_summary():
    pb = xorgrok.sample(SMALL.replace(m=2000, omega_init=1e-14), 0)
    r = th.one_step(pb)
    n = SMALL.n
    assert r.f.shape == r.f_lin.shape == (SMALL.n_total,)
    assert r.train_acc == np.mean(np.sign(r.f[:n]) == pb.y)
    assert r.slope == pytest.approx(SMALL.alpha / (8 * n), rel=0.1)
    np.testing.assert_allclose(r.cluster_acc_lin + r.cluster_acc_lin[th.OPPOSITE], 1.0)
    assert 0.9 <= r.agree_train <= 1 and 0.8 <= r.agree_test <= 1
    np.testing.assert_allclose(r.e, th.e_nu(pb.cluster, pb.flipped))
    assert np.isnan(th.one_step(xorgrok.sample(SMALL.replace(eta=0.0), 0)).flipped_fit)
