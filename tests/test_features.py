"""Tests of xorgrok.features: activation sets, alignment, Lemma A.4's per-step
changes, Lemma 4.7, Lemma A.9."""

import math

import numpy as np
import pytest
import torch

import xorgrok
from xorgrok import features as F
from xorgrok.data import CLUSTER_LABEL
from xorgrok.model import gd_step, network_output

SMALL = xorgrok.Setup(
    p=2000,
    n=24,
    n_test=24,
    m=40,
    mu_norm=2.5 * math.sqrt(2000 / 24),
    eta=0.1,
    omega_init=1e-15,
    alpha=1e-12,
)


def test_activation_counts_by_hand():
    # 4 points: clusters +mu1 (clean), +mu1 (flipped), -mu1 (clean), +mu2 (clean); 2
    # neurons
    cluster = np.array([0, 0, 1, 2])
    flipped = np.array([False, True, False, False])
    H = np.array([[1.0, 1.0, -1.0, 2.0], [-1.0, 0.5, 3.0, 0.0]])
    C, N = F.activation_counts(H, cluster, flipped)
    assert C.tolist() == [[1, 0, 1, 0], [0, 1, 0, 0]]
    assert N.tolist() == [[1, 0, 0, 0], [1, 0, 0, 0]]
    d = F.d_counts(H, cluster, flipped)
    assert d.tolist() == [[0, 0, 1, 0], [-1, 1, 0, 0]]
    D = F.D_counts(H, cluster, flipped)
    assert D.tolist() == [[0, 0, 1, -1], [-2, 2, 0, 0]]


def test_counts_are_consistent_on_a_sample():
    pb = xorgrok.sample(SMALL, 3)
    H = pb.W0 @ pb.X_train.T
    C, N = F.activation_counts(H, pb.cluster, pb.flipped)
    assert ((C + N).sum(-1) == (H > 0).sum(-1)).all()
    c, noisy = F.cluster_counts(pb.cluster, pb.flipped)
    assert (C <= c).all() and (N <= noisy).all()
    D = F.D_counts(H, pb.cluster, pb.flipped)
    assert (D[:, F.OPPOSITE] == -D).all()
    # batched over a leading dimension
    D2 = F.D_counts(np.stack([H, -H]), pb.cluster, pb.flipped)
    assert (D2[0] == D).all()
    flipped = F.flipped_from_labels(pb.y, pb.y_clean)
    assert (flipped == pb.flipped).all()


def test_alignment_threshold_and_errors():
    assert F.alignment_threshold(100, 0.0) == pytest.approx(10.0)
    assert F.alignment_threshold(100, 0.5) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="n must"):
        F.alignment_threshold(0, 0.1)
    with pytest.raises(ValueError, match="preacts"):
        F.activation_counts(
            np.zeros((3, 5)), np.zeros(4, dtype=int), np.zeros(4, dtype=bool)
        )
    with pytest.raises(ValueError, match="cluster"):
        F.activation_counts(
            np.zeros((3, 4)), np.array([0, 1, 2, 7]), np.zeros(4, dtype=bool)
        )


def test_alignment_both_conditions_by_hand():
    # n = 100: c = (40, 30, 12, 12), noisy = (2, 1, 2, 1); sqrt(n) = 10
    c, noisy = np.array([40, 30, 12, 12]), np.array([2, 1, 2, 1])
    ceiling = F.alignment_ceiling(c, noisy)
    # R_nu = min(c_nu, c_-nu) - 2 (n_nu + n_-nu) - sqrt(n)
    # 30 - 6 - 10, 12 - 6 - 10
    assert ceiling.tolist() == pytest.approx([14, 14, -4, -4])
    d0 = np.array(
        [
            [21, 10, 0, 0],  # D = 11 > 10 and max 21 >= 14: first condition only
            [13, 2, 0, 0],  # D = 11 > 10 and max 13 < 14: aligned with +mu1
            [12, 2, 0, 0],  # D = 10, not > 10
        ]
    )
    first = F.aligned(d0, c, noisy, 0.0, second=False)
    both = F.aligned(d0, c, noisy, 0.0)
    assert first[:, 0].tolist() == [True, True, False]
    assert both[:, 0].tolist() == [False, True, False]
    assert not both[:, 1:].any()  # -mu1: D = -11; +-mu2: the ceiling -4 is below d = 0
    with pytest.raises(ValueError, match="kappa"):
        F.aligned(d0, c, noisy, 0.7)
    with pytest.raises(ValueError, match="d0"):
        F.aligned(d0[:, :3], c, noisy, 0.1)


def test_lemma44_events_by_hand():
    # 4 neurons (2 positive, 2 negative), 8 points, two per cluster, none flipped
    cluster = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    flipped = np.zeros(8, dtype=bool)
    a = np.array([1.0, 1.0, -1.0, -1.0]) / 2
    H = -np.ones((4, 8))
    H[0, :2] = 1  # positive neuron 0 sees both +mu1 points
    H[2, 4:6] = 1  # negative neuron 2 sees both +mu2 points
    H[:, 7] = 1  # everyone sees the last point
    ev = F.lemma44_events(H, a, cluster, flipped, kappa=0.5)
    # D1: point 2 (of -mu1) activates no neuron
    assert ev["d1"] == 0.0 and ev["d1_bound"] == pytest.approx(1 / 7)
    assert not ev["holds"][0]
    # R_nu = 2 - 0 - sqrt(8) < 0 < max d: the second condition fails, nothing is aligned
    assert ev["d2"] == 0 and ev["d3"] == 0.0 and np.isnan(ev["d4"])
    assert ev["d2_bound"] == pytest.approx(4 * 8 ** (-10 * F.EPSILON_MAX))
    assert ev["d3_bound"] == pytest.approx(1 - 10 * 8 ** (-20 * F.EPSILON_MAX))
    # (D3) holds vacuously: 1 - 10 n^(-20 epsilon) < 0 for any n < 10^200
    assert ev["d3_bound"] < 0 and ev["holds"].tolist() == [False, False, True, False]
    with pytest.raises(ValueError, match="epsilon"):
        F.lemma44_events(H, a, cluster, flipped, kappa=0.5, epsilon=0.01)


def test_lemma44_d4_is_the_mean_over_aligned_neurons():
    mu_norm = 2.5 * math.sqrt(20000 / 400)
    setup = SMALL.replace(m=400, n=400, eta=0.02, p=20000, mu_norm=mu_norm)
    pb = xorgrok.sample(setup, 2)
    H = pb.W0 @ pb.X_train.T
    ev = F.lemma44_events(H, pb.a, pb.cluster, pb.flipped, kappa=0.25)
    d0 = F.d_counts(H, pb.cluster, pb.flipped)
    c, noisy = F.cluster_counts(pb.cluster, pb.flipped)
    al = F.aligned(d0, c, noisy, 0.25)
    means = [
        (c[k] - noisy[k] - d0[g & al[:, k], F.OPPOSITE[k]]).mean()
        for g in (pb.a > 0, pb.a < 0)
        for k in range(4)
        if (g & al[:, k]).any()
    ]
    assert len(means) == 8
    assert float(ev["d4"]) == pytest.approx(min(means))
    signs = (pb.a > 0, pb.a < 0)
    assert int(ev["d2"]) == min(
        int((g & al[:, k]).sum()) for g in signs for k in range(4)
    )


def test_predicted_aligned_fraction_without_shared_component_is_a_binomial_tail():
    # rho = mu_norm / sqrt(p) -> 0: every point active with probability 1/2
    # independently
    c, noisy = np.array([5, 3, 4, 2]), np.array([1, 0, 1, 0])
    # threshold n^0 = 1
    pred = F.predicted_aligned_fraction(c, noisy, 0.5, 10**12, 1e-3, second=False)
    rng = np.random.default_rng(0)
    K = 200_000
    b = lambda k: rng.binomial(k, 0.5, size=K)  # noqa: E731
    D = b(5) - b(1) - b(3) + b(0)  # nu = +mu1: c=5, n=1; -mu1: c=3, n=0
    assert pred[0] == pytest.approx((D > 1).mean(), abs=0.005)


def test_predicted_aligned_fraction_matches_many_neurons():
    setup = SMALL.replace(
        m=4000, n=40, n_test=8, p=4000, mu_norm=2.5 * math.sqrt(4000 / 40)
    )
    pb = xorgrok.sample(setup, 1)
    d0 = F.d_counts(pb.W0 @ pb.X_train.T, pb.cluster, pb.flipped)
    c, noisy = F.cluster_counts(pb.cluster, pb.flipped)
    p, mu_norm = setup.p, setup.mu_norm
    for second in (False, True):
        measured = F.aligned(d0, c, noisy, 0.1, second=second).mean(0)
        pred = F.predicted_aligned_fraction(c, noisy, 0.1, p, mu_norm, second=second)
        se = np.sqrt(pred * (1 - pred) / setup.m)
        assert np.all(np.abs(measured - pred) <= 4 * se + 0.01)
    # the second condition only removes neurons, and here it removes some
    both = F.predicted_aligned_fraction(c, noisy, 0.1, p, mu_norm)
    first = F.predicted_aligned_fraction(c, noisy, 0.1, p, mu_norm, second=False)
    assert np.all(both <= first + 1e-12) and np.any(both < first - 0.01)
    with pytest.raises(ValueError, match="c and noisy"):
        F.predicted_aligned_fraction(c[:3], noisy, 0.1, setup.p, setup.mu_norm)
    values, pmf = F.initial_D_distribution(c, noisy, 2, setup.p, setup.mu_norm)
    assert pmf.sum() == pytest.approx(1.0) and np.all(np.diff(values) == 1)
    assert (pmf * values).sum() == pytest.approx(
        F.e_nu(pb.cluster, pb.flipped)[2], abs=1e-9
    )
    with pytest.raises(ValueError, match="nu"):
        F.initial_D_distribution(c, noisy, 4, setup.p, setup.mu_norm)


def _orthogonal_problem(seed=0, n=12, m=8, mu=5.0):
    """Points nu_i + sqrt(p) e_(2+i): noise exactly orthogonal to everything, so
    Lemma A.4 is exact (g = 1/2)."""
    rng = np.random.default_rng(seed)
    p = 2 + n
    cluster = np.arange(n) % 4
    flipped = rng.random(n) < 0.25
    means = xorgrok.data.cluster_means(mu)[cluster]
    X = np.zeros((n, p))
    X[:, :2] = means
    X[np.arange(n), 2 + np.arange(n)] = math.sqrt(p)
    y = np.where(flipped, -CLUSTER_LABEL[cluster], CLUSTER_LABEL[cluster]).astype(float)
    a = rng.choice([-1.0, 1.0], size=m) / math.sqrt(m)
    W = 1e-9 * rng.standard_normal((m, p))
    setup = xorgrok.Setup(
        p=p, n=n, n_test=1, m=m, mu_norm=mu, eta=0.2, omega_init=1e-9, alpha=1e-8
    )
    return setup, X, W, a, y, cluster, flipped


def test_lemma_a4_is_exact_for_orthogonal_noise():
    setup, X, W, a, y, cluster, flipped = _orthogonal_problem()
    Wt = torch.as_tensor(W)
    W1 = gd_step(
        Wt, torch.as_tensor(a), torch.as_tensor(X), torch.as_tensor(y), setup.alpha
    ).numpy()
    H0 = W @ X.T
    measured = W1 @ X.T - H0
    # ||x_k||^2 = p + ||mu||^2: the sample's own ||mu||^2 is the i = k term of
    # D_{nu(k),j} ||mu||^2
    predicted = F.predicted_preact_change(H0, a, y, cluster, flipped, setup)
    assert np.allclose(
        measured, predicted, rtol=1e-6, atol=1e-7 * np.abs(measured).max()
    )
    mean_measured = F.mean_projections(setup.mu_norm * (W1[:, :2] - W[:, :2]))
    mean_pred = F.predicted_mean_change(H0, a, cluster, flipped, setup)
    assert np.allclose(
        mean_measured, mean_pred, rtol=1e-6, atol=1e-7 * np.abs(mean_measured).max()
    )


def test_lemma_a4_close_on_the_simulated_network():
    tr = xorgrok.simulate(
        SMALL, 2, [0], preacts=True, neurons=True, dtype=torch.float64, engine="dense"
    )
    fl = F.flipped_from_labels(tr.y[0], tr.y_clean[0])
    H = tr.preacts[0, 1]
    pred = F.predicted_preact_change(H, tr.a[0], tr.y[0], tr.cluster[0], fl, SMALL)
    meas = tr.preacts[0, 2] - H
    assert np.corrcoef(meas.ravel(), pred.ravel())[0, 1] > 0.9


def test_mean_projections_and_shapes():
    proj = np.array([[[1.0, 2.0], [-3.0, 0.5]]])
    assert F.mean_projections(proj).tolist() == [
        [[1.0, -1.0, 2.0, -2.0], [-3.0, 3.0, 0.5, -0.5]]
    ]
    with pytest.raises(ValueError, match="proj"):
        F.mean_projections(np.zeros((3, 3)))


def test_growth_groups_by_hand():
    proj = np.zeros((1, 2, 3, 2))
    proj[0, 1, :, 0] = [2.0, -4.0, 6.0]
    a = np.array([[1.0, -1.0, -1.0]])
    al = np.zeros((1, 3, 4), dtype=bool)
    al[0, 0, 0] = True  # positive, +mu1-aligned
    al[0, 1, 1] = True  # negative, -mu1-aligned
    al[0, 2, 2] = True  # negative, +mu2-aligned: not in either group
    g = F.growth_groups(proj, a, al)
    assert g["pos"].tolist() == [0.0, 2.0]
    assert g["neg"].tolist() == [0.0, 4.0]
    assert int(g["n_pos"]) == 1 and int(g["n_neg"]) == 1
    o = F.lemma47_orders(SMALL, np.array([0, 2]))
    scale = SMALL.alpha * SMALL.mu_norm**2 / math.sqrt(SMALL.m)
    assert o["pos"].tolist() == pytest.approx([0.0, 2 * scale])
    assert o["neg"][0] == pytest.approx(scale)


def test_expected_relu_closed_form():
    rng = np.random.default_rng(1)
    z = rng.standard_normal(400_000)
    for mean, sd in ((0.3, 1.0), (-1.0, 0.5), (2.0, 3.0)):
        assert F.expected_relu(mean, sd) == pytest.approx(
            np.maximum(mean + sd * z, 0).mean(), abs=4 * sd / 600
        )
    assert F.expected_relu(np.array([-1.0, 2.0]), np.array([0.0, 0.0])).tolist() == [
        0.0,
        2.0,
    ]
    with pytest.raises(ValueError, match="sd"):
        F.expected_relu(1.0, -1.0)


def test_cluster_margins_and_bound_against_monte_carlo():
    rng = np.random.default_rng(2)
    p, m, mu = 30, 20, 3.0
    W = 0.3 * rng.standard_normal((m, p))
    W[: m // 2, 0] += 1.0  # some neurons along mu1
    a = rng.choice([-1.0, 1.0], size=m) / math.sqrt(m)
    proj = mu * W[:, :2]
    w_norm = np.linalg.norm(W, axis=1)
    margins = F.cluster_margins(proj, w_norm, a)
    gamma = F.normalized_margins(proj, w_norm, a)
    means = xorgrok.data.cluster_means(mu)
    errors = []
    for nu in range(4):
        X = rng.standard_normal((100_000, p))
        X[:, :2] += means[nu]
        f = network_output(
            torch.as_tensor(W), torch.as_tensor(a), torch.as_tensor(X)
        ).numpy()
        yf = CLUSTER_LABEL[nu] * f
        assert margins[nu] == pytest.approx(
            yf.mean(), abs=5 * yf.std() / math.sqrt(X.shape[0])
        )
        errors.append((yf <= 0).mean())
    assert gamma == pytest.approx(margins / np.linalg.norm(W))
    assert F.margin_error_bound(gamma) >= np.mean(errors) - 0.005
    assert F.margin_error_bound(gamma, form="paper") >= np.mean(errors) - 0.005
    assert F.margin_error_bound(np.array([-1.0, 0.0, 10.0, 10.0])) == pytest.approx(
        (1 + 1 + 2 * math.exp(-50)) / 4
    )
    with pytest.raises(ValueError, match="form"):
        F.margin_error_bound(gamma, form="other")


def test_loss_minus_log2():
    z = np.array([[1e-9, -2e-9, 3e-9], [0.5, 1.0, -2.0]])
    y = np.ones(3)
    expected = np.log1p(np.exp(-z)).mean(-1) - math.log(2)
    got = F.loss_minus_log2(z, y)
    assert got[1] == pytest.approx(expected[1], rel=1e-12)
    # the tiny-output regime, exact to first order
    assert got[0] == pytest.approx(-z[0].mean() / 2, rel=1e-6)


def test_predicted_aligned_fraction_with_second_condition_against_monte_carlo():
    # no shared component: d_nu = Bin(c_nu, 1/2) - Bin(n_nu, 1/2), independent of d_-nu
    c, noisy = np.array([40, 36, 38, 39]), np.array([2, 1, 0, 3])
    pred = F.predicted_aligned_fraction(c, noisy, 0.25, 10**12, 1e-3)
    rng = np.random.default_rng(1)
    K = 400_000
    d_p = rng.binomial(40, 0.5, K) - rng.binomial(2, 0.5, K)
    d_m = rng.binomial(36, 0.5, K) - rng.binomial(1, 0.5, K)
    ceiling = min(40, 36) - 2 * (2 + 1) - math.sqrt(c.sum() + noisy.sum())
    first = d_p - d_m > (c.sum() + noisy.sum()) ** 0.25
    mc = (first & (np.maximum(d_p, d_m) < ceiling)).mean()
    assert 0.01 < mc < 0.5  # a case where both conditions bind
    assert pred[0] == pytest.approx(mc, abs=0.003)
