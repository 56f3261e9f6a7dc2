"""Theorem 3.1 tested as stated: its window, its three conclusions, the proof's good
events and the approximations the proof makes, measured on sampled problems.

* :func:`theorem_window`: the steps C n^0.01 <= t <= sqrt(n) of part 3;
* :func:`data_events`: the data events (B1)-(B4) of Lemma 4.1, exactly on one sample;
* :func:`init_events`: the events (D1)-(D4) of Lemma 4.4 (D1-D3 from
  :func:`xorgrok.features.lemma44_events`, D4 read literally);
* :func:`g_deviation`: max_i abs(g_i^(t) - 1/2) from the training outputs, against 2 /
  n^1.5;
* :func:`preact_change_error`: Lemma A.4's one-step change of <w_j, x_k> against the
  measured one;
* :func:`conclusions`: the three parts of Theorem 3.1 on one run;
* :func:`wilson`: the Wilson interval of a binomial proportion.

All functions work with both samplers: they use inner products only, which the reduced
sampler draws exactly in distribution (:mod:`xorgrok.data`).
"""

from __future__ import annotations

import math

import numpy as np

from .data import Problem, cluster_means
from .features import (
    EPSILON_MAX,
    KAPPA_LEMMA47,
    aligned,
    d_counts,
    lemma44_events,
    predicted_preact_change,
)
from .theory import OPPOSITE, cluster_counts

__all__ = [
    "theorem_window",
    "data_events",
    "init_events",
    "g_deviation",
    "g_deviation_bound",
    "preact_change_error",
    "conclusions",
    "generalization_exponent",
    "wilson",
]


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    return int(n)


def _check_epsilon(epsilon: float) -> float:
    real = isinstance(epsilon, (int, float, np.floating)) and not isinstance(
        epsilon, bool
    )
    if not (real and 0 < epsilon <= EPSILON_MAX):
        raise ValueError(f"epsilon must be in (0, {EPSILON_MAX}], got {epsilon!r}")
    return float(epsilon)


def theorem_window(n: int, C: float) -> tuple[int, int]:
    """The integer steps of part 3 of Theorem 3.1, C n^0.01 <= t <= sqrt(n), as (first,
    last).

    The window is empty (first > last) when C n^0.01 > sqrt(n).
    """
    n = _check_n(n)
    real = isinstance(C, (int, float, np.floating, np.integer)) and not isinstance(
        C, bool
    )
    if not (real and math.isfinite(C) and C >= 1):
        raise ValueError(f"C must be a finite real number >= 1, got {C!r}")
    return math.ceil(C * n**0.01), math.isqrt(n)


def generalization_exponent(n: int, p: int, mu_norm: float) -> float:
    """n^0.99 ||mu||^4 / p, the exponent of part 3's bound exp(-Omega(n^0.99 ||mu||^4 /
    p))."""
    return _check_n(n) ** 0.99 * float(mu_norm) ** 4 / float(p)


# --------------------------------------------------------------------------------------
# Lemma 4.1: the data events (B1)-(B4)
# --------------------------------------------------------------------------------------


def data_events(
    problem: Problem, epsilon: float = EPSILON_MAX
) -> dict[str, float | bool]:
    """The events (B1)-(B4) of Lemma 4.1 on the training set of ``problem`` (log:
    natural).

    Each ``bK`` is the worst ratio (left side / bound, so that the event holds when <= 1
    for B1-B3, >= 1 for B4) and ``holds_bK`` whether the event holds:

    * (B1) for every k and nu, <x_k - xbar_k, nu> <= 10 sqrt(log n) ||mu|| and
      abs(||x_k||^2 - p - ||mu||^2) <= 10 sqrt(p log n): ``b1`` is the larger of the
      two ratios;
    * (B2) abs(<x_i, x_k> - <xbar_i, xbar_k>) <= 10 sqrt(p log n) for i != k;
    * (B3) abs(c_nu + n_nu - n/4) <= sqrt(epsilon n log n) and
      abs(n_nu - eta (c_nu + n_nu)) <= sqrt(epsilon eta n log n) for every nu;
    * (B4) abs(c_nu + n_nu - c_(-nu) - n_(-nu)) >= n^(1/2 - epsilon) and
      abs(n_nu - n_(-nu)) >= eta n^(1/2 - epsilon) for every nu: ``b4`` is the smaller
      ratio.

    xbar_k is the mean of x_k's cluster.
    """
    epsilon = _check_epsilon(epsilon)
    s = problem.setup
    n, p, mu = s.n, s.p, s.mu_norm
    log_n = math.log(n)
    X = problem.X[:n]
    cl = problem.cluster[:n]
    means = np.zeros_like(X)
    means[:, :2] = cluster_means(mu)[cl]
    Z = X - means
    # <z_k, nu> for nu = +-mu1, +-mu2: ||mu|| times a plane coordinate of z_k, either
    # sign
    b1_mean = mu * float(np.abs(Z[:, :2]).max()) / (10 * math.sqrt(log_n) * mu)
    norms = (X * X).sum(1)
    b1_norm = float(np.abs(norms - p - mu**2).max()) / (10 * math.sqrt(p * log_n))
    G = X @ X.T - means @ means.T
    off = ~np.eye(n, dtype=bool)
    b2 = float(np.abs(G[off]).max()) / (10 * math.sqrt(p * log_n))
    c, noisy = cluster_counts(cl, problem.flipped)
    tot = c + noisy
    b3 = max(
        float(np.abs(tot - n / 4).max()) / math.sqrt(epsilon * n * log_n),
        float(np.abs(noisy - s.eta * tot).max())
        / math.sqrt(epsilon * s.eta * n * log_n),
    )
    b4_bound = n ** (0.5 - epsilon)
    b4 = min(
        float(np.abs(tot - tot[OPPOSITE]).min()) / b4_bound,
        float(np.abs(noisy - noisy[OPPOSITE]).min()) / (s.eta * b4_bound),
    )
    b1 = max(b1_mean, b1_norm)
    return {
        "b1": b1,
        "b2": b2,
        "b3": b3,
        "b4": b4,
        "holds_b1": b1 <= 1,
        "holds_b2": b2 <= 1,
        "holds_b3": b3 <= 1,
        "holds_b4": b4 >= 1,
    }


def init_events(
    problem: Problem, kappa: float = KAPPA_LEMMA47, epsilon: float = EPSILON_MAX
) -> dict[str, float | bool]:
    """The events (D1)-(D4) of Lemma 4.4 on ``problem``, flattened: ``dK`` the measured
    value, ``dK_bound`` the lemma's bound and ``holds_dK`` whether the event holds.

    (D1)-(D3) are :func:`xorgrok.features.lemma44_events` with the full
    (nu, kappa)-alignment. (D4) is read literally: for every nu and sign, the sum over
    the (nu, kappa)-aligned neurons J of that sign of c_nu - n_nu - d_(-nu),j^(0) is at
    least (n/10) #J, which holds vacuously when J is empty. ``d4`` is the smallest mean
    over the non-empty sets (NaN if all eight are empty) and ``d4_sets`` their number.
    """
    n = problem.setup.n
    preacts0 = problem.W0 @ problem.X[:n].T
    ev = lemma44_events(
        preacts0,
        problem.a,
        problem.cluster,
        problem.flipped,
        kappa,
        _check_epsilon(epsilon),
    )
    out: dict[str, float | bool] = {}
    for k in range(1, 4):
        out[f"d{k}"] = float(ev[f"d{k}"])
        out[f"d{k}_bound"] = float(ev[f"d{k}_bound"])
        out[f"holds_d{k}"] = bool(ev["holds"][k - 1])
    d0 = d_counts(preacts0, problem.cluster, problem.flipped)  # [m, 4]
    c, noisy = cluster_counts(problem.cluster[:n], problem.flipped)
    al = aligned(d0, c, noisy, kappa)  # [m, 4]
    means = []
    for group in (problem.a > 0, problem.a < 0):
        for nu in range(4):
            sel = al[group, nu]
            if sel.any():
                margin = c[nu] - noisy[nu] - d0[group][sel, OPPOSITE[nu]]
                means.append(float(margin.mean()))
    out["d4"] = min(means) if means else math.nan
    out["d4_bound"] = n / 10
    out["holds_d4"] = all(v >= n / 10 for v in means)
    out["d4_sets"] = len(means)
    return out


# --------------------------------------------------------------------------------------
# The approximations of the proof
# --------------------------------------------------------------------------------------


def g_deviation(f_train: np.ndarray, y: np.ndarray) -> np.ndarray:
    """max_i abs(g_i - 1/2) with g_i = -l'(y_i f_i) = 1 / (1 + exp(y_i f_i)).

    Computed as abs(tanh(y_i f_i / 2)) / 2, exact for tiny outputs (no cancellation).

    Args:
        f_train: [..., n] outputs on the training points. y: [n] labels (+-1).

    Returns:
        [...] the largest deviation over the training points.
    """
    z = np.asarray(f_train, dtype=np.float64) * np.asarray(y, dtype=np.float64)
    return 0.5 * np.abs(np.tanh(z / 2)).max(-1)


def g_deviation_bound(n: int) -> float:
    """The proof's bound on max_i abs(g_i^(t) - 1/2) in the window: 2 / n^1.5."""
    return 2.0 / _check_n(n) ** 1.5


def preact_change_error(preacts: np.ndarray, problem: Problem) -> np.ndarray:
    """Relative error of Lemma A.4's one-step change of <w_j, x_k>, step by step.

    For each recorded pair of consecutive steps t, t + 1: ||measured - predicted||_F /
    ||measured||_F over all (j, k), with the prediction of
    :func:`xorgrok.features.predicted_preact_change` (g_i = 1/2, ||x_k||^2 = p, <x_i,
    x_k> = +-||mu||^2 within a pair of clusters, 0 across).

    Args:
        preacts: [T, m, n] <w_j^(t), x_k> at consecutive steps t = 0..T-1.
        problem: the run's problem (a, labels, clusters, setup).

    Returns:
        [T - 1] relative errors.
    """
    preacts = np.asarray(preacts, dtype=np.float64)
    s = problem.setup
    if preacts.ndim != 3 or preacts.shape[1:] != (s.m, s.n) or preacts.shape[0] < 2:
        raise ValueError(
            f"preacts must have shape [T >= 2, m, n] = [T, {s.m}, {s.n}], "
            f"got {preacts.shape}"
        )
    measured = np.diff(preacts, axis=0)
    pred = predicted_preact_change(
        preacts[:-1], problem.a, problem.y, problem.cluster, problem.flipped, s
    )
    num = np.sqrt(((measured - pred) ** 2).sum((1, 2)))
    return num / np.sqrt((measured**2).sum((1, 2)))


# --------------------------------------------------------------------------------------
# The conclusions of Theorem 3.1 on one run
# --------------------------------------------------------------------------------------


def conclusions(
    t: np.ndarray, train_acc: np.ndarray, test_err: np.ndarray, n: int, C: float
) -> dict[str, float | bool]:
    """The three parts of Theorem 3.1 measured on one run.

    Args:
        t: [T] recorded steps; must contain 1 and the window of :func:`theorem_window`.
        train_acc: [T] accuracy on the (noisy) training labels.
        test_err: [T] clean test error. n, C: the training set size and the constant.

    Returns:
        A dict: ``part1``, every training label fitted at t = 1; ``err1``, the clean
        error at t = 1, and ``dev1`` = abs(2 err1 - 1) (part 2 asks dev1 <=
        n^-Omega(1)); ``fit_window``, every training label fitted at every step of the
        window; ``err_window``, the largest clean error over the window; ``t_lo``,
        ``t_hi``, the window.
    """
    t = np.asarray(t)
    train_acc = np.asarray(train_acc, dtype=np.float64)
    test_err = np.asarray(test_err, dtype=np.float64)
    if not (t.ndim == 1 and train_acc.shape == test_err.shape == t.shape):
        raise ValueError("t, train_acc and test_err must be [T] arrays of one length")
    lo, hi = theorem_window(n, C)
    need = set(range(lo, hi + 1)) | {1}
    if not need <= set(t.tolist()):
        raise ValueError(f"t must contain step 1 and the window {lo}..{hi}")
    i1 = int(np.flatnonzero(t == 1)[0])
    win = (t >= lo) & (t <= hi)
    err1 = float(test_err[i1])
    return {
        "part1": bool(train_acc[i1] == 1.0),
        "err1": err1,
        "dev1": abs(2 * err1 - 1),
        "fit_window": bool(np.all(train_acc[win] == 1.0)) if win.any() else False,
        "err_window": float(test_err[win].max()) if win.any() else math.nan,
        "t_lo": lo,
        "t_hi": hi,
    }


def wilson(
    k: np.ndarray, total: np.ndarray, z: float = 1.959964
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval (default 95 %) for k successes out of ``total`` trials.

    (phat + z^2/2N -+ z sqrt(phat (1 - phat)/N + z^2/4N^2)) / (1 + z^2/N).
    """
    k = np.asarray(k, dtype=np.float64)
    total = np.asarray(total, dtype=np.float64)
    if np.any(total <= 0) or np.any(k < 0) or np.any(k > total):
        raise ValueError("wilson needs 0 <= k <= total and total > 0")
    phat = k / total
    denom = 1 + z**2 / total
    center = (phat + z**2 / (2 * total)) / denom
    half = z * np.sqrt(phat * (1 - phat) / total + z**2 / (4 * total**2)) / denom
    return np.clip(center - half, 0.0, 1.0), np.clip(center + half, 0.0, 1.0)
