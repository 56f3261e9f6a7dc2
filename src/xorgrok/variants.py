"""Model variants beyond the paper's setting, trained with explicit weights: :func:`train_variant`.

The paper trains only the first layer W of f(x; W) = sum_j a_j phi(<w_j, x>) (phi = ReLU, a_j fixed at
+-1/sqrt(m)) by full-batch gradient descent on the logistic loss (the paper's Section 2.3). The variants switch on,
one by one or together:

* ``leaky``: phi(z) = max(z, leaky * z), a leaky ReLU with slope ``leaky`` in [0, 1) for z < 0
  (``leaky = 0`` is the ReLU); phi'(z) = 1 for z > 0 and ``leaky`` otherwise.
* ``train_second_layer``: a is trained too, with its own step size ``alpha_a`` (default: alpha):
  a_j <- a_j + (alpha_a / |B|) sum_{i in B} g_i y_i phi(<w_j, x_i>).
* ``batch_size``: mini-batch SGD; each step draws |B| = batch_size training points uniformly without
  replacement (from ``numpy.random.default_rng([batch_seed, problem.seed])``) and takes the gradient of
  their mean loss. ``None`` (default) is full-batch gradient descent.

The first-layer step is the paper's update (2.2) on the batch B, with phi' of the variant:
w_j <- w_j + (alpha a_j / |B|) sum_{i in B} g_i phi'(<w_j, x_i>) y_i x_i, g_i = -l'(y_i f(x_i)).

Any :class:`~xorgrok.Problem` works: in the reduced coordinates of :func:`xorgrok.sample_reduced`
(d = 2 + N coordinates with the inner products of the dense model, exact in distribution) explicit weights
are cheap whatever p. With every switch off, :func:`train_variant` computes the numbers of
``xorgrok.simulate(engine="dense")`` on the same problem; the tests check this and the hand-written
gradients against ``torch.autograd``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from .data import Problem
from .engines import DivergenceError
from .model import logistic_loss, loss_derivative_weight

__all__ = ["VARIANT_DEFAULTS", "VariantRun", "check_options", "activation", "variant_output", "variant_gradients",
           "train_variant", "train_variants"]

#: The switches of :func:`train_variant` and their "off" values (the paper's model).
VARIANT_DEFAULTS: dict[str, Any] = {
    "leaky": 0.0,
    "train_second_layer": False,
    "alpha_a": None,
    "batch_size": None,
    "batch_seed": 0,
}


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    """Validate variant switches; return those that differ from :data:`VARIANT_DEFAULTS` (JSON-able values).

    An empty result means the paper's model. Raises ``ValueError`` naming the switch and its allowed range.
    """
    unknown = set(options) - set(VARIANT_DEFAULTS)
    if unknown:
        raise ValueError(f"variant switch must be one of {', '.join(VARIANT_DEFAULTS)}, got {sorted(unknown)[0]!r}")
    out: dict[str, Any] = {}
    for name, value in options.items():
        if name == "leaky":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) < 1.0:
                raise ValueError(f"leaky must be a number in [0, 1), got {value!r}")
            value = float(value)
        elif name == "train_second_layer":
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"train_second_layer must be True or False, got {value!r}")
            value = bool(value)
        elif name == "alpha_a":
            if value is not None:
                number = isinstance(value, (int, float)) and not isinstance(value, bool)
                if not number or not np.isfinite(value) or value <= 0:
                    raise ValueError(f"alpha_a must be a finite number > 0 or None, got {value!r}")
                value = float(value)
        elif name in ("batch_size", "batch_seed"):
            low = 1 if name == "batch_size" else 0
            if value is None and name == "batch_size":
                pass
            elif isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                allowed = f"an integer >= {low}" + (" or None" if low else "")
                raise ValueError(f"{name} must be {allowed}, got {value!r}")
            else:
                value = int(value)
        if value != VARIANT_DEFAULTS[name]:
            out[name] = value
    if "alpha_a" in out and not out.get("train_second_layer", False):
        raise ValueError("alpha_a needs train_second_layer=True")
    if "batch_seed" in out and "batch_size" not in out:
        out.pop("batch_seed")  # full batch: no randomness to seed
    return out


def activation(z: torch.Tensor, leaky: float = 0.0) -> torch.Tensor:
    """phi(z) = max(z, leaky z) (ReLU when leaky = 0)."""
    return torch.relu(z) if leaky == 0.0 else torch.where(z > 0, z, leaky * z)


def _activation_derivative(z: torch.Tensor, leaky: float) -> torch.Tensor:
    one = torch.ones((), dtype=z.dtype, device=z.device)
    return torch.where(z > 0, one, leaky * one)


def variant_output(W: torch.Tensor, a: torch.Tensor, X: torch.Tensor, leaky: float = 0.0) -> torch.Tensor:
    """f(x) = sum_j a_j phi(<w_j, x>) for every row of X.

    Shapes: W [..., m, d], a [..., m], X [..., N, d] -> [..., N] (leading axes: seeds).
    """
    return (activation(X @ W.transpose(-1, -2), leaky) @ a.unsqueeze(-1)).squeeze(-1)


def variant_gradients(
    W: torch.Tensor, a: torch.Tensor, X: torch.Tensor, y: torch.Tensor, leaky: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients of L = (1/B) sum_i l(y_i f(x_i)) with respect to W and a, written by hand.

    grad_{w_j} = -(a_j / B) sum_i g_i phi'(<w_j, x_i>) y_i x_i and
    grad_{a_j} = -(1 / B) sum_i g_i y_i phi(<w_j, x_i>), with g_i = -l'(y_i f(x_i)).
    Shapes: W [..., m, d], a [..., m], X [..., B, d], y [..., B] -> ([..., m, d], [..., m]).
    """
    B = X.shape[-2]
    H = W @ X.transpose(-1, -2)  # [..., m, B]: <w_j, x_i>
    act = activation(H, leaky)
    f = (act * a.unsqueeze(-1)).sum(-2)  # [..., B]
    v = (loss_derivative_weight(y * f) * y).unsqueeze(-2)  # [..., 1, B]: g_i y_i
    grad_W = -(a.unsqueeze(-1) / B) * ((_activation_derivative(H, leaky) * v) @ X)
    grad_a = -(act * v).sum(-1) / B
    return grad_W, grad_a


@dataclass(frozen=True)
class VariantRun:
    """What :func:`train_variant` recorded at the T recorded steps ``t``.

    Attributes: t [T]; train_acc, test_acc, loss [T] (as in :class:`xorgrok.Trajectory`, on the full training
    set); f_train [T, n] network outputs on the training points; a [T, m] the second layer;
    with ``neurons=True`` proj [T, m, 2] = (<w_j, mu1>, <w_j, mu2>), else None.
    :func:`train_variants` returns the same fields with a leading seed axis S.
    """

    t: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    loss: np.ndarray
    f_train: np.ndarray
    a: np.ndarray
    proj: np.ndarray | None = None


def train_variant(problem: Problem, steps: int, record: Iterable[int] | None = None, **switches: Any) -> VariantRun:
    """Train one problem's network with explicit weights under the variant switches (module docstring).

    Args:
        problem: data and initialization (e.g. ``xorgrok.sample(setup, seed)``); the step size is
            ``problem.setup.alpha``.
        steps: number of (S)GD steps.
        record: the steps to record (default: every step).
        switches: ``leaky``, ``train_second_layer``, ``alpha_a``, ``batch_size``, ``batch_seed`` (module
            docstring) and ``dtype``, ``device``, ``neurons`` as in :func:`train_variants`.
    Raises:
        DivergenceError: when an output becomes non-finite.
    """
    run = train_variants([problem], steps, record, **switches)
    return VariantRun(**{k: (None if v is None else (v if k == "t" else v[0])) for k, v in run.__dict__.items()})


def train_variants(
    problems: Sequence[Problem],
    steps: int,
    record: Iterable[int] | None = None,
    *,
    leaky: float = 0.0,
    train_second_layer: bool = False,
    alpha_a: float | None = None,
    batch_size: int | None = None,
    batch_seed: int = 0,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
    neurons: bool = False,
    method: str = "span",
) -> VariantRun:
    """:func:`train_variant` for S problems of one setup at once (batched); the fields get a leading axis S.

    Each problem keeps its own mini-batch stream, so the result for a problem does not depend on the
    others beside it (up to rounding).

    ``method="explicit"`` updates the weights W [S, m, d] literally (the reference: cost O(m n d) a step);
    ``method="span"`` (default) uses W = W^(0) + C X_train as the engines do (every variant keeps the
    updates in the span of the training points): C [S, m, n], cost O(m n^2) a step, O(m n |B|) with
    mini-batches. Both give the same numbers up to rounding (tested).
    """
    opts = check_options(
        dict(leaky=leaky, train_second_layer=train_second_layer, alpha_a=alpha_a, batch_size=batch_size,
             batch_seed=batch_seed)
    )
    if method not in ("span", "explicit"):
        raise ValueError(f"method must be 'span' or 'explicit', got {method!r}")
    problems = list(problems)
    if not problems or not all(isinstance(pb, Problem) for pb in problems):
        raise ValueError("problems must be a non-empty sequence of xorgrok.Problem")
    setup = problems[0].setup
    if any(pb.setup != setup or pb.X.shape != problems[0].X.shape for pb in problems):
        raise ValueError("problems must share one setup and one sampler")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    n, m = setup.n, setup.m
    if batch_size is not None and batch_size > n:
        raise ValueError(f"batch_size must be in [1, n = {n}] or None, got {batch_size}")
    t_rec = np.arange(steps + 1) if record is None else np.unique(np.asarray(list(record), dtype=np.int64))
    if t_rec.size == 0 or t_rec[0] < 0 or t_rec[-1] > steps:
        raise ValueError(f"record must be a non-empty set of steps in [0, {steps}], got {list(record)!r}")
    leaky = opts.get("leaky", 0.0)
    alpha = setup.alpha
    alpha_a = alpha if alpha_a is None else float(alpha_a)
    mini = "batch_size" in opts
    rngs = [np.random.default_rng([batch_seed, pb.seed]) for pb in problems] if mini else []

    def stack(fn) -> torch.Tensor:
        return torch.as_tensor(np.stack([np.asarray(fn(pb), dtype=float) for pb in problems]), dtype=dtype,
                               device=device)

    S, T = len(problems), len(t_rec)
    y, y_test = stack(lambda pb: pb.y), stack(lambda pb: pb.y_test)  # [S, n], [S, n_test]
    a = stack(lambda pb: pb.a)  # [S, m]
    out = dict(
        train_acc=np.full((S, T), np.nan), test_acc=np.full((S, T), np.nan), loss=np.full((S, T), np.nan),
        f_train=np.full((S, T, n), np.nan), a=np.full((S, T, m), np.nan),
    )
    proj = np.full((S, T, m, 2), np.nan) if neurons else None
    slot = {int(t): k for k, t in enumerate(t_rec)}
    rows = torch.arange(S, device=device).unsqueeze(1)

    def check(values: torch.Tensor, t: int) -> None:
        finite = torch.isfinite(values.reshape(S, -1)).all(-1)
        if not bool(finite.all()):
            raise DivergenceError(t, problems[int((~finite).nonzero()[0, 0])].seed)

    def batch() -> torch.Tensor:
        return torch.as_tensor(np.stack([r.choice(n, size=batch_size, replace=False) for r in rngs]), device=device)

    if method == "explicit":
        X_train, X_test = stack(lambda pb: pb.X_train), stack(lambda pb: pb.X_test)  # [S, n, d], [S, n_test, d]
        W = stack(lambda pb: pb.W0)  # [S, m, d]
    else:
        G = stack(lambda pb: pb.X_train @ pb.X_train.T)  # [S, n, n]
        K = stack(lambda pb: pb.X_train @ pb.X_test.T)  # [S, n, n_test]
        H0 = stack(lambda pb: pb.W0 @ pb.X_train.T)  # [S, m, n]
        H0_test = stack(lambda pb: pb.W0 @ pb.X_test.T)  # [S, m, n_test]
        M, P0 = stack(lambda pb: pb.X_train[:, :2]), stack(lambda pb: pb.W0[:, :2])  # [S, n, 2], [S, m, 2]
        C = torch.zeros_like(H0)  # [S, m, n]: W = W0 + C X_train

    for t in range(steps + 1):
        if t in slot:
            k = slot[t]
            if method == "explicit":
                f = variant_output(W, a, X_train, leaky)  # [S, n]
                f_test = variant_output(W, a, X_test, leaky)
                P = W[..., :2]
            else:
                f = (activation(torch.baddbmm(H0, C, G), leaky) * a.unsqueeze(-1)).sum(-2)
                f_test = (activation(torch.baddbmm(H0_test, C, K), leaky) * a.unsqueeze(-1)).sum(-2)
                P = torch.baddbmm(P0, C, M) if neurons else None
            check(f, t)
            out["train_acc"][:, k] = ((y * f) > 0).to(dtype).mean(-1).cpu().numpy()
            out["test_acc"][:, k] = ((y_test * f_test) > 0).to(dtype).mean(-1).cpu().numpy()
            out["loss"][:, k] = logistic_loss(y * f).mean(-1).cpu().numpy()
            out["f_train"][:, k] = f.cpu().numpy()
            out["a"][:, k] = a.cpu().numpy()
            if neurons:
                proj[:, k] = setup.mu_norm * P.cpu().numpy()
        if t == steps:
            break
        idx = batch() if mini else None
        if method == "explicit":
            Xb, yb = (X_train[rows, idx], y[rows, idx]) if mini else (X_train, y)
            grad_W, grad_a = variant_gradients(W, a, Xb, yb, leaky)
            check(grad_W, t)
            W = W - alpha * grad_W
        else:
            if mini:
                Gb = G[rows, :, idx].transpose(-1, -2)  # [S, n, B]: columns of G on the batch
                Hb = torch.baddbmm(H0[rows, :, idx].transpose(-1, -2), C, Gb)  # [S, m, B]
                yb, B = y[rows, idx], batch_size
            else:
                Hb, yb, B = torch.baddbmm(H0, C, G), y, n
            act = activation(Hb, leaky)
            fb = (act * a.unsqueeze(-1)).sum(-2)  # [S, B]
            check(fb, t)
            v = (loss_derivative_weight(yb * fb) * yb).unsqueeze(-2)  # [S, 1, B]: g_i y_i
            dC = (alpha / B) * a.unsqueeze(-1) * _activation_derivative(Hb, leaky) * v  # [S, m, B]
            grad_a = -(act * v).sum(-1) / B
            if mini:
                C.index_put_((rows.unsqueeze(-1), torch.arange(m, device=device).view(1, m, 1), idx.unsqueeze(1)),
                             dC, accumulate=True)
            else:
                C = C + dC
        if train_second_layer:
            a = a - alpha_a * grad_a
    return VariantRun(t=t_rec, proj=proj, **out)
