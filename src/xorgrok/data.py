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

**Random streams.** Each random object has its own generator, spawned from
``numpy.random.SeedSequence(seed)`` (see ``_streams``): the clusters and plane
coordinates of the points, their noise orthogonal to the plane, the label flips, the
first layer's plane coordinates, the rest of the first layer, the reduced sampler's
residual norms, the second layer. Consequences (tested in ``tests/test_data.py``):

* one seed fixes one problem whatever else runs beside it;
* the points, clusters and flips do not depend on :math:`m` or
  :math:`\omega_{\text{init}}`; the points not on :math:`\eta`;
* a wider network holds the narrower one's neurons: ``replace(m=2 * m)`` keeps the
  first :math:`m` rows of :math:`W^{(0)}` and the first :math:`m` signs of :math:`a`
  (whose entries are :math:`\pm 1/\sqrt{m}` for each network's own :math:`m`);
* ``replace(omega_init=c * omega_init)`` multiplies :math:`W^{(0)}` by :math:`c` (up to
  one rounding);
* raising :math:`\eta` only adds flips (a label is flipped where its uniform draw is
  below :math:`\eta`);
* both samplers share the clusters, flips, second layer and every coordinate along
  :math:`\mu_1, \mu_2` (points and weights), so the plane pictures of a seed are the
  same for every engine.

Gaussian draws use numpy's float32 ziggurat (returned exactly in float64): 1.5x faster
than its float64 draws, and, unlike torch's float32 ``randn`` (whose values depend on
the CPU's vector instruction set), the same numbers on every machine.
"""

from __future__ import annotations

import functools
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


_STREAMS = ("plane", "noise", "flips", "w_plane", "w_perp", "w_residual", "a")


def _streams(seed: int) -> dict[str, np.random.Generator]:
    r"""One independent generator per random object, spawned from
    ``SeedSequence(seed)``.

    Stream (in spawn order) -> what it draws:

    * ``plane``: the cluster of every point, then the points' noise along
      :math:`\mu_1, \mu_2` ([N, 2]);
    * ``noise``: the points' noise orthogonal to :math:`\mu_1, \mu_2` (dense:
      [N, p - 2]; reduced: the Bartlett factor's :math:`N (N - 1) / 2` entries below the
      diagonal, row by row, then its diagonal);
    * ``flips``: one uniform per training point (flipped where it is below
      :math:`\eta`);
    * ``w_plane``: the first layer's coordinates along :math:`\mu_1, \mu_2` ([m, 2]);
    * ``w_perp``: the first layer orthogonal to :math:`\mu_1, \mu_2` (dense:
      [m, p - 2]; reduced: [m, N]);
    * ``w_residual``: the reduced sampler's residual :math:`\chi^2` draws ([m]);
    * ``a``: one uniform per neuron (:math:`a_j > 0` where it is below 1/2).
    """
    children = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    return {
        name: np.random.Generator(np.random.PCG64(child))
        for name, child in zip(_STREAMS, children)
    }


def _normal(rng: np.random.Generator, shape: tuple[int, ...] | int) -> np.ndarray:
    """Standard normals drawn in float32 (numpy's ziggurat), exactly as float64."""
    return rng.standard_normal(shape, dtype=np.float32).astype(np.float64)


@dataclass(frozen=True)
class _Shared:
    r"""Shared by both samplers: clusters, flips, :math:`a`, every coordinate along
    :math:`\mu_1, \mu_2`."""

    cluster: np.ndarray  # [N]
    X12: np.ndarray  # [N, 2]
    flipped: np.ndarray  # [n]
    W12: np.ndarray  # [m, 2]
    a: np.ndarray  # [m]


def _draw_shared(setup: Setup, rngs: dict[str, np.random.Generator]) -> _Shared:
    N, m = setup.n_total, setup.m
    cluster = rngs["plane"].integers(0, 4, size=N)
    X12 = cluster_means(setup.mu_norm)[cluster] + _normal(rngs["plane"], (N, 2))
    flipped = rngs["flips"].random(setup.n) < setup.eta
    W12 = setup.omega_init * _normal(rngs["w_plane"], (m, 2))
    a = np.where(rngs["a"].random(m) < 0.5, 1.0, -1.0) / math.sqrt(m)
    return _Shared(cluster, X12, flipped, W12, a)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)


def _problem(
    setup: Setup,
    seed: int,
    sh: _Shared,
    X: np.ndarray,
    W0: np.ndarray,
    residual_sq: np.ndarray,
) -> Problem:
    y_clean = CLUSTER_LABEL[sh.cluster]
    return Problem(
        setup, seed, X, W0, sh.a, sh.cluster, y_clean, sh.flipped, residual_sq
    )


def sample_dense(setup: Setup, seed: int) -> Problem:
    r"""Draw the points in :math:`\mathbb{R}^p` and
    :math:`W^{(0)} \in \mathbb{R}^{m \times p}` literally (the paper's Definition 2.1
    and Section 2): :math:`x = (\text{cluster mean}) + z` with
    :math:`z \sim N(0, I_p)`, and :math:`w_j \sim N(0, \omega_{\text{init}}^2 I_p)`."""
    seed = _check_seed(seed)
    rngs = _streams(seed)
    sh = _draw_shared(setup, rngs)
    Z_perp = _normal(rngs["noise"], (setup.n_total, setup.p - 2))
    X = np.concatenate([sh.X12, Z_perp], axis=1)
    W_perp = setup.omega_init * _normal(rngs["w_perp"], (setup.m, setup.p - 2))
    W0 = np.concatenate([sh.W12, W_perp], axis=1)
    return _problem(setup, seed, sh, X, W0, np.zeros(setup.m))


@functools.lru_cache(maxsize=8)
def strict_lower(N: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Indices of the entries below the diagonal of an :math:`N \times N` matrix, row
    by row."""
    return np.tril_indices(N, k=-1)


@dataclass(frozen=True)
class ReducedDraws:
    r"""The random draws of :func:`sample_reduced` for one seed, before assembly.

    ``shared``: what both samplers draw alike (clusters, flips, :math:`a`, every
    coordinate along :math:`\mu_1, \mu_2`); ``tri`` [N (N - 1) / 2] (float32): the
    Bartlett factor :math:`T`'s entries below the diagonal, row by row; ``diagonal``
    [N]: its diagonal :math:`T_{ii} = \sqrt{\chi^2_{p-2-i}}`; ``U`` [m, N] (float32):
    the standard normals of :math:`W_\perp Q` (before the factor
    :math:`\omega_{\text{init}}`); ``residual`` [m]: the :math:`\chi^2_{p-2-N}` draws
    (before the factor :math:`\omega_{\text{init}}^2`).
    """

    shared: _Shared
    tri: np.ndarray
    diagonal: np.ndarray
    U: np.ndarray
    residual: np.ndarray


def reduced_draws(setup: Setup, seed: int) -> ReducedDraws:
    """The draws :func:`sample_reduced` assembles (for :math:`p - 2 > N`), same streams.

    The span engine builds its batches from these directly, in its own dtype and with
    batched products per chunk of seeds, instead of going through float64 problems.
    """
    N, m, k = setup.n_total, setup.m, setup.p - 2
    if k <= N:
        raise ValueError(f"reduced draws need p - 2 > n + n_test, got p = {setup.p}")
    rngs = _streams(_check_seed(seed))
    sh = _draw_shared(setup, rngs)
    tri = rngs["noise"].standard_normal(N * (N - 1) // 2, dtype=np.float32)
    diagonal = np.sqrt(rngs["noise"].chisquare(k - np.arange(N)))
    U = rngs["w_perp"].standard_normal((m, N), dtype=np.float32)
    residual = rngs["w_residual"].chisquare(k - N, size=m)
    return ReducedDraws(sh, tri, diagonal, U, residual)


def sample_reduced(setup: Setup, seed: int) -> Problem:
    r"""Draw the inner products of :func:`sample_dense`, exactly in distribution, in
    :math:`2 + \min(p - 2, N)` coordinates.

    See the module docstring for the Bartlett construction. Cost and memory are
    :math:`O(N^2 + m N)`, whatever :math:`p`. The clusters, flips, second layer and
    every coordinate along :math:`\mu_1, \mu_2` (points and weights) are
    :func:`sample_dense`'s own.
    """
    N, m = setup.n_total, setup.m
    if setup.p - 2 <= N:
        return sample_dense(setup, seed)
    d = reduced_draws(setup, seed)
    X = np.zeros((N, 2 + N))  # [X12 | T]
    X[:, :2] = d.shared.X12
    rows, cols = strict_lower(N)
    X[rows, cols + 2] = d.tri
    X[np.arange(N), np.arange(2, N + 2)] = d.diagonal
    W0 = np.empty((m, 2 + N))  # [W12 | U]
    W0[:, :2] = d.shared.W12
    np.multiply(setup.omega_init, d.U, out=W0[:, 2:], dtype=np.float64)
    residual_sq = setup.omega_init**2 * d.residual
    return _problem(setup, int(seed), d.shared, X, W0, residual_sq)
