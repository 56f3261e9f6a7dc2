"""How long the plateau lasts: the large-width limit of the dynamics while the outputs are tiny.

While every |f(x_i)| << 1, g_i = 1/2 and the update (2.2) divided by alpha reads, for u_j = w_j / alpha,

    u_j^(t+1) = u_j^(t) + (a_j / 2n) sum_i 1[<u_j^(t), x_i> > 0] y_i x_i,   u_j^(0) ~ N(0, r^2 I_p),

with r = omega_init / alpha: every sign, hence every accuracy, depends on (omega_init, alpha) through r only.

**Time scale.** A neuron active on x_k moves <u_j, x_k> by a_j y_k ||x_k||^2 / 2n ~ p / (2n sqrt(m)) per
step (the sample's own term of Lemma A.4), while its initial spread is r ||x_k|| ~ r sqrt(p). The ratio
defines the plateau's clock (:func:`time_scale`)

    tau = 2 n sqrt(m) r / sqrt(p):   after t steps the memorization has moved a pre-activation by
                                      s = t / tau initial standard deviations.

When tau >> 1 the steps are small on that scale and the dynamics of u / r in s are those of a
continuous flow: curves of every accuracy against t / tau do not depend on r.

**Training fit (m -> infinity, the cluster terms neglected, ||mu||^2 sqrt(n) << p).** Write
sigma_k = r ||x_k||. Of the m neurons, half have a_j y_k > 0: those active on x_k grow by s sigma_k
and stay active; the other half shrink by s sigma_k and switch off when they reach 0. Averaging ReLU
over h ~ N(0, sigma_k^2),

    y_k (f^(t)(x_k) - f^(0)(x_k)) / alpha = (sqrt(m) / 2) sigma_k Lambda(s),
    Lambda(s) = s / 2 + E[min(Z+, s)] = s / 2 + s (1 - Phi(s)) + phi(0) - phi(s)   (Z ~ N(0, 1))

(:func:`fit_response`; Lambda(s) ~ s for s << 1, ~ s/2 + phi(0) for s >> 1), while
y_k f^(0)(x_k) / alpha ~ N(0, sigma_k^2 / 2), independently over k. Point k is fitted once
Lambda(s) > sqrt(2) Z_k / sqrt(m) with Z_k ~ N(0, 1), so the whole training set is fitted at

    t_fit = tau Lambda^-1( sqrt(2) max_k Z_k / sqrt(m) )   (t_fit = 0 when every Z_k < 0),

whose distribution over seeds follows from P(max_k Z_k <= z) = Phi(z)^n (:func:`fit_time_quantile`).
For m large, Lambda^-1(x) ~ x and t_fit ~ 2 sqrt(2) n r max_k Z_k / sqrt(p): proportional to r and
n / sqrt(p), independent of m and ||mu||.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from .config import Setup

__all__ = ["ratio", "time_scale", "fit_response", "inverse_fit_response", "fit_time_quantile",
           "max_normal_quantile"]

_PHI0 = 1.0 / math.sqrt(2.0 * math.pi)


def ratio(setup: Setup) -> float:
    """r = omega_init / alpha."""
    return setup.omega_init / setup.alpha


def time_scale(setup: Setup) -> float:
    """tau = 2 n sqrt(m) r / sqrt(p): the steps after which a neuron's memorization term has moved
    a pre-activation <w_j, x_k> by one initial standard deviation omega_init sqrt(p)."""
    return 2.0 * setup.n * math.sqrt(setup.m) * ratio(setup) / math.sqrt(setup.p)


def fit_response(s: np.ndarray) -> np.ndarray:
    """Lambda(s) = s/2 + s (1 - Phi(s)) + phi(0) - phi(s), for s >= 0 (any shape).

    The mean drift of y_k f(x_k) / (alpha sigma_k sqrt(m) / 2) after s units of the clock
    (module docstring): s/2 from the neurons with a_j y_k > 0 that stay active, and
    E[min(Z+, s)] = integral_0^s (1 - Phi(u)) du from those that switch off.
    """
    s = np.asarray(s, dtype=np.float64)
    if np.any(s < 0):
        raise ValueError("s must be >= 0")
    return s / 2 + s * stats.norm.sf(s) + _PHI0 - stats.norm.pdf(s)


def inverse_fit_response(x: float) -> float:
    """The s >= 0 with Lambda(s) = x (x >= 0; Lambda is increasing from 0)."""
    x = float(x)
    if not (math.isfinite(x) and x >= 0):
        raise ValueError(f"x must be a finite number >= 0, got {x}")
    if x == 0:
        return 0.0
    hi = 2 * x + 1  # Lambda(s) >= s/2
    return float(optimize.brentq(lambda s: float(fit_response(s)) - x, 0.0, hi, xtol=1e-12))


def max_normal_quantile(q: float, n: int) -> float:
    """The q-quantile of the maximum of n independent standard normals: Phi^-1(q^(1/n))."""
    if not 0 < q < 1:
        raise ValueError(f"q must be in (0, 1), got {q}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    return float(stats.norm.ppf(q ** (1.0 / n)))


def fit_time_quantile(setup: Setup, q: float = 0.5) -> float:
    """The q-quantile over seeds of the predicted training-fit time (in steps, continuous):
    tau Lambda^-1(sqrt(2) M_q / sqrt(m)), M_q the q-quantile of max_k Z_k; 0 if M_q <= 0.

    The measured fit step is the first integer step at or after it."""
    z = max_normal_quantile(q, setup.n)
    if z <= 0:
        return 0.0
    return time_scale(setup) * inverse_fit_response(math.sqrt(2) * z / math.sqrt(setup.m))
