r"""Model variants beyond the paper's setting, trained with explicit weights:
:func:`train_variants`.

The paper trains only the first layer :math:`W` of :math:`f(x; W) = \sum_j a_j
\phi(\langle w_j, x\rangle)` (:math:`\phi` = ReLU, :math:`a_j` fixed at :math:`\pm
1/\sqrt{m}`) by full-batch gradient descent on the logistic loss (the paper's Section
2.3). The variants switch on, one by one or together:

* ``leaky``: :math:`\phi(z) = \max(z, \lambda z)`, a leaky ReLU with slope
  :math:`\lambda` = ``leaky`` in :math:`[0, 1)` for :math:`z < 0` (``leaky = 0`` is the
  ReLU); :math:`\phi'(z) = 1` for :math:`z > 0` and :math:`\lambda` otherwise.
* ``train_second_layer``: :math:`a` is trained too, with its own step size
  :math:`\alpha_a` = ``alpha_a`` (default: :math:`\alpha`): :math:`a_j \leftarrow a_j +
  \frac{\alpha_a}{|B|} \sum_{i \in B} g_i y_i \phi(\langle w_j, x_i\rangle)`.

  **How far a moves.** :math:`\nabla_{a_j}` is proportional to the scale of :math:`W`,
  tiny at the paper's scales (:math:`\|w_j\| \approx \omega_{\text{init}} \sqrt{p} =
  2 \cdot 10^{-13}` at :math:`t = 0` and :math:`\alpha`-sized steps after), while
  :math:`a_j = \pm 1/\sqrt{m}`: with :math:`\alpha_a = \alpha` the second layer does not
  move at all. Measured at :data:`~xorgrok.PAPER_FIG1_LEFT` (4 seeds, medians; the
  script of ``tests/test_variants.py::test_second_layer_movement_at_the_paper_size``
  checks the first two rows): :math:`\max_j |a_j(t) - a_j(0)| \sqrt{m}` is 0 at
  :math:`\alpha_a = \alpha`, about :math:`1.7 \cdot 10^{-11} \alpha_a t^2` for
  :math:`\alpha_a` up to :math:`10^6` (:math:`6.2 \cdot 10^{-8} \alpha_a` at
  :math:`t = 60`: 0.06 at :math:`\alpha_a = 10^6`), and 1.7, 82 and
  :math:`1.5 \cdot 10^4` at :math:`t = 10, 30, 60` for :math:`\alpha_a = 10^9`, where
  the test accuracy falls back to 0.78 by :math:`t = 60`. So a relative movement of
  order 1 within :math:`T` steps needs :math:`\alpha_a` of order :math:`6 \cdot 10^{10}
  / T^2` (:math:`10^7` for :math:`T = 60`), some 19 decades above :math:`\alpha`. A
  mean-field scaling (:math:`a_j = \pm 1/m`, steps scaled by :math:`m`) does not change
  this ratio of scales (it is the scale of :math:`W`, set by
  :math:`\omega_{\text{init}}` and :math:`\alpha`, that keeps :math:`a` still), so the
  second layer is compared at these separate step sizes instead.
* ``loss``: the loss :math:`\ell` of the empirical risk, one of :data:`LOSSES` (the
  update's weights :math:`g_i = -\ell'(y_i f(x_i))` by :func:`loss_weight`):
  ``"logistic"`` (default, the paper's) :math:`\ell(z) = \log(1 + e^{-z})`,
  :math:`g = 1 / (1 + e^z) \in (0, 1)`; ``"exponential"`` :math:`\ell(z) = e^{-z}`,
  :math:`g = e^{-z}`, unbounded as the margin :math:`z` falls (outputs can overflow:
  :class:`~xorgrok.DivergenceError`); ``"hinge"`` :math:`\ell(z) = \max(0, 1 - z)`,
  :math:`g = \mathbb{1}[z < 1]` (the subgradient that autograd takes, 0 at the kink
  :math:`z = 1`). All three have :math:`g(0) > 0` and, while every
  :math:`|f(x_i)| \ll 1`, the logistic and exponential runs differ only by the factor
  :math:`g(0)` (1/2 against 1) and the hinge run by 2 as well: they part once the
  margins leave 0 (large steps or a large initialization).
* ``batch_size``: mini-batch SGD; each step draws :math:`|B|` = ``batch_size`` training
  points uniformly without replacement (from ``numpy.random.default_rng([batch_seed,
  problem.seed])``) and takes the gradient of their mean loss. ``None`` (default) is
  full-batch gradient descent.

The first-layer step is the paper's update (2.2) on the batch :math:`B`, with the
:math:`\phi'` of the variant:

.. math::

    w_j \leftarrow w_j + \frac{\alpha a_j}{|B|} \sum_{i \in B} g_i \phi'(\langle w_j,
    x_i\rangle)\, y_i x_i, \qquad g_i = -\ell'(y_i f(x_i)).

Any :class:`~xorgrok.Problem` works: in the reduced coordinates of
:func:`xorgrok.sample_reduced` (:math:`d = 2 + N` coordinates with the inner products
of the dense model, exact in distribution) explicit weights are cheap whatever
:math:`p`. With every switch off, :func:`train_variants` computes the numbers of
``xorgrok.simulate(engine="dense")`` on the same problem; the tests check this and the
hand-written gradients against ``torch.autograd``.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import torch

from .config import Setup
from .data import Problem
from .engines import DivergenceError
from .model import logistic_loss, loss_derivative_weight
from .simulate import Trajectory, sample
from .validation import (
    Progress,
    check_dtype,
    check_engine,
    check_int,
    check_progress,
    check_record,
    check_seeds,
)

__all__ = [
    "VARIANT_DEFAULTS",
    "LOSSES",
    "variant_loss",
    "loss_weight",
    "check_options",
    "activation",
    "variant_output",
    "variant_gradients",
    "train_variants",
]

#: The losses of the ``loss`` switch (module docstring).
LOSSES = ("logistic", "exponential", "hinge")
#: The switches of :func:`train_variants` and their "off" values (the paper's model).
VARIANT_DEFAULTS: dict[str, Any] = {
    "leaky": 0.0,
    "loss": "logistic",
    "train_second_layer": False,
    "alpha_a": None,
    "batch_size": None,
    "batch_seed": 0,
}


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    """Validate variant switches; return those that differ from :data:`VARIANT_DEFAULTS`
    (JSON-able values).

    An empty result means the paper's model. Raises ``ValueError`` naming the switch and
    its allowed range.
    """
    unknown = set(options) - set(VARIANT_DEFAULTS)
    if unknown:
        raise ValueError(
            f"variant switch must be one of {', '.join(VARIANT_DEFAULTS)}, got "
            f"{sorted(unknown)[0]!r}"
        )
    out: dict[str, Any] = {}
    for name, value in options.items():
        if name == "leaky":
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0.0 <= float(value) < 1.0
            ):
                raise ValueError(f"leaky must be a number in [0, 1), got {value!r}")
            value = float(value)
        elif name == "loss":
            if not isinstance(value, str) or value not in LOSSES:
                raise ValueError(
                    f"loss must be one of {', '.join(LOSSES)}, got {value!r}"
                )
        elif name == "train_second_layer":
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(
                    f"train_second_layer must be True or False, got {value!r}"
                )
            value = bool(value)
        elif name == "alpha_a":
            if value is not None:
                number = isinstance(value, (int, float)) and not isinstance(value, bool)
                if not number or not np.isfinite(value) or value <= 0:
                    raise ValueError(
                        f"alpha_a must be a finite number > 0 or None, got {value!r}"
                    )
                value = float(value)
        elif name in ("batch_size", "batch_seed"):
            low = 1 if name == "batch_size" else 0
            if value is None and name == "batch_size":
                pass
            elif (
                isinstance(value, bool)
                or not isinstance(value, (int, np.integer))
                or value < low
            ):
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


def variant_loss(z: torch.Tensor, loss: str = "logistic") -> torch.Tensor:
    r""":math:`\ell(z)` of the margins :math:`z = y f(x)` (any shape):
    :math:`\log(1 + e^{-z})`, :math:`e^{-z}` or :math:`\max(0, 1 - z)` for ``loss`` =
    ``"logistic"``, ``"exponential"``, ``"hinge"``."""
    if loss == "logistic":
        return logistic_loss(z)
    if loss == "exponential":
        return torch.exp(-z)
    return torch.relu(1.0 - z)


def loss_weight(z: torch.Tensor, loss: str = "logistic") -> torch.Tensor:
    r""":math:`g = -\ell'(z)` of :func:`variant_loss` (any shape):
    :math:`1 / (1 + e^z)`, :math:`e^{-z}` or :math:`\mathbb{1}[z < 1]` for ``loss`` =
    ``"logistic"``, ``"exponential"``, ``"hinge"``."""
    if loss == "logistic":
        return loss_derivative_weight(z)
    if loss == "exponential":
        return torch.exp(-z)
    return (z < 1.0).to(z.dtype)


def activation(z: torch.Tensor, leaky: float = 0.0) -> torch.Tensor:
    r""":math:`\phi(z) = \max(z, \lambda z)` with :math:`\lambda` = ``leaky`` (the ReLU
    when ``leaky = 0``)."""
    return torch.relu(z) if leaky == 0.0 else torch.where(z > 0, z, leaky * z)


def _activation_derivative(z: torch.Tensor, leaky: float) -> torch.Tensor:
    one = torch.ones((), dtype=z.dtype, device=z.device)
    return torch.where(z > 0, one, leaky * one)


def variant_output(
    W: torch.Tensor, a: torch.Tensor, X: torch.Tensor, leaky: float = 0.0
) -> torch.Tensor:
    r""":math:`f(x) = \sum_j a_j \phi(\langle w_j, x\rangle)` for every row of ``X``.

    Shapes: W [..., m, d], a [..., m], X [..., N, d] -> [..., N] (leading axes: seeds).
    """
    return (activation(X @ W.transpose(-1, -2), leaky) @ a.unsqueeze(-1)).squeeze(-1)


def variant_gradients(
    W: torch.Tensor,
    a: torch.Tensor,
    X: torch.Tensor,
    y: torch.Tensor,
    leaky: float = 0.0,
    loss: str = "logistic",
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Gradients of :math:`L = \frac{1}{B} \sum_i \ell(y_i f(x_i))` with respect to
    :math:`W` and :math:`a`, written by hand.

    .. math::

        \nabla_{w_j} L = -\frac{a_j}{B} \sum_i g_i \phi'(\langle w_j, x_i\rangle)\, y_i
        x_i, \qquad \nabla_{a_j} L = -\frac{1}{B} \sum_i g_i y_i \phi(\langle w_j,
        x_i\rangle),

    with :math:`g_i = -\ell'(y_i f(x_i))` of the ``loss`` (:func:`loss_weight`). Shapes:
    W [..., m, d], a [..., m], X [..., B, d], y [..., B] -> ([..., m, d], [..., m]).
    """
    B = X.shape[-2]
    H = W @ X.transpose(-1, -2)  # [..., m, B]: <w_j, x_i>
    act = activation(H, leaky)
    f = (act * a.unsqueeze(-1)).sum(-2)  # [..., B]
    v = (loss_weight(y * f, loss) * y).unsqueeze(-2)  # [..., 1, B]: g_i y_i
    grad_W = -(a.unsqueeze(-1) / B) * ((_activation_derivative(H, leaky) * v) @ X)
    grad_a = -(act * v).sum(-1) / B
    return grad_W, grad_a


def train_variants(
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
    method: str = "span",
    **switches: Any,
) -> Trajectory:
    r"""Train one network per seed with explicit weights under the variant switches
    (module docstring).

    The calling convention of :func:`xorgrok.simulate`; ``engine`` picks the sampler of
    the problems (``"dense"`` or ``"reduced"``; ``"auto"``: reduced), ``dtype`` defaults
    to float64. ``switches``: ``leaky``, ``loss``, ``train_second_layer``, ``alpha_a``,
    ``batch_size``, ``batch_seed``.

    Returns a :class:`xorgrok.Trajectory` with ``loss`` the empirical risk of the chosen
    loss, ``f_train``, ``f_test`` and ``a_t`` [S, T, m] (the second layer at each
    recorded step), and ``proj`` with ``neurons=True``. Each seed keeps its own
    mini-batch stream, so its result does not depend on the seeds beside it (up to
    rounding).

    ``method="explicit"`` updates the weights W [S, m, d] literally (the reference: cost
    :math:`O(m n d)` a step); ``method="span"`` (default) uses :math:`W = W^{(0)} + C
    X_{\text{train}}` as the engines do (every variant keeps the updates in the span of
    the training points): C [S, m, n], cost :math:`O(m n^2)` a step, :math:`O(m n |B|)`
    with mini-batches. Both give the same numbers up to rounding (tested).

    Raises:
        DivergenceError: when an output becomes non-finite.
    """
    if not isinstance(setup, Setup):
        raise ValueError(f"setup must be an xorgrok.Setup, got {type(setup).__name__}")
    steps = check_int("steps", steps)
    t_rec = check_record(record, steps)
    seeds = check_seeds(seeds)
    engine = check_engine(engine)
    if engine == "span":
        raise ValueError(
            "engine must be 'dense', 'reduced' or 'auto' for a variant (the sampler), "
            "got "
            "'span'"
        )
    dtype = check_dtype(dtype, torch.float64)
    opts = check_options(switches)
    if method not in ("span", "explicit"):
        raise ValueError(f"method must be 'span' or 'explicit', got {method!r}")
    if opts.get("batch_size", 0) > setup.n:
        raise ValueError(
            f"batch_size must be in [1, n = {setup.n}] or None, got "
            f"{opts['batch_size']}"
        )
    problems = [sample(setup, seed, engine) for seed in seeds]
    state = _State(problems, opts, method, dtype, torch.device(device))
    out = state.run(steps, t_rec, neurons)
    check_progress(progress)(len(seeds))
    per_seed = ("a", "plane", "y", "y_clean", "cluster")
    return Trajectory(
        setup=setup,
        seeds=np.asarray(seeds),
        engine=engine,
        dtype=str(dtype).removeprefix("torch."),
        t=t_rec,
        **{name: np.stack([getattr(pb, name) for pb in problems]) for name in per_seed},
        **out,
    )


class _State:
    """The weights of S problems of one setup during training: explicit W, or W =
    W^(0) + C X_train."""

    def __init__(
        self,
        problems: list[Problem],
        opts: dict[str, Any],
        method: str,
        dtype: torch.dtype,
        device: torch.device,
    ):
        setup = problems[0].setup
        self.problems, self.method, self.dtype, self.device = (
            problems,
            method,
            dtype,
            device,
        )
        self.n, self.m, self.S = setup.n, setup.m, len(problems)
        self.mu_norm, self.alpha = setup.mu_norm, setup.alpha
        self.leaky = opts.get("leaky", 0.0)
        self.loss = opts.get("loss", "logistic")
        self.train_second_layer = opts.get("train_second_layer", False)
        self.alpha_a = opts.get("alpha_a", None)
        self.alpha_a = self.alpha if self.alpha_a is None else float(self.alpha_a)
        self.batch_size = opts.get("batch_size")
        seed = opts.get("batch_seed", 0)
        self.rngs = (
            [np.random.default_rng([seed, pb.seed]) for pb in problems]
            if self.batch_size
            else []
        )
        self.rows = torch.arange(self.S, device=device).unsqueeze(1)
        # [S, n], [S, n_test]
        self.y, self.y_test = (
            self.stack(lambda pb: pb.y),
            self.stack(lambda pb: pb.y_test),
        )
        self.a = self.stack(lambda pb: pb.a)  # [S, m]
        if method == "explicit":
            # [S, n, d], [S, n_test, d], [S, m, d]
            self.X_train, self.X_test = (
                self.stack(lambda pb: pb.X_train),
                self.stack(lambda pb: pb.X_test),
            )
            self.W = self.stack(lambda pb: pb.W0)
        else:
            self.G = self.stack(lambda pb: pb.X_train @ pb.X_train.T)  # [S, n, n]
            self.K = self.stack(lambda pb: pb.X_train @ pb.X_test.T)  # [S, n, n_test]
            self.H0 = self.stack(lambda pb: pb.W0 @ pb.X_train.T)  # [S, m, n]
            self.H0_test = self.stack(lambda pb: pb.W0 @ pb.X_test.T)  # [S, m, n_test]
            self.M = self.stack(lambda pb: pb.X_train[:, :2])  # [S, n, 2]
            self.P0 = self.stack(lambda pb: pb.W0[:, :2])  # [S, m, 2]
            self.C = torch.zeros_like(self.H0)  # [S, m, n]: W = W0 + C X_train

    def stack(self, fn) -> torch.Tensor:
        values = np.stack([np.asarray(fn(pb), dtype=float) for pb in self.problems])
        return torch.as_tensor(values, dtype=self.dtype, device=self.device)

    def check(self, values: torch.Tensor, t: int) -> None:
        finite = torch.isfinite(values.reshape(self.S, -1)).all(-1)
        if not bool(finite.all()):
            raise DivergenceError(t, self.problems[int((~finite).nonzero()[0, 0])].seed)

    def outputs(
        self, neurons: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """f on the training points [S, n], on the test points [S, n_test], and W's
        first two coordinates."""
        a, leaky = self.a, self.leaky
        if self.method == "explicit":
            W = self.W
            f = variant_output(W, a, self.X_train, leaky)
            return f, variant_output(W, a, self.X_test, leaky), W[..., :2]
        f = (
            activation(torch.baddbmm(self.H0, self.C, self.G), leaky) * a.unsqueeze(-1)
        ).sum(-2)
        H_test = torch.baddbmm(self.H0_test, self.C, self.K)
        f_test = (activation(H_test, leaky) * a.unsqueeze(-1)).sum(-2)
        return f, f_test, torch.baddbmm(self.P0, self.C, self.M) if neurons else None

    def run(
        self, steps: int, t_rec: np.ndarray, neurons: bool
    ) -> dict[str, np.ndarray | None]:
        """Train for ``steps`` steps; the Trajectory fields recorded at ``t_rec``."""
        S, T, n, m = self.S, len(t_rec), self.n, self.m
        out = {
            name: np.full((S, T), np.nan) for name in ("train_acc", "test_acc", "loss")
        }
        out.update(
            f_train=np.full((S, T, n), np.nan),
            a_t=np.full((S, T, m), np.nan),
            f_test=np.full((S, T, self.y_test.shape[1]), np.nan),
            proj=np.full((S, T, m, 2), np.nan) if neurons else None,
        )
        slot = {int(t): k for k, t in enumerate(t_rec)}
        for t in range(steps + 1):
            if t in slot:
                self.record(out, slot[t], t, neurons)
            if t == steps:
                break
            grad_a = self.step(t)
            if self.train_second_layer:
                self.a = self.a - self.alpha_a * grad_a
        return out

    def record(
        self, out: dict[str, np.ndarray | None], k: int, t: int, neurons: bool
    ) -> None:
        f, f_test, P = self.outputs(neurons)
        self.check(f, t)
        y, dtype = self.y, self.dtype
        out["train_acc"][:, k] = ((y * f) > 0).to(dtype).mean(-1).cpu().numpy()
        out["test_acc"][:, k] = (
            ((self.y_test * f_test) > 0).to(dtype).mean(-1).cpu().numpy()
        )
        risk = variant_loss(y * f, self.loss).mean(-1)
        self.check(risk, t)  # the exponential loss overflows before f does
        out["loss"][:, k] = risk.cpu().numpy()
        out["f_train"][:, k] = f.cpu().numpy()
        out["f_test"][:, k] = f_test.cpu().numpy()
        out["a_t"][:, k] = self.a.cpu().numpy()
        if neurons:
            out["proj"][:, k] = self.mu_norm * P.cpu().numpy()

    def batch(self) -> torch.Tensor:
        picks = [
            r.choice(self.n, size=self.batch_size, replace=False) for r in self.rngs
        ]
        return torch.as_tensor(np.stack(picks), device=self.device)

    def step(self, t: int) -> torch.Tensor:
        """One (S)GD step of the first layer; returns the gradient of the second
        layer."""
        rows, a, leaky = self.rows, self.a, self.leaky
        idx = self.batch() if self.batch_size else None
        if self.method == "explicit":
            Xb, yb = (
                (self.X_train[rows, idx], self.y[rows, idx])
                if idx is not None
                else (self.X_train, self.y)
            )
            grad_W, grad_a = variant_gradients(self.W, a, Xb, yb, leaky, self.loss)
            self.check(grad_W, t)
            self.W = self.W - self.alpha * grad_W
            return grad_a
        if idx is not None:
            # [S, n, B]: columns of G on the batch
            Gb = self.G[rows, :, idx].transpose(-1, -2)
            # [S, m, B]
            Hb = torch.baddbmm(self.H0[rows, :, idx].transpose(-1, -2), self.C, Gb)
            yb, B = self.y[rows, idx], self.batch_size
        else:
            Hb, yb, B = torch.baddbmm(self.H0, self.C, self.G), self.y, self.n
        act = activation(Hb, leaky)
        fb = (act * a.unsqueeze(-1)).sum(-2)  # [S, B]
        self.check(fb, t)
        v = (loss_weight(yb * fb, self.loss) * yb).unsqueeze(-2)  # [S, 1, B]: g_i y_i
        self.check(v, t)
        # [S, m, B]
        dC = (self.alpha / B) * a.unsqueeze(-1) * _activation_derivative(Hb, leaky) * v
        if idx is not None:
            cols = torch.arange(self.m, device=self.device).view(1, self.m, 1)
            self.C.index_put_(
                (rows.unsqueeze(-1), cols, idx.unsqueeze(1)), dC, accumulate=True
            )
        else:
            self.C = self.C + dC
        return -(act * v).sum(-1) / B
