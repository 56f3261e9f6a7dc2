"""The samplers against the distribution they claim (the paper's Definition 2.1),
and their random streams (one per object, so that changing one parameter keeps the
other draws).

Tolerances are five standard errors of the statistic for the sample size used, so a
correct sampler fails with probability below about 1e-6 per check, while a wrong
constant (e.g. a variance off by 10%) is far outside.
"""

import math

import numpy as np
import pytest

import xorgrok as xg
from xorgrok.data import CLUSTER_LABEL, cluster_means

SETUP = xg.Setup(
    p=500, n=300, n_test=500, m=400, mu_norm=7.0, eta=0.2, omega_init=0.3, alpha=1.0
)
Z = 5.0


@pytest.fixture(scope="module")
def problems():
    return [xg.sample_dense(SETUP, s) for s in range(6)]


def test_shapes_and_label_structure(problems):
    pb = problems[0]
    N = SETUP.n_total
    assert pb.X.shape == (N, SETUP.p) and pb.W0.shape == (SETUP.m, SETUP.p)
    assert (
        pb.a.shape == (SETUP.m,)
        and pb.cluster.shape == (N,)
        and pb.flipped.shape == (SETUP.n,)
    )
    np.testing.assert_array_equal(pb.y_clean, CLUSTER_LABEL[pb.cluster])
    np.testing.assert_array_equal(pb.y[pb.flipped], -pb.y_clean[: SETUP.n][pb.flipped])
    np.testing.assert_array_equal(pb.y[~pb.flipped], pb.y_clean[: SETUP.n][~pb.flipped])
    np.testing.assert_array_equal(pb.y_test, pb.y_clean[SETUP.n :])
    assert np.allclose(np.abs(pb.a), 1 / math.sqrt(SETUP.m))


def test_cluster_frequencies_and_flip_rate(problems):
    clusters = np.concatenate([pb.cluster for pb in problems])
    freq = np.bincount(clusters, minlength=4) / clusters.size
    assert np.all(np.abs(freq - 0.25) < Z * math.sqrt(0.25 * 0.75 / clusters.size))
    flips = np.concatenate([pb.flipped for pb in problems])
    eta = SETUP.eta
    assert abs(flips.mean() - eta) < Z * math.sqrt(eta * (1 - eta) / flips.size)
    signs = np.concatenate([pb.a > 0 for pb in problems])
    assert abs(signs.mean() - 0.5) < Z * math.sqrt(0.25 / signs.size)


def test_cluster_means_are_orthogonal_with_norm_mu(problems):
    means = cluster_means(SETUP.mu_norm)
    assert means[0] @ means[2] == 0.0
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), SETUP.mu_norm)
    X = np.concatenate([pb.X for pb in problems])
    clusters = np.concatenate([pb.cluster for pb in problems])
    for k in range(4):
        pts = X[clusters == k]
        # the empirical mean of each coordinate has standard error 1/sqrt(count)
        err = pts.mean(0) - np.concatenate([means[k], np.zeros(SETUP.p - 2)])
        # +1: max over p coordinates
        assert np.all(np.abs(err) < (Z + 1.0) / math.sqrt(len(pts)))


def test_noise_norms_and_weights(problems):
    X = np.concatenate([pb.X for pb in problems])
    clusters = np.concatenate([pb.cluster for pb in problems])
    noise = X.copy()
    noise[:, :2] -= cluster_means(SETUP.mu_norm)[clusters]
    sq = (noise**2).sum(1)  # chi-square with p degrees of freedom: mean p, variance 2p
    assert abs(sq.mean() - SETUP.p) < Z * math.sqrt(2 * SETUP.p / len(sq))
    W = np.concatenate([pb.W0 for pb in problems]).ravel()
    var = SETUP.omega_init**2
    assert abs(W.mean()) < Z * math.sqrt(var / W.size)
    assert abs(W.var() - var) < Z * var * math.sqrt(2 / W.size)


def test_same_seed_same_problem_and_bad_seed():
    a, b = xg.sample_dense(SETUP, 3), xg.sample_dense(SETUP, 3)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.W0, b.W0)
    assert not np.array_equal(a.X, xg.sample_dense(SETUP, 4).X)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        xg.sample_dense(SETUP, -1)


def test_reduced_shares_labels_and_layer_with_dense():
    dense, reduced = (
        xg.sample_dense(SETUP, 5),
        xg.sample_reduced(SETUP.replace(p=10**9), 5),
    )
    np.testing.assert_array_equal(dense.cluster, reduced.cluster)
    np.testing.assert_array_equal(dense.flipped, reduced.flipped)
    np.testing.assert_array_equal(dense.a, reduced.a)
    assert reduced.X.shape == (SETUP.n_total, SETUP.n_total + 2)


# --------------------------------------------------------------------------------------
# One random stream per object: what a change of one parameter keeps

REDUCED = SETUP.replace(p=10**6)  # p - 2 > N: the reduced sampler reduces
BOTH = [(xg.sample_dense, SETUP), (xg.sample_reduced, REDUCED)]


@pytest.mark.parametrize("sampler, setup", BOTH)
def test_width_keeps_the_data_and_nests_the_neurons(sampler, setup):
    narrow, wide = sampler(setup, 2), sampler(setup.replace(m=2 * setup.m), 2)
    for field in ("X", "cluster", "flipped"):
        np.testing.assert_array_equal(getattr(narrow, field), getattr(wide, field))
    m = setup.m  # the wider network holds the narrower one's neurons
    np.testing.assert_array_equal(narrow.W0, wide.W0[:m])
    np.testing.assert_array_equal(narrow.w0_residual_sq, wide.w0_residual_sq[:m])
    np.testing.assert_array_equal(np.sign(narrow.a), np.sign(wide.a[:m]))
    assert not np.array_equal(np.sign(wide.a[:m]), np.sign(wide.a[m:]))


@pytest.mark.parametrize("sampler, setup", BOTH)
def test_eta_keeps_the_data_and_only_adds_flips(sampler, setup):
    low, high = sampler(setup.replace(eta=0.05), 4), sampler(setup.replace(eta=0.3), 4)
    for field in ("X", "W0", "a", "cluster", "w0_residual_sq"):
        np.testing.assert_array_equal(getattr(low, field), getattr(high, field))
    assert np.all(high.flipped[low.flipped]) and high.flipped.sum() > low.flipped.sum()


@pytest.mark.parametrize("sampler, setup", BOTH)
def test_omega_init_scales_the_first_layer_only(sampler, setup):
    base = sampler(setup, 6)
    double, triple = (
        sampler(setup.replace(omega_init=c * setup.omega_init), 6) for c in (2, 3)
    )
    np.testing.assert_array_equal(double.W0, 2 * base.W0)  # a power of two: exact
    np.testing.assert_array_equal(double.w0_residual_sq, 4 * base.w0_residual_sq)
    # otherwise one rounding of omega_init * z: relative error at most 2 ulp
    np.testing.assert_allclose(triple.W0, 3 * base.W0, rtol=4.5e-16, atol=0)
    for field in ("X", "a", "cluster", "flipped"):
        np.testing.assert_array_equal(getattr(base, field), getattr(triple, field))


def test_mu_norm_moves_only_the_cluster_means():
    base, far = (
        xg.sample_dense(SETUP, 1),
        xg.sample_dense(SETUP.replace(mu_norm=9.0), 1),
    )
    shift = cluster_means(9.0 - SETUP.mu_norm)[base.cluster]
    np.testing.assert_allclose(far.X[:, :2], base.X[:, :2] + shift, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(far.X[:, 2:], base.X[:, 2:])
    np.testing.assert_array_equal(far.W0, base.W0)


def test_both_samplers_share_the_plane_of_every_seed():
    """Clusters, flips, second layer and every coordinate along mu1, mu2 (points and
    weights)."""
    dense, reduced = xg.sample_dense(SETUP, 8), xg.sample_reduced(REDUCED, 8)
    for field in ("cluster", "flipped", "a"):
        np.testing.assert_array_equal(getattr(dense, field), getattr(reduced, field))
    np.testing.assert_array_equal(dense.X[:, :2], reduced.X[:, :2])
    np.testing.assert_array_equal(dense.W0[:, :2], reduced.W0[:, :2])
