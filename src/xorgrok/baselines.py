"""Reference classifiers for the XOR cluster distribution (the paper's Definition 2.1):
linear rules and the Bayes-optimal rule.

Everything here is about the **clean** test distribution P_clean: x = nu + z with nu
uniform on {+mu1, -mu1, +mu2, -mu2} and z ~ N(0, I_p); the clean label is +1 on +-mu1
and -1 on +-mu2.

* A linear rule x -> sgn(<v, x> + b) only sees, on cluster nu, the Gaussian <v, x> + b ~
  N(<v, nu> + b, ||v||^2), so its clean accuracy has the closed form
  (:func:`linear_classifier_accuracy`)

      acc(v, b) = 1/4 sum_nu Phi(ytilde_nu (<v, nu> + b) / ||v||).

  Without intercept (b = 0) the clusters nu and -nu contribute Phi(s) + Phi(-s) = 1:
  every homogeneous linear classifier has clean accuracy exactly 1/2. With an intercept
  one can do better than 1/2 (isolate one cluster: about 3/4 when ||mu|| is large,
  :func:`best_affine_accuracy`), but the logistic-loss minimizer does not find that
  rule.
* The Bayes-optimal rule (:func:`bayes_predict`): the posterior ratio is P(ytilde = +1 |
  x) / P(ytilde = -1 | x) = cosh<x, mu1> / cosh<x, mu2>, so the rule is sgn(|<x, mu1>| -
  |<x, mu2>|), and its clean error is 2 q (1 - q) with q = Phi(-||mu|| / sqrt 2)
  (:func:`bayes_error`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special

from .data import CLUSTER_LABEL, cluster_means

__all__ = [
    "linear_classifier_accuracy",
    "best_affine_accuracy",
    "fit_logistic_regression",
    "bayes_posterior",
    "bayes_predict",
    "bayes_error",
    "bayes_error_mc",
    "noisy_bayes_error",
]


def _check_mu_norm(mu_norm) -> float:
    if isinstance(mu_norm, bool) or not isinstance(
        mu_norm, (int, float, np.floating, np.integer)
    ):
        raise ValueError(f"mu_norm must be a real number >= 0, got {mu_norm!r}")
    mu_norm = float(mu_norm)
    if not (math.isfinite(mu_norm) and mu_norm >= 0):
        raise ValueError(f"mu_norm must be finite and >= 0, got {mu_norm}")
    return mu_norm


def linear_classifier_accuracy(
    v_plane, v_norm: float, mu_norm: float, bias: float = 0.0
) -> float:
    """Clean test accuracy of x -> sgn(<v, x> + bias), in closed form.

    Args:
        v_plane: (<v, e1>, <v, e2>) with e_k = mu_k / ||mu|| (the part of v in span(mu1,
            mu2)).
        v_norm: ||v|| (the whole vector, >= the norm of v_plane; the rest only adds
            noise).
        mu_norm: ||mu|| >= 0.
        bias: the intercept b.

    Returns:
        1/4 sum_nu Phi(ytilde_nu (<v, nu> + b) / ||v||).
    """
    v_plane = np.asarray(v_plane, dtype=np.float64)
    if v_plane.shape != (2,) or not np.all(np.isfinite(v_plane)):
        raise ValueError(
            f"v_plane must be a finite array of shape (2,), got {v_plane!r}"
        )
    mu_norm = _check_mu_norm(mu_norm)
    v_norm = float(v_norm)
    if not (math.isfinite(v_norm) and v_norm > 0) or v_norm < np.linalg.norm(
        v_plane
    ) * (1 - 1e-12):
        raise ValueError(f"v_norm must be finite, > 0 and >= ||v_plane||, got {v_norm}")
    if not math.isfinite(float(bias)):
        raise ValueError(f"bias must be finite, got {bias}")
    means = cluster_means(mu_norm)  # [4, 2]
    margins = CLUSTER_LABEL * (means @ v_plane + float(bias)) / v_norm
    return float(np.mean(special.ndtr(margins)))


def best_affine_accuracy(mu_norm: float) -> tuple[float, np.ndarray, float]:
    """The best clean accuracy of any affine rule sgn(<v, x> + b), maximized over v in
    the plane and b.

    Components of v outside span(mu1, mu2) only add noise, so the optimum lies in the
    plane; by scale invariance ||v|| = 1: v = (cos theta, sin theta), and (theta, b) are
    optimized numerically (Nelder-Mead from a grid of starts). Returns ``(accuracy,
    v_plane, b)``. For large ||mu|| it tends to 3/4 (one cluster isolated from the other
    three); for ||mu|| = 0 it is 1/2.
    """
    mu_norm = _check_mu_norm(mu_norm)

    def neg(params):
        theta, b = params
        return -linear_classifier_accuracy(
            np.array([math.cos(theta), math.sin(theta)]), 1.0, mu_norm, b
        )

    best = None
    for theta0 in np.linspace(0, 2 * math.pi, 16, endpoint=False):
        for b0 in (-mu_norm / 2, 0.0, mu_norm / 2):
            res = optimize.minimize(
                neg,
                x0=[theta0, b0],
                method="Nelder-Mead",
                options={"xatol": 1e-8, "fatol": 1e-12},
            )
            if best is None or res.fun < best.fun:
                best = res
    theta, b = best.x
    return float(-best.fun), np.array([math.cos(theta), math.sin(theta)]), float(b)


def fit_logistic_regression(
    X: np.ndarray,
    y: np.ndarray,
    l2: float = 1e-3,
    fit_intercept: bool = True,
    max_iter: int = 2000,
) -> tuple[np.ndarray, float]:
    """Minimize (1/n) sum_i log(1 + exp(-y_i (<v, x_i> + b))) + (l2 / 2) ||v||^2 by
    L-BFGS (scipy).

    The small ridge penalty keeps the minimizer finite when the data are linearly
    separable (always when p >= n). Args: X [n, d], y [n] in {-1, +1}. Returns ``(v [d],
    b)`` (b = 0 without intercept).
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be [n, d] and y [n], got {X.shape} and {y.shape}")
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError("y must hold labels in {-1, +1}")
    if not (isinstance(l2, (int, float)) and math.isfinite(l2) and l2 >= 0):
        raise ValueError(f"l2 must be a finite real number >= 0, got {l2!r}")
    n, d = X.shape
    # precondition: unit-scale inputs
    scale = np.sqrt(np.mean(np.sum(X * X, axis=1))) or 1.0
    Xs = X / scale

    def fun(params):
        v, b = params[:d], (params[d] if fit_intercept else 0.0)
        z = y * (Xs @ v + b)
        loss = np.mean(np.logaddexp(0.0, -z)) + 0.5 * l2 * float(v @ v)
        g = -y * special.expit(-z) / n
        grad_v = Xs.T @ g + l2 * v
        if fit_intercept:
            return loss, np.concatenate([grad_v, [g.sum()]])
        return loss, grad_v

    x0 = np.zeros(d + (1 if fit_intercept else 0))
    res = optimize.minimize(
        fun,
        x0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": 1e-10},
    )
    v = res.x[:d] / scale
    b = float(res.x[d]) if fit_intercept else 0.0
    return v, b


def _plane_coords(X_plane) -> np.ndarray:
    X_plane = np.asarray(X_plane, dtype=np.float64)
    if X_plane.shape[-1] != 2:
        raise ValueError(
            "X_plane must have shape [..., 2] (coordinates along mu1/||mu||, "
            "mu2/||mu||), got "
            f"{X_plane.shape}"
        )
    return X_plane


def bayes_posterior(X_plane, mu_norm: float) -> np.ndarray:
    """P(ytilde = +1 | x) = cosh(||mu|| x_1) / (cosh(||mu|| x_1) + cosh(||mu|| x_2)) for
    points with plane
    coordinates (x_1, x_2) = (<x, e1>, <x, e2>); shape [...]. Only the plane coordinates
    matter.

    Derivation: the four Gaussians N(nu, I) share the factor exp(-||x||^2 / 2 - ||mu||^2
    / 2), so the likelihood of cluster nu is proportional to exp(<x, nu>), and each
    class is an equal mixture of two clusters: P(+1 | x) / P(-1 | x) = (e^{<x,mu1>} +
    e^{-<x,mu1>}) / (e^{<x,mu2>} + e^{-<x,mu2>}). Computed in log space (no overflow for
    large ||mu||).
    """
    X_plane = _plane_coords(X_plane)
    mu_norm = _check_mu_norm(mu_norm)
    u1, u2 = np.abs(mu_norm * X_plane[..., 0]), np.abs(mu_norm * X_plane[..., 1])
    # log cosh u = u + log1p(exp(-2u)) - log 2
    lc1 = u1 + np.log1p(np.exp(-2 * u1))
    lc2 = u2 + np.log1p(np.exp(-2 * u2))
    return special.expit(lc1 - lc2)


def bayes_predict(X_plane) -> np.ndarray:
    """The Bayes-optimal clean label sgn(|x_1| - |x_2|) (+1 where |<x, mu1>| > |<x,
    mu2>|), shape [...]."""
    X_plane = _plane_coords(X_plane)
    return np.where(np.abs(X_plane[..., 0]) > np.abs(X_plane[..., 1]), 1, -1)


def bayes_error(mu_norm: float) -> float:
    """The Bayes (minimal) clean test error 2 q (1 - q), q = Phi(-||mu|| / sqrt 2).

    Derivation: by symmetry take x ~ N(mu1, I); with u1 = <x, e1> ~ N(||mu||, 1), u2 =
    <x, e2> ~ N(0, 1) independent, the rule errs when |u1| < |u2|, i.e. when (u2 -
    u1)(u2 + u1) > 0. The rotated coordinates s = (u2 - u1)/sqrt 2 ~ N(-||mu||/sqrt 2,
    1) and t = (u2 + u1)/sqrt 2 ~ N(||mu||/sqrt 2, 1) are independent, so the error is
    P(s > 0) P(t > 0) + P(s < 0) P(t < 0) = q (1 - q) + (1 - q) q.
    """
    mu_norm = _check_mu_norm(mu_norm)
    q = float(special.ndtr(-mu_norm / math.sqrt(2)))
    return 2 * q * (1 - q)


def bayes_error_mc(
    mu_norm: float, n_samples: int = 100_000, seed: int = 0
) -> tuple[float, float]:
    """Monte Carlo estimate of the Bayes clean error: ``(estimate, standard error)``.

    Draws ``n_samples`` clean points in the plane (the other p - 2 coordinates do not
    matter) and applies :func:`bayes_predict`.
    """
    mu_norm = _check_mu_norm(mu_norm)
    if (
        isinstance(n_samples, bool)
        or not isinstance(n_samples, (int, np.integer))
        or n_samples < 1
    ):
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, 4, size=n_samples)
    X = cluster_means(mu_norm)[cluster] + rng.standard_normal((n_samples, 2))
    err = np.mean(bayes_predict(X) != CLUSTER_LABEL[cluster])
    return float(err), float(math.sqrt(max(err * (1 - err), 1e-300) / n_samples))


def noisy_bayes_error(mu_norm: float, eta: float) -> float:
    """The Bayes error against *noisy* labels: eta + (1 - 2 eta) *
    bayes_error(mu_norm) (flips independent of x)."""
    if not (0 <= float(eta) < 0.5):
        raise ValueError(f"eta must be in [0, 0.5), got {eta}")
    e = bayes_error(mu_norm)
    return float(eta) + (1 - 2 * float(eta)) * e
