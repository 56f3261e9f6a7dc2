"""How long the plateau lasts: the large-width limit of the dynamics while the
outputs are tiny.

While every abs(f(x_i)) << 1, g_i = 1/2 and the update (2.2) divided by alpha reads, for
u_j = w_j / alpha,

    u_j^(t+1) = u_j^(t) + (a_j / 2n) sum_i 1[<u_j^(t), x_i> > 0] y_i x_i,
    u_j^(0) ~ N(0, r^2 I_p),

with r = omega_init / alpha: every sign, hence every accuracy, depends on
(omega_init, alpha) through r only.

**Time scale.** A neuron active on x_k moves <u_j, x_k> by a_j y_k ||x_k||^2 / 2n,
about p / (2n sqrt(m)), per step (the sample's own term of Lemma A.4), while its
initial spread is r ||x_k||, about r sqrt(p). The ratio defines the plateau's clock
(:func:`time_scale`)

    tau = 2 n sqrt(m) r / sqrt(p):

after t steps the memorization has moved a pre-activation by s = t / tau initial
standard deviations. When tau >> 1 the steps are small on that scale and the dynamics
of u / r in s are those of a continuous flow: curves of every accuracy against t / tau
do not depend on r.

**Training fit (m -> infinity, cluster terms neglected, ||mu||^2 sqrt(n) << p).**
Write sigma_k = r ||x_k||. Of the m neurons, half have a_j y_k > 0: those active on
x_k grow by s sigma_k and stay active; the other half shrink by s sigma_k and switch
off when they reach 0. Averaging ReLU over h ~ N(0, sigma_k^2),

    y_k (f^(t)(x_k) - f^(0)(x_k)) / alpha = (sqrt(m) / 2) sigma_k Lambda(s),
    Lambda(s) = s / 2 + E[min(Z+, s)] = s / 2 + s (1 - Phi(s)) + phi(0) - phi(s)

(Z ~ N(0, 1); :func:`fit_response`; Lambda(s) ~ s for s << 1, ~ s/2 + phi(0) for
s >> 1), while y_k f^(0)(x_k) / alpha ~ N(0, sigma_k^2 / 2), independently over k.
Point k is fitted once Lambda(s) > sqrt(2) Z_k / sqrt(m) with Z_k ~ N(0, 1), so the
whole training set is fitted at

    t_fit = tau Lambda^-1(sqrt(2) max_k Z_k / sqrt(m))   (0 when every Z_k < 0),

whose distribution over seeds follows from P(max_k Z_k <= z) = Phi(z)^n
(:func:`fit_time_quantile`). For m large, Lambda^-1(x) ~ x and
t_fit ~ 2 sqrt(2) n r max_k Z_k / sqrt(p): proportional to r and n / sqrt(p),
independent of m and ||mu||.

**Test accuracy.** :func:`limit_dynamics` integrates the population of neurons in the
same units (the cluster terms included) and :func:`limit_accuracy` turns it into a
clean test accuracy for a width m.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special, stats

from .config import Setup

__all__ = [
    "ratio",
    "time_scale",
    "fit_response",
    "inverse_fit_response",
    "fit_time_quantile",
    "max_normal_quantile",
    "limit_dynamics",
    "limit_accuracy",
]

_PHI0 = 1.0 / math.sqrt(2.0 * math.pi)


def ratio(setup: Setup) -> float:
    """r = omega_init / alpha."""
    return setup.omega_init / setup.alpha


def time_scale(setup: Setup) -> float:
    """tau = 2 n sqrt(m) r / sqrt(p): the steps after which a neuron's memorization term
    has moved
    a pre-activation <w_j, x_k> by one initial standard deviation omega_init sqrt(p)."""
    return 2.0 * setup.n * math.sqrt(setup.m) * ratio(setup) / math.sqrt(setup.p)


def fit_response(s: np.ndarray) -> np.ndarray:
    """Lambda(s) = s/2 + s (1 - Phi(s)) + phi(0) - phi(s), for s >= 0 (any shape).

    The mean drift of y_k f(x_k) / (alpha sigma_k sqrt(m) / 2) after s units of the
    clock (module docstring): s/2 from the neurons with a_j y_k > 0 that stay active,
    and E[min(Z+, s)] = integral_0^s (1 - Phi(u)) du from those that switch off.
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
    return float(
        optimize.brentq(lambda s: float(fit_response(s)) - x, 0.0, hi, xtol=1e-12)
    )


def max_normal_quantile(q: float, n: int) -> float:
    """The q-quantile of the maximum of n independent standard normals:
    Phi^-1(q^(1/n))."""
    if not 0 < q < 1:
        raise ValueError(f"q must be in (0, 1), got {q}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    return float(stats.norm.ppf(q ** (1.0 / n)))


def fit_time_quantile(setup: Setup, q: float = 0.5) -> float:
    """The q-quantile over seeds of the predicted training-fit time (in steps,
    continuous): tau Lambda^-1(sqrt(2) M_q / sqrt(m)), M_q the q-quantile of max_k Z_k;
    0 if M_q <= 0.

    The measured fit step is the first integer step at or after it."""
    z = max_normal_quantile(q, setup.n)
    if z <= 0:
        return 0.0
    return time_scale(setup) * inverse_fit_response(
        math.sqrt(2) * z / math.sqrt(setup.m)
    )


# --------------------------------------------------------------------------------------
# The large-width limit of the test accuracy: a population of neurons in units of the
# clock
# --------------------------------------------------------------------------------------

#: Cluster nu -> (coordinate of g it reads, sign): +mu1, -mu1, +mu2, -mu2.
_AXIS, _SIGN = np.array([0, 0, 1, 1]), np.array([1.0, -1.0, 1.0, -1.0])
_CLEAN = np.array([1.0, 1.0, -1.0, -1.0])  # clean label of each cluster
_OPP = np.array([1, 0, 3, 2])


def limit_dynamics(
    cluster: np.ndarray,
    y: np.ndarray,
    beta: float,
    s_max: float,
    ds: float = 0.1,
    neurons: int = 4000,
    seed: int = 0,
    every: int = 5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The p -> infinity, g = 1/2 dynamics of a population of neurons, in units of the
    clock.

    Pre-activations are measured in initial standard deviations (sigma = r sqrt(p)) and
    time in s = t / tau. With <x_i, x_k> / p -> delta_ik + beta S_ik (S_ik = +1 for the
    same cluster, -1 for opposite clusters, 0 otherwise; beta = ||mu||^2 / p), Lemma
    A.4's step becomes, per unit s,

        dh_ji / ds  = sgn(a_j) [ y_i 1[h_ji > 0] + beta ytilde_nu(i) D_nu(i),j ],
        dc_jnu / ds = sgn(a_j) beta ytilde_nu D_nu,j,

    for the pre-activation h_ji on training point i and c_jnu = <w_j, nu> / sigma, with
    D_nu,j = d_nu,j - d_(-nu),j and d_nu,j = sum over active i in cluster nu of y_i
    ytilde_nu. Initially h_ji = sqrt(beta) <g_j, nu(i)> / ||mu|| + xi_ji and c_jnu =
    sqrt(beta) <g_j, nu> / ||mu||, with (g_j along mu1, mu2) and xi_ji independent
    standard normals: a neuron is described by its initial inner products with the data.
    r, m and p have dropped out; the training set enters through its clusters and labels
    only.

    For a fresh point x of cluster nu, <w_j, x> / sigma ~ N(c_jnu, 1) independently over
    j (the memorization adds s^2 n / (4p) to the variance: neglected), so the network
    output is F(x) / sigma ~ N(sqrt(m) M_nu, V_nu) with

        M_nu = ytilde_nu mean_j sgn(a_j) G(c_jnu),
        G(c) = E ReLU(N(c, 1)) = c Phi(c) + phi(c),
        V_nu = mean_j Var ReLU(N(c_jnu, 1)),

    and the clean accuracy on cluster nu is Phi(sqrt(m) M_nu / sqrt(V_nu))
    (:func:`limit_accuracy`).

    Args:
        cluster: [n] cluster index of each training point (0..3). y: [n] noisy labels
            (+-1).
        beta: ||mu||^2 / p > 0. s_max: last time (clock units). ds: Euler step in s.
        neurons: population size (half of each sign). seed: of the population.
        every: record M and V every ``every`` Euler steps (and at the last).

    Returns:
        (s [K], M [K, 4], V [K, 4]) at the recorded times s = 0, every ds, 2 every ds,
            ...
    """
    cluster = np.asarray(cluster)
    y = np.asarray(y, dtype=np.float64)
    n = cluster.size
    if cluster.ndim != 1 or y.shape != (n,) or n == 0:
        raise ValueError("cluster and y must be [n] arrays of one length n >= 1")
    if not (math.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be a finite number > 0, got {beta}")
    if not (ds > 0 and s_max >= 0):
        raise ValueError(f"ds must be > 0 and s_max >= 0, got {ds}, {s_max}")
    if isinstance(neurons, bool) or not isinstance(neurons, int) or neurons < 2:
        raise ValueError(f"neurons must be an integer >= 2, got {neurons!r}")
    rng = np.random.default_rng(seed)
    sign = np.where(np.arange(neurons) % 2 == 0, 1.0, -1.0)[:, None]  # [J, 1]
    g = rng.standard_normal((neurons, 2))
    root = math.sqrt(beta)
    c = root * g[:, _AXIS] * _SIGN  # [J, 4]
    h = c[:, cluster] + rng.standard_normal((neurons, n))  # [J, n]
    member = (cluster[:, None] == np.arange(4)).astype(np.float64)  # [n, 4]
    weight = member * (y[:, None] * _CLEAN)  # y_i ytilde_nu on the point's own cluster
    steps = int(math.floor(s_max / ds + 1e-9))
    times, M, V = [], [], []
    for k in range(steps + 1):
        if k % every == 0 or k == steps:
            cdf, pdf = special.ndtr(c), np.exp(-(c**2) / 2) / math.sqrt(2 * math.pi)
            G = c * cdf + pdf
            second = (c**2 + 1) * cdf + c * pdf  # E ReLU(N(c, 1))^2
            times.append(k * ds)
            M.append(_CLEAN * (sign * G).mean(0))
            V.append((second - G**2).mean(0))
        if k == steps:
            break
        d = (h > 0).astype(np.float64) @ weight  # [J, 4]
        D = d - d[:, _OPP]
        h += sign * ds * (y * (h > 0) + beta * (_CLEAN * D)[:, cluster])
        c += sign * ds * beta * _CLEAN * D
    return np.array(times), np.array(M), np.array(V)


def limit_accuracy(M: np.ndarray, V: np.ndarray, m: int) -> np.ndarray:
    """Clean test accuracy of width m from :func:`limit_dynamics`: mean over the four
    clusters of
    Phi(sqrt(m) M_nu / sqrt(V_nu)). M, V: [..., 4] -> [...]."""
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"m must be an integer >= 1, got {m!r}")
    return stats.norm.cdf(math.sqrt(m) * np.asarray(M) / np.sqrt(np.asarray(V))).mean(
        -1
    )
