r"""Sampling the XOR cluster data and the network's initialization (the paper's Section
2, Definition 2.1).

Both samplers return a :class:`Problem`: the :math:`N = n + n_{\text{test}}` points and
the :math:`m` initial weight vectors written in coordinates whose first two axes are
:math:`\mu_1/\|\mu\|` and :math:`\mu_2/\|\mu\|` (by rotation invariance,
:math:`\mu_1 = \|\mu\| e_1` and :math:`\mu_2 = \|\mu\| e_2` is a valid choice).

* :func:`sample_dense` draws the points in :math:`\mathbb{R}^p` literally:
  :math:`x = (\text{cluster mean}) + z`, :math:`z \sim N(0, I_p)`.
* :func:`sample_reduced` draws the same *inner products* exactly in distribution, at a
  cost that does not depend on :math:`p`. Write :math:`z = (z_{12}, z_\perp)` with
  :math:`z_\perp \in \mathbb{R}^{p-2}`. Stack the :math:`N` noise vectors as the rows
  of :math:`Z_\perp` (:math:`N \times (p-2)`). When :math:`p - 2 > N`, the QR
  decomposition :math:`Z_\perp^\top = Q T^\top` has
  :math:`Q \in \mathbb{R}^{(p-2) \times N}` with orthonormal columns and :math:`T`
  lower-triangular with the Bartlett distribution:

  .. math::

     T_{ii} = \sqrt{\chi^2_{p-2-i}} \quad (i = 0, \dots, N-1), \qquad
     T_{ik} \sim N(0, 1) \quad (k < i),

  all independent, so :math:`Z_\perp Z_\perp^\top = T T^\top` is
  :math:`\operatorname{Wishart}(p - 2, I_N)`. A weight vector's part
  :math:`w_{j,\perp} \sim N(0, \omega_{\text{init}}^2 I_{p-2})` is independent of
  :math:`Q`, so :math:`Q^\top w_{j,\perp} \sim N(0, \omega_{\text{init}}^2 I_N)` and

  .. math::

     \langle w_{j,\perp}, z_{i,\perp}\rangle = (U T^\top)_{ji}, \qquad
     U = W_\perp Q,

  where :math:`U` has i.i.d. :math:`N(0, \omega_{\text{init}}^2)` entries. The part of
  :math:`w_{j,\perp}` orthogonal to :math:`\operatorname{range}(Q)`, whose squared norm
  is :math:`\omega_{\text{init}}^2 \chi^2_{p-2-N}`, never meets the data; only its norm
  is kept. Every point then lives in :math:`\mathbb{R}^{2+N}`, every weight too, with
  the inner products of the dense model. When :math:`p - 2 \le N` there is nothing to
  gain: :func:`sample_reduced` returns :func:`sample_dense`'s problem.

Every random quantity comes from ``numpy.random.default_rng(seed)`` in a fixed order, so
one seed fixes one problem whatever else runs beside it. The first draws (clusters,
label flips, second layer) are the same for both samplers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .config import Setup

__all__ = [
    "Problem",
    "sample_dense",
    "sample_reduced",
    "CLUSTER_NAMES",
    "CLUSTER_LABEL",
    "CLUSTER_DIRECTIONS",
    "OPPOSITE",
    "cluster_means",
]

#: Cluster index -> name (:math:`+\mu_1, -\mu_1, +\mu_2, -\mu_2`). Clusters 0, 1 have
#: clean label +1; clusters 2, 3 have clean label -1.
CLUSTER_NAMES = ("+mu1", "-mu1", "+mu2", "-mu2")
#: Cluster index -> clean label.
CLUSTER_LABEL = np.array([1, 1, -1, -1], dtype=np.int64)
#: Cluster index -> its mean divided by :math:`\|\mu\|`, in the
#: :math:`(\mu_1/\|\mu\|, \mu_2/\|\mu\|)` plane, [4, 2]
#: (:math:`+\mu_1, -\mu_1, +\mu_2, -\mu_2`). The one place that writes the
#: :math:`\pm\mu` sign pattern.
CLUSTER_DIRECTIONS = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
#: Cluster index :math:`\nu` -> index of :math:`-\nu`
#: (:math:`+\mu_1 \leftrightarrow -\mu_1`, :math:`+\mu_2 \leftrightarrow -\mu_2`).
OPPOSITE = np.array([1, 0, 3, 2], dtype=np.int64)


def cluster_means(mu_norm: float) -> np.ndarray:
    r"""The four cluster means in the :math:`(\mu_1/\|\mu\|, \mu_2/\|\mu\|)` plane,
    shape [4, 2]."""
    return mu_norm * CLUSTER_DIRECTIONS


@dataclass(frozen=True, eq=False)
class Problem:
    r"""One training problem: data, labels and initialization, for one seed.

    Shapes: :math:`N = n + n_{\text{test}}` points, :math:`d` coordinates
    (:math:`p` for the dense sampler, :math:`2 + \min(p - 2, N)` for the reduced one).
    Rows ``0..n-1`` of ``X`` are the training points, the rest the test points.

    Attributes:
        setup: the configuration.
        seed: the seed that produced it.
        X: [N, d] points; columns 0 and 1 are the coordinates along
            :math:`\mu_1/\|\mu\|` and :math:`\mu_2/\|\mu\|`.
        W0: [m, d] initial first-layer weights in the same coordinates.
        a: [m] fixed second layer, each entry :math:`\pm 1/\sqrt{m}`.
        cluster: [N] cluster index (0: :math:`+\mu_1`, 1: :math:`-\mu_1`,
            2: :math:`+\mu_2`, 3: :math:`-\mu_2`).
        y_clean: [N] clean labels (+1 for clusters 0, 1; -1 for clusters 2, 3).
        flipped: [n] whether each training label was flipped.
        w0_residual_sq: [m] squared norm of the part of each :math:`w_j^{(0)}` outside
            the :math:`d` coordinates (zero for the dense sampler); it never meets the
            data but enters :math:`\|w_j\|`.
    """

    setup: Setup
    seed: int
    X: np.ndarray
    W0: np.ndarray
    a: np.ndarray
    cluster: np.ndarray
    y_clean: np.ndarray
    flipped: np.ndarray
    w0_residual_sq: np.ndarray

    @property
    def y(self) -> np.ndarray:
        """[n] noisy training labels: the clean label, flipped where ``flipped``."""
        n = self.setup.n
        return np.where(self.flipped, -self.y_clean[:n], self.y_clean[:n])

    @property
    def X_train(self) -> np.ndarray:
        """[n, d] training points."""
        return self.X[: self.setup.n]

    @property
    def X_test(self) -> np.ndarray:
        """[n_test, d] test points."""
        return self.X[self.setup.n :]

    @property
    def y_test(self) -> np.ndarray:
        """[n_test] clean test labels."""
        return self.y_clean[self.setup.n :]

    @property
    def plane(self) -> np.ndarray:
        r"""[N, 2] the points projected on :math:`\operatorname{span}(\mu_1, \mu_2)`,
        in the :math:`(\mu_1/\|\mu\|, \mu_2/\|\mu\|)` basis."""
        return self.X[:, :2]


def _draw_labels_and_layer(setup: Setup, rng: np.random.Generator):
    cluster = rng.integers(0, 4, size=setup.n_total)
    flipped = rng.random(setup.n) < setup.eta
    a = rng.choice(np.array([-1.0, 1.0]), size=setup.m) / math.sqrt(setup.m)
    means = cluster_means(setup.mu_norm)[cluster]
    return cluster, flipped, a, means


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def sample_dense(setup: Setup, seed: int) -> Problem:
    r"""Draw the points in :math:`\mathbb{R}^p` and
    :math:`W^{(0)} \in \mathbb{R}^{m \times p}` literally (the paper's Definition 2.1):
    :math:`x = (\text{cluster mean}) + z` with :math:`z \sim N(0, I_p)`, and
    :math:`w_j \sim N(0, \omega_{\text{init}}^2 I_p)`."""
    seed = _check_seed(seed)
    rng = np.random.default_rng(seed)
    cluster, flipped, a, means = _draw_labels_and_layer(setup, rng)
    X = rng.standard_normal((setup.n_total, setup.p))
    X[:, :2] += means
    W0 = setup.omega_init * rng.standard_normal((setup.m, setup.p))
    return Problem(
        setup,
        seed,
        X,
        W0,
        a,
        cluster,
        CLUSTER_LABEL[cluster],
        flipped,
        np.zeros(setup.m),
    )


def sample_reduced(setup: Setup, seed: int) -> Problem:
    r"""Draw the inner products of :func:`sample_dense`, exactly in distribution, in
    :math:`2 + \min(p - 2, N)` coordinates.

    See the module docstring for the Bartlett construction. Cost and memory are
    :math:`O(N^2 + m N)`, whatever :math:`p`.
    """
    N, m, k = setup.n_total, setup.m, setup.p - 2
    if k <= N:
        return sample_dense(setup, seed)
    seed = _check_seed(seed)
    rng = np.random.default_rng(seed)
    cluster, flipped, a, means = _draw_labels_and_layer(setup, rng)
    X12 = means + rng.standard_normal((N, 2))
    W12 = setup.omega_init * rng.standard_normal((m, 2))
    T = np.tril(rng.standard_normal((N, N)), k=-1)
    T[np.diag_indices(N)] = np.sqrt(rng.chisquare(k - np.arange(N)))
    residual_sq = setup.omega_init**2 * rng.chisquare(k - N, size=m)
    U = setup.omega_init * rng.standard_normal((m, N))
    X = np.concatenate([X12, T], axis=1)
    W0 = np.concatenate([W12, U], axis=1)
    return Problem(
        setup, seed, X, W0, a, cluster, CLUSTER_LABEL[cluster], flipped, residual_sq
    )
