"""Feature learning made measurable (the paper's Section 4: Lemmas 4.3-4.7, A.4, A.9).

Conventions. Clusters are indexed as in :mod:`xorgrok.data`: 0 = +mu1, 1 = -mu1, 2 =
+mu2, 3 = -mu2; :data:`xorgrok.data.OPPOSITE` maps nu to -nu and ``CLUSTER_LABEL[nu]``
is the clean label y_nu. The counts c_nu, n_nu and e_nu live in :mod:`xorgrok.theory`
(:func:`~xorgrok.theory.cluster_counts`, :func:`~xorgrok.theory.e_nu`); this module adds
what depends on a neuron:

* the activation sets C_{nu,j}^(t) = {i in C cap I_nu : <w_j^(t), x_i> > 0} and
  N_{nu,j}^(t) (their sizes), ``d_{nu,j} = #C_{nu,j} - #N_{nu,j}`` and D_{nu,j} =
  d_{nu,j} - d_{-nu,j} (:func:`activation_counts`);
* (nu, kappa)-alignment, the paper's eq. (4.2) with both of its conditions
  (:func:`aligned`), the fraction of aligned neurons that the initialization's
  distribution predicts (:func:`predicted_aligned_fraction`), and the events (D1)-(D4)
  of Lemma 4.4 (:func:`lemma44_events`);
* Lemma A.4's per-step changes of <w_j, x_k> and <w_j, nu>
  (:func:`predicted_preact_change`, :func:`predicted_mean_change`);
* Lemma 4.7's group averages (:func:`growth_groups`, :func:`lemma47_orders`);
* the normalized margins E_{x ~ N(nu, I)}[y_nu f(x; W)] / ||W||_F behind Lemma A.9
  (:func:`cluster_margins`, :func:`margin_error_bound`).

Every function takes plain numpy arrays as :func:`xorgrok.simulate` records them
(``Trajectory.preacts``, ``.proj``, ``.w_norm``, ``.a``, ``.cluster``, ``.y``,
``.y_clean``) and accepts leading batch dimensions (seeds, steps) where the docstring
says so.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .config import Setup
from .data import CLUSTER_DIRECTIONS, CLUSTER_LABEL, OPPOSITE
from .theory import cluster_counts, e_nu  # noqa: F401 (re-exported)

# OPPOSITE (from xorgrok.data), cluster_counts and e_nu (from xorgrok.theory) are
# imported for convenience (F.cluster_counts...); they are documented there.
__all__ = [
    "flipped_from_labels",
    "activation_counts",
    "d_counts",
    "D_counts",
    "EPSILON_MAX",
    "KAPPA_LEMMA47",
    "aligned",
    "alignment_threshold",
    "alignment_ceiling",
    "lemma44_events",
    "initial_D_distribution",
    "predicted_aligned_fraction",
    "mean_projections",
    "predicted_preact_change",
    "predicted_mean_change",
    "growth_groups",
    "lemma47_orders",
    "expected_relu",
    "cluster_margins",
    "normalized_margins",
    "margin_error_bound",
    "loss_minus_log2",
]


EPSILON_MAX = 1e-3 / 4
"""The paper's universal constant epsilon lies in the open interval (0, 10^-3 / 4)."""

KAPPA_LEMMA47 = 20 * EPSILON_MAX
"""kappa = 20 epsilon of Lemma 4.7, with epsilon at the top of its range: 0.005."""


def _check_kappa(kappa: float) -> float:
    if isinstance(kappa, bool) or not isinstance(
        kappa, (int, float, np.floating, np.integer)
    ):
        raise ValueError(f"kappa must be a real number in [0, 0.5], got {kappa!r}")
    kappa = float(kappa)
    if not 0.0 <= kappa <= 0.5:
        raise ValueError(f"kappa must be in [0, 0.5], got {kappa}")
    return kappa


def _train_part(cluster: np.ndarray, n: int) -> np.ndarray:
    cluster = np.asarray(cluster)
    if cluster.shape[-1] < n:
        raise ValueError(
            f"cluster must have at least n = {n} entries in its last dimension, got "
            f"{cluster.shape}"
        )
    cl = cluster[..., :n]
    if cl.size and (cl.min() < 0 or cl.max() > 3):
        raise ValueError("cluster must hold indices in 0..3")
    return cl


def flipped_from_labels(y: np.ndarray, y_clean: np.ndarray) -> np.ndarray:
    """Which training labels were flipped: y_i != ytilde_i. y [..., n], y_clean [...,
    >= n] -> bool [..., n]."""
    y = np.asarray(y)
    y_clean = np.asarray(y_clean)
    n = y.shape[-1]
    if y_clean.shape[-1] < n or y_clean.shape[:-1] != y.shape[:-1]:
        raise ValueError(
            f"y_clean must have shape [..., >= n] matching y {y.shape}, got "
            f"{y_clean.shape}"
        )
    return y != y_clean[..., :n]


# --------------------------------------------------------------------------------------
# Activation sets (the paper's eq. 4.1)
# --------------------------------------------------------------------------------------


def activation_counts(
    preacts: np.ndarray, cluster: np.ndarray, flipped: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sizes ``#C_{nu,j}`` and ``#N_{nu,j}`` of the activation sets, for every neuron j
    and cluster nu.

    C_{nu,j} = {i clean, in cluster nu : <w_j, x_i> > 0} and N_{nu,j} likewise for the
    flipped points.

    Args:
        preacts: [..., m, n] pre-activations <w_j, x_i> on the training points
            (``Trajectory.preacts[s, k]`` or ``problem.W0 @ problem.X_train.T``);
            leading dimensions (e.g. steps) are allowed.
        cluster: [n] (or [N]; the first n are used) cluster index of each point.
        flipped: [n] bool.

    Returns:
        (C, N): each [..., m, 4] integer counts.
    """
    preacts = np.asarray(preacts)
    flipped = np.asarray(flipped, dtype=bool)
    if flipped.ndim != 1:
        raise ValueError(f"flipped must have shape [n], got {flipped.shape}")
    n = flipped.shape[0]
    if preacts.ndim < 2 or preacts.shape[-1] != n:
        raise ValueError(
            f"preacts must have shape [..., m, n] with n = {n}, got {preacts.shape}"
        )
    cl = _train_part(cluster, n)
    onehot = (cl[:, None] == np.arange(4)).astype(np.int64)  # [n, 4]
    active = (preacts > 0).astype(np.int64)  # [..., m, n]
    clean = active @ (onehot * (~flipped)[:, None])
    noisy = active @ (onehot * flipped[:, None])
    return clean, noisy


def d_counts(
    preacts: np.ndarray, cluster: np.ndarray, flipped: np.ndarray
) -> np.ndarray:
    """``d_{nu,j} = #C_{nu,j} - #N_{nu,j}``, shape [..., m, 4] (see
    :func:`activation_counts`)."""
    clean, noisy = activation_counts(preacts, cluster, flipped)
    return clean - noisy


def D_counts(
    preacts: np.ndarray, cluster: np.ndarray, flipped: np.ndarray
) -> np.ndarray:
    """D_{nu,j} = d_{nu,j} - d_{-nu,j}, shape [..., m, 4]; D_{-nu,j} = -D_{nu,j}."""
    d = d_counts(preacts, cluster, flipped)
    return d - d[..., OPPOSITE]


def alignment_threshold(n: int, kappa: float) -> float:
    """n^(1/2 - kappa): the level D_{nu,j}^(0) must exceed for a (nu, kappa)-aligned
    neuron."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    return float(n) ** (0.5 - _check_kappa(kappa))


def alignment_ceiling(c: np.ndarray, noisy: np.ndarray) -> np.ndarray:
    """The bound of the paper's second alignment condition (eq. 4.2), shape [4]:

        R_nu = min{c_nu, c_{-nu}} - 2 (n_nu + n_{-nu}) - sqrt(n),

    with n the sum of all counts. A (nu, kappa)-aligned neuron needs
    max{d_{nu,j}^(0), d_{-nu,j}^(0)} < R_nu. R_{-nu} = R_nu.

    Args:
        c, noisy: [4] counts c_nu, n_nu (:func:`xorgrok.theory.cluster_counts`).
    """
    c, noisy = _check_counts(c, noisy)
    n = int(c.sum() + noisy.sum())
    return np.minimum(c, c[OPPOSITE]) - 2.0 * (noisy + noisy[OPPOSITE]) - math.sqrt(n)


def aligned(
    d0: np.ndarray, c: np.ndarray, noisy: np.ndarray, kappa: float, second: bool = True
) -> np.ndarray:
    """(nu, kappa)-alignment at initialization, the paper's eq. (4.2), bool [..., m, 4].

    A neuron j is (nu, kappa)-aligned when both

        (first)   D_{nu,j}^(0) = d_{nu,j}^(0) - d_{-nu,j}^(0) > n^(1/2 - kappa)
        (second)  max{d_{nu,j}^(0), d_{-nu,j}^(0)} < R_nu

    hold, with R_nu of :func:`alignment_ceiling`. ``second=False`` applies the first
    condition only.

    Args:
        d0: [..., m, 4] d_{nu,j}^(0) (:func:`d_counts` of the initial pre-activations).
        c, noisy: [4] the training set's counts c_nu, n_nu. kappa: in [0, 0.5].
        second: whether to apply the second condition.
    """
    d0 = np.asarray(d0)
    if d0.ndim < 2 or d0.shape[-1] != 4:
        raise ValueError(f"d0 must have shape [..., m, 4], got {d0.shape}")
    c, noisy = _check_counts(c, noisy)
    thr = alignment_threshold(int(c.sum() + noisy.sum()), kappa)
    out = d0 - d0[..., OPPOSITE] > thr
    if second:
        out &= np.maximum(d0, d0[..., OPPOSITE]) < alignment_ceiling(c, noisy)
    return out


def _binom_pmf(k: int, q: float) -> np.ndarray:
    return stats.binom.pmf(np.arange(k + 1), k, q)


def _check_counts(c: np.ndarray, noisy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(c)
    noisy = np.asarray(noisy)
    if c.shape != (4,) or noisy.shape != (4,):
        raise ValueError(
            f"c and noisy must have shape [4], got {c.shape} and {noisy.shape}"
        )
    if (
        (c < 0).any()
        or (noisy < 0).any()
        or np.any(c != np.round(c))
        or np.any(noisy != np.round(noisy))
    ):
        raise ValueError("c and noisy must be non-negative integer counts")
    return c.astype(np.int64), noisy.astype(np.int64)


def _check_model_args(p: int, mu_norm: float, nodes: int) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 1:
        raise ValueError(f"p must be an integer >= 1, got {p!r}")
    finite = isinstance(mu_norm, (int, float, np.floating)) and math.isfinite(mu_norm)
    if not (finite and mu_norm > 0):
        raise ValueError(f"mu_norm must be finite and > 0, got {mu_norm!r}")
    if isinstance(nodes, bool) or not isinstance(nodes, (int, np.integer)) or nodes < 8:
        raise ValueError(f"nodes must be an integer >= 8, got {nodes!r}")


def initial_D_distribution(
    c: np.ndarray, noisy: np.ndarray, nu: int, p: int, mu_norm: float, nodes: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """The distribution of D_{nu,j}^(0) for a neuron at initialization, given the
    training set's counts.

    At t = 0, w_j = omega_init g with g ~ N(0, I_p). Write u = <g, nu>/||mu|| ~ N(0, 1).
    For a training point x_i = nu + z_i of cluster nu, <g, x_i> = u ||mu|| + <g, z_i>
    with <g, z_i> ~ N(0, ~p) nearly independent across i (the z_i are nearly
    orthogonal), so given u the point is active with probability q(u) = Phi(u ||mu|| /
    sqrt(p)), and a point of -nu with probability 1 - q(u). Hence, given u,

        D_{nu,j}^(0) = Bin(c_nu, q) - Bin(n_nu, q) - Bin(c_{-nu}, 1 - q) + Bin(n_{-nu},
        1 - q)

    (independent binomials); the result averages this over u (Gauss-Hermite quadrature,
    ``nodes`` nodes). The shared component u switches a whole cluster on or off
    together; it is negligible only when ||mu|| sqrt(n / p) is small, as assumption A2
    makes it (in the paper's experiments it equals 2.5).

    Args:
        c, noisy: [4] counts c_nu, n_nu (:func:`xorgrok.theory.cluster_counts`). nu:
            cluster index 0..3.
        p: dimension. mu_norm: ||mu||. nodes: quadrature nodes (>= 8).

    Returns:
        (values, pmf): the possible values of D (consecutive integers) and their
        probabilities.
    """
    c, noisy = _check_counts(c, noisy)
    if (
        isinstance(nu, bool)
        or not isinstance(nu, (int, np.integer))
        or not 0 <= nu <= 3
    ):
        raise ValueError(f"nu must be a cluster index in 0..3, got {nu!r}")
    _check_model_args(p, mu_norm, nodes)
    opp = int(OPPOSITE[nu])
    u, w = np.polynomial.hermite_e.hermegauss(int(nodes))
    w = w / w.sum()
    rho = float(mu_norm) / math.sqrt(p)
    low = -(int(noisy[nu]) + int(c[opp]))  # the smallest possible D
    size = int(c[nu] + noisy[nu] + c[opp] + noisy[opp]) + 1
    pmf = np.zeros(size)
    for uk, wk in zip(u, w):
        q = float(stats.norm.cdf(uk * rho))
        part = np.convolve(
            _binom_pmf(int(c[nu]), q), _binom_pmf(int(noisy[nu]), q)[::-1]
        )
        part = np.convolve(part, _binom_pmf(int(c[opp]), 1 - q)[::-1])
        part = np.convolve(part, _binom_pmf(int(noisy[opp]), 1 - q))
        pmf += wk * part
    return low + np.arange(size), pmf


def _d_pmf(clean: int, noisy: int, q: float) -> np.ndarray:
    """pmf of Bin(clean, q) - Bin(noisy, q) on the values -noisy .. clean."""
    return np.convolve(_binom_pmf(clean, q), _binom_pmf(noisy, q)[::-1])


def predicted_aligned_fraction(
    c: np.ndarray,
    noisy: np.ndarray,
    kappa: float,
    p: int,
    mu_norm: float,
    nodes: int = 64,
    second: bool = True,
) -> np.ndarray:
    """P(neuron j is (nu, kappa)-aligned) for each cluster nu, shape [4], under the
    model of :func:`initial_D_distribution`.

    Given u = <g, nu>/||mu|| and q = Phi(u ||mu|| / sqrt(p)), the counts
    d_{nu,j}^(0) = Bin(c_nu, q) - Bin(n_nu, q) and
    d_{-nu,j}^(0) = Bin(c_{-nu}, 1 - q) - Bin(n_{-nu}, 1 - q) are independent, so their
    joint pmf is an outer product; the result sums it over the pairs that satisfy the
    conditions of eq. (4.2) (:func:`aligned`; ``second=False``: the first only) and
    averages over u.

    This is the expected fraction of aligned neurons, positive and negative alike (a_j
    is independent of w_j^(0)); given the data, the neurons are independent, so the
    measured fraction among k neurons scatters around it with the binomial standard
    error sqrt(P (1 - P) / k).
    """
    c, noisy = _check_counts(c, noisy)
    _check_model_args(p, mu_norm, nodes)
    thr = alignment_threshold(max(int(c.sum() + noisy.sum()), 1), kappa)
    ceiling = alignment_ceiling(c, noisy)
    u, w = np.polynomial.hermite_e.hermegauss(int(nodes))
    w = w / w.sum()
    rho = float(mu_norm) / math.sqrt(p)
    out = np.zeros(4)
    for nu in range(4):
        opp = int(OPPOSITE[nu])
        d_nu = np.arange(-noisy[nu], c[nu] + 1)[:, None]  # [a, 1]
        d_opp = np.arange(-noisy[opp], c[opp] + 1)[None, :]  # [1, b]
        keep = d_nu - d_opp > thr
        if second:
            keep &= np.maximum(d_nu, d_opp) < ceiling[nu]
        for uk, wk in zip(u, w):
            q = float(stats.norm.cdf(uk * rho))
            joint = np.outer(
                _d_pmf(int(c[nu]), int(noisy[nu]), q),
                _d_pmf(int(c[opp]), int(noisy[opp]), 1 - q),
            )
            out[nu] += wk * joint[keep].sum()
    return out


def lemma44_events(
    preacts0: np.ndarray,
    a: np.ndarray,
    cluster: np.ndarray,
    flipped: np.ndarray,
    kappa: float,
    epsilon: float = EPSILON_MAX,
) -> dict[str, np.ndarray]:
    """The four events of Lemma 4.4, measured on one draw of data and initialization.

    * (D1) each x_i activates >= m/7 positive and >= m/7 negative neurons: ``d1`` is
      min_i min(#positive active, #negative active) / m; ``d1_bound`` = 1/7.
    * (D2) for every nu, >= m n^(-10 epsilon) neurons of each sign are
      (nu, kappa)-aligned: ``d2`` is the smallest such count over nu and sign;
      ``d2_bound`` = m n^(-10 epsilon).
    * (D3) for every nu, a fraction >= 1 - 10 n^(-20 epsilon) of the neurons of each
      sign is (+-nu, 20 epsilon)-aligned: ``d3`` is the smallest fraction;
      ``d3_bound`` = 1 - 10 n^(-20 epsilon).
    * (D4) for every nu and sign, the mean of c_nu - n_nu - d_{-nu,j}^(0) over the
      (nu, kappa)-aligned neurons of that sign is >= n/10: ``d4`` is the smallest mean
      (nan when a set is empty, which (D2) excludes); ``d4_bound`` = n/10.

    Alignment is :func:`aligned` with both conditions. ``holds`` [4]: which events hold.

    Args:
        preacts0: [m, n] <w_j^(0), x_i>. a: [m] second layer. cluster: [n] (or [N]).
        flipped: [n] bool. kappa: the exponent of (D2) and (D4), in [0, 0.5].
        epsilon: the paper's epsilon, in (0, 10^-3 / 4]; (D3) uses kappa = 20 epsilon.
    """
    real = isinstance(epsilon, (int, float, np.floating))
    if not (real and 0 < epsilon <= EPSILON_MAX):
        raise ValueError(f"epsilon must be in (0, {EPSILON_MAX}], got {epsilon!r}")
    preacts0 = np.asarray(preacts0, dtype=np.float64)
    if preacts0.ndim != 2:
        raise ValueError(f"preacts0 must have shape [m, n], got {preacts0.shape}")
    m, n = preacts0.shape
    a = _check_a(a, m)
    d0 = d_counts(preacts0, cluster, flipped)  # [m, 4]
    c, noisy = cluster_counts(_train_part(cluster, n), flipped)
    al = aligned(d0, c, noisy, kappa)  # [m, 4]
    al3 = aligned(d0, c, noisy, 20 * float(epsilon))
    pm_al3 = al3 | al3[:, OPPOSITE]  # (+-nu, 20 epsilon)-aligned
    active = preacts0 > 0  # [m, n]
    d1, d2, d3, d4 = 1.0, m, 1.0, np.inf
    for group in (a > 0, a < 0):
        d1 = min(d1, float(active[group].sum(0).min()) / m)
        d2 = min(d2, int(al[group].sum(0).min()))
        d3 = min(d3, float(pm_al3[group].mean(0).min()))
        for nu in range(4):
            sel = al[group, nu]
            if not sel.any():
                d4 = np.nan
                continue
            margin = c[nu] - noisy[nu] - d0[group][sel, OPPOSITE[nu]]
            d4 = min(d4, float(margin.mean()))
    bounds = (1 / 7, m * n ** (-10 * epsilon), 1 - 10 * n ** (-20 * epsilon), n / 10)
    values = (d1, d2, d3, d4)
    return {
        **{f"d{k + 1}": np.asarray(v) for k, v in enumerate(values)},
        **{f"d{k + 1}_bound": np.asarray(b) for k, b in enumerate(bounds)},
        "holds": np.array([bool(v >= b) for v, b in zip(values, bounds)]),
    }


# --------------------------------------------------------------------------------------
# Lemma A.4: one step of the dynamics
# --------------------------------------------------------------------------------------


def mean_projections(proj: np.ndarray) -> np.ndarray:
    """<w_j, nu> for the four cluster means from ``proj`` = (<w_j, mu1>, <w_j, mu2>).
    [..., m, 2] -> [..., m, 4]."""
    proj = np.asarray(proj)
    if proj.shape[-1] != 2:
        raise ValueError(f"proj must have shape [..., m, 2], got {proj.shape}")
    return proj @ CLUSTER_DIRECTIONS.T


def _check_a(a: np.ndarray, m: int) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.shape != (m,):
        raise ValueError(f"a must have shape [m] with m = {m}, got {a.shape}")
    return a


def predicted_preact_change(
    preacts: np.ndarray,
    a: np.ndarray,
    y: np.ndarray,
    cluster: np.ndarray,
    flipped: np.ndarray,
    setup: Setup,
) -> np.ndarray:
    """Lemma A.4's change of <w_j, x_k> over one step from step t, with g_i = 1/2:

        <w_j^(t+1) - w_j^(t), x_k> ~ (alpha a_j / 2n) [ y_k phi'(<w_j^(t), x_k>) p +
        y_{nu(k)} D_{nu(k),j}^(t) ||mu||^2 ]

    The first term is the sample's own contribution (||x_k||^2 ~ p: memorization); the
    second is the cluster's, through <x_i, x_k> ~ +-||mu||^2 for points of the same pair
    of clusters +-nu(k); y_{nu} is the clean label of the cluster.

    Args:
        preacts: [..., m, n] <w_j^(t), x_i> on the training points.
        a: [m]; y: [n] noisy labels; cluster: [n] (or [N]); flipped: [n]; setup: p, n,
            mu_norm, alpha.

    Returns:
        [..., m, n] predicted changes.
    """
    preacts = np.asarray(preacts, dtype=np.float64)
    m, n = preacts.shape[-2:]
    a = _check_a(a, m)
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (n,):
        raise ValueError(f"y must have shape [n] with n = {n}, got {y.shape}")
    cl = _train_part(cluster, n)
    D = D_counts(preacts, cl, flipped)  # [..., m, 4]
    D_k = D[..., cl]  # [..., m, n]: D_{nu(k), j}
    y_nu = CLUSTER_LABEL[cl].astype(np.float64)  # [n]
    scale = setup.alpha * a[:, None] / (2 * n)  # [m, 1]
    return scale * (y * (preacts > 0) * setup.p + y_nu * D_k * setup.mu_norm**2)


def predicted_mean_change(
    preacts: np.ndarray,
    a: np.ndarray,
    cluster: np.ndarray,
    flipped: np.ndarray,
    setup: Setup,
) -> np.ndarray:
    """Lemma A.4's change of <w_j, nu> over one step: (alpha a_j / 2n) y_nu D_{nu,j}^(t)
    ||mu||^2.

    Args: as :func:`predicted_preact_change`. Returns [..., m, 4] in the order +mu1,
    -mu1, +mu2, -mu2 (compare with the measured change of :func:`mean_projections`).
    """
    preacts = np.asarray(preacts, dtype=np.float64)
    m, n = preacts.shape[-2:]
    a = _check_a(a, m)
    D = D_counts(preacts, cluster, flipped)
    return (
        (setup.alpha * a[:, None] / (2 * n))
        * CLUSTER_LABEL.astype(np.float64)
        * D
        * setup.mu_norm**2
    )


# --------------------------------------------------------------------------------------
# Lemma 4.7: growth of <w_j, mu1> by neuron group
# --------------------------------------------------------------------------------------


def growth_groups(
    proj: np.ndarray, a: np.ndarray, aligned0: np.ndarray
) -> dict[str, np.ndarray]:
    """Lemma 4.7's two averages over t, neurons of all seeds pooled.

    * ``"pos"``: mean of <w_j^(t), mu1> over positive neurons (a_j > 0) that are (+mu1,
      kappa)-aligned;
    * ``"neg"``: mean of ``abs(<w_j^(t), mu1>)`` over negative neurons (a_j < 0) that
      are (+mu1)- or (-mu1)-aligned.

    Args:
        proj: [S, T, m, 2] (``Trajectory.proj``). a: [S, m]. aligned0: [S, m, 4] bool
            (:func:`aligned` of D^(0)).

    Returns:
        dict with ``pos``, ``neg`` [T] and the group sizes ``n_pos``, ``n_neg`` (pooled
        over seeds).
    """
    proj = np.asarray(proj, dtype=np.float64)
    a = np.asarray(a)
    aligned0 = np.asarray(aligned0, dtype=bool)
    if proj.ndim != 4 or proj.shape[-1] != 2:
        raise ValueError(f"proj must have shape [S, T, m, 2], got {proj.shape}")
    S, T, m, _ = proj.shape
    if a.shape != (S, m) or aligned0.shape != (S, m, 4):
        raise ValueError(
            f"a must be [S, m] and aligned0 [S, m, 4] with S, m = {S}, {m}; got "
            f"{a.shape}, "
            f"{aligned0.shape}"
        )
    pos = (a > 0) & aligned0[..., 0]  # [S, m]
    neg = (a < 0) & (aligned0[..., 0] | aligned0[..., 1])
    v = proj[..., 0]  # [S, T, m]
    n_pos, n_neg = int(pos.sum()), int(neg.sum())

    def group_mean(values: np.ndarray, mask: np.ndarray, count: int) -> np.ndarray:
        if count == 0:
            return np.full(T, np.nan)
        return (values * mask[:, None, :]).sum((0, 2)) / count

    return {
        "pos": group_mean(v, pos, n_pos),
        "neg": group_mean(np.abs(v), neg, n_neg),
        "n_pos": np.asarray(n_pos),
        "n_neg": np.asarray(n_neg),
    }


def lemma47_orders(setup: Setup, t: np.ndarray) -> dict[str, np.ndarray]:
    """The orders of Lemma 4.7 with every hidden constant set to 1, for drawing beside
    the measurements.

    * ``"pos"``: alpha ||mu||^2 t / sqrt(m) (positive (+mu1)-aligned neurons grow at
      least like this);
    * ``"neg"``: alpha ||mu||^2 / sqrt(m) + alpha ||mu||^2 sqrt(log n) t / sqrt(m n)
      (negative +-mu1-aligned neurons stay below this).
    """
    t = np.asarray(t, dtype=np.float64)
    scale = setup.alpha * setup.mu_norm**2 / math.sqrt(setup.m)
    return {
        "pos": scale * t,
        "neg": scale * (1.0 + math.sqrt(math.log(setup.n)) * t / math.sqrt(setup.n)),
    }


# --------------------------------------------------------------------------------------
# Lemma A.9: normalized margins and the error bound
# --------------------------------------------------------------------------------------


def expected_relu(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """E ReLU(Z) for Z ~ N(mean, sd^2): mean Phi(mean/sd) + sd phi(mean/sd)
    (max(mean, 0) where sd = 0)."""
    mean = np.asarray(mean, dtype=np.float64)
    sd = np.asarray(sd, dtype=np.float64)
    if np.any(sd < 0):
        raise ValueError("sd must be >= 0")
    safe = np.where(sd > 0, sd, 1.0)
    r = mean / safe
    value = mean * stats.norm.cdf(r) + sd * stats.norm.pdf(r)
    return np.where(sd > 0, value, np.maximum(mean, 0.0))


def cluster_margins(proj: np.ndarray, w_norm: np.ndarray, a: np.ndarray) -> np.ndarray:
    """E_{x ~ N(nu, I_p)}[y_nu f(x; W)] for the four clusters, in closed form.

    For x ~ N(nu, I_p), <w_j, x> ~ N(<w_j, nu>, ||w_j||^2), so E[y_nu f(x; W)] = y_nu
    sum_j a_j E ReLU(N(<w_j, nu>, ||w_j||^2)) (:func:`expected_relu`).

    Args:
        proj: [..., m, 2] (<w_j, mu1>, <w_j, mu2>). w_norm: [..., m] ||w_j||. a: [...,
            m] broadcastable (e.g. ``Trajectory.a[:, None, :]`` against ``proj`` [S, T,
            m, 2]).

    Returns:
        [..., 4] margins in the order +mu1, -mu1, +mu2, -mu2.
    """
    means = mean_projections(proj)  # [..., m, 4]
    w_norm = np.asarray(w_norm, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    er = expected_relu(means, w_norm[..., None])  # [..., m, 4]
    return CLUSTER_LABEL.astype(np.float64) * (a[..., None] * er).sum(-2)


def normalized_margins(
    proj: np.ndarray, w_norm: np.ndarray, a: np.ndarray
) -> np.ndarray:
    """gamma_nu = E_{x ~ N(nu, I)}[y_nu f(x; W)] / ||W||_F, shape [..., 4]; ||W||_F =
    sqrt(sum_j ||w_j||^2)."""
    w_norm = np.asarray(w_norm, dtype=np.float64)
    frob = np.sqrt((w_norm**2).sum(-1))
    return cluster_margins(proj, w_norm, a) / frob[..., None]


def margin_error_bound(
    gamma: np.ndarray, form: str = "lipschitz", c: float = 0.5
) -> np.ndarray:
    """A bound on the clean test error from the normalized margins gamma [..., 4].

    * ``form="lipschitz"`` (a rigorous bound, derived on the page): f is
      ||W||_F-Lipschitz in x (``abs(f(x) - f(x')) <= sum_j abs(a_j) ||w_j|| ||x - x'||
      <= ||a||_2 ||W||_F ||x - x'||``, ``||a||_2 = 1``), so by Gaussian concentration
      P_{x ~ N(nu, I)}(y_nu f(x) <= 0) <= exp(-gamma_nu^2 / 2) when gamma_nu >= 0, and
      the clean error, an average over the four clusters, is at most mean_nu min(1,
      exp(-gamma_nu+^2/2)) (a cluster with gamma_nu < 0 contributes 1).
    * ``form="paper"``: Lemma A.9's form, min(1, max_nu 2 exp(-c gamma_nu^2)) (gamma_nu
      < 0 gives 1), with the universal constant c (default 1/2, the value Gaussian
      concentration gives).

    Returns: [...] the bound.
    """
    gamma = np.asarray(gamma, dtype=np.float64)
    if gamma.shape[-1:] != (4,):
        raise ValueError(f"gamma must have shape [..., 4], got {gamma.shape}")
    if not (isinstance(c, (int, float)) and c > 0):
        raise ValueError(f"c must be a real number > 0, got {c!r}")
    if form == "lipschitz":
        per = np.where(gamma >= 0, np.exp(-0.5 * np.maximum(gamma, 0.0) ** 2), 1.0)
        return per.mean(-1)
    if form == "paper":
        per = np.where(gamma >= 0, 2 * np.exp(-c * gamma**2), np.inf)
        return np.minimum(1.0, per.max(-1))
    raise ValueError(f"form must be 'lipschitz' or 'paper', got {form!r}")


def loss_minus_log2(f: np.ndarray, y: np.ndarray) -> np.ndarray:
    """L(W) - log 2 = (1/n) sum_i log((1 + exp(-y_i f_i)) / 2), without the cancellation
    of ``loss - log(2)``.

    While the outputs are tiny, L(W) - log 2 ~ -(1/2n) sum_i y_i f_i is far below the
    resolution of a float32 loss near log 2 (about 6e-8), so it is computed from the
    outputs: log((1 + e^-z)/2) = log1p(expm1(-z)/2).

    Args:
        f: [..., n] outputs on the training points (``Trajectory.f_train``). y: [..., n]
            labels, broadcastable.

    Returns:
        [...] the difference, in float64.
    """
    z = np.asarray(y, dtype=np.float64) * np.asarray(f, dtype=np.float64)
    return np.log1p(np.expm1(-z) / 2).mean(-1)
