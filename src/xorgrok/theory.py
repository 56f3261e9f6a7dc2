"""The paper's theory made computable: assumptions A1-A6, the near-orthogonality bound,
the one-step approximation of gradient descent (Lemma 4.6, Lemma A.10), the
linear-classifier limit and the per-cluster counts c_nu, n_nu, e_nu (the paper's
Sections 3 and 4).

Conventions. Clusters are indexed as in :mod:`xorgrok.data`: 0 = +mu1, 1 = -mu1, 2 =
+mu2, 3 = -mu2; :data:`xorgrok.data.OPPOSITE` maps a cluster nu to -nu. Functions that
take a :class:`xorgrok.Problem` work with both samplers (dense and reduced): they only
use inner products, which the reduced sampler reproduces exactly in distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch

from .config import Setup
from .data import CLUSTER_LABEL, OPPOSITE, Problem
from .model import gd_step, loss_derivative_weight, network_output

__all__ = [
    "AssumptionCheck",
    "check_assumptions",
    "required_dimension",
    "mu_norm_range",
    "max_omega_init",
    "setup_satisfying_assumptions",
    "pairwise_bounds",
    "cosine_similarities",
    "lemma_a10_bound",
    "one_step_weights",
    "one_step_approximation",
    "one_step_error",
    "frobenius_norm",
    "linear_limit_direction",
    "linear_limit_outputs",
    "one_step_outputs",
    "cluster_counts",
    "e_nu",
    "per_cluster_accuracy",
    "initial_g_deviation",
    "OneStep",
    "one_step",
    "with_omega_init",
]


def _check_C(C: float) -> float:
    if isinstance(C, bool) or not isinstance(C, (int, float, np.floating, np.integer)):
        raise ValueError(f"C must be a real number >= 1, got {C!r}")
    C = float(C)
    if not (math.isfinite(C) and C >= 1.0):
        raise ValueError(f"C must be a finite real number >= 1, got {C}")
    return C


def _check_pos_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _check_pos_real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(
        value, (int, float, np.floating, np.integer)
    ):
        raise ValueError(f"{name} must be a real number > 0, got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value}")
    return value


# --------------------------------------------------------------------------------------
# Assumptions A1-A6 (the paper's Section 3)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssumptionCheck:
    """One assumption ``lhs <= rhs`` (after moving terms) evaluated for a Setup and a
    constant C.

    Attributes:
        name: "A1" ... "A6".
        statement: the inequality in the paper's symbols.
        lhs, rhs: both sides, written so that the assumption reads ``lhs >= rhs``
            (``larger`` side first).
        holds: whether it holds.
        factor: lhs / rhs; >= 1 when it holds, and by how much it fails otherwise (e.g.
            1e-3: short by 1000x).
        max_C: the largest C for which it holds (``inf`` if C does not enter; ``0`` if
            it fails whatever C >= 1 would be: then ``max_C`` < 1 is still reported as
            the formal value).
    """

    name: str
    statement: str
    lhs: float
    rhs: float
    holds: bool
    factor: float
    max_C: float


def check_assumptions(setup: Setup, C: float = 1.0) -> list[AssumptionCheck]:
    """Evaluate A1-A6 for ``setup`` with the universal constant ``C`` (>= 1).

    Each check is written as ``lhs >= rhs``:

    * A1  ||mu||^2 >= C n^0.51 sqrt(p)
    * A2  p >= C n^2 ||mu||^2
    * A3  1/C >= eta
    * A4  1/(C n p) >= alpha
    * A5  alpha ||mu||^2 >= omega_init n m^(3/2) p      (C does not enter)
    * A6  m >= C n^0.02
    """
    C = _check_C(C)
    p, n, m = setup.p, setup.n, setup.m
    mu2, eta, alpha, om = setup.mu_norm**2, setup.eta, setup.alpha, setup.omega_init

    def item(name, statement, lhs, rhs, max_C):
        factor = lhs / rhs if rhs > 0 else math.inf
        return AssumptionCheck(
            name,
            statement,
            float(lhs),
            float(rhs),
            bool(lhs >= rhs),
            float(factor),
            float(max_C),
        )

    return [
        item(
            "A1",
            "||mu||^2 >= C n^0.51 sqrt(p)",
            mu2,
            C * n**0.51 * math.sqrt(p),
            mu2 / (n**0.51 * math.sqrt(p)),
        ),
        item("A2", "p >= C n^2 ||mu||^2", p, C * n**2 * mu2, p / (n**2 * mu2)),
        item("A3", "eta <= 1/C", 1.0 / C, eta, math.inf if eta == 0 else 1.0 / eta),
        item(
            "A4", "alpha <= 1/(C n p)", 1.0 / (C * n * p), alpha, 1.0 / (alpha * n * p)
        ),
        item(
            "A5",
            "omega_init n m^(3/2) p <= alpha ||mu||^2",
            alpha * mu2,
            om * n * m**1.5 * p,
            math.inf if om * n * m**1.5 * p <= alpha * mu2 else 0.0,
        ),
        item("A6", "m >= C n^0.02", m, C * n**0.02, m / n**0.02),
    ]


def required_dimension(n: int, C: float = 1.0) -> float:
    """The smallest p for which A1 and A2 can hold together: p >= C^4 n^5.02.

    From A1, ||mu||^2 >= C n^0.51 sqrt(p); put it into A2: p >= C n^2 ||mu||^2 >= C^2
    n^2.51 sqrt(p), i.e. sqrt(p) >= C^2 n^2.51.
    """
    n = _check_pos_int("n", n)
    C = _check_C(C)
    return C**4 * float(n) ** 5.02


def mu_norm_range(p: int, n: int, C: float = 1.0) -> tuple[float, float]:
    """The interval of ||mu|| allowed by A1 and A2 for this p, n, C: [sqrt(C n^0.51
    sqrt(p)), sqrt(p / (C n^2))].

    Returns ``(lo, hi)``; the interval is empty (lo > hi) when p <
    :func:`required_dimension`.
    """
    p = _check_pos_int("p", p)
    n = _check_pos_int("n", n)
    C = _check_C(C)
    lo = math.sqrt(C * n**0.51 * math.sqrt(p))
    hi = math.sqrt(p / (C * n**2))
    return lo, hi


def setup_satisfying_assumptions(
    n: int = 200,
    m: int = 1000,
    C: float = 1.0,
    eta: float = 0.05,
    n_test: int = 200,
    slack: float = 2.0,
) -> Setup:
    """A Setup for which A1-A6 all hold with the constant C (the smallest such p, up to
    ``slack``).

    p = ceil(slack * C^4 n^5.02) (:func:`required_dimension`); ||mu|| = the geometric
    mean of the interval :func:`mu_norm_range` allows; alpha = 1/(C n p) (A4 with
    equality, the largest step allowed); omega_init = max_omega_init / slack (A5 with
    room). Raises ``ValueError`` when A3 (eta <= 1/C) or A6 (m >= C n^0.02) cannot hold
    for the given eta and m, or when slack < 1.
    """
    n = _check_pos_int("n", n)
    m = _check_pos_int("m", m)
    C = _check_C(C)
    slack = _check_pos_real("slack", slack)
    if slack < 1:
        raise ValueError(f"slack must be >= 1, got {slack}")
    if eta > 1.0 / C:
        raise ValueError(f"eta must be <= 1/C = {1.0 / C} for A3 to hold, got {eta}")
    if m < C * n**0.02:
        raise ValueError(
            f"m must be >= C n^0.02 = {C * n**0.02:.3g} for A6 to hold, got {m}"
        )
    p = int(math.ceil(slack * required_dimension(n, C)))
    lo, hi = mu_norm_range(p, n, C)
    mu_norm = math.sqrt(lo * hi)
    alpha = 1.0 / (C * n * p)
    base = Setup(
        p=p,
        n=n,
        n_test=n_test,
        m=m,
        mu_norm=mu_norm,
        eta=eta,
        omega_init=0.0,
        alpha=alpha,
    )
    return base.replace(omega_init=max_omega_init(base) / slack)


def max_omega_init(setup: Setup) -> float:
    """The largest omega_init allowed by A5: alpha ||mu||^2 / (n m^(3/2) p)."""
    return setup.alpha * setup.mu_norm**2 / (setup.n * setup.m**1.5 * setup.p)


# --------------------------------------------------------------------------------------
# Near-orthogonality of the training points (the paper's Section 3, A2; Corollary 4.2)
# --------------------------------------------------------------------------------------


def pairwise_bounds(p: int, n: int, mu_norm: float, c: float = 3.0) -> dict[str, float]:
    """High-probability bounds on inner products and norms of n i.i.d. points of the XOR
    mixture.

    Write x = nu + z with ||nu|| = ||mu|| and z ~ N(0, I_p). For independent x_i, x_k,
    <x_i, x_k> - <nu_i, nu_k> = <nu_i, z_k> + <z_i, nu_k> + <z_i, z_k> has mean 0 and
    variance 2||mu||^2 + p; it is close to Gaussian when p is large. With the Gaussian
    tail and a union bound over the n^2 / 2 pairs, with probability about 1 - n^(2 -
    c^2/2) every pair satisfies

        |<x_i, x_k>| <= ||mu||^2 + c sqrt((p + 2||mu||^2) ln n)          ("inner")

    while ||x_i||^2 = p + ||mu||^2 + (a centred term of variance 2p + 4||mu||^2), so

        ||x_i||^2 >= p + ||mu||^2 - c sqrt((2p + 4||mu||^2) ln n)      ("norm_sq_low")
        ||x_i||^2 <= p + ||mu||^2 + c sqrt((2p + 4||mu||^2) ln n)      ("norm_sq_high")

    and the cosine similarity of any pair is at most inner / norm_sq_low ("cosine"):
    this is the paper's |<x_i,x_k>| <= ||mu||^2 + O(sqrt(p log n)) with the constant c
    made explicit (c = 3: failure probability about n^-2.5).
    """
    p = _check_pos_int("p", p)
    n = _check_pos_int("n", n)
    mu_norm = _check_pos_real("mu_norm", mu_norm)
    c = _check_pos_real("c", c)
    mu2 = mu_norm**2
    log_n = math.log(max(n, 2))
    inner = mu2 + c * math.sqrt((p + 2 * mu2) * log_n)
    spread = c * math.sqrt((2 * p + 4 * mu2) * log_n)
    low = p + mu2 - spread
    return {
        "inner": inner,
        "norm_sq_low": low,
        "norm_sq_high": p + mu2 + spread,
        "cosine": inner / low if low > 0 else math.inf,
    }


def cosine_similarities(X: np.ndarray) -> np.ndarray:
    """Cosine similarity of every pair of rows of X [k, d] (i < j), as a flat array
    of k (k-1)/2 values."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X must have shape [k, d] with k >= 2, got {X.shape}")
    G = X @ X.T
    norms = np.sqrt(np.diag(G))
    C = G / np.outer(norms, norms)
    return C[np.triu_indices(X.shape[0], k=1)]


# --------------------------------------------------------------------------------------
# One step of gradient descent (the paper's Section 4.2.1: Lemma 4.6, Lemma A.10)
# --------------------------------------------------------------------------------------


def _tensors(problem: Problem, dtype: torch.dtype = torch.float64):
    X = torch.as_tensor(problem.X, dtype=dtype)
    W0 = torch.as_tensor(problem.W0, dtype=dtype)
    a = torch.as_tensor(problem.a, dtype=dtype)
    y = torch.as_tensor(problem.y, dtype=dtype)
    return X, W0, a, y


def lemma_a10_bound(setup: Setup) -> float:
    """Lemma A.10's bound on the one-step approximation: ||W_T^(1) - W^(1)||_F <=
    alpha omega_init p^(3/2) sqrt(3m) / sqrt(n)."""
    return (
        setup.alpha
        * setup.omega_init
        * setup.p**1.5
        * math.sqrt(3 * setup.m)
        / math.sqrt(setup.n)
    )


def one_step_weights(problem: Problem) -> torch.Tensor:
    """W^(1): one step of the paper's update (2.2) from W^(0), in float64. Shape [m,
    d]."""
    X, W0, a, y = _tensors(problem)
    return gd_step(W0, a, X[: problem.setup.n], y, problem.setup.alpha)


def one_step_approximation(problem: Problem, include_init: bool = True) -> torch.Tensor:
    """W_T^(1): the first step with every g_i^(0) replaced by 1/2 (the initial outputs
    are tiny). Shape [m, d].

        w_{T,j}^(1) = w_j^(0) + (alpha a_j / 2n) sum_i 1[<w_j^(0), x_i> > 0] y_i x_i

    With ``include_init=False`` the w_j^(0) term is dropped too: the display of Lemma
    4.6, w_j^(1) ~ (alpha a_j / 2n) sum_i 1[<w_j^(0), x_i> > 0] y_i x_i, valid when one
    step dwarfs the initialization (A5).
    """
    X, W0, a, y = _tensors(problem)
    Xtr = X[: problem.setup.n]
    active = (W0 @ Xtr.T > 0).to(W0.dtype)  # [m, n]
    step = (
        (problem.setup.alpha / (2 * problem.setup.n))
        * a.unsqueeze(1)
        * ((active * y) @ Xtr)
    )
    return W0 + step if include_init else step


def one_step_error(problem: Problem) -> float:
    """||W^(1) - W_T^(1)||_F computed without cancellation.

    W^(1) - W_T^(1) = (alpha / n) diag(a) (1[W^(0) X^T > 0] * ((g^(0) - 1/2) y)^T) X,
    with g_i - 1/2 = sigmoid(-z_i) - 1/2 = -tanh(z_i / 2) / 2 evaluated directly (z_i =
    y_i f(x_i; W^(0))), so the tiny difference is not lost to rounding as it would be in
    W^(1) - W_T^(1) computed by subtraction. The difference lies in the span of the
    training points, so the norm is exact for the reduced sampler too.
    """
    X, W0, a, y = _tensors(problem)
    n, alpha = problem.setup.n, problem.setup.alpha
    Xtr = X[:n]
    H = W0 @ Xtr.T
    z = y * (torch.relu(H).T @ a)
    dev = -0.5 * torch.tanh(z / 2)  # g_i - 1/2
    coef = (alpha / n) * a.unsqueeze(1) * ((H > 0).to(X.dtype) * (dev * y))  # [m, n]
    G = Xtr @ Xtr.T
    return float(torch.sqrt(torch.clamp(((coef @ G) * coef).sum(), min=0.0)))


def frobenius_norm(problem: Problem, W: torch.Tensor) -> float:
    """The norm ||W||_F of weights W = W^(0) + (something in the data's coordinates),
    including the part of W^(0) that the reduced sampler keeps only as a norm
    (``problem.w0_residual_sq``)."""
    W = torch.as_tensor(W, dtype=torch.float64)
    return float(
        math.sqrt(float((W * W).sum()) + float(np.sum(problem.w0_residual_sq)))
    )


def linear_limit_direction(problem: Problem) -> np.ndarray:
    """v = sum_i y_i x_i over the training points, shape [d]: the m -> infinity one-step
    network is
    f(x; W^(1)) -> (alpha / 8n) <v, x> (the paper's eq. 4.3, from Lemma 4.6)."""
    return problem.y.astype(np.float64) @ problem.X_train


def linear_limit_outputs(problem: Problem) -> np.ndarray:
    """(alpha / 8n) <sum_i y_i x_i, x> for every point of the problem (training rows
    first), shape [N]."""
    v = linear_limit_direction(problem)
    return (problem.setup.alpha / (8 * problem.setup.n)) * (problem.X @ v)


def one_step_outputs(problem: Problem, approximation: bool = False) -> np.ndarray:
    """f(x; W^(1)) for every point of the problem (training rows first), shape [N], in
    float64.

    With ``approximation=True``, f(x; W_T^(1)) with :func:`one_step_approximation`
    instead.
    """
    W = one_step_approximation(problem) if approximation else one_step_weights(problem)
    X = torch.as_tensor(problem.X, dtype=torch.float64)
    a = torch.as_tensor(problem.a, dtype=torch.float64)
    return network_output(W, a, X).numpy()


def initial_g_deviation(problem: Problem) -> float:
    """max_i |g_i^(0) - 1/2| over the training points (g_i = -l'(y_i f(x_i; W^(0))))."""
    X, W0, a, y = _tensors(problem)
    Xtr = X[: problem.setup.n]
    z = y * network_output(W0, a, Xtr)
    return float((loss_derivative_weight(z) - 0.5).abs().max())


@dataclass(frozen=True)
class OneStep:
    """What one gradient step does to one problem (training rows of the arrays first,
    then test rows).

    Attributes:
        f: [N] f(x; W^(1)), the network after one exact GD step (float64).
        f_lin: [N] the linear limit (alpha / 8n) <sum_i y_i x_i, x>.
        train_acc, test_acc: accuracy of sgn f on the noisy training labels / clean test
            labels.
        lin_train_acc, lin_test_acc: the same for the linear limit.
        flipped_fit: fraction of the flipped training labels that sgn f reproduces (NaN
            if none was flipped).
        agree_train, agree_test: fraction of points where sgn f = sgn f_lin.
        slope: least-squares slope of f against <sum_i y_i x_i, x> over all N points
            (with an intercept); the limit predicts alpha / 8n.
        cluster_acc: [4] clean test accuracy of sgn f per cluster (+mu1, -mu1, +mu2,
            -mu2).
        cluster_acc_lin: [4] population clean accuracy of the linear limit per cluster,
            in closed form Phi(ytilde_nu <v, nu> / ||v||) with v = sum_i y_i x_i;
            opposite clusters sum to 1.
        e: [4] e_nu of this training set.
    """

    f: np.ndarray
    f_lin: np.ndarray
    train_acc: float
    test_acc: float
    lin_train_acc: float
    lin_test_acc: float
    flipped_fit: float
    agree_train: float
    agree_test: float
    slope: float
    cluster_acc: np.ndarray
    cluster_acc_lin: np.ndarray
    e: np.ndarray


def one_step(problem: Problem) -> OneStep:
    """Run one exact GD step on ``problem`` and compare the network with its linear
    limit (:class:`OneStep`)."""
    from scipy.special import ndtr

    n, mu_norm = problem.setup.n, problem.setup.mu_norm
    f = one_step_outputs(problem)
    v = linear_limit_direction(problem)
    score = problem.X @ v
    f_lin = (problem.setup.alpha / (8 * n)) * score
    y_tr, y_te = problem.y, problem.y_test
    fit = np.sign(f[:n]) == y_tr
    A = np.stack([score, np.ones_like(score)], axis=1)
    slope = float(np.linalg.lstsq(A, f, rcond=None)[0][0])
    # <v, nu> for the four clusters
    proj_v = mu_norm * np.array([v[0], -v[0], v[1], -v[1]])
    acc_lin = ndtr(CLUSTER_LABEL * proj_v / np.linalg.norm(v))
    return OneStep(
        f=f,
        f_lin=f_lin,
        train_acc=float(fit.mean()),
        test_acc=float(np.mean(np.sign(f[n:]) == y_te)),
        lin_train_acc=float(np.mean(np.sign(f_lin[:n]) == y_tr)),
        lin_test_acc=float(np.mean(np.sign(f_lin[n:]) == y_te)),
        flipped_fit=float(fit[problem.flipped].mean())
        if problem.flipped.any()
        else float("nan"),
        agree_train=float(np.mean(np.sign(f[:n]) == np.sign(f_lin[:n]))),
        agree_test=float(np.mean(np.sign(f[n:]) == np.sign(f_lin[n:]))),
        slope=slope,
        cluster_acc=per_cluster_accuracy(f[n:], y_te, problem.cluster[n:]),
        cluster_acc_lin=acc_lin,
        e=e_nu(problem.cluster, problem.flipped),
    )


def with_omega_init(problem: Problem, omega_init: float) -> Problem:
    """The same problem (same data, same second layer, same direction of every w_j^(0))
    with the
    initialization rescaled to ``omega_init``: W^(0) -> W^(0) * omega_init /
    omega_init_old.

    For a given seed both samplers draw W^(0) as omega_init times standard normals after
    the data, so this is exactly the problem the sampler returns for
    ``setup.replace(omega_init=omega_init)`` and the same seed.
    """
    old = problem.setup.omega_init
    if not old > 0:
        raise ValueError("the problem's omega_init must be > 0 to be rescaled")
    omega_init = _check_pos_real("omega_init", omega_init)
    k = omega_init / old
    return replace(
        problem,
        setup=problem.setup.replace(omega_init=omega_init),
        W0=problem.W0 * k,
        w0_residual_sq=problem.w0_residual_sq * k**2,
    )


# --------------------------------------------------------------------------------------
# Per-cluster counts (the paper's Section 4): c_nu, n_nu, e_nu
# --------------------------------------------------------------------------------------


def cluster_counts(
    cluster: np.ndarray, flipped: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """c_nu = |C cap I_nu| and n_nu = |N cap I_nu|: clean and flipped training points
    per cluster.

    Args:
        cluster: [..., n] or [..., N] cluster index of each point; only the first n (=
            flipped's last dimension) are used, the training points.
        flipped: [..., n] bool, whether each training label was flipped
            (``Problem.flipped`` or ``Trajectory.y != Trajectory.y_clean[..., :n]``).

    Returns:
        (c, noisy), each [..., 4] integer counts in the cluster order +mu1, -mu1, +mu2,
        -mu2.
    """
    flipped = np.asarray(flipped, dtype=bool)
    cluster = np.asarray(cluster)
    n = flipped.shape[-1]
    if cluster.shape[-1] < n or cluster.shape[:-1] != flipped.shape[:-1]:
        raise ValueError(
            f"cluster must have shape [..., >= n] matching flipped {flipped.shape}, "
            "got "
            f"{cluster.shape}"
        )
    cl = cluster[..., :n]
    if cl.size and (cl.min() < 0 or cl.max() > 3):
        raise ValueError("cluster must hold indices in 0..3")
    onehot = cl[..., None] == np.arange(4)  # [..., n, 4]
    noisy = (onehot & flipped[..., None]).sum(-2)
    clean = (onehot & ~flipped[..., None]).sum(-2)
    return clean.astype(np.int64), noisy.astype(np.int64)


def e_nu(cluster: np.ndarray, flipped: np.ndarray) -> np.ndarray:
    """e_nu = (c_nu - n_nu - c_{-nu} + n_{-nu}) / 2 for each cluster nu, shape [..., 4];
    e_{-nu} = -e_nu.

    For x near cluster nu, <sum_i y_i x_i, x> ~ ||mu||^2 ytilde_nu (c_nu - n_nu -
    c_{-nu} + n_{-nu}), so the one-step linear classifier gives ytilde_nu f(x; W^(1)) ~
    (alpha ||mu||^2 / 4n) e_nu: the cluster is classified correctly when e_nu > 0
    (ytilde_nu the clean label of nu).
    """
    c, noisy = cluster_counts(cluster, flipped)
    d = c - noisy
    return (d - d[..., OPPOSITE]) / 2.0


def per_cluster_accuracy(
    f: np.ndarray, y_clean: np.ndarray, cluster: np.ndarray
) -> np.ndarray:
    """Accuracy sign f = y_clean among the points of each cluster, shape [..., 4] (NaN
    for an empty cluster).

    f, y_clean, cluster: [..., k] (e.g. ``Trajectory.f_test[:, step]`` with ``y_clean[:,
    n:]``, ``cluster[:, n:]``).
    """
    f, y_clean, cluster = np.asarray(f), np.asarray(y_clean), np.asarray(cluster)
    if not (f.shape == y_clean.shape == cluster.shape):
        raise ValueError(
            f"f, y_clean and cluster must have the same shape, got {f.shape}, "
            f"{y_clean.shape}, "
            f"{cluster.shape}"
        )
    correct = (f * y_clean > 0)[..., None]
    onehot = cluster[..., None] == np.arange(4)
    count = onehot.sum(-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            count > 0, (correct & onehot).sum(-2) / np.maximum(count, 1), np.nan
        )
