"""The samplers against the distribution they claim (the paper's Definition 2.1).

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
