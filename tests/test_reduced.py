"""The dimension-free sampler: exact in distribution, checked two ways.

1. Directly: the inner products that the dynamics sees (Gram entries <x_i, x_k>, <w_j,
   x_i>, ||w_j||^2) against their exact distributions, by one-sample Kolmogorov-Smirnov
   (KS) tests and z-tests.
2. Through the whole dynamics: dense and reduced runs over disjoint sets of seeds must
   agree in distribution; per-seed statistics (independent across seeds) are compared by
   two-sample KS tests.

Every test has a stated significance level. With several tests in one check we use
Bonferroni: the family rejects at level ``LEVEL`` when some p-value is below ``LEVEL /
k``. Seeds are fixed, so the outcome is deterministic; a correct sampler fails a check
with probability at most ``LEVEL`` over the choice of seeds. A negative control shows
that the run-level test does detect a 15% error in ||mu||.
"""

import math

import numpy as np
import pytest
import torch
from scipy import stats

import xorgrok as xg
from xorgrok.data import cluster_means, sample_dense, sample_reduced

LEVEL = 1e-3  # family-wise significance level of each check
Z = stats.norm.isf(LEVEL / 2)  # two-sided z threshold at that level (3.29)

SAMPLER = xg.Setup(
    p=5000, n=100, n_test=100, m=200, mu_norm=12.0, eta=0.1, omega_init=0.3, alpha=1.0
)
# 10 seeds x N = 200 points: 2000 norms, 1000 independent off-diagonal pairs
SEEDS = range(10)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small tensors: one thread is fastest and immune to a busy machine (OpenMP
    spin-waits)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _means(setup, pb):
    M = cluster_means(setup.mu_norm)[pb.cluster]  # [N, 2] in the (mu1, mu2) plane
    return M


def _sampler_stats(setup, sampler, seeds):
    """Independent samples of the quantities the dynamics sees, pooled over seeds."""
    norms, offdiag, u, wnorms = [], [], [], []
    for seed in seeds:
        pb = sampler(setup, seed)
        X, W0, M = pb.X, pb.W0, _means(setup, pb)
        G = X @ X.T
        norms.append(np.diag(G))  # independent across points
        # disjoint pairs (0,1), (2,3), ...: independent entries
        i = np.arange(0, setup.n_total - 1, 2)
        mean_ik = (M[i] * M[i + 1]).sum(1)  # E <x_i, x_k> given the clusters
        offdiag.append(
            (G[i, i + 1] - mean_ik) / math.sqrt(2 * setup.mu_norm**2 + setup.p)
        )
        # pairs (w_j, x_j): independent across j
        j = np.arange(min(setup.m, setup.n_total))
        u.append((W0[j] * X[j]).sum(1) / (setup.omega_init * np.sqrt(G[j, j])))
        wnorms.append(((W0 * W0).sum(1) + pb.w0_residual_sq) / setup.omega_init**2)
    return {
        k: np.concatenate(v)
        for k, v in zip(
            ("norms", "offdiag", "u", "wnorms"), (norms, offdiag, u, wnorms)
        )
    }


@pytest.fixture(scope="module")
def reduced_stats():
    return _sampler_stats(SAMPLER, sample_reduced, SEEDS)


def test_reduced_problem_has_the_small_shape_and_the_dense_labels():
    pr, pd = sample_reduced(SAMPLER, 3), sample_dense(SAMPLER, 3)
    N = SAMPLER.n_total
    assert pr.X.shape == (N, 2 + N) and pr.W0.shape == (SAMPLER.m, 2 + N)
    # the first draws (clusters, label flips, second layer) are shared with the dense
    # sampler
    for field in ("cluster", "y_clean", "flipped", "a"):
        np.testing.assert_array_equal(getattr(pr, field), getattr(pd, field))
    # Bartlett factor: lower triangular with a positive diagonal
    T = pr.X[:, 2:]
    assert np.all(np.triu(T, 1) == 0) and np.all(np.diag(T) > 0)


def test_gram_diagonal_is_noncentral_chi_square(reduced_stats):
    """The squared norm ||x_i||^2 = ||mean + z||^2 with z ~ N(0, I_p): noncentral
    chi-square, p degrees, noncentrality ||mu||^2."""
    law = stats.ncx2(df=SAMPLER.p, nc=SAMPLER.mu_norm**2)
    assert stats.kstest(reduced_stats["norms"], law.cdf).pvalue > LEVEL


def test_gram_off_diagonal_mean_and_variance(reduced_stats):
    """<x_i, x_k> - <m_i, m_k> = <m_i, z_k> + <z_i, m_k> + <z_i, z_k>: mean 0, variance
    2 ||mu||^2 + p.

    Standardized entries s: z-tests of mean(s) = 0 and mean(s^2) = 1 (standard error
    from the sample), Bonferroni over the two tests."""
    s = reduced_stats["offdiag"]
    K = s.size
    z = stats.norm.isf(LEVEL / 4)
    assert abs(s.mean()) < z / math.sqrt(K)
    assert abs((s**2).mean() - 1) < z * (s**2).std(ddof=1) / math.sqrt(K)


def test_weight_data_products_are_gaussian_with_variance_omega2_norm2(reduced_stats):
    """Given x_i, <w_j, x_i> ~ N(0, omega^2 ||x_i||^2) exactly: u = <w_j, x_i> /
    (omega ||x_i||) ~ N(0, 1)."""
    assert stats.kstest(reduced_stats["u"], "norm").pvalue > LEVEL


def test_weight_norms_are_chi_square_p(reduced_stats):
    """The squared norm ||w_j^(0)||^2 / omega^2 ~ chi^2_p exactly: two coordinates, N
    Bartlett coordinates and the residual chi^2_{p-2-N}, all independent."""
    assert (
        stats.kstest(reduced_stats["wnorms"], stats.chi2(df=SAMPLER.p).cdf).pvalue
        > LEVEL
    )


def test_reduced_and_dense_samplers_agree_two_sample():
    """The same four statistics from the dense sampler (other seeds): two-sample KS,
    Bonferroni over 4."""
    red = _sampler_stats(SAMPLER, sample_reduced, range(100, 106))
    den = _sampler_stats(SAMPLER, sample_dense, range(200, 206))
    pvalues = {k: stats.ks_2samp(red[k], den[k]).pvalue for k in red}
    assert min(pvalues.values()) > LEVEL / len(pvalues), pvalues


def test_p_10_to_the_12_samples_in_the_same_small_arrays():
    """p = 10^12: the arrays have the same shapes as at p = 10^4 (cost and memory
    independent of p), and
    the standardized statistics are N(0, 1): exactly for u; for the norms up to the
    skewness of a chi-square with 10^12 degrees of freedom (sqrt(8 / p) ~ 3e-6),
    invisible to a KS test on 2000 samples."""
    huge = SAMPLER.replace(p=10**12, mu_norm=2.5 * math.sqrt(10**12 / SAMPLER.n))
    small = huge.replace(p=10**4)
    pb_huge, pb_small = sample_reduced(huge, 0), sample_reduced(small, 0)
    assert pb_huge.X.shape == pb_small.X.shape and pb_huge.W0.shape == pb_small.W0.shape
    st = _sampler_stats(huge, sample_reduced, SEEDS)
    p, mu2 = huge.p, huge.mu_norm**2
    # ncx2 mean p + mu^2, variance 2p + 4 mu^2
    norms = (st["norms"] - (p + mu2)) / np.sqrt(2 * p + 4 * mu2)
    wnorms = (st["wnorms"] - p) / math.sqrt(2 * p)
    pvalues = [stats.kstest(x, "norm").pvalue for x in (norms, st["u"], wnorms)]
    assert min(pvalues) > LEVEL / 3, pvalues


# --------------------------------------------------------------------------------------
# The whole dynamics: dense and reduced runs agree in distribution

RUN = xg.Setup(
    p=1000,
    n=20,
    n_test=40,
    m=40,
    mu_norm=2.5 * math.sqrt(1000 / 20),
    eta=0.05,
    omega_init=1e-6,
    alpha=1e-4,
)
# per engine; disjoint seed sets so that the two samples are independent
RUN_SEEDS = 300
RECORD = [0, 1, 2, 5, 20]


def _run_stats(traj):
    """Per-seed statistics (one number per seed, independent across seeds)."""
    k = {t: i for i, t in enumerate(RECORD)}
    pos = traj.a > 0
    out = {}
    for t in (1, 2, 5, 20):
        out[f"test_acc t={t}"] = traj.test_acc[:, k[t]]
    for t in (1, 2):
        out[f"train_acc t={t}"] = traj.train_acc[:, k[t]]
    out["loss t=20"] = traj.loss[:, k[20]]
    # neuron 0 of each seed: an independent draw from the pooled projection histograms
    # (Figures 3-4)
    for t in (2, 20):
        out[f"<w_0, mu1> t={t}"] = traj.proj[:, k[t], 0, 0]
        out[f"<w_0, mu2> t={t}"] = traj.proj[:, k[t], 0, 1]
    out["||w_0|| t=20"] = traj.w_norm[:, k[20], 0]
    out["f(x_test_0) t=20"] = traj.f_test[:, k[20], 0]
    # a per-seed summary of the histogram: mean |<w_j, mu1>| over positive neurons
    out["mean |<w_j, mu1>|, j positive, t=20"] = np.nanmean(
        np.where(pos, np.abs(traj.proj[:, k[20], :, 0]), np.nan), axis=1
    )
    return out


def _simulate(setup, engine, seeds):
    return xg.simulate(
        setup,
        RECORD[-1],
        seeds,
        record=RECORD,
        engine=engine,
        dtype=torch.float64,
        neurons=True,
        outputs=True,
    )


@pytest.fixture(scope="module")
def dense_run():
    return _run_stats(_simulate(RUN, "dense", range(RUN_SEEDS)))


def _pvalues(a, b):
    """Two-sample KS p-value per statistic (exact or asymptotic as scipy chooses; with
    ties, as for the
    accuracies, the KS test is conservative)."""
    return {k: stats.ks_2samp(a[k], b[k]).pvalue for k in a}


def test_dense_and_reduced_dynamics_agree_in_distribution(dense_run):
    """Two-sample KS on 15 per-seed statistics (accuracies at t = 1, 2, 5, 20, loss,
    projections of a
    neuron on mu1 and mu2, a norm, a test output, a histogram summary), 300 seeds per
    engine; Bonferroni at family level 1e-3. With 300 seeds a KS test at level
    1e-3/15 detects a difference of about 0.2 between the two distribution functions."""
    reduced = _run_stats(_simulate(RUN, "reduced", range(RUN_SEEDS, 2 * RUN_SEEDS)))
    pvalues = _pvalues(dense_run, reduced)
    assert RUN.p - 2 > RUN.n_total  # the reduced sampler really reduces here
    assert min(pvalues.values()) > LEVEL / len(pvalues), pvalues
    # the run is not trivial: test accuracy goes from chance to well above
    assert (
        np.median(dense_run["test_acc t=1"])
        < 0.6
        < 0.8
        < np.median(dense_run["test_acc t=20"])
    )


def test_the_run_level_test_has_power(dense_run):
    """Negative control: a reduced run with ||mu|| 15% too large is told apart from
    the dense run."""
    wrong = RUN.replace(mu_norm=1.15 * RUN.mu_norm)
    reduced = _run_stats(_simulate(wrong, "reduced", range(RUN_SEEDS, 2 * RUN_SEEDS)))
    pvalues = _pvalues(dense_run, reduced)
    assert min(pvalues.values()) < LEVEL / len(pvalues), pvalues
