"""The public entry point: :func:`simulate` trains one network per seed and returns a
:class:`Trajectory`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import torch

from .config import Setup
from .data import Problem, sample_dense, sample_reduced
from .engines import Want, check_dense_fits, run_dense, run_span
from .resources import check_resources
from .schedule import Recorded
from .validation import (
    ENGINES,
    Progress,
    check_dtype,
    check_engine,
    check_record,
    check_seeds,
)

__all__ = ["simulate", "Trajectory", "ENGINES", "DEFAULT_DTYPE", "sample"]

#: Default floating-point type of the fast engines (the chapter on the engines shows the
#: evidence).
DEFAULT_DTYPE = torch.float32


@dataclass(frozen=True, eq=False)
class Trajectory(Recorded):
    r"""What :func:`simulate` recorded, for :math:`S` seeds at the :math:`T` recorded
    steps ``t``.

    Always present:

    - ``t`` [T]: the recorded steps;
    - ``train_acc``, ``test_acc``, ``loss`` [S, T]: train accuracy against the noisy
      training labels, test accuracy against clean labels, and the empirical risk
      :math:`L(W^{(t)})`;
    - ``a`` [S, m]: the second layer (its sign tells positive from negative neurons);
    - ``plane`` [S, N, 2]: every point's coordinates along :math:`\mu_1/\|\mu\|`,
      :math:`\mu_2/\|\mu\|` (rows ``0..n-1``: training);
    - ``y`` [S, n] noisy training labels, ``y_clean`` [S, N] clean labels, ``cluster``
      [S, N] cluster index.

    With ``neurons=True``: ``proj`` [S, T, m, 2]
    :math:`= (\langle w_j^{(t)}, \mu_1\rangle, \langle w_j^{(t)}, \mu_2\rangle)` and
    ``w_norm`` [S, T, m] :math:`= \|w_j^{(t)}\|`. With ``outputs=True``: ``f_train``
    [S, T, n] and ``f_test`` [S, T, n_test], the outputs :math:`f(x_i; W^{(t)})`. With
    ``preacts=True``: ``preacts`` [S, T, m, n] :math:`= \langle w_j^{(t)}, x_i\rangle`
    on the training points. From :func:`xorgrok.variants.train_variants`: ``a_t``
    [S, T, m], the second layer at each recorded step (``a`` is its initial value).
    """

    setup: Setup
    seeds: np.ndarray
    engine: str
    dtype: str
    t: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    loss: np.ndarray
    a: np.ndarray
    plane: np.ndarray
    y: np.ndarray
    y_clean: np.ndarray
    cluster: np.ndarray
    proj: np.ndarray | None = None
    w_norm: np.ndarray | None = None
    f_train: np.ndarray | None = None
    f_test: np.ndarray | None = None
    preacts: np.ndarray | None = None
    a_t: np.ndarray | None = None

    def quantiles(self, name: str, q: Iterable[float] = (0.2, 0.5, 0.8)) -> np.ndarray:
        """Quantiles over seeds of a [S, T] field, shape [len(q), T]."""
        return np.quantile(getattr(self, name), list(q), axis=0)


def sample(setup: Setup, seed: int, engine: str = "auto") -> Problem:
    """The problem (data and initialization) that :func:`simulate` trains for this
    seed and engine."""
    return (sample_reduced if check_engine(engine) == "reduced" else sample_dense)(
        setup, seed
    )


def simulate(
    setup: Setup,
    steps: int,
    seeds: Iterable[int],
    *,
    record: Iterable[int] | None = None,
    engine: str = "auto",
    dtype: torch.dtype | None = None,
    progress: Progress = None,
    device: str | torch.device = "cpu",
    neurons: bool = False,
    outputs: bool = False,
    preacts: bool = False,
) -> Trajectory:
    """Train one network per seed by full-batch gradient descent for ``steps`` steps.

    Args:
        setup: the configuration.
        steps: number of GD steps (>= 0).
        seeds: distinct non-negative integers; each fixes its own data and
            initialization.
        record: the steps to record (default: every step 0..steps). Test outputs, neuron
            statistics and the like are only computed at these steps.
        engine: ``"dense"`` (explicit weights, the reference), ``"span"`` (coefficients
            in the span of the training data: the same problem and the same numbers as
            dense, :math:`O(m n^2)` a step), ``"reduced"`` (the span engine on the
            dimension-free sampler: exact in distribution, cost independent of
            :math:`p`) or
            ``"auto"`` (``"reduced"``: everything a Trajectory reports is exact in
            distribution with it).
        dtype: torch floating type; default float64 for ``"dense"``,
            :data:`DEFAULT_DTYPE` otherwise.
        device: any torch device.
        neurons, outputs, preacts: also record per-neuron projections and norms, network
            outputs, pre-activations (see :class:`Trajectory`).
        progress: called with the number of seeds just finished, as they finish
            (:data:`xorgrok.validation.Progress`).
    """
    if not isinstance(setup, Setup):
        raise ValueError(f"setup must be an xorgrok.Setup, got {type(setup).__name__}")
    record_steps = check_record(record, steps)
    seeds = check_seeds(seeds)
    engine = check_engine(engine)
    explicit = dtype is not None
    dtype = check_dtype(dtype, torch.float64 if engine == "dense" else DEFAULT_DTYPE)
    device = torch.device(device)
    want = Want(neurons=neurons, outputs=outputs, preacts=preacts)
    # the dtype's range and the memory, before anything is allocated
    S, T = len(seeds), len(record_steps)
    dtype = check_resources(setup, engine, steps, S, T, want, dtype, device, explicit)
    if engine in ("dense", "span"):
        # MemoryError pointing to the fast engines
        check_dense_fits(setup, engine, dtype, device)
    make = sample_reduced if engine == "reduced" else sample_dense
    run = run_dense if engine == "dense" else run_span
    rec = run(
        setup,
        seeds,
        lambda seed: make(setup, seed),
        steps,
        record_steps,
        want,
        dtype,
        device,
        progress,
    )
    return Trajectory(
        setup=setup,
        seeds=np.asarray(seeds),
        engine=engine,
        dtype=str(dtype).removeprefix("torch."),
        t=record_steps,
        train_acc=rec.train_acc,
        test_acc=rec.test_acc,
        loss=rec.loss,
        a=rec.a,
        plane=rec.plane,
        y=rec.y,
        y_clean=rec.y_clean,
        cluster=rec.cluster,
        proj=rec.proj,
        w_norm=rec.w_norm,
        f_train=rec.f_train,
        f_test=rec.f_test,
        preacts=rec.preacts,
    )
