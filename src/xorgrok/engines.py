"""Gradient-descent engines: the same dynamics, computed three ways.

* ``dense``: the reference. Explicit weights W in R^{m x d}, the paper's update (2.2) applied literally
  by :func:`xorgrok.model.gd_step`, one seed at a time.
* ``span``: gradient descent never leaves W^(0) + span(training points), so
  W^(t) = W^(0) + C^(t) X_train with C in R^{m x n}. With the Gram matrix G = X_train X_train^T the
  training pre-activations are H^(t) = W^(0) X_train^T + C^(t) G and the update (2.2) becomes
  C^(t+1) = C^(t) + (alpha / n) diag(a) (1[H^(t) > 0] * (g^(t) y)^T): O(m n^2) a step instead of O(m n p).
  Test outputs, projections on mu1, mu2 and norms follow from C and small Gram matrices, only at the
  recorded steps. All seeds of a chunk advance together with one batched matrix product per step.
  Internally C and H are divided by alpha, so tiny step sizes neither underflow nor lose precision.
* ``reduced``: the span engine run on :func:`xorgrok.data.sample_reduced`'s problems, whose cost does
  not depend on p.

Each engine returns a :class:`Record` of plain numpy arrays, filled only for what was asked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from .config import Setup
from .data import Problem
from .model import gd_step, logistic_loss, loss_derivative_weight

__all__ = ["Record", "Want", "DivergenceError", "run_dense", "run_span", "dense_bytes_per_seed"]


class DivergenceError(FloatingPointError):
    """Gradient descent produced a non-finite network output; ``step`` is the first such step."""

    def __init__(self, step: int, seed: int):
        super().__init__(
            f"gradient descent diverged at step t = {step} (seed {seed}): the network output is not finite; "
            "reduce alpha"
        )
        self.step = step
        self.seed = seed


@dataclass(frozen=True)
class Want:
    """What to record besides accuracies and loss."""

    neurons: bool = False  # <w_j, mu1>, <w_j, mu2> and ||w_j|| per neuron
    outputs: bool = False  # f(x_i) on every training and test point
    preacts: bool = False  # <w_j, x_i> on every training point


@dataclass
class Record:
    """Recorded arrays for S seeds at T recorded steps (filled by the engines)."""

    train_acc: np.ndarray  # [S, T]
    test_acc: np.ndarray  # [S, T]
    loss: np.ndarray  # [S, T]
    proj: np.ndarray | None = None  # [S, T, m, 2]: <w_j, mu1>, <w_j, mu2>
    w_norm: np.ndarray | None = None  # [S, T, m]
    f_train: np.ndarray | None = None  # [S, T, n]
    f_test: np.ndarray | None = None  # [S, T, n_test]
    preacts: np.ndarray | None = None  # [S, T, m, n]
    a: np.ndarray | None = None  # [S, m]
    plane: np.ndarray | None = None  # [S, N, 2]
    y: np.ndarray | None = None  # [S, n]
    y_clean: np.ndarray | None = None  # [S, N]
    cluster: np.ndarray | None = None  # [S, N]

    @classmethod
    def empty(cls, setup: Setup, S: int, T: int, want: Want) -> "Record":
        m, n, n_test, N = setup.m, setup.n, setup.n_test, setup.n_total
        nan = lambda *shape: np.full(shape, np.nan)  # noqa: E731
        return cls(
            a=np.zeros((S, m)),
            plane=np.zeros((S, N, 2)),
            y=np.zeros((S, n), dtype=np.int64),
            y_clean=np.zeros((S, N), dtype=np.int64),
            cluster=np.zeros((S, N), dtype=np.int64),
            train_acc=nan(S, T),
            test_acc=nan(S, T),
            loss=nan(S, T),
            proj=nan(S, T, m, 2) if want.neurons else None,
            w_norm=nan(S, T, m) if want.neurons else None,
            f_train=nan(S, T, n) if want.outputs else None,
            f_test=nan(S, T, n_test) if want.outputs else None,
            preacts=nan(S, T, m, n) if want.preacts else None,
        )

    def keep_problem(self, s: int, pb: Problem) -> None:
        """Store the small per-seed facts of a problem (second layer, plane coordinates, labels)."""
        self.a[s], self.plane[s], self.y[s] = pb.a, pb.plane, pb.y
        self.y_clean[s], self.cluster[s] = pb.y_clean, pb.cluster


def _fit_stats(f: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Accuracy (sign f = y; f = 0 counts as an error) and mean logistic loss. f, y [..., N] -> [...]."""
    margins = y * f
    return (margins > 0).to(f.dtype).mean(-1), logistic_loss(margins).mean(-1)


def _check_finite(f: torch.Tensor, step: int, seeds: Sequence[int]) -> None:
    finite = torch.isfinite(f).all(-1)
    if not bool(finite.all()):
        raise DivergenceError(step, int(seeds[int((~finite).nonzero()[0, 0])]))


def _as_tensor(x: np.ndarray, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(x), dtype=dtype, device=device)


def dense_bytes_per_seed(problem_shape: tuple[int, int, int], itemsize: int) -> int:
    """Memory the dense engine needs for one seed: W, its gradient and a temporary (m x d each) plus X (N x d)."""
    m, N, d = problem_shape
    return itemsize * (3 * m * d + N * d + 2 * m * N)


def _available_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def run_dense(
    setup: Setup,
    seeds: Sequence[int],
    make: Callable[[int], Problem],
    steps: int,
    record_steps: np.ndarray,
    want: Want,
    dtype: torch.dtype,
    device: torch.device,
    progress: Callable[[int], None] | None = None,
) -> Record:
    """Explicit weights, the paper's update (2.2) step by step, one seed after the other.

    ``make(seed)`` builds each seed's problem; only one lives in memory at a time.
    """
    need = dense_bytes_per_seed((setup.m, setup.n_total, setup.p), torch.empty((), dtype=dtype).element_size())
    have = _available_bytes(device)
    if need > 0.8 * have:
        raise MemoryError(
            f"the dense engine needs about {need / 2**30:.1f} GiB for one seed (m x p weights) but only "
            f"{have / 2**30:.1f} GiB are free; use engine='span' (same numbers) or engine='reduced' "
            "(independent of p)"
        )
    rec = Record.empty(setup, len(seeds), len(record_steps), want)
    slot = {int(t): k for k, t in enumerate(record_steps)}
    for s, seed in enumerate(seeds):
        pb = make(seed)
        rec.keep_problem(s, pb)
        X_train, X_test = _as_tensor(pb.X_train, dtype, device), _as_tensor(pb.X_test, dtype, device)
        y, y_test = _as_tensor(pb.y, dtype, device), _as_tensor(pb.y_test, dtype, device)
        a = _as_tensor(pb.a, dtype, device)
        W = _as_tensor(pb.W0, dtype, device)
        residual_sq = _as_tensor(pb.w0_residual_sq, dtype, device)
        for t in range(steps + 1):
            H = W @ X_train.T  # [m, n]
            f = a @ torch.relu(H)
            _check_finite(f.unsqueeze(0), t, [pb.seed])
            if t in slot:
                k = slot[t]
                acc, loss = _fit_stats(f, y)
                f_test = torch.relu(X_test @ W.T) @ a  # [n_test]
                acc_test, _ = _fit_stats(f_test, y_test)
                rec.train_acc[s, k], rec.loss[s, k], rec.test_acc[s, k] = float(acc), float(loss), float(acc_test)
                if want.neurons:
                    rec.proj[s, k] = setup.mu_norm * W[:, :2].cpu().numpy()
                    rec.w_norm[s, k] = torch.sqrt((W * W).sum(-1) + residual_sq).cpu().numpy()
                if want.outputs:
                    rec.f_train[s, k], rec.f_test[s, k] = f.cpu().numpy(), f_test.cpu().numpy()
                if want.preacts:
                    rec.preacts[s, k] = H.cpu().numpy()
            if t < steps:
                W = gd_step(W, a, X_train, y, setup.alpha)
        if progress is not None:
            progress(1)
    return rec


@dataclass
class _SpanBatch:
    """The small matrices the span engine needs for a chunk of S seeds (state divided by alpha)."""

    G: torch.Tensor  # [S, n, n]       X_train X_train^T
    K: torch.Tensor  # [S, n, n_test]  X_train X_test^T
    M: torch.Tensor  # [S, n, 2]       X_train's coordinates along mu1/|mu|, mu2/|mu|
    H0: torch.Tensor  # [S, m, n]      W0 X_train^T / alpha
    H0_test: torch.Tensor  # [S, m, n_test]
    P0: torch.Tensor  # [S, m, 2]      W0's coordinates along mu1/|mu|, mu2/|mu|, / alpha
    w0_sq: torch.Tensor  # [S, m]      ||w_j^(0)||^2 / alpha^2
    a: torch.Tensor  # [S, m]
    y: torch.Tensor  # [S, n]
    y_test: torch.Tensor  # [S, n_test]

    @classmethod
    def build(cls, problems: Sequence[Problem], dtype: torch.dtype, device: torch.device) -> "_SpanBatch":
        alpha = problems[0].setup.alpha

        def stack(fn: Callable[[Problem], np.ndarray]) -> torch.Tensor:
            return _as_tensor(np.stack([fn(pb) for pb in problems]), dtype, device)

        return cls(
            G=stack(lambda pb: pb.X_train @ pb.X_train.T),
            K=stack(lambda pb: pb.X_train @ pb.X_test.T),
            M=stack(lambda pb: pb.X_train[:, :2]),
            H0=stack(lambda pb: (pb.W0 @ pb.X_train.T) / alpha),
            H0_test=stack(lambda pb: (pb.W0 @ pb.X_test.T) / alpha),
            P0=stack(lambda pb: pb.W0[:, :2] / alpha),
            w0_sq=stack(lambda pb: ((pb.W0 * pb.W0).sum(1) + pb.w0_residual_sq) / alpha**2),
            a=stack(lambda pb: pb.a),
            y=stack(lambda pb: pb.y.astype(float)),
            y_test=stack(lambda pb: pb.y_test.astype(float)),
        )


def run_span(
    setup: Setup,
    seeds: Sequence[int],
    make: Callable[[int], Problem],
    steps: int,
    record_steps: np.ndarray,
    want: Want,
    dtype: torch.dtype,
    device: torch.device,
    progress: Callable[[int], None] | None = None,
    chunk: int | None = None,
) -> Record:
    """Gradient descent on the coefficients C (W = W^(0) + C X_train), seeds batched in chunks.

    ``make(seed)`` builds each seed's problem; only one chunk of problems lives in memory at a time.
    """
    alpha, n, mu_norm = setup.alpha, setup.n, setup.mu_norm
    rec = Record.empty(setup, len(seeds), len(record_steps), want)
    slot = {int(t): k for k, t in enumerate(record_steps)}
    if chunk is None:
        chunk = default_chunk(setup.m, n, torch.empty((), dtype=dtype).element_size())
    for start in range(0, len(seeds), chunk):
        part_seeds = list(seeds[start : start + chunk])
        rows = slice(start, start + len(part_seeds))
        part = [make(seed) for seed in part_seeds]
        for s, pb in enumerate(part, start):
            rec.keep_problem(s, pb)
        b = _SpanBatch.build(part, dtype, device)
        del part
        a_row = b.a.unsqueeze(1)  # [S, 1, m]
        step_scale = b.a.unsqueeze(2) / n  # [S, m, 1]: a_j / n (C is divided by alpha)
        C = torch.zeros_like(b.H0)  # [S, m, n] coefficients / alpha
        H, R, T = torch.empty_like(C), torch.empty_like(C), torch.empty_like(C)  # reused every step
        for t in range(steps + 1):
            torch.baddbmm(b.H0, C, b.G, out=H)  # H = (W0 X^T + C G) / alpha: <w_j, x_i> / alpha
            torch.clamp(H, min=0, out=R)  # ReLU
            f = alpha * torch.bmm(a_row, R).squeeze(1)  # [S, n]: f(x_i; W^(t))
            _check_finite(f, t, part_seeds)
            if t in slot:
                k = slot[t]
                acc, loss = _fit_stats(f, b.y)
                H_test = torch.baddbmm(b.H0_test, C, b.K)
                f_test = alpha * torch.bmm(a_row, torch.relu(H_test)).squeeze(1)
                acc_test, _ = _fit_stats(f_test, b.y_test)
                rec.train_acc[rows, k] = acc.cpu().numpy()
                rec.loss[rows, k] = loss.cpu().numpy()
                rec.test_acc[rows, k] = acc_test.cpu().numpy()
                if want.neurons:
                    P = torch.baddbmm(b.P0, C, b.M)
                    rec.proj[rows, k] = (alpha * mu_norm) * P.cpu().numpy()
                    # ||w0 + C X||^2 = ||w0||^2 + 2 <C, W0 X^T> + <C, C G>, row by row
                    norm_sq = b.w0_sq + (C * (H + b.H0)).sum(-1)
                    rec.w_norm[rows, k] = alpha * torch.sqrt(norm_sq.clamp(min=0)).cpu().numpy()
                if want.outputs:
                    rec.f_train[rows, k], rec.f_test[rows, k] = f.cpu().numpy(), f_test.cpu().numpy()
                if want.preacts:
                    rec.preacts[rows, k] = alpha * H.cpu().numpy()
            if t < steps:
                v = loss_derivative_weight(b.y * f) * b.y  # [S, n]: g_i y_i
                torch.sign(R, out=T)  # phi'(<w_j, x_i>) = 1[H > 0]
                T.mul_(v.unsqueeze(1))
                C.addcmul_(T, step_scale)  # C += (a_j / n) 1[H_ji > 0] g_i y_i
        if progress is not None:
            progress(len(part_seeds))
    return rec


def default_chunk(m: int, n: int, itemsize: int, cache_bytes: int = 16 * 2**20) -> int:
    """Seeds per batch: enough that the per-step state (about five m x n arrays a seed) stays in cache."""
    return max(1, cache_bytes // (5 * m * n * itemsize))
