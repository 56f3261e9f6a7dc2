r"""Reference classifiers for the XOR cluster distribution (the paper's Definition 2.1):
linear rules and the Bayes-optimal rule.

Everything here is about the **clean** test distribution :math:`P_{\text{clean}}`:
:math:`x = \nu + z` with :math:`\nu` uniform on :math:`\{+\mu_1, -\mu_1, +\mu_2,
-\mu_2\}` and :math:`z \sim N(0, I_p)`; the clean label is :math:`+1` on
:math:`\pm\mu_1` and :math:`-1` on :math:`\pm\mu_2`.

* A linear rule :math:`x \mapsto \operatorname{sgn}(\langle v, x\rangle + b)` only sees,
  on cluster :math:`\nu`, the Gaussian :math:`\langle v, x\rangle + b \sim N(\langle v,
  \nu\rangle + b, \|v\|^2)`, so its clean accuracy has the closed form
  (:func:`linear_classifier_accuracy`)

  .. math::

      \operatorname{acc}(v, b) = \frac{1}{4} \sum_\nu \Phi\big(\tilde y_\nu (\langle v,
      \nu\rangle + b) / \|v\|\big).

  Without intercept (:math:`b = 0`) the clusters :math:`\nu` and :math:`-\nu` contribute
  :math:`\Phi(s) + \Phi(-s) = 1`: every homogeneous linear classifier has clean accuracy
  exactly 1/2. With an intercept one can do better than 1/2 (isolate one cluster: about
  3/4 when :math:`\|\mu\|` is large, :func:`best_affine_accuracy`), but the
  logistic-loss minimizer does not find that rule.
* The Bayes-optimal rule (:func:`bayes_predict`): the posterior ratio is :math:`P(\tilde
  y = +1 \mid x) / P(\tilde y = -1 \mid x) = \cosh\langle x, \mu_1\rangle / \cosh\langle
  x, \mu_2\rangle`, so the rule is :math:`\operatorname{sgn}(|\langle x, \mu_1\rangle| -
  |\langle x, \mu_2\rangle|)`, and its clean error is :math:`2 q (1 - q)` with :math:`q
  = \Phi(-\|\mu\| / \sqrt{2})` (:func:`bayes_error`).
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
    r"""Clean test accuracy of :math:`x \mapsto \operatorname{sgn}(\langle v, x\rangle +
    b)`, in closed form.

    Args:
        v_plane: :math:`(\langle v, e_1\rangle, \langle v, e_2\rangle)` with :math:`e_k
            = \mu_k / \|\mu\|` (the part of :math:`v` in
            :math:`\operatorname{span}(\mu_1, \mu_2)`).
        v_norm: :math:`\|v\|` (the whole vector, at least the norm of ``v_plane``; the
            rest only adds noise).
        mu_norm: :math:`\|\mu\| \ge 0`.
        bias: the intercept :math:`b`.

    Returns:
        :math:`\frac{1}{4} \sum_\nu \Phi(\tilde y_\nu (\langle v, \nu\rangle + b) /
        \|v\|)`.
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
    r"""The best clean accuracy of any affine rule :math:`\operatorname{sgn}(\langle v,
    x\rangle + b)`, maximized over :math:`v` in the plane and :math:`b`.

    Components of :math:`v` outside :math:`\operatorname{span}(\mu_1, \mu_2)` only add
    noise, so the optimum lies in the plane; by scale invariance :math:`\|v\| = 1`:
    :math:`v = (\cos\theta, \sin\theta)`, and :math:`(\theta, b)` are optimized
    numerically (Nelder-Mead from a grid of starts). Returns ``(accuracy, v_plane, b)``.
    For large :math:`\|\mu\|` it tends to 3/4 (one cluster isolated from the other
    three); for :math:`\|\mu\| = 0` it is 1/2.
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
    r"""Minimize :math:`\frac{1}{n} \sum_i \log(1 + e^{-y_i (\langle v, x_i\rangle +
    b)}) + \frac{\lambda}{2} \|v\|^2` (:math:`\lambda` = ``l2``) by L-BFGS (scipy).

    The small ridge penalty keeps the minimizer finite when the data are linearly
    separable (always when :math:`p \ge n`). Args: X [n, d], y [n] in :math:`\{-1,
    +1\}`. Returns ``(v [d], b)`` (:math:`b = 0` without intercept).
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
    r""":math:`P(\tilde y = +1 \mid x) = \cosh(\|\mu\| x_1) / (\cosh(\|\mu\| x_1) +
    \cosh(\|\mu\| x_2))` for points with plane coordinates :math:`(x_1, x_2) = (\langle
    x, e_1\rangle, \langle x, e_2\rangle)`; shape [...]. Only the plane coordinates
    matter.

    Derivation: the four Gaussians :math:`N(\nu, I)` share the factor
    :math:`\exp(-\|x\|^2 / 2 - \|\mu\|^2 / 2)`, so the likelihood of cluster :math:`\nu`
    is proportional to :math:`\exp\langle x, \nu\rangle`, and each class is an equal
    mixture of two clusters:

    .. math::

        \frac{P(+1 \mid x)}{P(-1 \mid x)} = \frac{e^{\langle x, \mu_1\rangle} +
        e^{-\langle x, \mu_1\rangle}}{e^{\langle x, \mu_2\rangle} + e^{-\langle x,
        \mu_2\rangle}}.

    Computed in log space (no overflow for large :math:`\|\mu\|`).
    """
    X_plane = _plane_coords(X_plane)
    mu_norm = _check_mu_norm(mu_norm)
    u1, u2 = np.abs(mu_norm * X_plane[..., 0]), np.abs(mu_norm * X_plane[..., 1])
    # log cosh u = u + log1p(exp(-2u)) - log 2
    lc1 = u1 + np.log1p(np.exp(-2 * u1))
    lc2 = u2 + np.log1p(np.exp(-2 * u2))
    return special.expit(lc1 - lc2)


def bayes_predict(X_plane) -> np.ndarray:
    r"""The Bayes-optimal clean label :math:`\operatorname{sgn}(|x_1| - |x_2|)`
    (:math:`+1` where :math:`|\langle x, \mu_1\rangle| > |\langle x, \mu_2\rangle|`),
    shape [...]."""
    X_plane = _plane_coords(X_plane)
    return np.where(np.abs(X_plane[..., 0]) > np.abs(X_plane[..., 1]), 1, -1)


def bayes_error(mu_norm: float) -> float:
    r"""The Bayes (minimal) clean test error :math:`2 q (1 - q)`, :math:`q =
    \Phi(-\|\mu\| / \sqrt{2})`.

    Derivation: by symmetry take :math:`x \sim N(\mu_1, I)`; with :math:`u_1 = \langle
    x, e_1\rangle \sim N(\|\mu\|, 1)`, :math:`u_2 = \langle x, e_2\rangle \sim N(0, 1)`
    independent, the rule errs when :math:`|u_1| < |u_2|`, i.e. when :math:`(u_2 -
    u_1)(u_2 + u_1) > 0`. The rotated coordinates :math:`s = (u_2 - u_1)/\sqrt{2} \sim
    N(-\|\mu\|/\sqrt{2}, 1)` and :math:`t = (u_2 + u_1)/\sqrt{2} \sim
    N(\|\mu\|/\sqrt{2}, 1)` are independent, so the error is :math:`P(s > 0) P(t > 0) +
    P(s < 0) P(t < 0) = q (1 - q) + (1 - q) q`.
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
