r"""Gradient-descent engines: the same dynamics, computed three ways.

* ``dense``: the reference. Explicit weights :math:`W \in \mathbb{R}^{m \times d}`, the
  paper's update (2.2) applied literally by :func:`xorgrok.model.gd_step`, one seed at a
  time. Plain and slow on purpose: everything else is tested against it.
* ``span``: gradient descent never leaves
  :math:`W^{(0)} + \operatorname{span}(\text{training points})`, so

  .. math::

     W^{(t)} = W^{(0)} + C^{(t)} X_{\text{train}}, \qquad
     C^{(t)} \in \mathbb{R}^{m \times n}.

  With the Gram matrix :math:`G = X_{\text{train}} X_{\text{train}}^\top` the training
  pre-activations are :math:`H^{(t)} = W^{(0)} X_{\text{train}}^\top + C^{(t)} G` and
  the update (2.2) becomes, with :math:`g_i^{(t)} = -\ell'(y_i f(x_i; W^{(t)}))`,

  .. math::

     C^{(t+1)} = C^{(t)} + \frac{\alpha}{n} \operatorname{diag}(a)
     \left(\mathbb{1}[H^{(t)} > 0] \odot \mathbf{1}_m (g^{(t)} \odot y)^\top\right),

  that is :math:`C^{(t+1)}_{ji} = C^{(t)}_{ji} + \frac{\alpha a_j}{n}
  \mathbb{1}[H^{(t)}_{ji} > 0]\, g_i^{(t)} y_i`: :math:`O(m n^2)` a step instead of
  :math:`O(m n p)`. Test outputs, projections on :math:`\mu_1, \mu_2` and norms follow
  from :math:`C` and small Gram matrices, only at the recorded steps. All seeds of a
  chunk advance together with one batched matrix product per step; on the CPU, chunks
  run side by side in worker threads (:func:`run_in_workers`). Internally :math:`C` and
  :math:`H` are divided by :math:`\alpha`, so tiny step sizes neither underflow nor lose
  precision.
* ``reduced``: the span engine run on :func:`xorgrok.data.sample_reduced`'s problems,
  whose cost does not depend on :math:`p`.

The book's chapter "Engines" derives both reformulations and shows the benchmark
(``bench/engines.py``). Each engine returns a :class:`Record` of plain numpy arrays,
filled only for what was asked.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np
import torch

from .config import Setup
from .data import Problem
from .model import gd_step, logistic_loss, loss_derivative_weight

__all__ = [
    "Record",
    "Want",
    "DivergenceError",
    "run_dense",
    "run_span",
    "dense_bytes_per_seed",
    "check_dense_fits",
    "default_chunk",
    "span_step_flops",
    "span_steps",
    "SpanBatch",
    "run_in_workers",
]


class DivergenceError(FloatingPointError):
    r"""Gradient descent produced a non-finite network output at step ``step``.

    With the logistic loss the weights grow at most linearly in :math:`t`
    (:math:`-1 < \ell' < 0`), so a non-finite output is an overflow of the floating
    range. Given the ``setup``, the message names the parameter that drives it
    (:func:`xorgrok.resources.output_bound`): ``alpha`` (the step), ``omega_init`` (the
    initialization) or ``mu_norm`` (when :math:`\|\mu\|^2 > p`, the means dominate
    :math:`\|x_i\|^2`).
    """

    def __init__(self, step: int, seed: int, setup: Setup | None = None):
        super().__init__(
            f"gradient descent diverged at step t = {step} (seed {seed}): the network "
            "output is not finite (it overflowed the floating range); "
            f"{_divergence_hint(setup, step)}"
        )
        self.step = step
        self.seed = seed


def _divergence_hint(setup: Setup | None, step: int) -> str:
    if setup is None:
        return "reduce alpha, or mu_norm when mu_norm^2 > p, or compute in float64"
    drift = max(step, 1) * setup.alpha / math.sqrt(setup.m)
    cause = "alpha" if drift >= setup.omega_init else "omega_init"
    if setup.mu_norm**2 > setup.p:
        cause = "mu_norm" if cause == "alpha" else "omega_init or mu_norm"
    return (
        f"reduce {cause} (alpha = {setup.alpha:g}, omega_init = {setup.omega_init:g}, "
        f"mu_norm = {setup.mu_norm:g}, p = {setup.p})"
    )


@dataclass(frozen=True)
class Want:
    """What to record besides accuracies and loss."""

    neurons: bool = False  # <w_j, mu1>, <w_j, mu2> and ||w_j|| per neuron
    outputs: bool = False  # f(x_i) on every training and test point
    preacts: bool = False  # <w_j, x_i> on every training point


@dataclass
class Record:
    """Recorded arrays for :math:`S` seeds at :math:`T` recorded steps (filled by the
    engines; shapes and meanings as in :class:`xorgrok.simulate.Trajectory`)."""

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
        """Store the small per-seed facts of a problem (second layer, plane
        coordinates, labels)."""
        self.a[s], self.plane[s], self.y[s] = pb.a, pb.plane, pb.y
        self.y_clean[s], self.cluster[s] = pb.y_clean, pb.cluster


def _fit_stats(f: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy (sign f = y; f = 0 counts as an error) and mean logistic loss. f, y
    [..., N] -> [...].

    The accuracy is an exact fraction (count / N in float64), whatever the working
    dtype.
    """
    margins = y * f
    correct = (margins > 0).sum(-1).cpu().numpy()
    return correct / f.shape[-1], logistic_loss(margins).mean(-1).cpu().numpy().astype(
        np.float64
    )


def _check_finite(f: torch.Tensor, step: int, seeds: Sequence[int]) -> None:
    finite = torch.isfinite(f).all(-1)
    if not bool(finite.all()):
        raise DivergenceError(step, int(seeds[int((~finite).nonzero()[0, 0])]))


def _as_tensor(x: np.ndarray, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(x), dtype=dtype, device=device)


# --------------------------------------------------------------------------------------
# Memory guard of the engines that hold p-dimensional arrays


def dense_bytes_per_seed(problem_shape: tuple[int, int, int], itemsize: int) -> int:
    r"""Peak memory of one dense seed, in bytes, for a problem of shape
    :math:`(m, N, d)`.

    The sampler's float64 arrays ``W0`` [m, d] and ``X`` [N, d], plus the engine's
    copies in the working dtype (``itemsize`` bytes): :math:`W`, the gradient and two
    temporaries of the update (:math:`m \times d` each), :math:`X` and the [m, N]
    pre-activations.
    """
    m, N, d = problem_shape
    return 8 * (m + N) * d + itemsize * (4 * m * d + N * d + 2 * m * N)


def _available_bytes(device: torch.device) -> int:
    from .resources import available_bytes  # the machine's and the cgroup's limits

    return available_bytes(device)


def check_dense_fits(
    setup: Setup, engine: str, dtype: torch.dtype, device: torch.device | str = "cpu"
) -> None:
    r"""Raise ``MemoryError`` when one seed of an engine that samples in
    :math:`\mathbb{R}^p` would not fit in memory.

    The ``dense`` engine holds :math:`m \times p` weights; the ``span`` engine samples
    the points and :math:`W^{(0)}` in :math:`\mathbb{R}^p` (float64) before reducing
    them to small matrices. The message points to the fast engines.
    """
    device = torch.device(device)
    itemsize = torch.empty((), dtype=dtype).element_size()
    m, N, p = setup.m, setup.n_total, setup.p
    if engine == "dense":
        need = dense_bytes_per_seed((m, N, p), itemsize)
    else:
        # the float64 problem and the products that reduce it
        need = 8 * (m + N) * p * 2
    have = _available_bytes(device if engine == "dense" else torch.device("cpu"))
    if need > 0.8 * have:
        reduced = (
            "engine='reduced' (the same distribution, cost and memory independent of p)"
        )
        span = "engine='span' (same numbers, O(m n^2) a step)"
        hint = f"use {span} or {reduced}" if engine == "dense" else f"use {reduced}"
        raise MemoryError(
            f"the {engine} engine needs about {need / 2**30:.3g} GiB for one seed at p "
            f"= {p} (m x p weights) "
            f"but only {have / 2**30:.3g} GiB are free; {hint}"
        )


# --------------------------------------------------------------------------------------
# The dense reference engine


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
    """Explicit weights, the paper's update (2.2) step by step, one seed after the
    other.

    ``make(seed)`` builds each seed's problem; only one lives in memory at a time.
    Raises ``MemoryError`` (before sampling anything) when one seed would not fit, and
    :class:`DivergenceError` at the first step whose network output is not finite.
    """
    check_dense_fits(setup, "dense", dtype, device)
    rec = Record.empty(setup, len(seeds), len(record_steps), want)
    slot = {int(t): k for k, t in enumerate(record_steps)}
    for s, seed in enumerate(seeds):
        pb = make(seed)
        rec.keep_problem(s, pb)
        X_train, X_test = (
            _as_tensor(pb.X_train, dtype, device),
            _as_tensor(pb.X_test, dtype, device),
        )
        y, y_test = (
            _as_tensor(pb.y, dtype, device),
            _as_tensor(pb.y_test, dtype, device),
        )
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
                rec.train_acc[s, k], rec.loss[s, k], rec.test_acc[s, k] = (
                    float(acc),
                    float(loss),
                    float(acc_test),
                )
                if want.neurons:
                    rec.proj[s, k] = setup.mu_norm * W[:, :2].cpu().numpy()
                    rec.w_norm[s, k] = (
                        torch.sqrt((W * W).sum(-1) + residual_sq).cpu().numpy()
                    )
                if want.outputs:
                    rec.f_train[s, k], rec.f_test[s, k] = (
                        f.cpu().numpy(),
                        f_test.cpu().numpy(),
                    )
                if want.preacts:
                    rec.preacts[s, k] = H.cpu().numpy()
            if t < steps:
                W = gd_step(W, a, X_train, y, setup.alpha)
        if progress is not None:
            progress(1)
    return rec


# --------------------------------------------------------------------------------------
# The span engine


@dataclass
class SpanBatch:
    r"""The small matrices the span engine needs for a chunk of :math:`S` seeds (state
    divided by :math:`\alpha`)."""

    G: torch.Tensor  # [S, n, n]       X_train X_train^T
    # [S, n, N]      X_train X^T = [G | K], K = X_train X_test^T (N = n + n_test)
    GK: torch.Tensor
    M: torch.Tensor  # [S, n, 2]       X_train's coordinates along mu1/|mu|, mu2/|mu|
    H0: torch.Tensor  # [S, m, n]      W0 X_train^T / alpha
    H0_all: torch.Tensor  # [S, m, N]  W0 X^T / alpha = [H0 | H0_test]
    # [S, m, 2]      W0's coordinates along mu1/|mu|, mu2/|mu|, / alpha
    P0: torch.Tensor
    w0_sq: torch.Tensor  # [S, m]      ||w_j^(0)||^2 / alpha^2
    a: torch.Tensor  # [S, m]
    y: torch.Tensor  # [S, n]
    y_test: torch.Tensor  # [S, n_test]

    @classmethod
    def build(
        cls,
        problems: Iterable[Problem],
        alpha: float,
        dtype: torch.dtype,
        device: torch.device,
        keep: Callable[[int, Problem], None] | None = None,
    ) -> "SpanBatch":
        """Reduce each problem to its small matrices (in float64), one problem in memory
        at a time.

        ``keep(s, problem)`` is called on each problem before it is dropped.
        """
        parts: dict[str, list[np.ndarray]] = {
            name: [] for name in cls.__dataclass_fields__
        }
        for s, pb in enumerate(problems):
            if keep is not None:
                keep(s, pb)
            Xtr, W0, n = pb.X_train, pb.W0, pb.setup.n
            GK = Xtr @ pb.X.T
            H0_all = (W0 @ pb.X.T) / alpha
            parts["G"].append(GK[:, :n])
            parts["GK"].append(GK)
            parts["M"].append(Xtr[:, :2])
            parts["H0"].append(H0_all[:, :n])
            parts["H0_all"].append(H0_all)
            parts["P0"].append(W0[:, :2] / alpha)
            # (not W0 * W0 / alpha**2: alpha**2 may overflow or underflow)
            W0_scaled = W0 / alpha
            parts["w0_sq"].append(
                (W0_scaled * W0_scaled).sum(1) + pb.w0_residual_sq / alpha / alpha
            )
            parts["a"].append(pb.a)
            parts["y"].append(pb.y.astype(float))
            parts["y_test"].append(pb.y_test.astype(float))
            del pb, Xtr, W0, GK, H0_all
        return cls(
            **{
                name: _as_tensor(np.stack(v), dtype, device)
                for name, v in parts.items()
            }
        )


def span_step_flops(m: int, n: int) -> int:
    r"""Floating-point operations of one span-engine step for one seed, counting the
    matrix product only.

    The product :math:`C G` ([m, n] by [n, n]) costs :math:`2 m n^2`; the element-wise
    work (about ten passes over the :math:`m \times n` state) is memory traffic, not
    counted.
    """
    return 2 * m * n * n


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
    workers: int | None = None,
) -> Record:
    r"""Gradient descent on the coefficients :math:`C`
    (:math:`W = W^{(0)} + C X_{\text{train}}`), seeds batched in chunks.

    ``make(seed)`` builds each seed's problem; only one problem per chunk lives in
    memory at a time (a chunk keeps only its small matrices). Raises
    :class:`DivergenceError` naming the first step whose network output is not finite
    (in the first chunk, in seed order, that diverges).

    On the CPU, chunks run in ``workers`` threads (default: torch's thread count, at
    most one per chunk), each with single-threaded torch operations, instead of one
    chunk at a time with multi-threaded operations: every core then advances its own
    seeds without waiting for the others at each operation (on a machine shared with
    other jobs, such waits made the multi-threaded schedule several times slower;
    ``bench/engines.py`` compares both, rows (d) and (d')). The global torch thread
    count is set to 1 for the duration of the run and restored afterwards.
    """
    rec = Record.empty(setup, len(seeds), len(record_steps), want)
    threads = torch.get_num_threads()
    parallel = device.type == "cpu" and threads > 1 and len(seeds) > 1 and workers != 1
    if chunk is None:
        chunk = default_chunk(
            setup.m, setup.n, torch.empty((), dtype=dtype).element_size()
        )
    n_chunks = -(-len(seeds) // chunk)
    if parallel:  # a multiple of the workers, so that they finish together
        w = workers or threads
        n_chunks = min(len(seeds), -(-n_chunks // w) * w)
    # chunk sizes differ by at most 1
    bounds = np.linspace(0, len(seeds), n_chunks + 1).round().astype(int)
    spans = {int(a): int(b) for a, b in zip(bounds[:-1], bounds[1:])}
    starts = list(spans)

    def run_chunk(start: int, stop: Callable[[], bool] | None = None) -> int:
        part_seeds = list(seeds[start : spans[start]])
        b = SpanBatch.build(
            (make(seed) for seed in part_seeds),
            setup.alpha,
            dtype,
            device,
            keep=lambda s, pb: rec.keep_problem(start + s, pb),
        )
        span_steps(
            b, setup, steps, record_steps, want, rec, start, part_seeds, stop=stop
        )
        return len(part_seeds)

    n_workers = min(workers or threads, len(starts)) if parallel else 1
    run_in_workers(run_chunk, starts, n_workers, progress)
    return rec


def run_in_workers(
    fn: Callable[[int, Callable[[], bool]], int],
    items: Sequence[int],
    workers: int,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Call ``fn(item, stop)`` for every item, in ``workers`` threads with
    single-threaded torch operations.

    ``fn`` returns the number of seeds it finished (passed to ``progress``) and should
    return early (by raising any exception) once ``stop()`` is true, as
    :func:`span_steps` does. With ``workers <= 1`` the items run one after the other
    with torch's current thread count. When an item fails, the items after it in
    ``items`` order are stopped, those before it run on, and the exception of the first
    failing item is re-raised: the error a serial run would report. The torch thread
    count is restored on exit.
    """
    if workers <= 1:
        for item in items:
            done = fn(item, lambda: False)
            if progress is not None:
                progress(done)
        return
    # index of the first failing item so far (len(items): none)
    first_failure = [len(items)]
    lock = threading.Lock()

    def call(index: int) -> int:
        try:
            return fn(items[index], lambda: first_failure[0] < index)
        except BaseException:
            with lock:
                first_failure[0] = min(first_failure[0], index)
            raise

    from .resources import torch_threads

    with torch_threads(1):
        with ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="xorgrok"
        ) as pool:
            futures = [pool.submit(call, index) for index in range(len(items))]
            try:
                for fut in as_completed(futures):
                    if fut.exception() is not None:
                        break
                    if progress is not None:
                        progress(fut.result())
            except BaseException:  # interrupted in the main thread: stop everything
                first_failure[0] = -1
                raise
            finally:
                for f in futures:
                    f.cancel()
                wait(futures)
            # in order: the first failure is the one a serial run would report
            for f in futures:
                if not f.cancelled() and f.exception() is not None:
                    raise f.exception()


def span_steps(
    b: SpanBatch,
    setup: Setup,
    steps: int,
    record_steps: np.ndarray,
    want: Want,
    rec: Record,
    first_row: int,
    seeds: Sequence[int],
    check_every: int = 16,
    stop: Callable[[], bool] | None = None,
) -> None:
    r"""Run ``steps`` steps of the span engine on one batch, writing the recorded steps
    into ``rec`` rows ``first_row .. first_row + S - 1``.

    One step is one batched matrix product and four element-wise passes over the
    [S, m, n] state:

    1. :math:`H = H_0 + C G` (``baddbmm``), the pre-activations divided by
       :math:`\alpha` (at a recorded step, one product :math:`C [G \mid K]` gives the
       training and the test pre-activations together);
    2. :math:`H \leftarrow \mathrm{ReLU}(H)` in place (the signs, hence
       :math:`\mathbb{1}[H > 0]`, are unchanged);
    3. :math:`f = \alpha\, a^\top \mathrm{ReLU}(H)` (a batched matrix-vector product),
       then :math:`v_i = g(y_i f_i)\, y_i` with :math:`g = -\ell'` (:math:`n` numbers a
       seed);
    4. :math:`T_{ji} = v_i \mathbb{1}[H_{ji} > 0]` (torch's ReLU-gradient kernel, one
       pass);
    5. :math:`C_{ji} \mathrel{+}= (a_j / n)\, T_{ji}` (``addcmul_``).

    Non-finite outputs are tracked every step and reported (naming the first bad step)
    every ``check_every`` steps, at recorded steps and at the end, so that a GPU is not
    synchronised every step. At the same moments, ``stop()`` is asked whether to give up
    early (another worker failed).
    """
    alpha, n = setup.alpha, setup.n
    slot = {int(t): k for k, t in enumerate(record_steps)}
    rows = slice(first_row, first_row + len(seeds))
    S = len(seeds)
    device = b.G.device
    a_row = b.a.unsqueeze(1)  # [S, 1, m]
    step_scale = b.a.unsqueeze(2) / n  # [S, m, 1]: a_j / n (C is divided by alpha)
    C = torch.zeros_like(b.H0)  # [S, m, n] coefficients / alpha
    H, T = torch.empty_like(C), torch.empty_like(C)  # reused every step
    H_all = torch.empty_like(b.H0_all) if slot else None  # [S, m, N], at recorded steps
    first_bad = torch.full((S,), -1, dtype=torch.long, device=device)
    T_rec = len(record_steps)
    # accuracies (as counts) and losses stay in torch until the end: no numpy per step
    n_right = torch.zeros((2, S, T_rec), dtype=torch.long, device=device)  # train, test
    losses = torch.zeros((S, T_rec), dtype=b.G.dtype, device=device)
    for t in range(steps + 1):
        recording = t in slot
        # train and test pre-activations in one product; keep H for the norms
        if recording:
            torch.baddbmm(b.H0_all, C, b.GK, out=H_all)
            H_pre = H_all[..., :n]  # training pre-activations (a view), for the norms
            R = torch.clamp(H_pre, min=0, out=H)  # ReLU into H: one pass
        else:
            # H = (W0 X^T + C G) / alpha: <w_j, x_i> / alpha
            torch.baddbmm(b.H0, C, b.G, out=H)
            R = torch.relu_(H)
        f = alpha * torch.bmm(a_row, R).squeeze(1)  # [S, n]: f(x_i; W^(t))
        bad = ~torch.isfinite(f).all(-1)
        first_bad = torch.where(bad & (first_bad < 0), t, first_bad)
        if recording or t % check_every == 0 or t == steps:
            _raise_if_diverged(first_bad, seeds)
            if stop is not None and stop():
                raise _Stopped()
        if recording:
            k = slot[t]
            f_test = alpha * torch.bmm(a_row, torch.relu_(H_all[..., n:])).squeeze(1)
            margins = b.y * f
            n_right[0, :, k] = (margins > 0).sum(-1)
            n_right[1, :, k] = (b.y_test * f_test > 0).sum(-1)
            losses[:, k] = logistic_loss(margins).mean(-1)
            _record_extras(b, setup, want, rec, (rows, k), C, H_pre, f, f_test)
        if t < steps:
            v = loss_derivative_weight(b.y * f) * b.y  # [S, n]: g_i y_i
            _active_times(v.unsqueeze(1).expand_as(R), R, out=T)  # T = 1[H > 0] g_i y_i
            C.addcmul_(T, step_scale)  # C += (a_j / n) 1[H_ji > 0] g_i y_i
    counts = n_right.cpu().numpy()  # exact fractions in float64, as _fit_stats gives
    rec.train_acc[rows], rec.test_acc[rows] = counts[0] / n, counts[1] / setup.n_test
    rec.loss[rows] = losses.cpu().numpy().astype(np.float64)


def _record_extras(
    b: SpanBatch,
    setup: Setup,
    want: Want,
    rec: Record,
    at: tuple[slice, int],
    C: torch.Tensor,
    H_pre: torch.Tensor,
    f: torch.Tensor,
    f_test: torch.Tensor,
) -> None:
    r"""Write what ``want`` asks beyond the accuracies at one recorded step ``at`` =
    (rows, k): the neurons' projections and norms, the outputs, the pre-activations
    (``H_pre`` [S, m, n] and ``C`` are divided by :math:`\alpha`)."""
    alpha = setup.alpha
    if want.neurons:
        P = torch.baddbmm(b.P0, C, b.M)
        rec.proj[at] = (alpha * setup.mu_norm) * P.cpu().numpy()
        # ||w0 + C X||^2 = ||w0||^2 + 2 <C, W0 X^T> + <C, C G>, row by row
        norm_sq = b.w0_sq + (C * (H_pre + b.H0)).sum(-1)
        rec.w_norm[at] = alpha * torch.sqrt(norm_sq.clamp(min=0)).cpu().numpy()
    if want.outputs:
        rec.f_train[at], rec.f_test[at] = f.cpu().numpy(), f_test.cpu().numpy()
    if want.preacts:
        rec.preacts[at] = alpha * H_pre.cpu().numpy()


def _active_times(v: torch.Tensor, H: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    r"""``out`` :math:`= v \odot \mathbb{1}[H > 0]` (0 where :math:`H \le 0`), in one
    pass (torch's ReLU backward kernel)."""
    return torch.ops.aten.threshold_backward.grad_input(v, H, 0, grad_input=out)


class _Stopped(Exception):
    """A worker was asked to stop because another one failed."""


def _raise_if_diverged(first_bad: torch.Tensor, seeds: Sequence[int]) -> None:
    if bool((first_bad >= 0).any()):
        steps = torch.where(first_bad >= 0, first_bad, torch.iinfo(torch.long).max)
        s = int(torch.argmin(steps))
        raise DivergenceError(int(steps[s]), int(seeds[s]))


def default_chunk(m: int, n: int, itemsize: int, cache_bytes: int = 8 * 2**20) -> int:
    r"""Seeds per batch: few enough that a worker's per-step state (about five
    :math:`m \times n` arrays a seed) stays in its share of the cache (2 seeds of the
    paper's size in float32: measured fastest per core)."""
    return max(1, cache_bytes // (5 * m * n * itemsize))
